package incident

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/drnav/drnav/internal/safefile"
)

// A journal root and its incident folders are trusted only when nobody but
// their owner can write to them: another account on a shared bastion could
// otherwise plant links (drnav would write through them), forge incidents or
// swap folders. The driver only works in folders it owns; observers may read
// another account's folders when they are a group share (see PrepareRoot).

// shared reports whether a folder is a group share (setgid, group-readable).
func shared(fi fs.FileInfo) bool {
	return fi.Mode()&fs.ModeSetgid != 0 && fi.Mode().Perm()&0o040 != 0
}

// checkRoot checks the journal root; with write it must be the user's own.
// It returns the root's owner and whether it is a group share.
func checkRoot(root string, write bool) (uid int, share bool, err error) {
	owner := safefile.Shared
	if write {
		owner = safefile.Me
	}
	fi, err := os.Stat(root) // the configured root itself may be a link
	if err != nil {
		return 0, false, fmt.Errorf("journal folder: %w", err)
	}
	if !fi.IsDir() {
		return 0, false, fmt.Errorf("journal folder %s is not a folder", root)
	}
	if err := safefile.CheckInfo("journal folder", root, fi, owner); err != nil {
		return 0, false, err
	}
	return safefile.UID(fi), shared(fi), nil
}

// checkIncidentDir checks that root/id is a real folder (not a link) owned
// by the root's owner and writable by nobody else. It returns the owner.
func checkIncidentDir(root, id string, write bool) (int, error) {
	if err := ValidID(id); err != nil {
		return 0, err
	}
	rootUID, _, err := checkRoot(root, write)
	if err != nil {
		return 0, err
	}
	dir := filepath.Join(root, id)
	fi, err := os.Lstat(dir)
	if err != nil {
		return 0, fmt.Errorf("incident %s: %w", id, err)
	}
	owner := safefile.Shared
	if write {
		owner = safefile.Me
	}
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return 0, fmt.Errorf("incident folder %s is not a real folder (a link or a file): refusing it; remove it", dir)
	}
	if err := safefile.CheckInfo("incident folder", dir, fi, owner); err != nil {
		return 0, err
	}
	if uid := safefile.UID(fi); uid != rootUID {
		return 0, fmt.Errorf("incident folder %s is owned by uid %d, the journal folder by uid %d: refusing a planted incident; remove it", dir, uid, rootUID)
	}
	return rootUID, nil
}

// readJournal reads and parses an incident's journal after the folder
// checks, without following links, through the bounded parser (each line
// at most MaxLine bytes, seq validated).
func readJournal(root, id string) ([]Event, []Warning, error) {
	uid, err := checkIncidentDir(root, id, false)
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(root, id, JournalName)
	f, err := safefile.OpenOwned("journal", path, os.O_RDONLY, uid)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	events, _, _, warns, _, err := parse(f, path)
	return events, warns, err
}

// fileMode is the mode of a file in an incident folder: 0640 in a group
// share, else 0600.
func fileMode(dir string) fs.FileMode {
	if fi, err := os.Stat(dir); err == nil && shared(fi) {
		return 0o640
	}
	return 0o600
}

// createFile creates a new file in an incident folder (no links followed)
// with the folder's sharing mode, set explicitly so the umask cannot change
// it.
func createFile(path string, flag int) (*os.File, error) {
	mode := fileMode(filepath.Dir(path))
	f, err := safefile.OpenNoFollow(path, flag|os.O_CREATE, mode)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// PrepareRoot creates the journal root (0700) or checks the existing one is
// the user's own and writable by nobody else. With a share group it becomes
// group-readable (0750, setgid, owned by that group) so incident folders
// created in it inherit the group and its members can watch and report
// read-only; without one a previous share is withdrawn (0700). Only the
// driver calls it: read-only commands never create or change anything.
func PrepareRoot(root, group string) error {
	if err := safefile.MkdirPrivate("journal folder", root); err != nil {
		return err
	}
	if group == "" {
		fi, err := os.Stat(root)
		if err == nil && fi.Mode()&(fs.ModeSetgid|0o077) != 0 {
			return os.Chmod(root, 0o700)
		}
		return err
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return fmt.Errorf("share_group %q: %w", group, err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return fmt.Errorf("share_group %q: gid %q", group, g.Gid)
	}
	if err := os.Chown(root, -1, gid); err != nil {
		return fmt.Errorf("share_group %q: give %s to the group (are you a member?): %w", group, root, err)
	}
	if err := os.Chmod(root, 0o750|fs.ModeSetgid); err != nil {
		return fmt.Errorf("share_group %q: %w", group, err)
	}
	return nil
}

// writeFileSync writes a small file in an incident folder with the folder's
// sharing mode and fsyncs it.
func writeFileSync(path string, data []byte) error {
	return safefile.WriteFileSync(path, data, fileMode(filepath.Dir(path)))
}
