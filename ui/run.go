package ui

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// batchWindow is how long a read gathers events after the first one.
const batchWindow = 60 * time.Millisecond

// runReader makes the reads of one run's events one at a time: the
// program's re-armed readRunCmd, and FollowRun once the program is gone
// (drnav serve, a dropped connection), which first detaches the program's
// reader so that no batch is journaled by both or out of order.
type runReader struct {
	mu       sync.Mutex
	program  context.Context // done once the program's reader is detached
	detached context.CancelFunc
}

func newRunReader() *runReader {
	ctx, cancel := context.WithCancel(context.Background())
	return &runReader{program: ctx, detached: cancel}
}

// readRunCmd reads one batch of events from a run, appends them to the
// journal and returns them tagged with the run id; Update re-arms it until
// the run finishes. rr (nil for none) detaches it: then it reads nothing
// more and returns no message.
func readRunCmd(j Journal, runID int, stepID, phase string, verifyOnly bool, h StepRun, rr *runReader) tea.Cmd {
	return func() tea.Msg {
		ctx := context.Background()
		if rr != nil {
			rr.mu.Lock()
			defer rr.mu.Unlock()
			ctx = rr.program
		}
		msg, ok := readRunBatch(ctx, j, runID, stepID, phase, verifyOnly, h)
		if !ok {
			return nil
		}
		return msg
	}
}

// readRunBatch is one batch of readRunCmd; false when ctx ended before the
// run sent anything (nothing was read then).
func readRunBatch(ctx context.Context, j Journal, runID int, stepID, phase string, verifyOnly bool, h StepRun) (runEventsMsg, bool) {
	ch := h.Events()
	var first steps.Event
	var ok bool
	select {
	case first, ok = <-ch:
	case <-ctx.Done():
		return runEventsMsg{}, false
	}
	if !ok {
		return runEventsMsg{id: runID, done: true}, true
	}
	batch := []steps.Event{first}
	closed := false
	timer := time.NewTimer(batchWindow)
	defer timer.Stop()
gather:
	for first.Kind != steps.EventFinished && len(batch) < 512 {
		select {
		case ev, ok := <-ch:
			if !ok {
				closed = true
				break gather
			}
			batch = append(batch, ev)
			if ev.Kind == steps.EventFinished {
				break gather
			}
		case <-timer.C:
			break gather
		}
	}
	evs, lines, done := convertEvents(stepID, phase, verifyOnly, batch)
	msg := runEventsMsg{id: runID, lines: lines, done: done || closed}
	writtenAhead := false
	for _, ev := range batch {
		writtenAhead = writtenAhead || (ev.Kind == steps.EventStarted && ev.WrittenAhead)
	}
	for _, ev := range evs {
		if ev.Type == incident.EventStepStarted && writtenAhead {
			msg.events = append(msg.events, ev) // already journalled, before the step started
			continue
		}
		if ev.Type == incident.EventStepFinished && finishUnknown(batch) {
			continue // drnav stopped following a detached step: its outcome is read on resume
		}
		if err := j.Append(ev); err != nil {
			msg.err = err
			break
		}
		msg.events = append(msg.events, ev)
	}
	for _, ev := range batch {
		if ev.Kind == steps.EventFinished && ev.NotStarted && msg.err == nil {
			msg.err = errors.New(ev.Err)
		}
	}
	return msg, true
}

// finishUnknown: the batch ends with a finish that is no outcome.
func finishUnknown(batch []steps.Event) bool {
	for _, ev := range batch {
		if ev.Kind == steps.EventFinished && (ev.OutcomeUnknown || ev.NotStarted) {
			return true
		}
	}
	return false
}

// writeAheadTarget makes the step journal its step_started (fsynced) before
// it starts any process or sends any request, and, for a journal with a
// folder, run shell steps detached under the supervisor.
func writeAheadTarget(t steps.Target, j Journal, sup *steps.Supervisor, stepID, phase string) steps.Target {
	dirOf, hasDir := j.(interface{ Dir() string })
	if sup != nil && hasDir {
		s := *sup
		s.Root = filepath.Join(dirOf.Dir(), "steps")
		t.Supervisor = &s
	}
	t.WriteAhead = func(ev steps.Event) error {
		text := ev.Command
		if ev.ShownOnly {
			text += "  (drill: shown, not run)"
		}
		runDir := ev.Detached
		if hasDir && runDir != "" {
			if rel, err := filepath.Rel(dirOf.Dir(), runDir); err == nil && !strings.HasPrefix(rel, "..") {
				runDir = rel
			}
		}
		return j.Append(incident.Event{Type: incident.EventStepStarted, Time: ev.Time, Step: stepID, Phase: phase,
			Command: text, Equivalent: ev.Equivalent, DryRun: ev.DryRun, ShownOnly: ev.ShownOnly, RunDir: runDir})
	}
	return t
}

// convertEvents turns engine events into journal events (output merged into
// one tail event) and the lines to show.
func convertEvents(stepID, phase string, verifyOnly bool, batch []steps.Event) ([]incident.Event, []string, bool) {
	var out []incident.Event
	var buf []string
	done := false
	flush := func(t time.Time) {
		if len(buf) == 0 {
			return
		}
		if len(buf) > incident.MaxTailLines {
			buf = buf[len(buf)-incident.MaxTailLines:]
		}
		out = append(out, incident.Event{Type: incident.EventOutput, Time: t, Step: stepID, Lines: slices.Clone(buf)})
		buf = nil
	}
	for _, ev := range batch {
		switch ev.Kind {
		case steps.EventStarted:
			if verifyOnly {
				continue
			}
			text := ev.Command
			if ev.ShownOnly {
				text += "  (drill: shown, not run)"
			}
			out = append(out, incident.Event{Type: incident.EventStepStarted, Time: ev.Time, Step: stepID, Phase: phase,
				Command: text, Equivalent: ev.Equivalent, DryRun: ev.DryRun, ShownOnly: ev.ShownOnly})
		case steps.EventOutput:
			for _, l := range ev.Lines {
				buf = append(buf, lineText(l))
			}
		case steps.EventProgress:
			if ev.Total > 0 {
				buf = append(buf, progressLine(ev.Done, ev.Total))
			}
		case steps.EventVerify:
			flush(ev.Time)
			// a progress check is recorded not-ok until the final one holds
			out = append(out, incident.Event{Type: incident.EventVerification, Time: ev.Time, Step: stepID,
				OK: ev.Verify.Final && ev.Verify.OK, Detail: ev.Verify.Detail})
		case steps.EventFinished:
			flush(ev.Time)
			done = true
			if verifyOnly {
				ok := ev.ExitCode == 0 && ev.Err == ""
				if ev.Verified != nil {
					ok = *ev.Verified
				}
				out = append(out, incident.Event{Type: incident.EventVerification, Time: ev.Time, Step: stepID,
					OK: ok, Detail: "verification finished"})
				continue
			}
			out = append(out, finishEvent(stepID, ev))
		}
	}
	if len(batch) > 0 {
		flush(batch[len(batch)-1].Time)
	}
	// shown lines: everything gathered in this batch
	var shown []string
	for _, ev := range batch {
		switch ev.Kind {
		case steps.EventOutput:
			for _, l := range ev.Lines {
				shown = append(shown, lineText(l))
			}
		case steps.EventStarted:
			if !verifyOnly {
				shown = append(shown, "$ "+ev.Command)
			}
		case steps.EventVerify:
			shown = append(shown, "verify: "+ev.Verify.Detail)
		case steps.EventProgress:
			if ev.Total > 0 {
				shown = append(shown, progressLine(ev.Done, ev.Total))
			}
		case steps.EventFinished:
			shown = append(shown, finishedLine(ev))
		}
	}
	return out, shown, done
}

func lineText(l steps.Line) string {
	if l.Stream == steps.Stderr {
		return "! " + l.Text
	}
	return l.Text
}

func progressLine(done, total int64) string {
	return "progress " + itoa(done*100/total) + "%"
}

func finishedLine(ev steps.Event) string {
	s := "── exit " + itoa(int64(ev.ExitCode)) + " in " + fmtDur(ev.Duration)
	if ev.Err != "" {
		s += ": " + ev.Err
	}
	return s
}

func itoa(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// finishEvent is the step_finished event of an interactive step.
func finishEvent(stepID string, ev steps.Event) incident.Event {
	return incident.Event{Type: incident.EventStepFinished, Time: ev.Time, Step: stepID, Exit: ev.ExitCode, Err: ev.Err,
		Duration: ev.Duration, Verified: ev.Verified}
}

// target builds what a step runs against from the environment, config and
// the declared variables.
func (m *Model) target() steps.Target {
	cfg := m.opts.Config
	vars := make(map[string]string, len(m.inc.Variables))
	var secrets []string
	for _, v := range m.inc.Variables {
		vars[v.Name] = v.Value
		if v.Secret {
			secrets = append(secrets, v.Name)
			if val, ok := m.secrets[v.Name]; ok {
				vars[v.Name] = val
			}
		}
	}
	sort.Strings(secrets)
	env := cfg.EnvList()
	if m.env != nil && m.env.Target != nil {
		t := *m.env.Target
		t.Vars, t.Secrets, t.Now = vars, secrets, m.now
		return t
	}
	t := steps.Target{
		Vars: vars, Secrets: secrets, Redact: cfg.Redact, Env: env, SecretEnv: cfg.SecretEnv(), Dir: cfg.WorkDir,
		Namespace: cfg.Namespace, Now: m.now,
	}
	if m.env != nil {
		t.Kube, t.DB = m.env.Kube, m.env.DB
	}
	if m.mode == ModeDrill {
		t.ShellMode = steps.ShellShowOnly
		rbID := ""
		if m.rb != nil {
			rbID = m.rb.ID
		}
		allow := slices.Clone(cfg.Drill.AllowShell)
		t.AllowShell = func(stepID string) bool { return slices.Contains(allow, rbID+"/"+stepID) }
	}
	return t
}

// resolve substitutes {{name}} for display; secrets stay masked.
func (m *Model) resolve(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	out, _ := runbooks.Resolve(s, func(name string) (string, bool) {
		switch val, secret := variable(&m.inc, name); {
		case secret:
			return incident.SecretMask, true
		case val != "":
			return val, true
		}
		return "", false
	})
	return out
}
