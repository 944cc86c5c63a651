package incident

import (
	"time"

	"github.com/drnav/drnav/runbooks"
)

// PhaseStatus is where a phase stands on the clock.
type PhaseStatus int

const (
	PhasePending PhaseStatus = iota
	PhaseActive
	PhaseDone
)

func (p PhaseStatus) String() string {
	switch p {
	case PhaseActive:
		return "active"
	case PhaseDone:
		return "done"
	}
	return "pending"
}

// MarshalText writes the status as its name.
func (p PhaseStatus) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// PhaseClock is one phase measured against its budget.
type PhaseClock struct {
	ID      string        `json:"id"`
	Title   string        `json:"title"`
	Budget  time.Duration `json:"budget_ns"`
	Entered time.Time     `json:"entered"`
	Left    time.Time     `json:"left"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Over    bool          `json:"over"`
	Status  PhaseStatus   `json:"status"`
}

// Clock is the incident measured against the RTO at one instant.
type Clock struct {
	Now      time.Time
	Detected time.Time
	RTO      time.Duration
	// Elapsed since detection (stops at resolution); Remaining = RTO - Elapsed
	// (negative once the RTO is blown).
	Elapsed   time.Duration
	Remaining time.Duration

	Phases  []PhaseClock
	Current int // index into Phases of the current phase, -1 when none

	// Projected is the elapsed time plus what the phase budgets still allow:
	// the current phase's max(budget-elapsed, 0) and every later pending
	// phase's budget. Margin = RTO - Projected (positive = inside the RTO).
	Projected time.Duration
	Margin    time.Duration
	// PaceProjected is the elapsed time plus the average duration of the
	// completed steps times the steps left; PaceKnown is false before any
	// step completed.
	PaceProjected time.Duration
	PaceMargin    time.Duration
	PaceKnown     bool
	StepsDone     int
	StepsLeft     int

	// RPO exposure: how old the newest recoverable data is (WithFreshness).
	RPO            time.Duration
	FreshnessKnown bool
	DataAge        time.Duration
	RPOMargin      time.Duration // RPO - DataAge; negative = data loss beyond the RPO
	RPOBreached    bool

	Resolved bool
}

// CurrentPhase returns the current phase's clock.
func (c Clock) CurrentPhase() (PhaseClock, bool) {
	if c.Current < 0 || c.Current >= len(c.Phases) {
		return PhaseClock{}, false
	}
	return c.Phases[c.Current], true
}

// Clock measures the incident at now against rto (the configured RTO; the
// declared snapshot when rto is 0). Phases come from the runbook, or from the
// declared budget snapshot when rb is nil.
func (s State) Clock(rb *runbooks.Runbook, now time.Time, rto time.Duration) Clock {
	if rto <= 0 {
		rto = s.RTO
	}
	end := now
	if s.Resolved && s.ResolvedAt.Before(now) {
		end = s.ResolvedAt
	}
	c := Clock{Now: now, Detected: s.Detected, RTO: rto, RPO: s.RPO, Current: -1, Resolved: s.Resolved}
	if !s.Detected.IsZero() {
		c.Elapsed = max(end.Sub(s.Detected), 0)
	}
	c.Remaining = rto - c.Elapsed

	for i, pb := range s.phaseBudgets(rb) {
		pc := PhaseClock{ID: pb.ID, Title: pb.Title, Budget: pb.Budget}
		if p, ok := s.PhaseLog[pb.ID]; ok {
			pc.Entered, pc.Left, pc.Elapsed = p.Entered, p.Left, p.Spent
			if !p.Since.IsZero() {
				pc.Elapsed += max(end.Sub(p.Since), 0)
			}
			pc.Status = PhaseDone
		}
		if pb.ID == s.CurrentPhase && !s.Resolved {
			pc.Status = PhaseActive
			c.Current = i
		}
		pc.Over = pc.Budget > 0 && pc.Elapsed > pc.Budget
		c.Phases = append(c.Phases, pc)
	}

	// Budget-based projection.
	c.Projected = c.Elapsed
	if !s.Resolved {
		for i, pc := range c.Phases {
			switch {
			case i == c.Current:
				c.Projected += max(pc.Budget-pc.Elapsed, 0)
			case pc.Status == PhasePending && i > c.Current:
				c.Projected += pc.Budget
			}
		}
	}

	// Pace-based projection.
	var sum time.Duration
	if rb != nil {
		for i := range rb.Steps {
			st, ok := s.Steps[rb.Steps[i].ID]
			switch {
			case ok && st.Status == StepDone:
				c.StepsDone++
				sum += st.Duration
			case ok && st.Status == StepSkipped:
			default:
				c.StepsLeft++
			}
		}
	} else {
		for _, st := range s.Steps {
			if st.Status == StepDone {
				c.StepsDone++
				sum += st.Duration
			}
		}
	}
	c.PaceProjected = c.Elapsed
	if c.StepsDone > 0 {
		c.PaceKnown = true
		if !s.Resolved {
			c.PaceProjected += sum / time.Duration(c.StepsDone) * time.Duration(c.StepsLeft)
		}
	}
	if len(c.Phases) == 0 && c.PaceKnown {
		c.Projected = c.PaceProjected
	}
	c.Margin = rto - c.Projected
	c.PaceMargin = rto - c.PaceProjected
	return c
}

// WithFreshness sets the data-loss exposure: age is how old the newest
// recoverable data (backup, archived WAL) is; known is false when it could
// not be measured.
func (c Clock) WithFreshness(age time.Duration, known bool) Clock {
	c.FreshnessKnown = known
	if !known {
		c.DataAge, c.RPOMargin, c.RPOBreached = 0, 0, false
		return c
	}
	c.DataAge = age
	c.RPOMargin = c.RPO - age
	c.RPOBreached = c.RPO > 0 && age > c.RPO
	return c
}

func (s State) phaseBudgets(rb *runbooks.Runbook) []PhaseBudget {
	if rb == nil || len(rb.Phases) == 0 {
		return s.Phases
	}
	out := make([]PhaseBudget, 0, len(rb.Phases))
	for _, p := range rb.Phases {
		out = append(out, PhaseBudget{ID: p.ID, Title: p.Title, Budget: p.Budget.Duration})
	}
	return out
}

// PhasesOf snapshots a runbook's phase budgets for Declared.Phases.
func PhasesOf(rb *runbooks.Runbook) []PhaseBudget {
	return State{}.phaseBudgets(rb)
}
