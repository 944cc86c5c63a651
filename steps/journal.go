package steps

import (
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/drnav/drnav/incident"
)

// Journaler turns the events of one step run into the incident journal's
// events. The navigator and headless runs both journal through it, so a step
// leaves the same record whichever ran it:
//
//   - step_started once: from the write-ahead hook (Started), or from the
//     Started event when nothing wrote it ahead; a step that finished without
//     starting gets one naming its title, so its finish has a start;
//   - output as it comes, in events of at most incident.MaxTailLines lines
//     (Flush), stderr lines marked "! ";
//   - a verify condition once, as its final outcome with the number of polls
//     (the polls before it are only counted);
//   - step_finished with the exit, error, duration, verify result and the
//     number of output lines; none for a finish that is no outcome (drnav
//     stopped following a detached step, or nothing was started).
//
// A Journaler is used by one goroutine at a time.
type Journaler struct {
	Step  string
	Phase string
	// Title stands in for the command of a step that finished without a
	// Started event (an expansion that failed before anything ran).
	Title string
	// Dir is the incident's folder: a detached step's run folder is
	// recorded relative to it.
	Dir string
	// VerifyOnly: a run of the step's verify condition alone (no start or
	// finish of the step is journalled, only the verification).
	VerifyOnly bool
	// Started: the step_started is in the journal already (a step followed
	// again after a resume).
	Started bool

	pending  []string
	polls    int
	verified bool
}

// StartedEvent is the step_started event of a Started event; the
// write-ahead hook journals it before the step starts anything.
func (j *Journaler) StartedEvent(ev Event) incident.Event {
	j.Started = true
	runDir := ev.Detached
	if j.Dir != "" && runDir != "" {
		if rel, err := filepath.Rel(j.Dir, runDir); err == nil && !strings.HasPrefix(rel, "..") {
			runDir = rel
		}
	}
	return incident.Event{Type: incident.EventStepStarted, Time: ev.Time, Step: j.Step, Phase: j.Phase,
		Command: ev.Command, Equivalent: ev.Equivalent, DryRun: ev.DryRun, ShownOnly: ev.ShownOnly, RunDir: runDir}
}

// WriteAhead is the hook for Target.WriteAhead: it journals step_started
// through appendEv before the step starts anything.
func (j *Journaler) WriteAhead(appendEv func(incident.Event) error) func(Event) error {
	return func(ev Event) error { return appendEv(j.StartedEvent(ev)) }
}

// Add takes the run's next event and returns what to journal now, in order.
// Output is held until Flush, a verification or the finish.
func (j *Journaler) Add(ev Event) []incident.Event {
	switch ev.Kind {
	case EventStarted:
		if j.VerifyOnly || ev.WrittenAhead || j.Started {
			j.Started = j.Started || ev.WrittenAhead
			return nil
		}
		return []incident.Event{j.StartedEvent(ev)}
	case EventOutput:
		for _, l := range ev.Lines {
			j.pending = append(j.pending, LineText(l))
		}
		if n := len(j.pending); n > 4*incident.MaxTailLines {
			j.pending = slices.Delete(j.pending, 0, n-incident.MaxTailLines)
		}
		return nil
	case EventVerify:
		j.polls++
		if !ev.Verify.Final {
			return nil
		}
		out := j.Flush(ev.Time)
		j.verified = true
		out = append(out, incident.Event{Type: incident.EventVerification, Time: ev.Time, Step: j.Step,
			OK: ev.Verify.OK, Detail: ev.Verify.Detail, Polls: j.polls})
		j.polls = 0
		return out
	case EventFinished:
		out := j.Flush(ev.Time)
		if ev.OutcomeUnknown || ev.NotStarted {
			return out
		}
		if j.VerifyOnly {
			if j.verified {
				return out
			}
			// Ended before a final poll (cancelled, or nothing to evaluate).
			ok := ev.ExitCode == 0 && ev.Err == ""
			if ev.Verified != nil {
				ok = *ev.Verified
			}
			detail := "verification finished"
			if ev.Err != "" {
				detail = ev.Err
			}
			return append(out, incident.Event{Type: incident.EventVerification, Time: ev.Time, Step: j.Step,
				OK: ok, Detail: detail, Polls: j.polls})
		}
		if !j.Started {
			start := j.StartedEvent(Event{Time: ev.Time, Command: j.Title})
			out = append([]incident.Event{start}, out...)
		}
		return append(out, FinishedEvent(j.Step, ev))
	}
	return nil
}

// Flush returns the output held since the last flush as one output event
// (its last incident.MaxTailLines lines), or nothing.
func (j *Journaler) Flush(t time.Time) []incident.Event {
	if len(j.pending) == 0 {
		return nil
	}
	lines := j.pending
	if n := len(lines); n > incident.MaxTailLines {
		lines = lines[n-incident.MaxTailLines:]
	}
	j.pending = nil
	return []incident.Event{{Type: incident.EventOutput, Time: t, Step: j.Step, Lines: slices.Clone(lines)}}
}

// Pending reports whether output waits for Flush.
func (j *Journaler) Pending() bool { return len(j.pending) > 0 }

// FinishedEvent is the step_finished event of a Finished event.
func FinishedEvent(step string, ev Event) incident.Event {
	return incident.Event{Type: incident.EventStepFinished, Time: ev.Time, Step: step, Exit: ev.ExitCode, Err: ev.Err,
		Duration: ev.Duration, Verified: ev.Verified, TotalLines: ev.TotalLines}
}

// LineText is an output line as journalled and shown: stderr marked "! ".
func LineText(l Line) string {
	if l.Stream == Stderr {
		return "! " + l.Text
	}
	return l.Text
}
