package ui

import (
	"fmt"
	"time"

	"github.com/drnav/drnav/runbooks"
)

// EventKind names a journal event as the UI records it.
type EventKind string

// Journal event kinds the UI appends (and folds when following).
const (
	EvDeclared     EventKind = "declared"
	EvVariableSet  EventKind = "variable_set"
	EvStepStarted  EventKind = "step_started"
	EvOutput       EventKind = "output"
	EvVerify       EventKind = "verification"
	EvStepFinished EventKind = "step_finished"
	EvStepSkipped  EventKind = "step_skipped"
	EvStepMarked   EventKind = "step_marked_done"
	EvNote         EventKind = "note"
	EvHintShown    EventKind = "hint_used"
	EvStatusPosted EventKind = "status_posted"
	EvRoleAssigned EventKind = "role_assigned"
	EvResolved     EventKind = "resolved"
	EvResumed      EventKind = "resumed"
)

// Event is one fact the UI records in the incident journal.
type Event struct {
	Kind EventKind
	Time time.Time

	Runbook  string    // declared
	Mode     Mode      // declared
	Detected time.Time // declared
	Title    string    // declared: incident title

	Step  string // step id
	Phase string // step_started: the step's phase
	N     int    // hint_used: which hint (1-based)

	Name   string // variable name, role
	Value  string // variable value (secret values are never recorded), person
	Secret bool

	Text       string   // note, skip reason, status text, command, hint, verify detail
	Equivalent string   // started: kubectl/psql equivalent
	Lines      []string // output tail

	ExitCode int
	Err      string
	Duration time.Duration
	Verified *bool
}

// StepStatus is the state of one checklist item.
type StepStatus int

// Step statuses.
const (
	StatusPending StepStatus = iota
	StatusRunning
	StatusDone
	StatusFailed
	StatusSkipped
	StatusInterrupted
)

func (s StepStatus) String() string {
	switch s {
	case StatusRunning:
		return "running"
	case StatusDone:
		return "done"
	case StatusFailed:
		return "failed"
	case StatusSkipped:
		return "skipped"
	case StatusInterrupted:
		return "interrupted"
	}
	return "pending"
}

// StepState is what the journal says about one step.
type StepState struct {
	Status     StepStatus
	Started    time.Time
	Finished   time.Time
	Duration   time.Duration
	ExitCode   int
	Err        string
	Command    string
	Equivalent string
	Reason     string // skip reason
	Notes      []string
	Hints      int // hints shown
	Verify     string
	Verified   *bool
}

// IncidentState is the pure fold of the journal the UI renders.
type IncidentState struct {
	Runbook    string
	Mode       Mode
	Detected   time.Time
	Declared   time.Time
	Vars       map[string]string
	Secrets    map[string]bool
	Steps      map[string]*StepState
	Notes      []Event
	Roles      map[string]string
	LastStatus time.Time
	Statuses   int
	Resolved   bool
	ResolvedAt time.Time
}

// NewIncidentState returns an empty state.
func NewIncidentState() IncidentState {
	return IncidentState{
		Vars:    map[string]string{},
		Secrets: map[string]bool{},
		Steps:   map[string]*StepState{},
		Roles:   map[string]string{},
	}
}

// Step returns the state of a step (a zero pending state when unknown).
func (s *IncidentState) Step(id string) *StepState {
	st, ok := s.Steps[id]
	if !ok {
		st = &StepState{}
		s.Steps[id] = st
	}
	return st
}

// Apply folds one event into the state.
func (s *IncidentState) Apply(ev Event) {
	switch ev.Kind {
	case EvDeclared:
		s.Runbook, s.Mode, s.Detected, s.Declared = ev.Runbook, ev.Mode, ev.Detected, ev.Time
	case EvVariableSet:
		s.Vars[ev.Name] = ev.Value
		if ev.Secret {
			s.Secrets[ev.Name] = true
		}
	case EvStepStarted:
		st := s.Step(ev.Step)
		*st = StepState{Status: StatusRunning, Started: ev.Time, Command: ev.Text, Equivalent: ev.Equivalent,
			Notes: st.Notes, Hints: st.Hints}
	case EvVerify:
		st := s.Step(ev.Step)
		st.Verify = ev.Text
		if ev.Verified != nil {
			st.Verified = ev.Verified
		}
	case EvStepFinished:
		st := s.Step(ev.Step)
		st.Finished, st.Duration, st.ExitCode, st.Err = ev.Time, ev.Duration, ev.ExitCode, ev.Err
		if ev.Verified != nil {
			st.Verified = ev.Verified
		}
		if ev.ExitCode == 0 && ev.Err == "" && (ev.Verified == nil || *ev.Verified) {
			st.Status = StatusDone
		} else {
			st.Status = StatusFailed
		}
	case EvStepSkipped:
		st := s.Step(ev.Step)
		st.Status, st.Reason, st.Finished = StatusSkipped, ev.Text, ev.Time
	case EvStepMarked:
		st := s.Step(ev.Step)
		st.Status, st.Finished = StatusDone, ev.Time
		st.Notes = append(st.Notes, ev.Text)
	case EvNote:
		s.Notes = append(s.Notes, ev)
		if ev.Step != "" {
			st := s.Step(ev.Step)
			st.Notes = append(st.Notes, ev.Text)
		}
	case EvHintShown:
		s.Step(ev.Step).Hints++
	case EvStatusPosted:
		s.LastStatus = ev.Time
		s.Statuses++
	case EvRoleAssigned:
		s.Roles[ev.Name] = ev.Value
	case EvResolved:
		s.Resolved, s.ResolvedAt = true, ev.Time
	case EvResumed:
		s.MarkInterrupted()
	}
}

// MarkInterrupted turns every running step into an interrupted one: after a
// replay nothing is running in this process, so those steps were cut short.
func (s *IncidentState) MarkInterrupted() {
	for _, st := range s.Steps {
		if st.Status == StatusRunning {
			st.Status = StatusInterrupted
		}
	}
}

// Replay folds a whole journal.
func Replay(events []Event) IncidentState {
	s := NewIncidentState()
	for _, ev := range events {
		s.Apply(ev)
	}
	s.MarkInterrupted()
	return s
}

// StepID is the id of the i-th step (its own id, else "step-N").
func StepID(rb *runbooks.Runbook, i int) string {
	if i < 0 || i >= len(rb.Steps) {
		return ""
	}
	if id := rb.Steps[i].ID; id != "" {
		return id
	}
	return fmt.Sprintf("step-%d", i+1)
}

// AllSettled reports whether every step is done or skipped.
func (s *IncidentState) AllSettled(rb *runbooks.Runbook) bool {
	if rb == nil || len(rb.Steps) == 0 {
		return false
	}
	for i := range rb.Steps {
		st, ok := s.Steps[StepID(rb, i)]
		if !ok || (st.Status != StatusDone && st.Status != StatusSkipped) {
			return false
		}
	}
	return true
}
