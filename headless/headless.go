// Package headless runs a runbook's steps in order without the UI, for cron
// jobs, CI and headless drills. It writes the same journal as the navigator,
// prints one progress line per fact, and stops at the first failed step or
// verification.
package headless

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// Options describe one headless run.
type Options struct {
	Runbook     *runbooks.Runbook
	JournalRoot string
	Mode        string // incident.ModeLive or incident.ModeDrill
	// Declared is the declaration (runbook fields, RTO, RPO, context and
	// database descriptions); Run fills the runbook fields and phases.
	Declared incident.Declared
	// Vars are the resolved variables (see ResolveVars).
	Vars map[string]string
	// Target is how steps run (Kube, DB, shell mode, backup policy…); its
	// Vars and Secrets are filled from Vars and the runbook.
	Target steps.Target

	// AllowDestructive lists step ids allowed to change state, or "all".
	AllowDestructive []string
	// SkipManual records manual and interactive steps as skipped instead of
	// failing the run.
	SkipManual bool

	// Resume continues the journal with this id instead of declaring anew.
	Resume string
	// Resuming: Resume is set on purpose (an empty Resume is then refused
	// instead of declaring a new incident).
	Resuming bool

	// Supervisor, when set (Exe and Args), runs shell steps detached under
	// it, with their run folders in the incident's folder (Root is set here).
	Supervisor *steps.Supervisor
	// Signals stops the run: the signal is journalled, a running shell step
	// under the supervisor runs on (its outcome is recorded and read on
	// resume), any other running step is left interrupted; never failed.
	Signals <-chan os.Signal

	// Attach, when set, is called once the journal is open (the mirror
	// and its Lease); the function it returns is called before the journal
	// closes.
	Attach func(j *incident.Journal) (detach func())

	Out io.Writer
	Now func() time.Time
}

// Result is how the run ended.
type Result struct {
	ID      string
	State   incident.State
	Failed  string // id of the step that failed, if any
	Refused string // id of a destructive step that was refused, if any
}

// ErrStepFailed is wrapped by Run's error when a step or its verification failed.
var ErrStepFailed = errors.New("step failed")

// ErrRefused is wrapped when a destructive or manual step was refused.
var ErrRefused = errors.New("step refused")

// SignalledError is returned when a signal stopped the run. The journal
// holds a signalled event; the step that was running (Step) is not marked
// failed or done.
type SignalledError struct {
	Signal os.Signal
	ID     string // the incident
	Step   string // the step running then, if any
	// Detached: that step runs on under its supervisor.
	Detached bool
}

func (e *SignalledError) Error() string {
	s := fmt.Sprintf("stopped by %s", SignalName(e.Signal))
	if e.Step != "" {
		if e.Detached {
			s += fmt.Sprintf("; step %s runs on detached, its outcome is recorded in the incident folder", e.Step)
		} else {
			s += fmt.Sprintf("; step %s was interrupted (outcome unknown)", e.Step)
		}
	}
	return s
}

// ExitCode is the documented exit code of a run stopped by a signal:
// 128 + the signal number (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
func (e *SignalledError) ExitCode() int {
	if sig, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(sig)
	}
	return 128 + int(syscall.SIGTERM)
}

// SignalName is "SIGTERM", "SIGINT", "SIGHUP"…
func SignalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	if sig == nil {
		return "a signal"
	}
	return sig.String()
}

// signalled journals a signalled event and returns the error.
func signalled(j *incident.Journal, sig os.Signal, step string, detached bool) error {
	err := &SignalledError{Signal: sig, ID: j.ID(), Step: step, Detached: detached}
	if jerr := j.Append(incident.Event{Type: incident.EventSignalled, Signal: SignalName(sig), Step: step,
		Operator: incident.CurrentUser(), PID: os.Getpid()}); jerr != nil {
		return errors.Join(err, fmt.Errorf("journal: %w", jerr))
	}
	return err
}

func (o *Options) allowed(id string) bool {
	for _, a := range o.AllowDestructive {
		if a == "all" || a == id {
			return true
		}
	}
	return false
}

// Run executes the runbook. The returned error wraps ErrStepFailed or
// ErrRefused when the run stopped at a step; the journal holds everything.
func Run(ctx context.Context, o Options) (Result, error) {
	rb := o.Runbook
	if rb == nil {
		return Result{}, errors.New("headless run: no runbook")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := printer{w: o.Out, now: o.Now}

	j, state, err := open(o)
	if err != nil {
		return Result{}, err
	}
	defer j.Close()
	if o.Attach != nil {
		defer o.Attach(j)()
	}
	res := Result{ID: j.ID()}

	t := o.Target
	if o.Supervisor != nil {
		sup := *o.Supervisor
		sup.Root = filepath.Join(j.Dir(), "steps")
		t.Supervisor = &sup
	}
	t.Vars = o.Vars
	t.Secrets = nil
	for _, v := range rb.Variables {
		if v.Secret {
			t.Secrets = append(t.Secrets, v.Name)
		}
	}
	if o.Resume == "" {
		for _, v := range rb.Variables {
			val := o.Vars[v.Name]
			if v.Secret {
				val = ""
			}
			if err := j.Append(incident.Event{Type: incident.EventVariableSet, Name: v.Name, Value: val, Secret: v.Secret}); err != nil {
				return res, fmt.Errorf("journal: %w", err)
			}
		}
	}
	p.line("%s %s · %s · journal %s", modeBanner(o.Mode), rb.Title, rb.ID, j.Path())

	if o.Resume != "" {
		var err error
		if state, err = settle(ctx, o, j, t, p); err != nil {
			return finish(res, j, err)
		}
	}

	phase := state.CurrentPhase
	for i := range rb.Steps {
		st := rb.Steps[i]
		n := fmt.Sprintf("%d/%d", i+1, len(rb.Steps))
		select {
		case sig := <-o.Signals:
			return finish(res, j, signalled(j, sig, "", false))
		default:
		}
		switch state.Status(st.ID) {
		case incident.StepDone, incident.StepSkipped, incident.StepShown:
			p.line("  %s %s already %s", n, st.ID, state.Status(st.ID))
			continue
		case incident.StepFailed:
			if ss := state.Step(st.ID); ss.WasInterrupted {
				// It ended (failed) while drnav was away: never re-run by itself.
				res.Failed = st.ID
				p.line("✗ %s %s failed while drnav was away (exit %d): resolve it in the navigator (re-run or mark done)", n, st.ID, ss.Exit)
				return finish(res, j, fmt.Errorf("%w: %s failed while drnav was away (exit %d)", ErrStepFailed, st.ID, ss.Exit))
			}
		case incident.StepInterrupted:
			// Never re-run by itself: a person decides.
			res.Refused = st.ID
			where := ""
			if ss := state.Step(st.ID); ss.RanElsewhere(state.DriverHost) != "" {
				where = " on " + ss.RanElsewhere(state.DriverHost)
			}
			p.line("? %s %s was interrupted%s (outcome unknown): resolve it in the navigator (verify, re-run or mark done)", n, st.ID, where)
			return finish(res, j, fmt.Errorf("%w: %s was interrupted, outcome unknown", ErrRefused, st.ID))
		}
		if st.Phase != "" && st.Phase != phase {
			phase = st.Phase
			if err := j.Append(incident.Event{Type: incident.EventPhaseEntered, Phase: phase}); err != nil {
				return res, fmt.Errorf("journal: %w", err)
			}
			ph, _ := rb.PhaseByID(phase)
			p.line("── phase %s (budget %s)", ph.Title, incident.FormatDuration(ph.Budget.Duration))
		}

		if st.Kind() == runbooks.ActionManual || (st.Interactive && t.ShellMode == steps.ShellRun && !t.DryRun) {
			what := "manual"
			if st.Interactive {
				what = "interactive"
			}
			if !o.SkipManual {
				res.Refused = st.ID
				p.line("✗ %s %s: %s step needs a person (run it in the navigator, or pass --skip-manual)", n, st.ID, what)
				return finish(res, j, fmt.Errorf("%w: %s is a %s step", ErrRefused, st.ID, what))
			}
			if err := j.Append(incident.Event{Type: incident.EventStepSkipped, Step: st.ID, Reason: what + " step skipped by --skip-manual"}); err != nil {
				return res, fmt.Errorf("journal: %w", err)
			}
			p.line("↷ %s %s: %s (%s step skipped)", n, st.ID, st.Title, what)
			continue
		}
		if st.Destructive && !t.DryRun && !o.allowed(st.ID) {
			res.Refused = st.ID
			p.line("✗ %s %s: destructive step refused; pass --allow-destructive %s (or all)", n, st.ID, st.ID)
			return finish(res, j, fmt.Errorf("%w: destructive step %s not allowed", ErrRefused, st.ID))
		}

		p.line("▶ %s %s: %s", n, st.ID, st.Title)
		fin, err := runStep(ctx, j, st, t, p, o.Signals)
		if err != nil {
			var se *SignalledError
			if errors.As(err, &se) {
				return finish(res, j, err)
			}
			return res, err
		}
		if fin.ExitCode != 0 || (fin.Verified != nil && !*fin.Verified) {
			res.Failed = st.ID
			why := fin.Err
			if why == "" && fin.Verified != nil && !*fin.Verified {
				why = "verification did not hold"
			}
			p.line("✗ %s %s failed (exit %d, %s): %s", n, st.ID, fin.ExitCode, incident.FormatDuration(fin.Duration), why)
			return finish(res, j, fmt.Errorf("%w: %s: %s", ErrStepFailed, st.ID, why))
		}
		extra := ""
		if fin.Verified != nil {
			extra = ", verified"
		}
		p.line("✓ %s %s done in %s%s", n, st.ID, incident.FormatDuration(fin.Duration), extra)
		if err := ctx.Err(); err != nil {
			return finish(res, j, fmt.Errorf("run cancelled: %w", err))
		}
	}
	if err := j.Append(incident.Event{Type: incident.EventResolved, Text: "all steps done (headless run)"}); err != nil {
		return res, fmt.Errorf("journal: %w", err)
	}
	p.line("✓ %s complete", rb.ID)
	return finish(res, j, nil)
}

func finish(res Result, j *incident.Journal, err error) (Result, error) {
	res.State = j.State()
	return res, err
}

func open(o Options) (*incident.Journal, incident.State, error) {
	if o.Resume != "" || o.Resuming {
		if err := incident.ValidID(o.Resume); err != nil {
			return nil, incident.State{}, fmt.Errorf("resume: %w", err)
		}
		// Check first, read-only: a refused resume writes nothing.
		if st, _, _, err := incident.Read(o.JournalRoot, o.Resume); err != nil {
			return nil, st, fmt.Errorf("resume %s: %w", o.Resume, err)
		} else if st.DeclaredAt.IsZero() {
			return nil, st, fmt.Errorf("resume %s: the journal holds no declared incident", o.Resume)
		} else if st.RunbookID != o.Runbook.ID {
			return nil, st, fmt.Errorf("resume %s: the incident runs runbook %q, not %q", o.Resume, st.RunbookID, o.Runbook.ID)
		}
		j, st, warns, err := incident.Open(o.JournalRoot, o.Resume)
		if err != nil {
			return nil, st, fmt.Errorf("resume %s: %w", o.Resume, err)
		}
		for _, w := range warns {
			fmt.Fprintf(o.Out, "warning: %s\n", incident.Printable(w.Error()))
		}
		if st.RunbookID != o.Runbook.ID {
			j.Close()
			return nil, st, fmt.Errorf("resume %s: the incident runs runbook %q, not %q", o.Resume, st.RunbookID, o.Runbook.ID)
		}
		return j, st, nil
	}
	d := o.Declared
	d.RunbookID = o.Runbook.ID
	d.RunbookTitle = o.Runbook.Title
	d.RunbookFile = o.Runbook.File
	d.Mode = o.Mode
	d.Phases = incident.PhasesOf(o.Runbook)
	if d.Detected.IsZero() {
		d.Detected = o.Now()
	}
	if d.At.IsZero() {
		d.At = o.Now()
	}
	j, err := incident.Create(o.JournalRoot, d)
	if err != nil {
		return nil, incident.State{}, fmt.Errorf("declare incident: %w", err)
	}
	return j, j.State(), nil
}

// flushEvery bounds how long output waits before it is journalled (a
// watcher follows the journal).
const flushEvery = 60 * time.Millisecond

// appendAll journals events in order.
func appendAll(j *incident.Journal, evs []incident.Event) error {
	for _, ev := range evs {
		if err := j.Append(ev); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	return nil
}

// runStep runs one step, journalling (through steps.Journaler, as the
// navigator does) its start ahead of anything it does, its output, its
// verification and its finish, and returns the finished event. A signal
// journals a signalled event and leaves the step unfinished.
func runStep(ctx context.Context, j *incident.Journal, st runbooks.Step, t steps.Target, p printer, sigs <-chan os.Signal) (steps.Event, error) {
	jr := &steps.Journaler{Step: st.ID, Phase: st.Phase, Title: st.Title, Dir: j.Dir()}
	t.WriteAhead = jr.WriteAhead(j.Append)
	r := steps.Start(ctx, st, t)
	var fin steps.Event
	detached := false
	flush := time.NewTimer(flushEvery)
	flush.Stop()
	defer flush.Stop()
	evs := r.Events()
	for evs != nil {
		var ev steps.Event
		var ok bool
		select {
		case sig := <-sigs:
			r.Abandon()
			waitDone(r)
			p.line("! %s: %s stopped drnav; the step is not marked failed or done", st.ID, SignalName(sig))
			return fin, signalled(j, sig, st.ID, detached)
		case <-flush.C:
			if err := appendAll(j, jr.Flush(time.Now())); err != nil {
				r.Cancel()
				r.Wait()
				return fin, err
			}
			continue
		case ev, ok = <-evs:
			if !ok {
				evs = nil
				continue
			}
		}
		hadPending := jr.Pending()
		if err := appendAll(j, jr.Add(ev)); err != nil {
			r.Cancel()
			r.Wait()
			return fin, err
		}
		if !hadPending && jr.Pending() {
			flush.Reset(flushEvery)
		}
		switch ev.Kind {
		case steps.EventStarted:
			detached = ev.Detached != ""
			p.line("  $ %s", firstLine(ev.Command))
			if ev.Equivalent != "" && ev.Equivalent != ev.Command {
				p.line("  ≈ %s", firstLine(ev.Equivalent))
			}
			if ev.ShownOnly {
				p.line("  (drill: shown, not run)")
			}
			if ev.DryRun {
				p.line("  (dry run)")
			}
			if ev.Detached != "" {
				p.line("  (detached: output and exit status in %s)", ev.Detached)
			}
		case steps.EventOutput:
			for _, l := range ev.Lines {
				p.line("  │ %s", l.Text)
			}
		case steps.EventProgress:
			if ev.Total > 0 {
				p.line("  … %d%% (%d of %d bytes)", ev.Done*100/ev.Total, ev.Done, ev.Total)
			}
		case steps.EventVerify:
			mark := "…"
			if ev.Verify.OK {
				mark = "✓"
			}
			p.line("  verify %s %s", mark, ev.Verify.Detail)
		case steps.EventFinished:
			fin = ev
		}
	}
	if fin.NotStarted {
		return fin, fmt.Errorf("journal: step %s: %s", st.ID, fin.Err)
	}
	return fin, nil
}

// abandonWait bounds how long a run abandoned on a signal is waited for.
const abandonWait = 3 * steps.KillGrace

func waitDone(r *steps.Run) {
	t := time.NewTimer(abandonWait)
	defer t.Stop()
	select {
	case <-r.Done():
	case <-t.C:
	}
}

// settle reads the run folders of steps interrupted under the supervisor:
// one that ended meanwhile gets its real outcome journalled; one still
// running is followed again to its end. Nothing is run again.
func settle(ctx context.Context, o Options, j *incident.Journal, t steps.Target, p printer) (incident.State, error) {
	redact, err := steps.RedactFunc(t)
	if err != nil {
		return j.State(), err
	}
	settled, err := j.Settle(redact)
	if err != nil {
		return j.State(), fmt.Errorf("journal: %w", err)
	}
	for _, s := range settled {
		switch {
		case s.Finished:
			p.line("  %s finished while you were away: exit %d at %s", s.Step, s.Exit, s.At.Local().Format("15:04:05"))
			now := j.State()
			for _, l := range now.Step(s.Step).Tail {
				p.line("  │ %s", l)
			}
		case s.Running:
			p.line("  %s is still running (detached): following it again", s.Step)
			r := steps.Reattach(ctx, s.RunDir, t)
			jr := &steps.Journaler{Step: s.Step, Dir: j.Dir(), Started: true}
			var fin steps.Event
			var journal []incident.Event
			evs := r.Events()
			for evs != nil {
				select {
				case sig := <-o.Signals:
					r.Abandon()
					waitDone(r)
					return j.State(), signalled(j, sig, s.Step, true)
				case ev, ok := <-evs:
					if !ok {
						evs = nil
						continue
					}
					for _, l := range ev.Lines {
						p.line("  │ %s", l.Text)
					}
					journal = append(journal, jr.Add(ev)...)
					if ev.Kind == steps.EventFinished {
						fin = ev
					}
				}
			}
			if fin.OutcomeUnknown {
				p.line("  %s: %s", s.Step, fin.Err)
				continue
			}
			if err := appendAll(j, journal); err != nil {
				return j.State(), err
			}
			p.line("  %s ended: exit %d", s.Step, fin.ExitCode)
		default:
			p.line("  %s: %s", s.Step, s.Err)
		}
	}
	return j.State(), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

func modeBanner(mode string) string {
	if mode == incident.ModeDrill {
		return "DRILL"
	}
	return "LIVE"
}

type printer struct {
	w   io.Writer
	now func() time.Time
}

func (p printer) line(format string, args ...any) {
	fmt.Fprintf(p.w, "%s %s\n", p.now().Format("15:04:05"), incident.Printable(fmt.Sprintf(format, args...)))
}
