// Package proctest helps tests that start processes: a buffer a child's
// output is copied into while the test reads it, the pid a script wrote to
// a file, and waiting, with a deadline, for a process to be gone.
package proctest

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// poll is how often the waits look again.
const poll = 10 * time.Millisecond

// Buffer is a bytes.Buffer that exec's copying goroutine may write while
// the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// PIDFile waits until path holds a whole line with a pid (what a script's
// `echo $! > path` writes) and returns it; after within it fails the test.
func PIDFile(tb testing.TB, path string, within time.Duration) int {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		if b, err := os.ReadFile(path); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no pid in %s after %s", path, within)
		}
		time.Sleep(poll)
	}
}

// Gone reports whether pid no longer runs: there is no such process, or it
// is a zombie waiting for its parent to reap it.
func Gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) state …; comm may hold spaces and parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// WaitGone waits until pid is gone. After within it kills the process and
// fails the test saying that what (e.g. "the grandchild") survived.
func WaitGone(tb testing.TB, pid int, within time.Duration, what string) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !Gone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			tb.Fatalf("%s (pid %d) still runs after %s", what, pid, within)
		}
		time.Sleep(poll)
	}
}
