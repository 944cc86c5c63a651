package incident

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUntrustedIncidentFoldersAreSkipped: in the user's own journal folder,
// an incident folder that is a link, or writable by others, or owned by
// another account (root only) is neither listed nor read; a planted lock link
// does not make Driver create anything; a path-like id is refused.
func TestUntrustedIncidentFoldersAreSkipped(t *testing.T) {
	root := filepath.Join(t.TempDir(), "incidents")
	j, err := Create(root, Declared{RunbookID: "real", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	real := j.ID()
	j.Close()
	elsewhere := t.TempDir()
	fake, err := Create(elsewhere, Declared{RunbookID: "forged", At: at(hour)})
	if err != nil {
		t.Fatal(err)
	}
	fake.Close()
	os.Symlink(filepath.Join(elsewhere, fake.ID()), filepath.Join(root, "29990101-0000-link"))
	open := filepath.Join(root, "29990101-0000-open")
	os.Rename(filepath.Join(elsewhere, fake.ID()), open)
	os.Chmod(open, 0o777)
	list, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != real {
		t.Errorf("List = %+v, want only %s", list, real)
	}
	for _, id := range []string{"29990101-0000-link", "29990101-0000-open", "../x", ".."} {
		if _, _, _, err := Read(root, id); err == nil {
			t.Errorf("Read(%s) accepted", id)
		}
		if _, _, _, err := Open(root, id); err == nil {
			t.Errorf("Open(%s) accepted", id)
		}
	}
	target := filepath.Join(t.TempDir(), "created")
	os.Remove(filepath.Join(root, real, lockName))
	os.Symlink(target, filepath.Join(root, real, lockName))
	if _, driven := Driver(root, real); driven {
		t.Error("Driver through a dangling lock link says driven")
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("Driver created a file through a lock link")
	}
	if _, err := Acquire(root, real); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Acquire through a lock link: %v", err)
	}
	if os.Geteuid() == 0 {
		os.Remove(filepath.Join(root, real, lockName))
		filepath.Walk(filepath.Join(root, real), func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, 65534, 65534) })
		if list, _ := List(root); len(list) != 0 {
			t.Errorf("an incident folder owned by nobody is listed: %+v", list)
		}
		if _, _, _, err := Open(root, real); err == nil || !strings.Contains(err.Error(), "not by you") {
			t.Errorf("Open of nobody's folder: %v", err)
		}
	}
}
