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
	"strings"
	"time"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// outputTail is how many output lines of a step go into the journal.
const outputTail = 50

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
	res := Result{ID: j.ID()}

	t := o.Target
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

	phase := state.CurrentPhase
	for i := range rb.Steps {
		st := rb.Steps[i]
		n := fmt.Sprintf("%d/%d", i+1, len(rb.Steps))
		switch state.Status(st.ID) {
		case incident.StepDone, incident.StepSkipped, incident.StepShown:
			p.line("  %s %s already %s", n, st.ID, state.Status(st.ID))
			continue
		case incident.StepInterrupted:
			// Never re-run by itself: a person decides.
			res.Refused = st.ID
			p.line("? %s %s was interrupted (outcome unknown): resolve it in the navigator (verify, re-run or mark done)", n, st.ID)
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
		fin, err := runStep(ctx, j, st, t, p)
		if err != nil {
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
	if o.Resume != "" {
		j, st, warns, err := incident.Open(o.JournalRoot, o.Resume)
		if err != nil {
			return nil, st, fmt.Errorf("resume %s: %w", o.Resume, err)
		}
		for _, w := range warns {
			fmt.Fprintf(o.Out, "warning: %v\n", w)
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

// runStep runs one step, journalling start, verifications, output tail and
// finish, and returns the finished event.
func runStep(ctx context.Context, j *incident.Journal, st runbooks.Step, t steps.Target, p printer) (steps.Event, error) {
	r := steps.Start(ctx, st, t)
	var fin steps.Event
	started := false
	for ev := range r.Events() {
		switch ev.Kind {
		case steps.EventStarted:
			started = true
			if err := j.Append(incident.Event{Type: incident.EventStepStarted, Step: st.ID, Phase: st.Phase,
				Command: ev.Command, Equivalent: ev.Equivalent, DryRun: ev.DryRun, ShownOnly: ev.ShownOnly}); err != nil {
				r.Cancel()
				r.Wait()
				return fin, fmt.Errorf("journal: %w", err)
			}
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
		case steps.EventOutput:
			for _, l := range ev.Lines {
				p.line("  │ %s", l.Text)
			}
		case steps.EventProgress:
			if ev.Total > 0 {
				p.line("  … %d%% (%d of %d bytes)", ev.Done*100/ev.Total, ev.Done, ev.Total)
			}
		case steps.EventVerify:
			if ev.Verify.Final || ev.Verify.OK {
				if err := j.Append(incident.Event{Type: incident.EventVerification, Step: st.ID, OK: ev.Verify.OK, Detail: ev.Verify.Detail}); err != nil {
					return fin, fmt.Errorf("journal: %w", err)
				}
			}
			mark := "…"
			if ev.Verify.OK {
				mark = "✓"
			}
			p.line("  verify %s %s", mark, ev.Verify.Detail)
		case steps.EventFinished:
			fin = ev
		}
	}
	if !started {
		// A step that failed before starting (e.g. an unknown placeholder)
		// is still journalled as started and finished.
		if err := j.Append(incident.Event{Type: incident.EventStepStarted, Step: st.ID, Phase: st.Phase, Command: st.Title}); err != nil {
			return fin, fmt.Errorf("journal: %w", err)
		}
	}
	var tail []string
	for _, l := range r.Tail(outputTail) {
		tail = append(tail, l.Text)
	}
	if len(tail) > 0 {
		if err := j.Append(incident.Event{Type: incident.EventOutput, Step: st.ID, Lines: tail}); err != nil {
			return fin, fmt.Errorf("journal: %w", err)
		}
	}
	if err := j.Append(incident.Event{Type: incident.EventStepFinished, Step: st.ID, Exit: fin.ExitCode, Err: fin.Err,
		Duration: fin.Duration, Verified: fin.Verified, TotalLines: fin.TotalLines}); err != nil {
		return fin, fmt.Errorf("journal: %w", err)
	}
	return fin, nil
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
	fmt.Fprintf(p.w, "%s %s\n", p.now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
