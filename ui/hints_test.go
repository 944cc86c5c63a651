package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/runbooks"
)

// kubeWith is a synced snapshot holding one deployment.
func kubeWith(desired, ready int32) *live.KubeSnapshot {
	return &live.KubeSnapshot{Context: "drill-primary", Synced: true, Updated: testNow,
		Deployments: []live.Deployment{{Name: "ci-failure-agent", Desired: desired, Ready: ready}}}
}

func TestHintConditionHolds(t *testing.T) {
	t.Parallel()
	dbUp := &live.DBSnapshot{Up: true, Updated: testNow, FreshnessKnown: true, Freshness: 2 * time.Minute, RPO: 15 * time.Minute}
	dbDown := &live.DBSnapshot{Up: false, Err: "connection refused", Updated: testNow, FreshnessKnown: true, Freshness: 20 * time.Minute, RPO: 15 * time.Minute}
	unsynced := kubeWith(3, 0)
	unsynced.Synced = false
	unreachable := &live.KubeSnapshot{Context: "drill-primary", Err: "dial tcp 10.0.0.1:6443: connection refused"}
	forbidden := &live.KubeSnapshot{Context: "drill-primary", Err: "forbidden", Forbidden: `cannot list pods in namespace "default"`}
	for _, c := range []struct {
		name string
		cond string
		f    hintFacts
		want bool
	}{
		{"unconditional", "", hintFacts{}, true},
		{"every replica failing", runbooks.HintAllReplicasFailing, hintFacts{kube: kubeWith(3, 0)}, true},
		{"one replica ready is not all failing", runbooks.HintAllReplicasFailing, hintFacts{kube: kubeWith(3, 1)}, false},
		{"scaled to zero is not failing", runbooks.HintAllReplicasFailing, hintFacts{kube: kubeWith(0, 0)}, false},
		{"not synced yet: unknown", runbooks.HintAllReplicasFailing, hintFacts{kube: unsynced}, false},
		{"no snapshot yet: unknown", runbooks.HintAllReplicasFailing, hintFacts{}, false},
		{"other deployment", runbooks.HintAllReplicasFailing, hintFacts{kube: kubeWith(3, 0), deployment: "postgres"}, false},
		{"some ready", runbooks.HintSomeReplicasReady, hintFacts{kube: kubeWith(3, 1)}, true},
		{"none ready", runbooks.HintSomeReplicasReady, hintFacts{kube: kubeWith(3, 0)}, false},
		{"unreachable: replicas unknown", runbooks.HintSomeReplicasReady, hintFacts{kube: unreachable}, false},
		{"scaled to zero", runbooks.HintScaledToZero, hintFacts{kube: kubeWith(0, 0)}, true},
		{"not scaled to zero", runbooks.HintScaledToZero, hintFacts{kube: kubeWith(3, 0)}, false},
		{"API unreachable", runbooks.HintAPIUnreachable, hintFacts{kube: unreachable}, true},
		{"API answers", runbooks.HintAPIUnreachable, hintFacts{kube: kubeWith(3, 3)}, false},
		{"forbidden is not unreachable", runbooks.HintAPIUnreachable, hintFacts{kube: forbidden}, false},
		{"database down", runbooks.HintDatabaseDown, hintFacts{db: dbDown}, true},
		{"database up is not down", runbooks.HintDatabaseDown, hintFacts{db: dbUp}, false},
		{"database not probed yet", runbooks.HintDatabaseDown, hintFacts{db: &live.DBSnapshot{}}, false},
		{"database up", runbooks.HintDatabaseUp, hintFacts{db: dbUp}, true},
		{"backup older than the RPO", runbooks.HintBackupOlderThanRPO, hintFacts{db: dbDown, now: testNow}, true},
		{"backup within the RPO", runbooks.HintBackupOlderThanRPO, hintFacts{db: dbUp, now: testNow}, false},
		{"backup ages past the RPO", runbooks.HintBackupOlderThanRPO, hintFacts{db: dbUp, now: testNow.Add(14 * time.Minute)}, true},
		{"unknown condition", "tuesday", hintFacts{kube: kubeWith(3, 0)}, false},
	} {
		if c.f.deployment == "" {
			c.f.deployment = "ci-failure-agent"
		}
		if got := c.f.holds(c.cond); got != c.want {
			t.Errorf("%s: holds(%q) = %v, want %v", c.name, c.cond, got, c.want)
		}
	}
	for _, cond := range runbooks.HintConditions() {
		if (hintFacts{}).holds(cond) {
			t.Errorf("%s holds without any snapshot", cond)
		}
	}
}

// deleteHints are the delete-pod step's hints as the shipped runbook
// writes them: one for each situation, and one for every case.
var deleteHints = []runbooks.Hint{
	{Text: "Every replica is failing: the replacement fails the same way.", When: runbooks.HintAllReplicasFailing},
	{Text: "Other replicas are Ready: deleting this pod is safe.", When: runbooks.HintSomeReplicasReady},
	{Text: "Equivalent: kubectl delete pod <failing-pod>"},
}

// hintModel is a drill on the delete step with the delete hints and the
// given primary snapshot.
func hintModel(t *testing.T, kube *live.KubeSnapshot) *harness {
	t.Helper()
	opts := testOptions()
	opts.Mode = ModeDrill
	opts.Runbooks[0].Steps[4].Hints = deleteHints
	h, _ := declared(t, opts)
	if kube != nil {
		h.handle(kubeSnapMsg{snap: *kube})
	}
	h.m.list.sel = 4
	return h
}

// TestConditionalHintFollowsThePanes: with every replica crash-looping,
// "h" gives the hint that says so and never "deleting is safe"; with
// replicas Ready, the other way round; the unconditional hint comes in
// both, and nothing is offered once no hint fits.
func TestConditionalHintFollowsThePanes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name        string
		kube        *live.KubeSnapshot
		want, never string
	}{
		{"all failing", kubeWith(3, 0), "Every replica is failing", "deleting this pod is safe"},
		{"some ready", kubeWith(3, 2), "deleting this pod is safe", "Every replica is failing"},
		{"not known yet", nil, "Equivalent: kubectl delete pod", "Every replica is failing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := hintModel(t, c.kube)
			if !strings.Contains(h.screen(), "h: show a hint") {
				t.Fatalf("no hint offered:\n%s", h.screen())
			}
			h.press("h")
			h.until("a hint", func(m Model) bool { return m.inc.Steps["delete"] != nil && m.inc.Steps["delete"].Hints == 1 })
			scr := h.screen()
			if !strings.Contains(scr, "Hint: "+c.want) && !strings.Contains(strings.Join(strings.Fields(scr), " "), c.want) {
				t.Errorf("first hint: want %q:\n%s", c.want, scr)
			}
			h.press("h")
			h.settle()
			scr = h.screen()
			if strings.Contains(scr, c.never) {
				t.Errorf("hint %q shown while it does not fit:\n%s", c.never, scr)
			}
			if st := h.m.inc.Steps["delete"]; c.kube != nil && st.Hints != 2 {
				t.Errorf("hints used = %d, want 2 (the fitting one and the unconditional one)", st.Hints)
			}
			if strings.Contains(scr, "h: show a hint") {
				t.Errorf("a hint is still offered though none left fits:\n%s", scr)
			}
			h.press("h")
			if f := h.m.flash; !strings.Contains(f, "no more hints") {
				t.Errorf("flash = %q", f)
			}
		})
	}
}

// TestShownHintsComeFromTheJournal: the detail shows the hints the journal
// recorded by their index, whatever the panes show now.
func TestShownHintsComeFromTheJournal(t *testing.T) {
	t.Parallel()
	step := &runbooks.Step{Hints: deleteHints}
	st := &incident.StepState{HintsShown: []int{2, 3, 9}}
	got := shownHints(step, st)
	if len(got) != 2 || got[0] != deleteHints[1].Text || got[1] != deleteHints[2].Text {
		t.Errorf("shown hints = %q", got)
	}
	var s incident.State
	for _, n := range []int{2, 0} {
		s.Apply(incident.Event{Type: incident.EventHintUsed, Time: testNow, Step: "delete", N: n})
	}
	if got := s.Steps["delete"].HintsShown; len(got) != 2 || got[0] != 2 || got[1] != 2 {
		t.Errorf("journal hints shown = %v, want [2 2] (an event without N counts in order)", got)
	}
}

func init() {
	// the delete step's detail in a drill, every replica crash-looping,
	// after one hint: the hint that fits and "h" for the next one
	walkthroughWidgets["hint_all_failing"] = func(m Model) string {
		m.mode = ModeDrill
		m.rb.Steps[4].Hints = deleteHints
		m.panes.setKube(*kubeWith(3, 0))
		m.list.sel = 4
		m.apply(incident.Event{Type: incident.EventHintUsed, Time: testNow, Step: "delete", Text: deleteHints[0].Text, N: 1})
		d := m.dims()
		return ansi.Strip(m.viewDetail(d.detailW, 14))
	}
}
