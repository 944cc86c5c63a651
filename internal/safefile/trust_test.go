package safefile

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestHomeDirWithoutHOME: with HOME unset (cron, system services) the home
// comes from the account database, never a shared temp folder.
func TestHomeDirWithoutHOME(t *testing.T) {
	t.Setenv("HOME", "")
	os.Unsetenv("HOME")
	u, err := user.LookupId(strconv.Itoa(os.Geteuid()))
	if err != nil || u.HomeDir == "" {
		t.Skipf("no account database entry for uid %d", os.Geteuid())
	}
	h, err := HomeDir()
	if err != nil || h != u.HomeDir {
		t.Fatalf("HomeDir() = %q, %v; want %q", h, err, u.HomeDir)
	}
	if strings.HasPrefix(h, os.TempDir()) {
		t.Errorf("home %q is in the shared temp folder", h)
	}
	t.Setenv("HOME", "relative/home")
	if h, err := HomeDir(); err != nil || h != u.HomeDir {
		t.Errorf("relative HOME: %q %v; want the account's %q", h, err, u.HomeDir)
	}
}

func TestExpandHome(t *testing.T) {
	t.Setenv("HOME", "/home/op")
	for in, want := range map[string]string{"~": "/home/op", "~/x/y": "/home/op/x/y", "/abs": "/abs", "rel": "rel"} {
		if got, err := ExpandHome(in); err != nil || got != want {
			t.Errorf("ExpandHome(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ExpandHome("~bob/x"); err == nil {
		t.Error("~bob/x accepted")
	}
}

func TestCheckDirRefusesForeignWritableAndLinks(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "own")
	if err := MkdirPrivate("state folder", own); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(own); fi.Mode().Perm() != 0o700 {
		t.Errorf("created %v, want 0700", fi.Mode().Perm())
	}
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	if err := CheckDir("state folder", open, Me); err == nil || !strings.Contains(err.Error(), "chmod go-w "+open) {
		t.Errorf("world-writable: %v", err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(own, link)
	if err := CheckDir("state folder", link, Me); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("link: %v", err)
	}
	if err := MkdirPrivate("state folder", "rel/dir"); err == nil {
		t.Error("relative path accepted")
	}
	if os.Geteuid() == 0 {
		other := filepath.Join(dir, "other")
		os.Mkdir(other, 0o700)
		os.Chown(other, 65534, 65534)
		if err := CheckDir("state folder", other, Me); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") || !strings.Contains(err.Error(), other) {
			t.Errorf("foreign owner: %v", err)
		}
		if err := CheckDir("state folder", other, Shared); err == nil {
			t.Error("foreign non-shared folder accepted as Shared")
		}
		os.Chmod(other, 0o750|os.ModeSetgid)
		if err := CheckDir("incident folder", other, Shared); err != nil {
			t.Errorf("group share of another account refused: %v", err)
		}
	}
}

func TestOpenFileRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("x"), 0o600)
	link := filepath.Join(dir, "log")
	os.Symlink(victim, link)
	if _, err := OpenNoFollow(link, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("OpenFile through a link: %v", err)
	}
	if os.Geteuid() == 0 {
		os.Chown(victim, 65534, 65534)
		if _, err := OpenOwned("journal", victim, os.O_RDONLY, 0); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Errorf("OpenOwned of a foreign file: %v", err)
		}
	}
}

// TestMkdirPrivateChecksTheFoldersAbove: a state folder under a folder
// others can write to (not sticky) is refused: they could rename it away and
// put a link in its place.
func TestMkdirPrivateChecksTheFoldersAbove(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	if err := MkdirPrivate("state folder", filepath.Join(open, "drnav", "incidents")); err == nil || !strings.Contains(err.Error(), "chmod go-w "+open) {
		t.Errorf("under a world-writable folder: %v", err)
	}
	os.Chmod(open, 0o777|os.ModeSticky)
	if err := MkdirPrivate("state folder", filepath.Join(open, "drnav")); err != nil {
		t.Errorf("under a sticky folder (like /tmp): %v", err)
	}
}
