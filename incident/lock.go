package incident

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"

	"github.com/drnav/drnav/internal/safefile"
)

const (
	lockName     = "lock"
	lockInfoName = "lock.json"
)

// LockInfo says who drives an incident.
type LockInfo struct {
	User  string    `json:"user"`
	PID   int       `json:"pid"`
	TTY   string    `json:"tty,omitempty"`
	Since time.Time `json:"since"`
}

// LockedError is returned when another process drives the incident; the UI
// then offers a read-only view.
type LockedError struct {
	ID    string
	User  string
	PID   int
	TTY   string
	Since time.Time
}

func (e *LockedError) Error() string {
	who := e.User
	if who == "" {
		who = "another process"
	}
	s := fmt.Sprintf("incident %s is driven by %s", e.ID, who)
	if e.PID != 0 {
		s += fmt.Sprintf(" (pid %d", e.PID)
		if e.TTY != "" {
			s += " on " + e.TTY
		}
		s += ")"
	}
	if !e.Since.IsZero() {
		s += " since " + e.Since.Format("15:04:05")
	}
	return s + "; open it read-only"
}

// Lock is the exclusive right to append to one incident's journal.
type Lock struct {
	fl       *flock.Flock
	infoPath string
}

// Acquire takes the driver lock of incident id without waiting. When another
// process holds it the error is a *LockedError naming that process.
func Acquire(root, id string) (*Lock, error) { return AcquireAs(root, id, "") }

// AcquireAs is Acquire recording operator as who holds the lock (drnav
// serve: the SSH key's name, not the server's account); empty means the
// process's user.
func AcquireAs(root, id, operator string) (*Lock, error) {
	if operator == "" {
		operator = currentUser()
	}
	if _, err := checkIncidentDir(root, id, true); err != nil {
		return nil, fmt.Errorf("lock incident %s: %w", id, err)
	}
	dir := filepath.Join(root, id)
	// The lock file is the owner's alone (0600 even in a group share, so no
	// one else can hold it); links are never followed.
	fl := flock.New(filepath.Join(dir, lockName), flock.SetPermissions(0o600),
		flock.SetFlag(os.O_CREATE|os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock incident %s: %w", id, err)
	}
	infoPath := filepath.Join(dir, lockInfoName)
	if !ok {
		le := &LockedError{ID: id}
		if info, err := readLockInfo(infoPath); err == nil {
			le.User, le.PID, le.TTY, le.Since = info.User, info.PID, info.TTY, info.Since
		}
		return nil, le
	}
	info := LockInfo{User: operator, PID: os.Getpid(), TTY: currentTTY(), Since: time.Now()}
	data, err := json.Marshal(info)
	if err == nil {
		// Not fsynced: the information only names a live driver, and after
		// a crash of the machine no lock is held (Driver asks the lock, and
		// sharedDriver reads a lost or partial file as nobody). The fsync
		// cost resume 40–150 ms before its first frame on a busy disk.
		err = safefile.WriteFile(infoPath, append(data, '\n'), fileMode(dir))
	}
	if err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("lock incident %s: write lock info: %w", id, err)
	}
	return &Lock{fl: fl, infoPath: infoPath}, nil
}

// Release gives the lock up. It is safe to call more than once.
func (l *Lock) Release() error {
	if l == nil || l.fl == nil || !l.fl.Locked() {
		return nil
	}
	rmErr := os.Remove(l.infoPath)
	if errors.Is(rmErr, os.ErrNotExist) {
		rmErr = nil
	}
	if err := l.fl.Unlock(); err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	if rmErr != nil {
		return fmt.Errorf("release lock: %w", rmErr)
	}
	return nil
}

// Driver reports who holds the lock of incident id, if anyone.
func Driver(root, id string) (LockInfo, bool) {
	if _, err := checkIncidentDir(root, id, false); err != nil {
		return LockInfo{}, false
	}
	dir := filepath.Join(root, id)
	// Read-only: never create the lock file, never follow a link.
	fl := flock.New(filepath.Join(dir, lockName), flock.SetFlag(os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC))
	ok, err := fl.TryRLock()
	if errors.Is(err, os.ErrPermission) {
		// A colleague reading a group share cannot open the owner's lock:
		// the lock information (group-readable) names the driver's pid.
		return sharedDriver(filepath.Join(dir, lockInfoName))
	}
	if err != nil {
		return LockInfo{}, false
	}
	if ok {
		_ = fl.Unlock()
		return LockInfo{}, false
	}
	info, _ := readLockInfo(filepath.Join(dir, lockInfoName))
	return info, true
}

// sharedDriver is Driver for an observer who cannot open the lock file: the
// incident is driven while the process the lock information names exists
// (the driver removes the information when it lets go).
func sharedDriver(infoPath string) (LockInfo, bool) {
	info, err := readLockInfo(infoPath)
	if err != nil || info.PID <= 0 {
		return LockInfo{}, false
	}
	if err := syscall.Kill(info.PID, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return LockInfo{}, false
	}
	return info, true
}

func readLockInfo(path string) (LockInfo, error) {
	var info LockInfo
	f, err := safefile.OpenNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return info, fmt.Errorf("read lock info: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return info, fmt.Errorf("read lock info: %w", err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("read lock info: %w", err)
	}
	return info, nil
}

// CurrentUser is who runs drnav ($USER, $LOGNAME or the process account).
func CurrentUser() string { return currentUser() }

// currentUser is $USER, $LOGNAME, or the account of the process (cron and
// tmux sessions often have neither variable), else "uid N".
func currentUser() string {
	for _, k := range []string{"USER", "LOGNAME"} {
		if u := os.Getenv(k); u != "" {
			return u
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// currentTTY is the terminal on stdin, or $SSH_TTY.
func currentTTY() string {
	if p, err := os.Readlink("/proc/self/fd/0"); err == nil && (strings.HasPrefix(p, "/dev/pts/") || strings.HasPrefix(p, "/dev/tty")) {
		return p
	}
	return os.Getenv("SSH_TTY")
}

// sshClient is the client address of $SSH_CONNECTION ("ip port").
func sshClient() string {
	f := strings.Fields(os.Getenv("SSH_CONNECTION"))
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return strings.Join(f, " ")
}
