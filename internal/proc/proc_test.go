package proc

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drnav/drnav/internal/proctest"
)

// A timed-out command's grandchildren die with it, and Output returns even
// though a grandchild held the pipe.
func TestTimeoutKillsTheGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Bash(ctx, "sleep 60 & echo $! > "+pidFile+"; wait").Output()
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a timed-out command reported success")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Output did not return after the timeout")
	}
	// The grandchild wrote its pid before the timeout; it dies with the
	// group.
	pid := proctest.PIDFile(t, pidFile, 10*time.Second)
	proctest.WaitGone(t, pid, 10*time.Second, "the grandchild, after the timeout,")
}

func TestOutput(t *testing.T) {
	t.Parallel()
	out, err := Bash(context.Background(), "echo hello").Output()
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("%q %v", out, err)
	}
}

func TestParseTimestamp(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, in := range []string{"2026-03-04T05:06:07Z", "2026-03-04 05:06:07", "2026-03-04 05:06:07+00",
		"1772600767", "1772600767.0", "Wed Mar  4 05:06:07 UTC 2026"} {
		got, err := ParseTimestamp(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTimestamp(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "soon", "12:00", "-5", "yesterday"} {
		if _, err := ParseTimestamp(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestTimestamp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if ts, err := Timestamp(ctx, "echo noise; echo 1772600767; echo", nil, ""); err != nil || ts.Unix() != 1772600767 {
		t.Errorf("last line: %v %v", ts, err)
	}
	cases := []struct{ script, want string }{
		{"echo yesterday-ish", `printed "yesterday-ish", not a timestamp`},
		{"true", "printed nothing"},
		{"echo AccessDenied >&2; exit 3", "exit status 3: AccessDenied"},
	}
	for _, c := range cases {
		if _, err := Timestamp(ctx, c.script, nil, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.script, err, c.want)
		}
	}
}
