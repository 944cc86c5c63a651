package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/drnav/drnav/internal/supervisor"
)

// Supervisor runs shell steps detached from drnav: each run gets a folder
// under Root where a supervisor process (drnav re-executed in its own
// session) writes the output, the exit status and the timing, so the step
// runs to its end and its outcome is known even when drnav is killed or the
// SSH session drops.
type Supervisor struct {
	Exe  string   // the program: drnav itself (os.Executable)
	Args []string // arguments before the run folder: {supervisor.Command}
	Root string   // where run folders are made: the incident's folder /steps
	Env  []string // extra environment of the supervisor (tests)
}

// pollInterval is how often a detached step's files are read.
const pollInterval = 50 * time.Millisecond

// aliveInterval is how often a re-attached step's supervisor is checked.
const aliveInterval = time.Second

// goneGrace is how long the status of a supervisor found gone is awaited,
// and how long it must stay gone before the outcome is called unknown. It is
// generous: on a loaded machine a supervisor can sit for seconds between its
// fork and its exec (when /proc still shows drnav's command line), or between
// its last write and its exit; calling a running step "outcome unknown" too
// early would be the worse mistake.
const goneGrace = 15 * time.Second

var runDirRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-zA-Z0-9_-]+`) })

// newRunDir makes a fresh folder for one run of step id.
func (s *Supervisor) newRunDir(id string) (string, error) {
	if err := os.MkdirAll(s.Root, 0o700); err != nil {
		return "", fmt.Errorf("step folder: %w", err)
	}
	name := runDirRe().ReplaceAllString(id, "_")
	if len(name) > 64 {
		name = name[:64]
	}
	dir, err := os.MkdirTemp(s.Root, time.Now().UTC().Format("20060102T150405")+"-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("step folder: %w", err)
	}
	return dir, nil
}

// errAbandoned ends a run drnav stopped following (Abandon).
var errAbandoned = errors.New("drnav stopped following the step; it runs on under its supervisor")

// runDetached starts the supervisor for script in dir and follows it.
func runDetached(ctx context.Context, r *Run, sup *Supervisor, dir, script string, env []string, cwd string) (supervisor.Status, error) {
	spec := supervisor.Spec{Script: script, Grace: KillGrace}
	if d, ok := ctx.Deadline(); ok {
		spec.Timeout = max(time.Until(d), time.Millisecond)
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return supervisor.Status{}, fmt.Errorf("supervisor spec: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(dir, supervisor.LogName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return supervisor.Status{}, fmt.Errorf("supervisor log: %w", err)
	}
	// The spec reaches the supervisor as a file on its stdin, complete
	// before it starts: through a pipe, a copying goroutine of this process
	// would still be writing it when a signal ends drnav right after the
	// start, and the step would never run. The file is unnamed (removed
	// right after it is created) and not fsynced: only the open file matters.
	specf, err := os.CreateTemp(dir, "spec-*.json") // 0600, in the run folder
	if err != nil {
		logf.Close()
		return supervisor.Status{}, fmt.Errorf("supervisor spec: %w", err)
	}
	_ = os.Remove(specf.Name()) // the open file is all the supervisor needs
	_, err = specf.Write(data)
	if err == nil {
		_, err = specf.Seek(0, io.SeekStart)
	}
	if err != nil {
		specf.Close()
		logf.Close()
		return supervisor.Status{}, fmt.Errorf("supervisor spec: %w", err)
	}
	cmd := exec.Command(sup.Exe, append(slices.Clone(sup.Args), dir)...)
	cmd.Env = append(slices.Clone(env), sup.Env...)
	cmd.Dir = cwd
	cmd.Stdin = specf
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	logf.Close()
	specf.Close()
	if err != nil {
		return supervisor.Status{}, fmt.Errorf("start supervisor: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return followRun(ctx, r, dir, exited)
}

// followRun streams a run folder's output into r until its status is
// written, and returns it. exited, when not nil, closes when the supervisor
// (our child) exited; otherwise the supervisor is checked with Alive. When
// ctx ends the supervisor is told to stop the step's group, and its status
// is still awaited.
func followRun(ctx context.Context, r *Run, dir string, exited <-chan struct{}) (supervisor.Status, error) {
	stopTail := make(chan struct{})
	tails := make(chan struct{}, 2)
	go func() {
		readLines(&followReader{path: filepath.Join(dir, supervisor.OutName), stop: stopTail}, Stdout, r)
		tails <- struct{}{}
	}()
	go func() {
		readLines(&followReader{path: filepath.Join(dir, supervisor.ErrName), stop: stopTail}, Stderr, r)
		tails <- struct{}{}
	}()
	endTails := func() {
		close(stopTail)
		<-tails
		<-tails
	}

	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	lastAlive := time.Now()
	stopping, stopSent := false, false
	var stopDeadline time.Time
	done := ctx.Done()
	for {
		if st, ok, err := supervisor.ReadStatus(dir); err != nil || ok {
			endTails()
			return st, err
		}
		select {
		case <-r.abandon:
			endTails()
			return supervisor.Status{}, errAbandoned
		case <-exited:
			exited = nil
			// The supervisor is gone: its status is there or never will be.
			if st, ok, err := supervisor.ReadStatus(dir); err != nil || ok {
				endTails()
				return st, err
			}
			endTails()
			return supervisor.Status{}, fmt.Errorf("the step's supervisor ended without recording an exit status (see %s)", filepath.Join(dir, supervisor.LogName))
		case <-done:
			done = nil
			stopping = true
			// The supervisor needs KillGrace for the group; a loaded
			// machine (or a -race build) can take seconds more to get there.
			stopDeadline = time.Now().Add(3*KillGrace + 10*time.Second)
			stopSent = supervisor.Stop(dir) == nil
		case <-tick.C:
			if exited == nil && time.Since(lastAlive) >= aliveInterval {
				lastAlive = time.Now()
				if !supervisor.Alive(dir) {
					// Gone, or between its last write and its exit: the
					// status is awaited a little before giving up.
					st, ok, err := supervisor.AwaitStatus(dir, goneGrace)
					if err != nil || ok {
						endTails()
						return st, err
					}
					if !supervisor.Alive(dir) {
						endTails()
						return supervisor.Status{}, errOutcomeUnknown
					}
				}
			}
			if stopping && !stopSent {
				// The supervisor could not be told yet (its pid file not
				// readable at that instant): tell it now.
				stopSent = supervisor.Stop(dir) == nil
			}
			if stopping && time.Now().After(stopDeadline) {
				// Last resort: the group itself.
				if p, ok := supervisor.ReadPIDs(dir); ok && p.Shell > 0 {
					_ = syscall.Kill(-p.Shell, syscall.SIGKILL)
				}
				stopDeadline = time.Now().Add(KillGrace)
			}
		}
	}
}

// errOutcomeUnknown: the supervisor is gone and recorded no status.
var errOutcomeUnknown = errors.New("the step's supervisor is gone and recorded no exit status: outcome unknown")

// followReader reads a file that is still being written: at its end it
// waits for more until stop is closed, then returns what is left and EOF.
type followReader struct {
	path string
	stop <-chan struct{}
	f    *os.File
	last bool
}

func (fr *followReader) Read(p []byte) (int, error) {
	for {
		if fr.f == nil {
			f, err := os.Open(fr.path)
			switch {
			case err == nil:
				fr.f = f
			case !errors.Is(err, fs.ErrNotExist):
				return 0, err
			case fr.last:
				return 0, io.EOF
			}
		}
		if fr.f != nil {
			n, err := fr.f.Read(p)
			if n > 0 {
				return n, nil
			}
			if err != nil && !errors.Is(err, io.EOF) {
				fr.f.Close()
				return 0, err
			}
			if fr.last {
				fr.f.Close()
				return 0, io.EOF
			}
		}
		select {
		case <-fr.stop:
			fr.last = true // one more read for what came last
		case <-time.After(pollInterval):
		}
	}
}

// Reattach follows a shell step an earlier drnav started under its
// supervisor (dir is the run folder named in its step_started) until it
// ends, streaming its output again. Nothing is started. The run has no
// Started event; its finished event carries the step's real exit code, or
// OutcomeUnknown when the supervisor is gone without a status. Cancel stops
// the step's whole process group.
func Reattach(ctx context.Context, dir string, t Target) *Run {
	return startWith(ctx, t, func(ctx context.Context, r *Run) Event {
		st, err := followRun(ctx, r, dir, nil)
		return detachedFinish(ctx, st, err, dir)
	})
}

// detachedFinish maps a detached step's status to the finished event.
func detachedFinish(ctx context.Context, st supervisor.Status, err error, dir string) Event {
	if errors.Is(err, errOutcomeUnknown) {
		return Event{ExitCode: ExitFailed, Err: err.Error(), OutcomeUnknown: true, Detached: dir}
	}
	if errors.Is(err, errAbandoned) {
		return Event{ExitCode: ExitFailed, Err: err.Error(), OutcomeUnknown: true, Detached: dir}
	}
	if err != nil {
		return Event{ExitCode: ExitFailed, Err: err.Error(), Detached: dir}
	}
	if st.Stopped && ctx.Err() != nil {
		c, msg := ctxExit(ctx, "shell")
		return Event{ExitCode: c, Err: msg, Detached: dir}
	}
	ev := Event{ExitCode: st.Exit, Detached: dir}
	switch {
	case st.Err != "":
		ev.Err = st.Err
	case st.TimedOut:
		ev.ExitCode, ev.Err = ExitTimeout, "shell: timed out"
	case st.Exit != 0:
		ev.Err = fmt.Sprintf("command exited with code %d", st.Exit)
	}
	return ev
}

// DetachedTail is the last n output lines of a run folder (stderr lines
// start with "! "), for a step that ended while nobody followed it.
func DetachedTail(dir string, n int) []string {
	return supervisor.Tail(dir, n)
}

// RedactFunc masks what t says is secret (secret variables, DSN passwords,
// Redact patterns), as a run does with its output. The run folder's files
// hold the raw output; use this before journalling lines read from them.
func RedactFunc(t Target) (func(string) string, error) {
	red, err := redactorFor(t)
	if err != nil {
		return nil, err
	}
	return red.String, nil
}
