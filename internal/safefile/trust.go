// The checks drnav makes before it trusts a file or folder on a host other
// people log in to: the home directory comes from the
// account database when $HOME is unusable, state folders are created 0700 and
// refused when someone else owns them or can write to them, and files are
// opened without following symbolic links.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// HomeDir is the user's home directory: $HOME when it is an absolute path,
// else the account database's entry for the process's user. It never falls
// back to a shared folder: without either it is an error.
func HomeDir() (string, error) {
	if h := os.Getenv("HOME"); h != "" && filepath.IsAbs(h) {
		return h, nil
	}
	if u, err := user.LookupId(strconv.Itoa(os.Geteuid())); err == nil && filepath.IsAbs(u.HomeDir) {
		return u.HomeDir, nil
	}
	if u, err := user.Current(); err == nil && filepath.IsAbs(u.HomeDir) {
		return u.HomeDir, nil
	}
	return "", fmt.Errorf("no home directory: $HOME is unset or relative and the account database has none for uid %d; set HOME, or XDG_STATE_HOME and XDG_CONFIG_HOME to absolute folders you own", os.Geteuid())
}

// ExpandHome turns "~" and "~/x" into paths under the home directory. Other
// "~user" forms are refused; anything else is returned unchanged.
func ExpandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		if strings.HasPrefix(p, "~") {
			return "", fmt.Errorf("%q: only ~ and ~/… are expanded; write the full path", p)
		}
		return p, nil
	}
	home, err := HomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// Owner is who may own a checked folder or file.
type Owner int

const (
	// Me: the process's effective user only.
	Me Owner = iota
	// MeOrRoot: the process's user or root (system-wide config files).
	MeOrRoot
	// Shared: anyone, provided the folder is a group share (setgid and
	// group-readable): another account's incident folders read by a
	// colleague. Write access by group or others is still refused.
	Shared
)

func (o Owner) String() string {
	switch o {
	case Me:
		return "me"
	case MeOrRoot:
		return "me or root"
	case Shared:
		return "shared"
	}
	return "unknown owner"
}

// CheckInfo checks the ownership and mode of an already obtained FileInfo
// (from Lstat, or Stat of an open file). what names the thing for the error
// ("state folder", "config file").
func CheckInfo(what, path string, fi fs.FileInfo, owner Owner) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s %s: cannot read its owner", what, path)
	}
	me := uint32(os.Geteuid())
	uid := st.Uid
	switch {
	case uid == me:
	case owner == MeOrRoot && uid == 0:
	case owner == Shared && fi.IsDir() && fi.Mode()&fs.ModeSetgid != 0 && fi.Mode().Perm()&0o040 != 0:
	default:
		return fmt.Errorf("%s %s is owned by %s, not by you (%s): another account may have prepared it to take over drnav's state; remove it, or point drnav at a folder you own",
			what, path, account(uid), account(me))
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s %s is writable by group or others (mode %04o): anyone could change or replace what drnav reads there; run: chmod go-w %s",
			what, path, perm, path)
	}
	return nil
}

// UID is the owner of fi (or -1 when unknown).
func UID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// account is "uid N (name)".
func account(uid uint32) string {
	s := "uid " + strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil && u.Username != "" {
		s += " (" + u.Username + ")"
	}
	return s
}

// CheckDir checks that path is a real folder (not a symbolic link) owned
// as allowed and not writable by group or others.
func CheckDir(what, path string, owner Owner) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s %s is a symbolic link: drnav does not follow links for its state; remove it (or point drnav at the real folder)", what, path)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s %s is not a folder", what, path)
	}
	return CheckInfo(what, path, fi, owner)
}

// MkdirPrivate creates path and its missing parents 0700 and checks the
// leaf is a folder the user owns and only the user can write to.
func MkdirPrivate(what, path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%s %q is a relative path: use an absolute one", what, path)
	}
	if err := checkAncestors(what, filepath.Dir(filepath.Clean(path))); err != nil {
		return err
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", what, err)
	}
	return CheckDir(what, path, Me)
}

// checkAncestors checks the existing folders above a state folder, as ssh's
// StrictModes does: each must belong to the user or root and be writable by
// nobody else, unless it is sticky (/tmp): whoever can write to a folder
// can rename what is in it and put their own in its place.
func checkAncestors(what, dir string) error {
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			uid := UID(fi)
			switch {
			case uid != os.Geteuid() && uid != 0:
				return fmt.Errorf("%s: folder %s above it is owned by %s: another account could swap what is inside; use a folder only you and root control",
					what, dir, account(uint32(uid)))
			case fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0:
				return fmt.Errorf("%s: folder %s above it is writable by group or others (mode %04o): another account could swap what is inside; run: chmod go-w %s",
					what, dir, fi.Mode().Perm(), dir)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", what, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

// OpenNoFollow opens path without following a symbolic link in its last
// element; a link is refused with a message saying so. Only a regular file
// is returned (OpenFile: a planted FIFO cannot hang drnav).
func OpenNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := OpenFile(path, flag|syscall.O_NOFOLLOW, perm)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link: refusing to follow it (someone may have planted it); remove it", path)
	}
	return f, err
}

// OpenOwned opens an existing file without following links and checks that
// it is a regular file owned by uid (the owner of its folder) and not
// writable by group or others.
func OpenOwned(what, path string, flag int, uid int) (*os.File, error) {
	f, err := OpenNoFollow(path, flag, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if got := UID(fi); got != uid {
		f.Close()
		return nil, fmt.Errorf("%s %s is owned by %s, not by the owner of its folder (%s): refusing a planted file; remove it",
			what, path, account(uint32(got)), account(uint32(uid)))
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		f.Close()
		return nil, fmt.Errorf("%s %s is writable by group or others (mode %04o); run: chmod go-w %s", what, path, perm, path)
	}
	return f, nil
}
