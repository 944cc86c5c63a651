package incident

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAcquireDoesNotSyncLockInfo runs Acquire in a child process under
// strace: the lock information is written but never fsynced (an fsync cost
// resume up to 150 ms before its first frame on a busy disk, for a file that
// is worth nothing after a crash of the machine). Skipped without strace.
func TestAcquireDoesNotSyncLockInfo(t *testing.T) {
	t.Parallel()
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skipf("strace not found: %v", err)
	}
	root, id := closedIncident(t)
	trace := filepath.Join(t.TempDir(), "trace")
	cmd := helperCmd(t, "lock", root, id, 0)
	// -y names each descriptor's file; the child holds the lock until its
	// stdin closes, which it finds closed at once.
	cmd.Args = append([]string{strace, "-f", "-y", "-qq", "-o", trace, "-e", "trace=openat,fsync,fdatasync,sync_file_range", "--"}, cmd.Args...)
	cmd.Path = strace
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("strace cannot trace here (%v): %s", err, out)
	}
	if !strings.Contains(string(out), "locked") {
		t.Fatalf("child did not take the lock: %s", out)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	data := string(b)
	opened := false
	for _, l := range strings.Split(data, "\n") {
		if !strings.Contains(l, lockInfoName) {
			continue
		}
		if strings.Contains(l, "openat(") && strings.Contains(l, "O_WRONLY") {
			opened = true
		}
		if strings.Contains(l, "sync") {
			t.Errorf("lock information synced: %s", l)
		}
	}
	if !opened {
		t.Fatalf("the trace does not show lock.json written (strace -y unsupported?):\n%s", data)
	}
}
