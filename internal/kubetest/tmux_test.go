package kubetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tmuxTerm is a private tmux server (its own socket) whose windows run the
// real drnav binary, each with the environment it is given: the
// navigator as a person sees it, read with capture-pane.
type tmuxTerm struct {
	t       *testing.T
	sock    string
	dir     string
	started bool
}

func newTmux(t *testing.T) *tmuxTerm {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("DRNAV_REQUIRE_TMUX") == "1" || os.Getenv("DRNAV_REQUIRE_KUBE") == "1" {
			t.Fatalf("tmux is required but not found: %v", err)
		}
		t.Skipf("tmux not found: %v", err)
	}
	tm := &tmuxTerm{t: t, dir: t.TempDir(),
		sock: fmt.Sprintf("drnav-kt-%d-%s", os.Getpid(), regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(t.Name(), "_"))}
	t.Cleanup(func() {
		// A race detector report of a -race drnav fails the test here, in
		// full (the terminal keeps only the end of it).
		if reps, _ := filepath.Glob(filepath.Join(tm.dir, "race.*")); len(reps) > 0 {
			for _, r := range reps {
				b, _ := os.ReadFile(r)
				t.Errorf("drnav in tmux reported a data race (%s):\n%s", filepath.Base(r), b)
			}
		}
		if !tm.started {
			return
		}
		path, _ := exec.Command("tmux", "-L", tm.sock, "display-message", "-p", "#{socket_path}").Output()
		_ = exec.Command("tmux", "-L", tm.sock, "kill-server").Run()
		if p := strings.TrimSpace(string(path)); p != "" {
			_ = os.Remove(p)
		}
	})
	return tm
}

// tmuxEnv is the environment of a drnav in tmux: a UTF-8 locale, no
// PostgreSQL, the given variables (KUBECONFIG, XDG_*…) in place of ours.
func tmuxEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "PG"), strings.HasPrefix(k, "DRNAV_"), strings.HasPrefix(k, "XDG_"),
			k == "KUBECONFIG", k == "NO_COLOR", k == "LANG", k == "LC_ALL", k == "TMUX":
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "PGHOST=127.0.0.1", "PGPORT=1", "PGCONNECT_TIMEOUT=1"), extra...)
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// start runs bin with args in window name (120×40); when it exits the
// window shows "[drnav exited N]".
func (tm *tmuxTerm) start(name string, env []string, bin string, args ...string) {
	tm.t.Helper()
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	env = append(env, "GORACE=log_path="+filepath.Join(tm.dir, "race"))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k) {
			continue
		}
		fmt.Fprintf(&b, "export %s=%s\n", k, shQuote(v))
	}
	b.WriteString(shQuote(bin))
	for _, a := range args {
		b.WriteString(" " + shQuote(a))
	}
	b.WriteString("\necho \"[drnav exited $?]\"\nexec sleep 3600\n")
	script := filepath.Join(tm.dir, name+".sh")
	if err := os.WriteFile(script, []byte(b.String()), 0o755); err != nil {
		tm.t.Fatal(err)
	}
	if !tm.started {
		tm.tmux("-f", "/dev/null", "new-session", "-d", "-s", "kt", "-n", name, "-x", "120", "-y", "40", script)
		tm.started = true
	} else {
		tm.tmux("new-window", "-d", "-t", "kt", "-n", name, script)
	}
}

func (tm *tmuxTerm) tmux(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.sock}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (tm *tmuxTerm) keys(name string, keys ...string) {
	tm.t.Helper()
	tm.tmux(append([]string{"send-keys", "-t", "kt:" + name}, keys...)...)
}

func (tm *tmuxTerm) screen(name string) string {
	tm.t.Helper()
	return tm.tmux("capture-pane", "-p", "-t", "kt:"+name)
}

// waitUntil polls the screen of window name until ok holds (90 s at most).
func (tm *tmuxTerm) waitUntil(name, what string, ok func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		s := tm.screen(name)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("window %s: timed out waiting for %s; screen:\n%s", name, what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (tm *tmuxTerm) waitFor(name string, texts ...string) string {
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

// checklistLine is the checklist line of step n ("✓ 1 Title…"), without
// the selection marker.
func checklistLine(screen string, n int) string {
	re := regexp.MustCompile(`(?m)^[ >](\S) ` + strconv.Itoa(n) + ` ([^│]*)`)
	if m := re.FindString(screen); m != "" {
		return m[1:]
	}
	return ""
}

func (tm *tmuxTerm) waitStep(name string, n int, glyph string) string {
	tm.t.Helper()
	return tm.waitUntil(name, fmt.Sprintf("step %d marked %s", n, glyph), func(s string) bool {
		return strings.HasPrefix(checklistLine(s, n), glyph+" ")
	})
}
