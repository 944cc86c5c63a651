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
)

// waitTimeout bounds every wait for the screen to show something.
const waitTimeout = 90 * time.Second

// pollInterval is how often the screen is captured while waiting.
const pollInterval = 50 * time.Millisecond

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

// requireTmux skips the test when tmux is missing, unless CI=true or
// DRNAV_REQUIRE_TMUX=1 make it a failure.
func requireTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("DRNAV_REQUIRE_TMUX") == "1" {
			t.Fatalf("tmux is required (CI=true or DRNAV_REQUIRE_TMUX=1) but not found: %v", err)
		}
		t.Skipf("tmux not found: %v", err)
	}
}

// term is one private tmux server (its own socket) with one session whose
// windows run drnav processes, all sharing one state and config folder.
type term struct {
	t       *testing.T
	sock    string
	dir     string // scratch: scripts, pid files
	state   string // XDG_STATE_HOME
	config  string // XDG_CONFIG_HOME
	started bool
	w, h    int
	extra   []string // more KEY=value for the windows started after it is set
}

// newTerm prepares a tmux server of w×h windows; the first start creates it
// and cleanup kills it.
func newTerm(t *testing.T, w, h int) *term {
	t.Helper()
	requireTmux(t)
	dir := t.TempDir()
	tm := &term{
		t:      t,
		sock:   fmt.Sprintf("drnav-e2e-%d-%s", os.Getpid(), regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(t.Name(), "_")),
		dir:    dir,
		state:  filepath.Join(dir, "state"),
		config: filepath.Join(dir, "config"),
		w:      w,
		h:      h,
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
	t.Cleanup(func() {
		if !tm.started {
			return
		}
		path, _ := exec.Command("tmux", "-L", tm.sock, "display-message", "-p", "#{socket_path}").Output()
		if out, err := exec.Command("tmux", "-L", tm.sock, "kill-server").CombinedOutput(); err != nil {
			t.Logf("tmux kill-server: %v: %s", err, out)
		}
		// tmux leaves the socket file behind.
		if p := strings.TrimSpace(string(path)); p != "" {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Logf("remove tmux socket: %v", err)
			}
		}
	})
	return tm
}

// env is the environment drnav runs with: private state and config, a
// kubeconfig whose cluster refuses connections, no PostgreSQL settings, a
// UTF-8 locale.
func (tm *term) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "PG"), strings.HasPrefix(k, "DRNAV_"), k == "NO_COLOR",
			k == "XDG_STATE_HOME", k == "XDG_CONFIG_HOME", k == "KUBECONFIG", k == "LANG", k == "LC_ALL", k == "TMUX":
			continue
		}
		env = append(env, kv)
	}
	return append(append(env,
		"XDG_STATE_HOME="+tm.state,
		"XDG_CONFIG_HOME="+tm.config,
		"KUBECONFIG="+filepath.Join(tm.dir, "kubeconfig"),
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
	), tm.extra...)
}

// shq quotes s for a POSIX shell.
func shq(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// start runs drnav with args in a new tmux window called name and returns
// the file that will hold drnav's pid. When drnav exits the window stays,
// showing "[drnav exited N]".
func (tm *term) start(name string, args ...string) (pidFile string) {
	tm.t.Helper()
	pidFile = filepath.Join(tm.dir, name+".pid")
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	for _, kv := range tm.env() {
		k, v, _ := strings.Cut(kv, "=")
		if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k) {
			continue
		}
		fmt.Fprintf(&b, "export %s=%s\n", k, shq(v))
	}
	fmt.Fprintf(&b, "sh -c 'echo $$ > \"$0\"; exec \"$@\"' %s %s", shq(pidFile), shq(binPath))
	for _, a := range args {
		b.WriteString(" " + shq(a))
	}
	b.WriteString("\necho \"[drnav exited $?]\"\nexec sleep 3600\n")
	script := filepath.Join(tm.dir, name+".sh")
	if err := os.WriteFile(script, []byte(b.String()), 0o755); err != nil {
		tm.t.Fatalf("write %s: %v", script, err)
	}
	size := []string{"-x", strconv.Itoa(tm.w), "-y", strconv.Itoa(tm.h)}
	if !tm.started {
		tm.tmux(append([]string{"-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-n", name}, append(size, script)...)...)
		tm.started = true
	} else {
		tm.tmux("new-window", "-d", "-t", "e2e", "-n", name, script)
	}
	return pidFile
}

// tmux runs a tmux command on this test's server.
func (tm *term) tmux(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.sock}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// keys sends tmux key names (Enter, Tab, PageUp, j…) to window name.
func (tm *term) keys(name string, keys ...string) {
	tm.t.Helper()
	tm.tmux(append([]string{"send-keys", "-t", "e2e:" + name}, keys...)...)
}

// typeText sends text literally to window name.
func (tm *term) typeText(name, text string) {
	tm.t.Helper()
	tm.tmux("send-keys", "-t", "e2e:"+name, "-l", text)
}

// screen captures window name as plain text (no escape sequences).
func (tm *term) screen(name string) string {
	tm.t.Helper()
	return tm.tmux("capture-pane", "-p", "-t", "e2e:"+name)
}

// screenANSI captures window name with its colours and attributes.
func (tm *term) screenANSI(name string) string {
	tm.t.Helper()
	return tm.tmux("capture-pane", "-p", "-e", "-t", "e2e:"+name)
}

// waitUntil polls window name until ok holds for the screen, and returns
// that screen; it fails the test with the last screen after waitTimeout.
func (tm *term) waitUntil(name, what string, ok func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		s := tm.screen(name)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("window %s: timed out after %s waiting for %s; screen:\n%s", name, waitTimeout, what, s)
		}
		time.Sleep(pollInterval)
	}
}

// waitFor waits until window name shows every one of texts.
func (tm *term) waitFor(name string, texts ...string) string {
	tm.t.Helper()
	return tm.waitUntil(name, fmt.Sprintf("%q", texts), func(s string) bool {
		for _, x := range texts {
			if !strings.Contains(s, x) {
				return false
			}
		}
		return true
	})
}

// waitRegexp waits until window name matches re and returns the submatches.
func (tm *term) waitRegexp(name string, re *regexp.Regexp) []string {
	tm.t.Helper()
	var m []string
	tm.waitUntil(name, "/"+re.String()+"/", func(s string) bool {
		m = re.FindStringSubmatch(s)
		return m != nil
	})
	return m
}

// pid reads a pid file written by start, waiting for it to appear.
func (tm *term) pid(pidFile string) int {
	tm.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("no pid in %s after %s", pidFile, waitTimeout)
		}
		time.Sleep(pollInterval)
	}
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
	tm.keys(name, "q")
	m := tm.waitRegexp(name, regexp.MustCompile(`(?s)incident (\S+): resume with.*\[drnav exited (\d+)\]`))
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

// stepLine returns the checklist line of step n ("✓ 1 Echo a greeting …"),
// cut at the detail pane's border.
// The first column is the selection marker (">" on the selected step).
func stepLine(screen string, n int) string {
	re := regexp.MustCompile(`(?m)^[ >](\S) ` + strconv.Itoa(n) + ` ([^│]*)`)
	if m := re.FindString(screen); m != "" {
		return m[1:]
	}
	return ""
}

// waitStep waits until step n of window name shows glyph.
func (tm *term) waitStep(name string, n int, glyph string) string {
	tm.t.Helper()
	return tm.waitUntil(name, fmt.Sprintf("step %d marked %s", n, glyph), func(s string) bool {
		return strings.HasPrefix(stepLine(s, n), glyph+" ")
	})
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
	tm.waitFor(name, "pick the disaster", "Shell walk")
	tm.keys(name, "Enter")
	tm.waitFor(name, "Choose the mode explicitly", "LIVE")
	tm.keys(name, "l")
	tm.waitFor(name, "Declare: Shell walk", "Detection time", "Word to echo")
	if detection != "" {
		tm.typeText(name, detection)
		tm.waitFor(name, "> "+detection)
	}
	tm.keys(name, "Enter")
	tm.waitUntil(name, "the variable field selected", func(s string) bool {
		return regexp.MustCompile(`(?m)^> Word to echo`).MatchString(s)
	})
	tm.keys(name, "Enter")
	tm.waitFor(name, "RTO", "1 Echo a greeting", "6 Tell the team", "enter run step")
}

// syscallKill sends SIGKILL to pid.
func syscallKill(pid int) error {
	return syscall.Kill(pid, syscall.SIGKILL)
}
