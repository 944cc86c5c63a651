// Package e2e drives the real drnav binary in tmux: it types keys with
// send-keys and reads the screen with capture-pane, as a person at a
// terminal would.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/drnav/drnav/internal/tmuxtest"
)

// waitTimeout bounds every wait for the screen to show something.
const waitTimeout = tmuxtest.WaitTimeout

// pollInterval is how often the screen is captured while waiting.
const pollInterval = tmuxtest.PollInterval

// binPath is set once by TestMain (the built drnav binary); it is never
// changed afterwards.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "drnav-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "drnav")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	binPath = bin
	return m.Run()
}

// term is one private tmux server whose windows run drnav processes, all
// sharing one state and config folder.
type term struct {
	*tmuxtest.T
	t      *testing.T
	dir    string   // scratch: runbooks, keys, markers
	state  string   // XDG_STATE_HOME
	config string   // XDG_CONFIG_HOME
	extra  []string // more KEY=value for the windows started after it is set
}

// newTerm prepares a tmux server of w×h windows; the first start creates it
// and cleanup kills it.
func newTerm(t *testing.T, w, h int) *term {
	t.Helper()
	dir := t.TempDir()
	tm := &term{
		T:      tmuxtest.NewT(t, w, h),
		t:      t,
		dir:    dir,
		state:  filepath.Join(dir, "state"),
		config: filepath.Join(dir, "config"),
	}
	for _, d := range []string{tm.state, tm.config} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("mkdir %s: %v", d, err)
		}
	}
	// LIVE needs a resolvable kube context; its server refuses connections.
	kc := "apiVersion: v1\nkind: Config\ncurrent-context: e2e\n" +
		"clusters:\n- name: e2e\n  cluster: {server: \"https://127.0.0.1:1\"}\n" +
		"contexts:\n- name: e2e\n  context: {cluster: e2e, user: e2e}\n" +
		"users:\n- name: e2e\n  user: {token: e2e}\n"
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(kc), 0o600); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return tm
}

// env is the environment drnav runs with: private state and config, a
// kubeconfig whose cluster refuses connections, no PostgreSQL settings, a
// UTF-8 locale.
func (tm *term) env() []string {
	return tmuxtest.Env(append([]string{
		"XDG_STATE_HOME=" + tm.state,
		"XDG_CONFIG_HOME=" + tm.config,
		"KUBECONFIG=" + filepath.Join(tm.dir, "kubeconfig"),
	}, tm.extra...)...)
}

// shq quotes s for a POSIX shell.
func shq(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// start runs drnav with args in a new tmux window called name and returns
// the file that will hold drnav's pid. When drnav exits the window stays,
// showing "[exited N]".
func (tm *term) start(name string, args ...string) (pidFile string) {
	tm.t.Helper()
	return tm.Start(name, tm.env(), append([]string{binPath}, args...)...)
}

// drnav runs the binary outside tmux (incidents, report) with the same
// environment, and returns its standard output.
func (tm *term) drnav(args ...string) string {
	tm.t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = tm.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tm.t.Fatalf("drnav %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// quit presses q in window name, waits for drnav to exit 0 and returns the
// incident id it printed.
func (tm *term) quit(name string) string {
	tm.t.Helper()
	tm.Keys(name, "q")
	m := tm.WaitRegexp(name, regexp.MustCompile(`(?s)incident (\S+): resume with.*\[exited (\d+)\]`))
	if m[2] != "0" {
		tm.t.Fatalf("drnav exited %s", m[2])
	}
	return m[1]
}

// children lists the pids whose parent is pid.
func children(t *testing.T, pid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}
	var kids []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces, so cut at the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil && ppid == pid {
			kids = append(kids, p)
		}
	}
	return kids
}

// killGroupAtCleanup kills the process group led by pid when the test ends
// (drnav starts every step in its own group; a SIGKILLed drnav leaves it
// behind).
func killGroupAtCleanup(t *testing.T, pid int) {
	t.Cleanup(func() {
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			t.Logf("kill group %d: %v", pid, err)
		}
	})
}

// checkLines fails when a line of screen is wider than w or holds escape
// bytes or replacement characters.
func checkLines(t *testing.T, what, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(screen, "\n"), "\n")
	if len(lines) != h {
		t.Errorf("%s: %d lines captured, want %d", what, len(lines), h)
	}
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n > w {
			t.Errorf("%s: line %d is %d columns wide (> %d): %q", what, i+1, n, w, l)
		}
		if strings.ContainsAny(l, "\x1b\ufffd") || !utf8.ValidString(l) {
			t.Errorf("%s: line %d holds garbage: %q", what, i+1, l)
		}
	}
	if t.Failed() {
		t.Logf("%s screen:\n%s", what, screen)
	}
}

// usedRe reads the RTO bar's elapsed time from the header.
var usedRe = regexp.MustCompile(`RTO \S+ \S+ ([0-9hms]+) used`)

// rtoUsed parses the elapsed time of the header's RTO bar.
func rtoUsed(t *testing.T, screen string) time.Duration {
	t.Helper()
	m := usedRe.FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no RTO bar in the header:\n%s", screen)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("RTO elapsed %q: %v", m[1], err)
	}
	return d
}

// shellRunbooks is the absolute path of the shell test runbooks.
func shellRunbooks(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "shell"))
	if err != nil {
		t.Fatalf("abs: %v", err)
	}
	return p
}

// declareShell opens the shell runbook in live mode from the picker of
// window name and declares it detected at detection ("" keeps now).
func (tm *term) declareShell(name, detection string) {
	tm.t.Helper()
	tm.WaitFor(name, "pick the disaster", "Shell walk")
	tm.Keys(name, "Enter")
	tm.WaitFor(name, "Choose the mode explicitly", "LIVE")
	tm.Keys(name, "l")
	tm.WaitFor(name, "Declare: Shell walk", "Detection time", "Word to echo")
	if detection != "" {
		tm.Type(name, detection)
		tm.WaitFor(name, "> "+detection)
	}
	tm.Keys(name, "Enter")
	tm.WaitUntil(name, "the variable field selected", func(s string) bool {
		return regexp.MustCompile(`(?m)^> Word to echo`).MatchString(s)
	})
	tm.Keys(name, "Enter")
	tm.WaitFor(name, "RTO", "1 Echo a greeting", "6 Tell the team", "enter run step")
}

// syscallKill sends SIGKILL to pid.
func syscallKill(pid int) error {
	return syscall.Kill(pid, syscall.SIGKILL)
}
