package tmuxtest

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// A program in a window gets the environment it is given and typed keys;
// its pid file names it; after it exits the window shows its exit code.
func TestStartTypeWaitAndExit(t *testing.T) {
	t.Parallel()
	tm := NewT(t, 60, 10)
	pidFile := tm.Start("w", Env("GREETING=hello there"),
		"sh", "-c", `echo "$GREETING, $LANG"; read line; echo "got [$line]"; exit 3`)
	tm.WaitFor("w", "hello there, C.UTF-8")
	if pid := tm.PID(pidFile); syscall.Kill(pid, 0) != nil {
		t.Errorf("pid %d from the pid file does not run", pid)
	}
	tm.Type("w", "a 'quoted' word")
	tm.Keys("w", "Enter")
	m := tm.WaitRegexp("w", regexp.MustCompile(`got \[(.*)\]\s+\[exited (\d+)\]`))
	if m[1] != "a 'quoted' word" || m[2] != "3" {
		t.Errorf("typed %q, exit %s", m[1], m[2])
	}
	if s := tm.Screen("w"); strings.Count(s, "\n") != 10 {
		t.Errorf("screen of %d lines, want 10:\n%s", strings.Count(s, "\n"), s)
	}
}

func TestStepLine(t *testing.T) {
	t.Parallel()
	screen := " ✓ 1 Echo a greeting      │ detail\n>✗ 2 Fail on purpose       │\n"
	for n, want := range map[int]string{1: "✓ 1 Echo a greeting      ", 2: "✗ 2 Fail on purpose       ", 3: ""} {
		if got := StepLine(screen, n); got != want {
			t.Errorf("StepLine(%d) = %q, want %q", n, got, want)
		}
	}
}
