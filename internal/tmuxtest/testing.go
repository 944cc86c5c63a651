package tmuxtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// WaitTimeout bounds every wait of a T; PollInterval is how often it
// captures the screen meanwhile.
const (
	WaitTimeout  = 90 * time.Second
	PollInterval = 50 * time.Millisecond
)

// Require skips the test when tmux is missing, unless CI=true,
// DRNAV_REQUIRE_TMUX=1 or one of the variables named in alsoRequiredBy is
// "1": then it fails it.
func Require(tb testing.TB, alsoRequiredBy ...string) {
	tb.Helper()
	_, err := exec.LookPath("tmux")
	if err == nil {
		return
	}
	required := os.Getenv("CI") == "true" || os.Getenv("DRNAV_REQUIRE_TMUX") == "1"
	for _, v := range alsoRequiredBy {
		required = required || os.Getenv(v) == "1"
	}
	if required {
		tb.Fatalf("tmux is required but not found: %v", err)
	}
	tb.Skipf("tmux not found: %v", err)
}

// T is a Server bound to a test: what would return an error fails the test,
// and the server is killed when the test ends.
type T struct {
	*Server
	tb testing.TB
}

// NewT starts nothing yet: it checks for tmux (see Require) and prepares a
// server of w×h windows killed at the test's cleanup.
func NewT(tb testing.TB, w, h int, alsoRequiredBy ...string) *T {
	tb.Helper()
	Require(tb, alsoRequiredBy...)
	t := &T{Server: New(tb.Name(), tb.TempDir(), w, h), tb: tb}
	tb.Cleanup(func() {
		if err := t.Server.Close(); err != nil {
			tb.Logf("tmux: %v", err)
		}
	})
	return t
}

func (t *T) must(err error) {
	t.tb.Helper()
	if err != nil {
		t.tb.Fatal(err)
	}
}

// Start runs argv with env in a new window and returns its pid file (see
// Server.Start).
func (t *T) Start(window string, env []string, argv ...string) (pidFile string) {
	t.tb.Helper()
	pidFile, err := t.Server.Start(window, env, argv...)
	t.must(err)
	return pidFile
}

// Keys sends tmux key names (Enter, Tab, PageUp, j…) to window.
func (t *T) Keys(window string, keys ...string) {
	t.tb.Helper()
	t.must(t.Server.Keys(window, keys...))
}

// Type sends text literally to window.
func (t *T) Type(window, text string) {
	t.tb.Helper()
	t.must(t.Server.Type(window, text))
}

// Screen captures window as plain text.
func (t *T) Screen(window string) string {
	t.tb.Helper()
	s, err := t.Server.Screen(window)
	t.must(err)
	return s
}

// ScreenANSI captures window with its colours and attributes.
func (t *T) ScreenANSI(window string) string {
	t.tb.Helper()
	s, err := t.Server.ScreenANSI(window)
	t.must(err)
	return s
}

// Resize makes window w×h.
func (t *T) Resize(window string, w, h int) {
	t.tb.Helper()
	t.must(t.Server.Resize(window, w, h))
}

// KillWindow closes window; its terminal hangs up on the program.
func (t *T) KillWindow(window string) {
	t.tb.Helper()
	t.must(t.Server.KillWindow(window))
}

// WaitUntil polls window until ok holds for the screen and returns that
// screen; after WaitTimeout it fails the test with the last screen.
func (t *T) WaitUntil(window, what string, ok func(screen string) bool) string {
	t.tb.Helper()
	s, err := t.Server.Wait(context.Background(), window, what, WaitTimeout, PollInterval, ok)
	t.must(err)
	return s
}

// WaitFor waits until window shows every one of texts.
func (t *T) WaitFor(window string, texts ...string) string {
	t.tb.Helper()
	return t.WaitUntil(window, fmt.Sprintf("%q", texts), Contains(texts...))
}

// WaitRegexp waits until window matches re and returns the submatches.
func (t *T) WaitRegexp(window string, re *regexp.Regexp) []string {
	t.tb.Helper()
	var m []string
	t.WaitUntil(window, "/"+re.String()+"/", func(s string) bool {
		m = re.FindStringSubmatch(s)
		return m != nil
	})
	return m
}

// WaitStep waits until the checklist of window marks step n with glyph.
func (t *T) WaitStep(window string, n int, glyph string) string {
	t.tb.Helper()
	return t.WaitUntil(window, fmt.Sprintf("step %d marked %s", n, glyph), func(s string) bool {
		return strings.HasPrefix(StepLine(s, n), glyph+" ")
	})
}

// PID reads the pid file Start returned, waiting for it to be written.
func (t *T) PID(pidFile string) int {
	t.tb.Helper()
	pid, err := PID(context.Background(), pidFile, WaitTimeout)
	t.must(err)
	return pid
}
