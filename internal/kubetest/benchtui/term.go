package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drnav/drnav/internal/tmuxtest"
)

// term is a private tmux server whose windows run drnav with their own
// state and config folders.
type term struct {
	*tmuxtest.Server
	o    options
	dir  string
	env0 []string
}

// A runbook with one manual step: declaring it needs no variables, and the
// resumed checklist shows the pods pane of the configured app selector.
const benchRunbook = `id      = "bench"
title   = "Benchmark walk"
impact  = "None: the TUI benchmark's fixture"
summary = "One manual step, so the checklist and its panes are on screen."
kind    = "procedure"

[[steps]]
id     = "look"
title  = "Look at the pods"
why    = "The pods pane is what the benchmark measures."
expect = "All pods are shown."
manual = "Look at the pods pane."
`

func newTerm(work, kubeconfig string, o options) (*term, error) {
	// One tmux server per binary: a killed server may still be exiting when
	// the next one starts.
	tm := &term{Server: tmuxtest.New("benchtui-"+filepath.Base(work), work, o.width, o.height), o: o, dir: work}
	for _, d := range []string{"state", "config/drnav", "runbooks", "pprof"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o700); err != nil {
			return nil, err
		}
	}
	cfg := fmt.Sprintf("namespace = %q\napp_label = \"app=perf\"\ndeployment = \"perf\"\nkubeconfig = %q\n", o.ns, kubeconfig)
	if err := os.WriteFile(filepath.Join(work, "config/drnav/config.toml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, "runbooks/bench.toml"), []byte(benchRunbook), 0o600); err != nil {
		return nil, err
	}
	tm.env0 = tmuxtest.Env(
		"XDG_STATE_HOME="+filepath.Join(work, "state"),
		"XDG_CONFIG_HOME="+filepath.Join(work, "config"),
		"KUBECONFIG="+kubeconfig,
		// No PostgreSQL here: fail fast rather than wait on a socket.
		"PGHOST=127.0.0.1", "PGPORT=1", "PGCONNECT_TIMEOUT=1",
	)
	return tm, nil
}

func (tm *term) env() []string { return tm.env0 }

func (tm *term) close() {
	if err := tm.Close(); err != nil {
		logf("%v", err)
	}
}

// start runs drnav ARGS in a new window (env: ours, then extra) and returns
// the pid file. The window stays after drnav exits, so its last screen can
// be read.
func (tm *term) start(name string, extra []string, args ...string) (string, error) {
	return tm.Start(name, slices.Concat(tm.env0, extra), slices.Concat([]string{tm.o.bin}, args)...)
}

func (tm *term) screen(name string) string {
	s, _ := tm.Screen(name)
	return s
}

// waitFor polls the screen every interval until ok holds (3 minutes at
// most).
func (tm *term) waitFor(ctx context.Context, name, what string, interval time.Duration, ok func(string) bool) (string, error) {
	return tm.Wait(ctx, name, what, 3*time.Minute, interval, ok)
}

// declare declares an incident on the bench runbook in LIVE mode, quits and
// returns its id.
func (tm *term) declare(ctx context.Context) (string, error) {
	rb := filepath.Join(tm.dir, "runbooks")
	if _, err := tm.start("declare", nil, "--runbooks", rb); err != nil {
		return "", err
	}
	step := 100 * time.Millisecond
	if _, err := tm.waitFor(ctx, "declare", "the picker", step, tmuxtest.Contains("Benchmark walk")); err != nil {
		return "", err
	}
	if err := tm.Keys("declare", "Enter"); err != nil {
		return "", err
	}
	if _, err := tm.waitFor(ctx, "declare", "the mode screen", step, tmuxtest.Contains("LIVE")); err != nil {
		return "", err
	}
	if err := tm.Keys("declare", "l"); err != nil {
		return "", err
	}
	if _, err := tm.waitFor(ctx, "declare", "the declare form", step, tmuxtest.Contains("Declare: Benchmark walk")); err != nil {
		return "", err
	}
	// Enter moves through the form's fields and finally declares.
	for i := 0; ; i++ {
		s := tm.screen("declare")
		if strings.Contains(s, "1 Look at the pods") && strings.Contains(s, "RTO") {
			break
		}
		if i == 20 {
			return "", fmt.Errorf("the declare form did not lead to the checklist:\n%s", s)
		}
		if err := tm.Keys("declare", "Enter"); err != nil {
			return "", err
		}
		// The next Enter only once this one has shown: on a loaded machine
		// an Enter sent blindly after the form can land on the checklist
		// and open the first step's prompt.
		changed := func(now string) bool { return now != s }
		if _, err := tm.waitFor(ctx, "declare", "the screen after Enter", 50*time.Millisecond, changed); err != nil {
			return "", err
		}
		sleep(ctx, 500*time.Millisecond)
	}
	if err := tm.Keys("declare", "q"); err != nil {
		return "", err
	}
	// The line drnav prints at exit may wrap and scroll: read the history,
	// wrapped lines joined.
	re := regexp.MustCompile(`incident (\S+): resume with`)
	var s string
	err := pollUntilFast(ctx, 3*time.Minute, func() bool {
		out, _ := tm.History("declare", 200)
		s = out
		return re.MatchString(out)
	})
	if err != nil {
		return "", fmt.Errorf("drnav to exit after q: %w; screen:\n%s", err, s)
	}
	id := re.FindStringSubmatch(s)[1]
	logf("declared incident %s", id)
	return id, nil
}

type drnavRun struct {
	name                 string
	pid                  int
	firstFrame, allShown time.Duration
}

// resume starts `drnav resume ID` and times the first frame (any text on
// the screen) and the pods pane showing ready.
func (tm *term) resume(ctx context.Context, id string, ready *regexp.Regexp, pprofDir, name string) (*drnavRun, error) {
	var extra []string
	if pprofDir != "" {
		extra = append(extra, "DRNAV_PPROF="+pprofDir)
	}
	start := time.Now()
	pidFile, err := tm.start(name, extra, "resume", "--runbooks", filepath.Join(tm.dir, "runbooks"), id)
	if err != nil {
		return nil, err
	}
	dr := &drnavRun{name: name}
	poll := 5 * time.Millisecond
	if _, err := tm.waitFor(ctx, name, "the first frame", poll, func(s string) bool { return strings.TrimSpace(s) != "" }); err != nil {
		return nil, err
	}
	dr.firstFrame = time.Since(start)
	if _, err := tm.waitFor(ctx, name, "all pods shown", poll, ready.MatchString); err != nil {
		return nil, err
	}
	dr.allShown = time.Since(start)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return nil, err
	}
	if dr.pid, err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
		return nil, err
	}
	return dr, nil
}

func pollUntilFast(ctx context.Context, timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		sleep(ctx, 100*time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// quit presses q and waits until the process has exited (a zombie counts:
// tmux reaps it in its own time).
func (tm *term) quit(ctx context.Context, dr *drnavRun) error {
	if err := tm.Keys(dr.name, "q"); err != nil {
		return err
	}
	start := time.Now()
	for {
		state := procState(dr.pid)
		if state == "" || state == "Z" {
			if d := time.Since(start); d > 2*time.Second {
				logf("%s: drnav took %s to exit after q", dr.name, ms(d))
			}
			return nil
		}
		if time.Since(start) > time.Minute {
			_ = syscall.Kill(dr.pid, syscall.SIGKILL)
			return fmt.Errorf("drnav (pid %d, state %s) did not exit within a minute after q (killed); screen:\n%s", dr.pid, state, tm.screen(dr.name))
		}
		sleep(ctx, 20*time.Millisecond)
	}
}

// procState is the state letter of pid ("" when it is gone).
func procState(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
