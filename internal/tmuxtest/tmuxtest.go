// Package tmuxtest drives programs (the real drnav binary) in a private tmux
// server, as a person at a terminal would: keys go in with send-keys, the
// screen comes back with capture-pane, and waits poll the screen until a
// deadline. The end-to-end tests, the control-plane tests and the TUI
// benchmark share it.
//
// Server returns errors (for the benchmark, a program); T binds a Server to a
// test, failing it where a Server returns an error.
package tmuxtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// session is the one tmux session of a server; windows are named by the
// caller.
const session = "drnav"

// Server is a private tmux server (its own socket) with one session of
// w×h windows. The first Start creates it; Close kills it.
type Server struct {
	sock    string
	dir     string // the windows' scripts and pid files
	w, h    int
	started bool
}

var unsafeSocketChars = regexp.MustCompile(`[^A-Za-z0-9]`)

// New prepares a server named after name (a test or run name) whose scripts
// and pid files go to dir. Nothing runs until the first Start.
func New(name, dir string, w, h int) *Server {
	return &Server{
		sock: fmt.Sprintf("drnav-%d-%s", os.Getpid(), unsafeSocketChars.ReplaceAllString(name, "_")),
		dir:  dir,
		w:    w,
		h:    h,
	}
}

// Env is the environment for a drnav in tmux: ours without the variables
// that would reach the developer's own state, config, cluster or database
// (PG*, DRNAV_*, XDG_*, KUBECONFIG, NO_COLOR, TMUX), a UTF-8 locale, and
// then extra.
func Env(extra ...string) []string {
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
	return append(append(env, "LANG=C.UTF-8", "LC_ALL=C.UTF-8"), extra...)
}

// shq quotes s for a POSIX shell.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Start runs argv with env (only env: see Env) in a new window and returns
// the file that will hold the program's pid. When the program exits the
// window stays, showing "[exited N]" under its last screen.
func (s *Server) Start(window string, env []string, argv ...string) (pidFile string, err error) {
	if len(argv) == 0 {
		return "", fmt.Errorf("start %s: no command", window)
	}
	pidFile = filepath.Join(s.dir, window+".pid")
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if envName.MatchString(k) {
			fmt.Fprintf(&b, "export %s=%s\n", k, shq(v))
		}
	}
	// The child writes its own pid and becomes the program, so the pid is
	// the program's while the script lives on to report its exit.
	fmt.Fprintf(&b, "sh -c 'echo $$ > \"$0\"; exec \"$@\"' %s", shq(pidFile))
	for _, a := range argv {
		b.WriteString(" " + shq(a))
	}
	b.WriteString("\necho \"[exited $?]\"\nexec sleep 86400\n")
	script := filepath.Join(s.dir, window+".sh")
	if err := os.WriteFile(script, []byte(b.String()), 0o700); err != nil {
		return "", fmt.Errorf("start %s: %w", window, err)
	}
	if !s.started {
		_, err = s.Tmux("-f", "/dev/null", "new-session", "-d", "-s", session, "-n", window,
			"-x", strconv.Itoa(s.w), "-y", strconv.Itoa(s.h), script)
		s.started = err == nil
	} else {
		_, err = s.Tmux("new-window", "-d", "-t", session, "-n", window, script)
	}
	return pidFile, err
}

// Tmux runs a tmux command on this server and returns its output.
func (s *Server) Tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("tmux %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func target(window string) string { return session + ":" + window }

// Keys sends tmux key names (Enter, Tab, PageUp, j…) to window.
func (s *Server) Keys(window string, keys ...string) error {
	_, err := s.Tmux(append([]string{"send-keys", "-t", target(window)}, keys...)...)
	return err
}

// Type sends text literally to window.
func (s *Server) Type(window, text string) error {
	_, err := s.Tmux("send-keys", "-t", target(window), "-l", text)
	return err
}

// Screen captures window as plain text (no escape sequences).
func (s *Server) Screen(window string) (string, error) {
	return s.Tmux("capture-pane", "-p", "-t", target(window))
}

// ScreenANSI captures window with its colours and attributes.
func (s *Server) ScreenANSI(window string) (string, error) {
	return s.Tmux("capture-pane", "-p", "-e", "-t", target(window))
}

// History captures window with up to lines of scrollback, wrapped lines
// joined (what a program printed as it exited).
func (s *Server) History(window string, lines int) (string, error) {
	return s.Tmux("capture-pane", "-p", "-J", "-S", strconv.Itoa(-lines), "-t", target(window))
}

// Wait captures window every interval until ok holds for the screen and
// returns that screen. After timeout, or when ctx ends, it returns the last
// screen and an error naming what it waited for.
func (s *Server) Wait(ctx context.Context, window, what string, timeout, interval time.Duration, ok func(screen string) bool) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		scr, err := s.Screen(window)
		if err != nil {
			return scr, err
		}
		if ok(scr) {
			return scr, nil
		}
		if time.Now().After(deadline) {
			return scr, fmt.Errorf("window %s: timed out after %s waiting for %s; screen:\n%s", window, timeout, what, scr)
		}
		select {
		case <-ctx.Done():
			return scr, fmt.Errorf("window %s: waiting for %s: %w", window, what, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// Resize makes window w×h.
func (s *Server) Resize(window string, w, h int) error {
	_, err := s.Tmux("resize-window", "-t", target(window), "-x", strconv.Itoa(w), "-y", strconv.Itoa(h))
	return err
}

// KillWindow closes window; its terminal hangs up on the program.
func (s *Server) KillWindow(window string) error {
	_, err := s.Tmux("kill-window", "-t", target(window))
	return err
}

// Close kills the server and removes the socket tmux leaves behind.
func (s *Server) Close() error {
	if !s.started {
		return nil
	}
	path, _ := s.Tmux("display-message", "-p", "#{socket_path}")
	_, err := s.Tmux("kill-server")
	s.started = false
	if p := strings.TrimSpace(path); p != "" {
		if rerr := os.Remove(p); rerr != nil && !os.IsNotExist(rerr) && err == nil {
			err = rerr
		}
	}
	return err
}

// Contains is a screen condition: every one of texts is on the screen.
func Contains(texts ...string) func(screen string) bool {
	return func(screen string) bool {
		for _, x := range texts {
			if !strings.Contains(screen, x) {
				return false
			}
		}
		return true
	}
}

// StepLine returns the checklist line of step n ("✓ 1 Echo a greeting …")
// without the selection marker (">" on the selected step), cut at the
// detail pane's border; "" when the screen shows no such line.
func StepLine(screen string, n int) string {
	re := regexp.MustCompile(`(?m)^[ >](\S) ` + strconv.Itoa(n) + ` ([^│]*)`)
	if m := re.FindString(screen); m != "" {
		return m[1:]
	}
	return ""
}

// PID reads a pid file written by Start, waiting up to timeout for it.
func PID(ctx context.Context, pidFile string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no pid in %s after %s", pidFile, timeout)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
