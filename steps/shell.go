package steps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/drnav/drnav/runbooks"
)

// KillGrace is how long a cancelled shell step's process group has after
// SIGTERM before SIGKILL.
const KillGrace = 2 * time.Second

// pipeGrace is how long output of background processes that outlive the
// shell is still read after it exited.
const pipeGrace = 500 * time.Millisecond

// drainLimit bounds reading what is left in the pipes once the shell's
// whole process group is gone: nobody can write any more, so EOF comes as
// soon as the readers caught up (which on a loaded machine can take longer
// than pipeGrace); only a process that left the group can hold it longer.
const drainLimit = 30 * time.Second

// ErrShownOnly is returned by InteractiveCommand in a drill for a shell step
// that is only shown: use Start, which reports it as shown.
var ErrShownOnly = errors.New("drill: shell steps are shown, not run")

// shellPrelude is prepended to every shell command.
const shellPrelude = "set -o pipefail\n"

func shellShownOnly(step runbooks.Step, t Target) bool {
	if t.ShellMode != ShellShowOnly {
		return false
	}
	return t.AllowShell == nil || !t.AllowShell(step.ID)
}

func shellEnv(t Target) []string {
	env := append(os.Environ(), t.Env...)
	if s, ok := t.DB.(ShellEnver); ok && t.DB != nil {
		env = append(env, s.ShellEnv()...)
	}
	return env
}

// runShell runs an expanded shell step.
func runShell(ctx context.Context, r *Run, st runbooks.Step, t Target) Event {
	cmdText := st.Run
	if shellShownOnly(st, t) {
		if err := r.begin(Event{Command: cmdText, Equivalent: cmdText, ShownOnly: true}); err != nil {
			return notStarted(err)
		}
		r.print(Stdout, "drill: this shell command is shown, not run (run it yourself against a safe environment, or allow it in config [drill] allow_shell)")
		return Event{ExitCode: ExitOK, ShownOnly: true}
	}
	if st.Interactive {
		if err := r.begin(Event{Command: cmdText, Equivalent: cmdText, DryRun: t.DryRun}); err != nil {
			return notStarted(err)
		}
		if t.DryRun {
			r.print(Stdout, "dry run: interactive command not run")
			return Event{ExitCode: ExitOK}
		}
		return Event{ExitCode: ExitFailed, Err: "interactive step needs the terminal: run it with InteractiveCommand"}
	}
	if t.Supervisor != nil && !t.DryRun {
		return runShellDetached(ctx, r, st.ID, cmdText, t)
	}
	if err := r.begin(Event{Command: cmdText, Equivalent: cmdText, DryRun: t.DryRun}); err != nil {
		return notStarted(err)
	}
	if t.DryRun {
		r.print(Stdout, "dry run: would run: "+cmdText)
		return Event{ExitCode: ExitOK}
	}
	secretEnv, err := secretVarEnv(t)
	if err != nil {
		return Event{ExitCode: ExitFailed, Err: err.Error()}
	}
	extra, where, cleanup, err := shellContext(t, "")
	if err != nil {
		return Event{ExitCode: ExitFailed, Err: err.Error()}
	}
	defer cleanup()
	if where != "" {
		r.print(Stdout, "drnav: "+where)
	}
	code, err := execShell(ctx, r, cmdText, append(append(slices.Clone(t.Env), secretEnv...), extra...), t.Dir, nil)
	if err != nil {
		if ctx.Err() != nil {
			c, msg := ctxExit(ctx, "shell")
			return Event{ExitCode: c, Err: msg}
		}
		return Event{ExitCode: ExitFailed, Err: err.Error()}
	}
	if ctx.Err() != nil {
		c, msg := ctxExit(ctx, "shell")
		return Event{ExitCode: c, Err: msg}
	}
	if code != 0 {
		return Event{ExitCode: code, Err: fmt.Sprintf("command exited with code %d", code)}
	}
	return Event{ExitCode: ExitOK}
}

// runShellDetached runs a shell step under the supervisor: its run folder
// is made and named in the Started event (journalled ahead), then the
// supervisor starts and is followed until it records the exit status.
func runShellDetached(ctx context.Context, r *Run, stepID, cmdText string, t Target) Event {
	dir, err := t.Supervisor.newRunDir(stepID)
	if err != nil {
		return notStarted(err)
	}
	r.detached.Store(true)
	if err := r.begin(Event{Command: cmdText, Equivalent: cmdText, Detached: dir}); err != nil {
		_ = os.RemoveAll(dir)
		return notStarted(err)
	}
	secretEnv, err := secretVarEnv(t)
	if err != nil {
		return Event{ExitCode: ExitFailed, Err: err.Error()}
	}
	extra, where, cleanup, err := shellContext(t, dir)
	if err != nil {
		return Event{ExitCode: ExitFailed, Err: err.Error()}
	}
	if where != "" {
		r.print(Stdout, "drnav: "+where)
	}
	env := append(append(shellEnv(t), secretEnv...), extra...)
	st, err := runDetached(ctx, r, t.Supervisor, dir, shellPrelude+cmdText, env, t.Dir)
	if err == nil {
		cleanup() // the step has ended; while it may still run, its kubeconfig stays
	}
	return detachedFinish(ctx, st, err, dir)
}

// execShell runs bash -c in its own process group, streaming stdout and
// stderr into the run. On ctx end the whole group gets SIGTERM, then SIGKILL
// after KillGrace. It returns the exit code (128+signal when killed).
func execShell(ctx context.Context, r *Run, script string, extraEnv []string, dir string, stdin io.Reader) (int, error) {
	cmd := exec.Command("bash", "-c", shellPrelude+script)
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return runProcess(ctx, r, cmd)
}

// runProcess starts cmd (which must have Setpgid) with its output going to
// the run, and waits for it, killing its group when ctx ends.
func runProcess(ctx context.Context, r *Run, cmd *exec.Cmd) (int, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return -1, fmt.Errorf("pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return -1, fmt.Errorf("pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return -1, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	outW.Close()
	errW.Close()
	pgid := cmd.Process.Pid

	readers := make(chan struct{}, 2)
	go func() { readLines(outR, Stdout, r); readers <- struct{}{} }()
	go func() { readLines(errR, Stderr, r); readers <- struct{}{} }()

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		grace := time.NewTimer(KillGrace)
		select {
		case werr = <-waited:
		case <-grace.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			werr = <-waited
		}
		grace.Stop()
		// The shell is gone; stragglers of its group get what is left of
		// the grace, then SIGKILL.
		waitGroupGone(pgid, KillGrace)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}

	// Output still in the pipes is read to its end when the group is gone;
	// background processes still holding them get a short grace, then the
	// pipes are closed.
	wait := pipeGrace
	if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		wait = drainLimit
	}
	t := time.NewTimer(wait)
	for n := 0; n < 2; {
		select {
		case <-readers:
			n++
		case <-t.C:
			outR.Close()
			errR.Close()
			for ; n < 2; n++ {
				<-readers
			}
		}
	}
	t.Stop()
	outR.Close()
	errR.Close()

	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return 128 + int(ws.Signal()), nil
			}
			return ee.ExitCode(), nil
		}
		return -1, fmt.Errorf("wait: %w", werr)
	}
	return 0, nil
}

// waitGroupGone polls until no process of the group is left (zombies count
// as gone) or d passed.
func waitGroupGone(pgid int, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readLines streams lines of rd into the run, tagged with s.
func readLines(rd io.Reader, s Stream, r *Run) {
	br := bufio.NewReaderSize(rd, 64<<10)
	var long []byte
	var longRaw int64
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) <= MaxLineBytes {
				long = append(long, chunk...)
			}
			longRaw += int64(len(chunk))
			continue
		}
		if len(chunk) > 0 || long != nil {
			raw := longRaw + int64(len(chunk))
			line := chunk
			if long != nil {
				line = append(long, chunk...)
				long, longRaw = nil, 0
			}
			r.addLine(s, string(trimEOL(line)), raw)
		}
		if err != nil {
			return
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// InteractiveCommand returns the command of an interactive shell step, with
// placeholders substituted and the step's environment and folder, for the UI
// to hand to tea.ExecProcess. Like every shell step it runs in the
// incident's context: KUBECONFIG names a generated kubeconfig whose current
// context is the step's, and the database's libpq variables are set. It
// writes that kubeconfig (I/O: call it from a tea.Cmd, not from Update);
// cleanup removes it and must be called once the command has ended. In a
// drill a step that is only shown returns ErrShownOnly (use Start to show
// it).
func InteractiveCommand(step runbooks.Step, t Target) (cmd *exec.Cmd, cleanup func(), err error) {
	if step.Run == "" {
		return nil, nil, fmt.Errorf("step %s: not a shell step", step.ID)
	}
	if shellShownOnly(step, t) {
		return nil, nil, ErrShownOnly
	}
	if t.DryRun {
		return nil, nil, fmt.Errorf("step %s: dry run: interactive command not run", step.ID)
	}
	cmdText, err := shellCommand(step.Run, withContextVars(t), secretSet(t))
	if err != nil {
		return nil, nil, fmt.Errorf("step %s: %w", step.ID, err)
	}
	secretEnv, err := secretVarEnv(t)
	if err != nil {
		return nil, nil, fmt.Errorf("step %s: %w", step.ID, err)
	}
	extra, _, cleanup, err := shellContext(t, "")
	if err != nil {
		return nil, nil, fmt.Errorf("step %s: %w", step.ID, err)
	}
	cmd = exec.Command("bash", "-c", shellPrelude+cmdText)
	cmd.Env = append(append(shellEnv(t), secretEnv...), extra...)
	cmd.Dir = t.Dir
	return cmd, cleanup, nil
}

// FinishInteractive turns the result of an interactive command (the error
// tea.ExecProcess reports) into a finished event.
func FinishInteractive(err error, started time.Time) Event {
	now := time.Now()
	ev := Event{Kind: EventFinished, Time: now, Duration: now.Sub(started)}
	if err == nil {
		return ev
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			ev.ExitCode = 128 + int(ws.Signal())
			if ws.Signal() == syscall.SIGINT {
				ev.ExitCode = ExitCancelled
			}
		} else {
			ev.ExitCode = ee.ExitCode()
		}
		ev.Err = fmt.Sprintf("command exited with code %d", ev.ExitCode)
		return ev
	}
	ev.ExitCode = ExitFailed
	ev.Err = strings.TrimSpace(err.Error())
	return ev
}
