package ui

import (
	"slices"
	"strings"
	"time"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/runbooks"
)

// hintFacts are the live facts a hint's condition reads, taken from the
// snapshots the panes already hold (never any I/O).
type hintFacts struct {
	kube       *live.KubeSnapshot // the step's context; nil when not seen yet
	deployment string             // the deployment the step is about
	db         *live.DBSnapshot
	now        time.Time
}

// holds reports whether a hint condition (runbooks.Hint*) holds. A fact
// not known yet (no snapshot, caches not synced) does not hold: a
// conditional hint is only offered on evidence.
func (f hintFacts) holds(cond string) bool {
	switch cond {
	case "":
		return true
	case runbooks.HintAllReplicasFailing, runbooks.HintSomeReplicasReady, runbooks.HintScaledToZero:
		if f.kube == nil || f.kube.Err != "" || !f.kube.Synced {
			return false
		}
		d, ok := f.kube.Deployment(f.deployment)
		if !ok {
			return false
		}
		switch cond {
		case runbooks.HintAllReplicasFailing:
			return d.Desired > 0 && d.Ready == 0
		case runbooks.HintSomeReplicasReady:
			return d.Ready > 0
		default:
			return d.Desired == 0
		}
	case runbooks.HintAPIUnreachable:
		return f.kube != nil && f.kube.Err != "" && f.kube.Forbidden == ""
	case runbooks.HintDatabaseDown:
		return f.db != nil && !f.db.Up && !f.db.Updated.IsZero()
	case runbooks.HintDatabaseUp:
		return f.db != nil && f.db.Up
	case runbooks.HintBackupOlderThanRPO:
		return f.db != nil && f.db.FreshnessKnown && f.db.RPO > 0 && f.db.AgeAt(f.now) > f.db.RPO
	}
	return false // an unknown condition (refused by the loader) never holds
}

// hintFactsFor gathers the facts for a step: its context's snapshot (by
// role) and its deployment (the step's own, else the config's).
func (m Model) hintFactsFor(step *runbooks.Step) hintFacts {
	f := hintFacts{kube: m.panes.kube, db: m.panes.dbs, now: m.clock}
	if m.stepActsOnFailover(step) {
		f.kube = m.panes.failover
	}
	dep := ""
	switch {
	case step.K8s != nil && step.K8s.Deployment != "":
		dep = step.K8s.Deployment
	case step.Wait != nil && step.Wait.Deployment != "":
		dep = step.Wait.Deployment
	case step.Verify != nil && step.Verify.Deployment != "":
		dep = step.Verify.Deployment
	default:
		dep = m.opts.Config.Deployment
	}
	f.deployment = m.resolve(dep)
	return f
}

// nextHint is the index of the next hint to offer for the step: the first
// one not shown yet whose condition holds now (-1 when none).
func (m Model) nextHint(step *runbooks.Step, st *incident.StepState) int {
	if step == nil || len(step.Hints) == 0 {
		return -1
	}
	var shown []int
	if st != nil {
		shown = st.HintsShown
	}
	f := m.hintFactsFor(step)
	for i, h := range step.Hints {
		if slices.Contains(shown, i+1) || !f.holds(h.When) {
			continue
		}
		return i
	}
	return -1
}

// shownHints are the texts of the hints shown for a step, in the order
// they were asked for.
func shownHints(step *runbooks.Step, st *incident.StepState) []string {
	if st == nil {
		return nil
	}
	var out []string
	for _, n := range st.HintsShown {
		if n >= 1 && n <= len(step.Hints) {
			out = append(out, step.Hints[n-1].Text)
		}
	}
	return out
}

// contextRole is the role ("primary" or "failover") of a step's context as
// written in the runbook, after its placeholders are filled in: "" and
// "primary" are the primary; "failover" and the failover context's own
// name (however the step came by it, e.g. a variable) are the failover.
func (m Model) contextRole(name string) string {
	name = strings.TrimSpace(m.resolve(name))
	if name == "" || name == "primary" {
		return "primary"
	}
	if name == "failover" {
		return "failover"
	}
	for _, f := range m.failoverNames() {
		if f != "" && f == name {
			return "failover"
		}
	}
	return "primary"
}

// failoverNames are the names the failover context goes by.
func (m Model) failoverNames() []string {
	var names []string
	if m.env != nil && m.env.FailoverWhere != nil {
		names = append(names, m.env.FailoverWhere.Context)
	}
	if m.panes.failover != nil {
		names = append(names, m.panes.failover.Context)
	}
	names = append(names, m.opts.Config.FailoverContext)
	if m.mode == ModeDrill {
		names = append(names, drillFailoverContext)
	}
	return names
}

// drillFailoverContext is the simulator's failover context name (the
// simulator's package is not imported by ui).
const drillFailoverContext = "drill-failover"

// stepActsOnFailover reports whether the step's action, wait or verify
// reaches the failover context by its role.
func (m Model) stepActsOnFailover(step *runbooks.Step) bool {
	if step == nil {
		return false
	}
	return (step.K8s != nil && m.contextRole(step.K8s.Context) == "failover") ||
		(step.Wait != nil && m.contextRole(step.Wait.Context) == "failover") ||
		(step.Verify != nil && m.contextRole(step.Verify.Context) == "failover")
}
