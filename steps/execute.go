package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/drnav/drnav/runbooks"
)

// execute runs the step's action then its verify condition and returns the
// finished event (without totals; finish adds them).
func execute(ctx context.Context, r *Run, step runbooks.Step, t Target) Event {
	st, err := expand(step, withContextVars(t), secretSet(t))
	if err != nil {
		if berr := r.begin(Event{Command: describeStep(step), DryRun: t.DryRun}); berr != nil {
			return notStarted(berr)
		}
		return Event{ExitCode: ExitFailed, Err: err.Error()}
	}
	timeout := st.Timeout.Duration
	if timeout <= 0 {
		timeout = DefaultTimeout
	}

	var fin Event
	switch st.Kind() {
	case runbooks.ActionShell:
		actx, cancel := context.WithTimeout(ctx, timeout)
		fin = runShell(actx, r, st, t)
		cancel()
		if fin.ShownOnly {
			return fin // nothing ran, nothing to verify
		}
	case runbooks.ActionManual:
		if err := r.begin(Event{Command: st.Manual}); err != nil {
			return notStarted(err)
		}
		r.print(Stdout, "manual task: done when you confirm it")
	case runbooks.ActionK8s:
		actx, cancel := context.WithTimeout(ctx, timeout)
		fin = runKube(actx, r, st, t)
		cancel()
	case runbooks.ActionSQL:
		actx, cancel := context.WithTimeout(ctx, timeout)
		fin = runSQL(actx, r, st, t)
		cancel()
	case runbooks.ActionHTTP:
		actx, cancel := context.WithTimeout(ctx, timeout)
		fin = runHTTP(actx, r, st, t)
		cancel()
	case runbooks.ActionWait:
		if err := r.begin(Event{Command: "wait until " + describeVerify(st.Wait), Equivalent: verifyEquivalent(st.Wait, st, t)}); err != nil {
			return notStarted(err)
		}
		return runVerify(ctx, r, st, st.Wait, t)
	default:
		if err := r.begin(Event{Command: describeStep(st)}); err != nil {
			return notStarted(err)
		}
		return Event{ExitCode: ExitFailed, Err: fmt.Sprintf("step %s: needs exactly one action (run, manual, k8s, sql, http or wait), has %d", st.ID, len(st.Kinds()))}
	}
	if fin.ExitCode != ExitOK || fin.Err != "" || st.Verify == nil {
		return fin
	}
	if t.DryRun && st.Mutates() {
		// The action changed nothing, so its condition cannot come true.
		r.print(Stdout, "dry run: verify not checked (the action changed nothing): "+describeVerify(st.Verify))
		return fin
	}
	if ctx.Err() != nil {
		code, msg := ctxExit(ctx, "step")
		return Event{ExitCode: code, Err: msg}
	}
	vfin := runVerify(ctx, r, st, st.Verify, t)
	return vfin
}

func describeStep(s runbooks.Step) string {
	switch s.Kind() {
	case runbooks.ActionShell:
		return s.Run
	case runbooks.ActionManual:
		return s.Manual
	case runbooks.ActionK8s:
		return "k8s " + s.K8s.Action
	case runbooks.ActionSQL:
		return "sql " + s.SQL.Action
	case runbooks.ActionHTTP:
		return "GET " + s.HTTP.URL
	case runbooks.ActionWait:
		return "wait until " + describeVerify(s.Wait)
	}
	return s.Title
}

// fmtDur formats an age for people: seconds precision, days past 48h.
func fmtDur(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	d = d.Round(time.Second)
	s := d.String()
	if d >= 48*time.Hour {
		days := d / (24 * time.Hour)
		rest := (d % (24 * time.Hour)).Round(time.Minute)
		s = fmt.Sprintf("%dd", days)
		if rest > 0 {
			s += fmt.Sprintf("%dh%dm", rest/time.Hour, (rest%time.Hour)/time.Minute)
		}
	}
	if neg {
		return "-" + s
	}
	return s
}
