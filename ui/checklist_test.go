package ui

import (
	"testing"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
)

// TestChecklistUpdate drives the checklist widget alone: tab cycles the
// focus (the live panes only when shown), the line keys move the selection
// within the steps and forget the output kept in view, they leave the
// selection alone while the output or the pods pane has the focus, the
// output pane's keys scroll it, a
// mutating key comes back as its action, and the cursor advances from a
// settled step to the next open one (wrapping), keeping its output in view.
func TestChecklistUpdate(t *testing.T) {
	t.Parallel()
	k := NewKeyMap(false)
	rb := &runbooks.Runbook{Steps: []runbooks.Step{{ID: "a"}, {ID: "b"}, {}, {ID: "d"}}}
	n := len(rb.Steps)
	c := newChecklist()
	press := func(key string, panes bool) checklistOutcome {
		t.Helper()
		var out checklistOutcome
		c, out = c.Update(keyMsg(key), &k, n, panes)
		return out
	}

	// the focus: steps, output and back without the panes; all five with them
	for _, want := range []focusArea{focusOutput, focusSteps} {
		if out := press("tab", false); !out.used || out.moved || out.act != 0 || c.focus != want {
			t.Fatalf("tab without panes: focus %v, outcome %+v; want %v, used only", c.focus, out, want)
		}
	}
	for _, want := range []focusArea{focusOutput, focusPods, focusDeploy, focusDB, focusSteps} {
		if press("tab", true); c.focus != want {
			t.Fatalf("tab with panes: focus %v, want %v", c.focus, want)
		}
	}

	// the selection, bounded by the steps
	c.outOf = "a"
	for _, s := range []struct {
		key  string
		want int
	}{{"down", 1}, {"j", 2}, {"down", 3}, {"down", 3}, {"up", 2}, {"g", 0}, {"up", 0}, {"G", 3}, {"k", 2}} {
		out := press(s.key, false)
		if !out.used || !out.moved || out.act != 0 || c.sel != s.want {
			t.Fatalf("%s: selected %d, outcome %+v; want %d, moved", s.key, c.sel, out, s.want)
		}
		if c.outOf != "" {
			t.Fatalf("%s: the output of %q stays in view after a move by hand", s.key, c.outOf)
		}
	}
	if got := c.selectedID(rb); got != "step-3" {
		t.Fatalf("selectedID = %q, want step-3", got)
	}
	if got := c.selectedStep(rb); got != &rb.Steps[2] {
		t.Fatal("selectedStep is not the third step")
	}

	// the output and the pods pane keep the line keys (the output's are the
	// widget's own: they scroll it); deploy and db do not
	for _, f := range []focusArea{focusOutput, focusPods} {
		c.focus = f
		if out := press("down", true); out.used != (f == focusOutput) || out.moved || c.sel != 2 {
			t.Fatalf("focus %v: down selected %d (outcome %+v)", f, c.sel, out)
		}
	}
	c.focus = focusSteps
	if out := press("pgup", false); !out.used || out.moved || c.out.follow || c.sel != 2 {
		t.Fatalf("pgup: outcome %+v, selected %d, following %v; want the output scrolled back", out, c.sel, c.out.follow)
	}
	if out := press("f", false); !out.used || !c.out.follow {
		t.Fatalf("f: outcome %+v, following %v; want the output following again", out, c.out.follow)
	}
	c.focus = focusDeploy
	if out := press("down", true); !out.moved || c.sel != 3 {
		t.Fatalf("focus deployment: down selected %d (outcome %+v), want 3", c.sel, out)
	}
	c.focus = focusSteps

	// no runbook yet: nothing to select
	c.sel = 0
	var out checklistOutcome
	if c, out = c.Update(keyMsg("down"), &k, 0, false); out.used || c.sel != 0 {
		t.Fatalf("without steps down selected %d (outcome %+v)", c.sel, out)
	}

	// mutating keys come back as actions, the selection untouched
	c.sel = 1
	for key, want := range map[string]stepAction{
		"enter": actStepRun, "r": actStepReRun, "s": actStepSkip, "n": actStepNote, "D": actStepMarkDone,
		"v": actStepVerify, "h": actStepHint, "u": actStatusUpdate, "R": actIncidentResolve,
	} {
		if out := press(key, false); !out.used || out.moved || out.act != want || c.sel != 1 {
			t.Fatalf("%s: outcome %+v selected %d, want action %v on 1", key, out, c.sel, want)
		}
	}
	if out := press("z", false); out.used || out.act != 0 {
		t.Fatalf("z: outcome %+v, want none", out)
	}

	// selecting by id, the first open step, advancing from a settled one
	status := map[string]incident.StepStatus{"a": incident.StepDone, "b": incident.StepSkipped}
	st := func(id string) incident.StepStatus { return status[id] }
	c.selectStep(rb, "d")
	if c.sel != 3 {
		t.Fatalf("selectStep(d) selected %d", c.sel)
	}
	c.selectStep(rb, "nope")
	if c.sel != 3 {
		t.Fatalf("selectStep of an unknown id moved the selection to %d", c.sel)
	}
	c.selectFirstOpen(rb, st)
	if c.sel != 2 {
		t.Fatalf("selectFirstOpen selected %d, want 2 (a done, b skipped)", c.sel)
	}
	if c.advanceFrom(rb, "step-3", st) || c.sel != 2 {
		t.Fatal("advanced from a step that has not settled")
	}
	status["step-3"] = incident.StepDone
	if c.advanceFrom(rb, "a", st) || c.sel != 2 {
		t.Fatal("advanced from a step the cursor had left")
	}
	if !c.advanceFrom(rb, "step-3", st) || c.sel != 3 || c.outOf != "step-3" || c.outputID(rb) != "step-3" {
		t.Fatalf("after step 3 settled: selected %d, output of %q; want 3 and step 3's output", c.sel, c.outputID(rb))
	}
	status["d"] = incident.StepDone
	delete(status, "b")
	if !c.advanceFrom(rb, "d", st) || c.sel != 1 {
		t.Fatalf("after the last step settled: selected %d, want 1 (wrapped to the open b)", c.sel)
	}
	c.moveTo(0)
	if c.outputID(rb) != "a" {
		t.Fatalf("after a move by hand the output shows %q, want a", c.outputID(rb))
	}
}
