package ui

import (
	"context"
	"errors"
	"path/filepath"
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

// readRunCmd reads one batch of events from a run, journals them through
// the run's Journaler and returns them tagged with the run id; Update
// re-arms it until the run finishes. rr (nil for none) detaches it: then it
// reads nothing more and returns no message.
func readRunCmd(j Journal, runID int, jr *steps.Journaler, h StepRun, rr *runReader) tea.Cmd {
	return func() tea.Msg {
		ctx := context.Background()
		if rr != nil {
			rr.mu.Lock()
			defer rr.mu.Unlock()
			ctx = rr.program
		}
		msg, ok := readRunBatch(ctx, j, runID, jr, h)
		if !ok {
			return nil
		}
		return msg
	}
}

// readRunBatch is one batch of readRunCmd; false when ctx ended before the
// run sent anything (nothing was read then).
func readRunBatch(ctx context.Context, j Journal, runID int, jr *steps.Journaler, h StepRun) (runEventsMsg, bool) {
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
	type entry struct {
		ev    incident.Event
		ahead bool // journalled by the write-ahead hook already
	}
	var evs []entry
	done := false
	for _, ev := range batch {
		if ev.Kind == steps.EventStarted && ev.WrittenAhead && !jr.VerifyOnly {
			evs = append(evs, entry{ev: jr.StartedEvent(ev), ahead: true})
		}
		for _, e := range jr.Add(ev) {
			evs = append(evs, entry{ev: e})
		}
		done = done || ev.Kind == steps.EventFinished
	}
	for _, e := range jr.Flush(batch[len(batch)-1].Time) {
		evs = append(evs, entry{ev: e})
	}
	msg := runEventsMsg{id: runID, lines: shownLines(jr.VerifyOnly, batch), done: done || closed}
	for _, e := range evs {
		if !e.ahead {
			if err := j.Append(e.ev); err != nil {
				msg.err = err
				break
			}
		}
		msg.events = append(msg.events, e.ev)
	}
	for _, ev := range batch {
		if ev.Kind == steps.EventFinished && ev.NotStarted && msg.err == nil {
			msg.err = errors.New(ev.Err)
		}
	}
	return msg, true
}

// writeAheadTarget makes the step journal its step_started (fsynced) before
// it starts any process or sends any request, and, for a journal with a
// folder, run shell steps detached under the supervisor.
func writeAheadTarget(t steps.Target, j Journal, sup *steps.Supervisor, jr *steps.Journaler) steps.Target {
	if sup != nil && jr.Dir != "" {
		s := *sup
		s.Root = filepath.Join(jr.Dir, "steps")
		t.Supervisor = &s
	}
	t.WriteAhead = jr.WriteAhead(j.Append)
	return t
}

// journalDir is the folder of a journal that has one ("" in memory).
func journalDir(j Journal) string {
	if d, ok := j.(interface{ Dir() string }); ok {
		return d.Dir()
	}
	return ""
}

// shownLines are the lines a batch adds to the step's output pane.
func shownLines(verifyOnly bool, batch []steps.Event) []string {
	var shown []string
	for _, ev := range batch {
		switch ev.Kind {
		case steps.EventOutput:
			for _, l := range ev.Lines {
				shown = append(shown, steps.LineText(l))
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
	return shown
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

// target is what a step runs against: the environment's target (built in
// one place, by MakeEnv or the caller of New) with the declared variables.
// It is nil while there is no environment (being built, or it failed).
func (m *Model) target() *steps.Target {
	if m.env == nil || m.env.Target == nil {
		return nil
	}
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
	t := *m.env.Target
	t.Vars, t.Secrets, t.Now = vars, secrets, m.now
	return &t
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
