package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/incident"
)

func TestDeclareRecordsDetectionAndMasksSecrets(t *testing.T) {
	t.Parallel()
	j := incident.NewMemJournal()
	opts := testOptions()
	opts.Mode = ModeAsk
	opts.NewJournal = func(d incident.Event) (Journal, error) { return j, j.Append(d) }
	h := newHarness(t, opts)
	h.typeText("corr")
	if !strings.Contains(h.screen(), "Database corruption") {
		t.Fatalf("filter hid the runbook:\n%s", h.screen())
	}
	if !strings.Contains(h.screen(), "review overdue since 2026-01-01") {
		t.Errorf("overdue review not marked:\n%s", h.screen())
	}
	h.press("enter")
	if h.m.screen != screenMode {
		t.Fatalf("mode was not asked explicitly")
	}
	scr := h.screen()
	for _, want := range []string{"kube context: lab", "server:       https://10.1.0.1:6443", "user:         lab-admin",
		"failover:     dr-west · https://10.2.0.1:6443", "database:     database app on db1:5432 as user dr", "DRILL", "LIVE"} {
		if !strings.Contains(scr, want) {
			t.Errorf("mode screen lacks %q:\n%s", want, scr)
		}
	}
	h.press("enter") // no default
	if h.m.screen != screenMode {
		t.Fatalf("enter chose a mode; want an explicit choice")
	}
	h.press("l")
	h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
	h.typeText("15m")
	h.press("enter")
	// pattern validation on the pod variable
	h.press("ctrl+u")
	h.typeText("Bad Pod!")
	h.press("enter")
	if !strings.Contains(h.screen(), "must match") {
		t.Fatalf("pattern not enforced:\n%s", h.screen())
	}
	for range 8 {
		h.press("backspace")
	}
	h.typeText("web-1")
	h.press("enter")
	if strings.Contains(h.screen(), "s3cret") {
		t.Fatalf("secret shown in clear:\n%s", h.screen())
	}
	h.press("enter")
	h.until("checklist", func(m Model) bool { return m.screen == screenChecklist })
	evs := j.Events()
	if got := kinds(evs); !slices.Equal(got, []string{incident.EventDeclared, incident.EventVariableSet, incident.EventVariableSet}) {
		t.Fatalf("journal kinds = %v", got)
	}
	if want := testNow.Add(-15 * time.Minute); evs[0].Declared == nil || !evs[0].Declared.Detected.Equal(want) ||
		evs[0].Declared.Mode != incident.ModeLive {
		t.Errorf("declared = %+v, want detected %v live", evs[0], want)
	}
	if d := evs[0].Declared; d == nil || d.KubeContext != "lab" || d.Kube == nil || *d.Kube != testKube ||
		d.FailoverKube == nil || *d.FailoverKube != testFailover || d.DB == nil || d.DB.String() != testDB.String() {
		t.Errorf("declared event does not carry the resolved targets: %+v", evs[0].Declared)
	}
	if evs[1].Value != "web-1" || evs[2].Value != "***" || !evs[2].Secret {
		t.Errorf("variables = %+v / %+v", evs[1], evs[2])
	}
	if got := h.m.target().Vars["token"]; got != "s3cret" {
		t.Errorf("secret not kept for the steps: %q", got)
	}
}

func TestRunStreamsOutputAfterJournal(t *testing.T) {
	t.Parallel()
	h, j := declared(t, testOptions())
	h.press("enter")
	h.until("step done", func(m Model) bool { return m.stepStatus(0) == incident.StepDone })
	evs := j.Events()[3:]
	got := kinds(evs)
	if len(got) < 3 || got[0] != incident.EventStepStarted || got[len(got)-1] != incident.EventStepFinished || !slices.Contains(got, incident.EventOutput) {
		t.Fatalf("journal kinds = %v", got)
	}
	if evs[0].Phase != "assess" {
		t.Errorf("step_started phase = %q, want assess (the clock times phases from it)", evs[0].Phase)
	}
	if c := h.m.inc.Clock(h.m.rb, h.m.clock, 0); c.Current < 0 || c.Phases[c.Current].ID != "assess" {
		t.Errorf("current phase = %+v", c.Phases)
	}
	var lines []string
	for _, e := range evs {
		lines = append(lines, e.Lines...)
	}
	if !slices.Equal(lines, []string{"hello", "world"}) {
		t.Errorf("journaled output = %q", lines)
	}
	if scr := h.screen(); !strings.Contains(scr, "hello") || !strings.Contains(scr, "world") {
		t.Errorf("output not shown:\n%s", scr)
	}
}

func TestFailedStepAndLongOutput(t *testing.T) {
	t.Parallel()
	h, j := declared(t, testOptions())
	h.press("down", "enter")
	h.until("step failed", func(m Model) bool { return m.stepStatus(1) == incident.StepFailed })
	if st := h.m.inc.Steps["fail"]; st.Exit != 3 {
		t.Errorf("exit = %d, want 3", st.Exit)
	}
	if !strings.Contains(h.screen(), "failed: exit 3") {
		t.Errorf("failure not shown:\n%s", h.screen())
	}
	h.press("end") // last step: seq 1 400
	h.press("enter")
	h.until("long step done", func(m Model) bool { return m.stepStatus(5) == incident.StepDone })
	if n := len(h.m.outs["many"]); n < 400 {
		t.Errorf("kept %d lines, want ≥ 400", n)
	}
	for _, e := range j.Events() {
		if len(e.Lines) > 50 {
			t.Errorf("output event keeps %d lines, want ≤ 50", len(e.Lines))
		}
	}
	if !strings.Contains(h.screen(), "400") {
		t.Errorf("follow mode does not show the last line:\n%s", h.screen())
	}
	h.press("tab", "pgup")
	if h.m.list.out.follow {
		t.Errorf("pgup left follow mode on")
	}
	h.press("/")
	h.typeText("250")
	h.press("enter")
	if !strings.Contains(h.m.flash, "at line 251") { // line 1 is the command
		t.Errorf("search flash = %q", h.m.flash)
	}
}

func TestCancelRunningStepNeedsConfirmation(t *testing.T) {
	t.Parallel()
	h, j := declared(t, testOptions())
	h.press("down", "down", "enter")
	h.until("sleep running", func(m Model) bool {
		return m.run != nil && m.run.handle != nil && m.stepStatus(2) == incident.StepRunning
	})
	h.press("x")
	if h.m.overlay != ovConfirm {
		t.Fatalf("x did not ask")
	}
	h.press("enter") // default: Cancel the dialog, keep running
	h.settle()
	if h.m.run == nil || h.m.stepStatus(2) != incident.StepRunning {
		t.Fatalf("default choice stopped the step")
	}
	h.press("ctrl+c", "right", "enter")
	h.until("step cancelled", func(m Model) bool { return m.run == nil })
	st := h.m.inc.Steps["sleep"]
	if st.Status != incident.StepFailed || st.Exit != 130 {
		t.Errorf("cancelled step = %v exit %d, want failed 130", st.Status, st.Exit)
	}
	last := j.Events()[len(j.Events())-1]
	if last.Type != incident.EventStepFinished || last.Exit != 130 {
		t.Errorf("last event = %+v", last)
	}
}

func TestSkipNeedsReasonAndNote(t *testing.T) {
	t.Parallel()
	h, j := declared(t, testOptions())
	h.press("s", "enter")
	if h.m.overlay != ovPrompt || h.m.prompt.err != "required" {
		t.Fatalf("skip without reason accepted")
	}
	h.typeText("not needed")
	h.press("enter")
	h.until("skipped", func(m Model) bool { return m.stepStatus(0) == incident.StepSkipped })
	if h.m.list.sel != 1 {
		t.Errorf("after the skip the cursor is on step %d, want the next open one (2)", h.m.list.sel+1)
	}
	h.press("up", "n")
	h.typeText("checked by hand")
	h.press("enter")
	h.until("note", func(m Model) bool { return len(m.inc.Notes) == 1 })
	evs := j.Events()[3:]
	if len(evs) != 2 || evs[0].Type != incident.EventStepSkipped || evs[0].Reason != "not needed" || evs[1].Type != incident.EventNote ||
		evs[1].Text != "checked by hand" || evs[1].Step != "identify" {
		t.Fatalf("journal = %+v", evs)
	}
	if !strings.Contains(h.screen(), "skipped: not needed") || !strings.Contains(h.screen(), "Note: checked by hand") {
		t.Errorf("skip/note not shown:\n%s", h.screen())
	}
}

func TestConfirmDefaultsToCancel(t *testing.T) {
	t.Parallel()
	h, j := declared(t, testOptions())
	h.press("down", "down", "down", "enter") // Stop application writes (destructive)
	if h.m.overlay != ovConfirm {
		t.Fatalf("destructive step ran without confirmation")
	}
	scr := h.screen()
	for _, want := range []string{"Context:   lab", "Server:    https://10.1.0.1:6443", "Namespace: default",
		"Object:    deployment/ci-failure-agent", "LIVE", "Cancel"} {
		if !strings.Contains(scr, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, scr)
		}
	}
	h.press("enter")
	h.settle()
	if h.m.overlay != ovNone || h.m.run != nil || len(j.Events()) != 3 {
		t.Fatalf("enter on the dialog ran the step: overlay %v run %v events %v", h.m.overlay, h.m.run, kinds(j.Events()))
	}
	// esc also cancels, and tab twice comes back to Cancel
	h.press("enter", "tab", "tab", "enter")
	h.settle()
	if h.m.run != nil || len(j.Events()) != 3 {
		t.Fatalf("tab-tab-enter ran the step")
	}
}

func TestCriticalStepRequiresTypingName(t *testing.T) {
	t.Parallel()
	h, _ := declared(t, testOptions())
	h.m.list.sel = 4 // Delete the failing pod (critical)
	h.press("enter")
	if h.m.confirm.requireName != "agent-7d9f-abc" {
		t.Fatalf("requireName = %q", h.m.confirm.requireName)
	}
	h.press("right", "enter")
	if h.m.overlay != ovConfirm || h.m.run != nil {
		t.Fatalf("critical step ran without its name typed")
	}
	h.typeText("agent-7d9f-abc")
	h.press("enter")
	if h.m.overlay != ovNone || h.m.run == nil {
		t.Fatalf("typing the name did not run the step (flash %q)", h.m.flash)
	}
	// no kube provider in this test: the engine fails the step clearly
	h.until("finished", func(m Model) bool { return m.run == nil })
	if st := h.m.inc.Steps["delete"]; st.Status != incident.StepFailed {
		t.Errorf("status = %v", st.Status)
	}
}

func TestResumeInterruptedStepIsNotRerun(t *testing.T) {
	t.Parallel()
	j := incident.NewMemJournal()
	events := []incident.Event{
		declaredEvent(testNow.Add(-time.Hour), testNow.Add(-70*time.Minute)),
		{Type: incident.EventStepStarted, Time: testNow.Add(-50 * time.Minute), Step: "identify", Phase: "assess", Command: "echo hello; echo world"},
	}
	for _, e := range events {
		_ = j.Append(e)
	}
	opts := testOptions()
	opts.Resume = &Resume{ID: "inc-1", Journal: j}
	h := newHarness(t, opts)
	if h.m.screen != screenChecklist || h.m.stepStatus(0) != incident.StepInterrupted {
		t.Fatalf("resume: screen %v status %v", h.m.screen, h.m.stepStatus(0))
	}
	scr := h.screen()
	if !strings.Contains(scr, "interrupted") || !strings.Contains(scr, "1h10m used") {
		t.Errorf("resume screen:\n%s", scr)
	}
	h.press("enter")
	h.settle()
	if h.m.run != nil || len(j.Events()) != 2 {
		t.Fatalf("enter re-ran an interrupted step")
	}
	h.press("r", "enter") // re-run asks; default cancels
	h.settle()
	if h.m.run != nil || len(j.Events()) != 2 {
		t.Fatalf("re-run without confirmation")
	}
	h.press("D", "enter")
	if h.m.prompt.err != "required" {
		t.Fatalf("mark done without a note accepted")
	}
	h.typeText("saw it finish in the logs")
	h.press("enter")
	h.until("marked done", func(m Model) bool { return m.stepStatus(0) == incident.StepDone })
	if last := j.Events()[2]; last.Type != incident.EventStepMarkedDone || last.Text != "saw it finish in the logs" {
		t.Errorf("journal = %+v", last)
	}
}

func TestObserverRefusesMutatingKeys(t *testing.T) {
	t.Parallel()
	ch := make(chan incident.Event, 8)
	ch <- declaredEvent(testNow, testNow)
	ch <- incident.Event{Type: incident.EventStepStarted, Time: testNow, Step: "identify", Phase: "assess", Command: "echo hello"}
	ch <- incident.Event{Type: incident.EventOutput, Time: testNow, Step: "identify", Lines: []string{"hello from the driver"}}
	opts := testOptions()
	opts.ReadOnly = true
	opts.Follow = ch
	h := newHarness(t, opts)
	h.exec(followCmd(ch))
	h.until("followed", func(m Model) bool { return m.rb != nil && len(m.outs["identify"]) == 1 })
	if !strings.Contains(h.screen(), "hello from the driver") || !strings.Contains(h.screen(), "READ-ONLY") {
		t.Errorf("observer screen:\n%s", h.screen())
	}
	for _, k := range []string{"enter", "s", "n", "v", "h", "u", "R", "D", "r", "x"} {
		h.press(k)
		if h.m.overlay != ovNone || h.m.run != nil {
			t.Errorf("observer key %q opened %v", k, h.m.overlay)
			h.m.overlay = ovNone
		}
		if !strings.Contains(h.m.flash, "read-only") {
			t.Errorf("key %q: flash %q does not say read-only", k, h.m.flash)
		}
	}
	h.press("c", "i")
	if !strings.Contains(h.m.flash, "read-only") {
		t.Errorf("role assignment allowed in read-only: %q", h.m.flash)
	}
	h.press("esc", "?")
	help := h.screen()
	if !strings.Contains(help, "read-only") || !strings.Contains(help, "disabled: read-only") {
		t.Errorf("help does not say read-only:\n%s", help)
	}
	ch <- incident.Event{Type: incident.EventStepFinished, Time: testNow.Add(time.Second), Step: "identify", Duration: time.Second}
	h.press("esc")
	h.until("finish followed", func(m Model) bool { return m.stepStatus(0) == incident.StepDone })
}

func TestStatusUpdateCopyRecords(t *testing.T) {
	t.Parallel()
	h, j := declared(t, testOptions())
	h.m.clock = testNow.Add(20 * time.Minute)
	if !strings.Contains(h.screen(), "notification DUE") {
		t.Errorf("header does not say the update is due:\n%s", h.screen())
	}
	h.press("u")
	if h.m.overlay != ovStatus || !strings.Contains(h.m.status.Value(), "Conditions:") {
		t.Fatalf("status text = %q", h.m.status.Value())
	}
	h.press("ctrl+y")
	h.until("posted", func(m Model) bool { return len(m.inc.Updates) == 1 })
	last := j.Events()[len(j.Events())-1]
	if last.Type != incident.EventStatusPosted || last.How != "copied" || last.Kind != "notification" {
		t.Errorf("event = %+v", last)
	}
	if scr := h.screen(); strings.Contains(scr, "notification DUE") || !strings.Contains(scr, " in ") {
		t.Errorf("cadence not advanced:\n%s", scr)
	}
}

func TestContactsShowMissingAndAssignRoles(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Config.Contacts[0].Name = "Ana"
	h, j := declared(t, opts)
	h.press("c")
	scr := h.screen()
	if !strings.Contains(scr, "Ana") || !strings.Contains(scr, "missing") {
		t.Errorf("contacts:\n%s", scr)
	}
	h.press("down", "i")
	h.until("role", func(m Model) bool { return holder(m.inc, "Incident Commander") == "Ana" })
	if last := j.Events()[len(j.Events())-1]; last.Type != incident.EventRoleAssigned {
		t.Errorf("event %+v", last)
	}
}

func TestDrillHintsAndScorecard(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Mode = ModeDrill
	h, j := declared(t, opts)
	h.press("h")
	h.until("hint", func(m Model) bool { return m.inc.Steps["identify"] != nil && m.inc.Steps["identify"].Hints == 1 })
	if !strings.Contains(h.screen(), "Hint: look at the logs") || !strings.Contains(h.screen(), "DRILL") {
		t.Errorf("drill screen:\n%s", h.screen())
	}
	h.press("R", "right", "enter")
	h.until("scorecard", func(m Model) bool { return m.overlay == ovScorecard })
	if !strings.Contains(h.screen(), "Drill scorecard") || !strings.Contains(h.screen(), "Hints used: 1") {
		t.Errorf("scorecard:\n%s", h.screen())
	}
	if last := j.Events()[len(j.Events())-1]; last.Type != incident.EventResolved {
		t.Errorf("event %+v", last)
	}
}

func TestSmallTerminalKeepsEssentials(t *testing.T) {
	t.Parallel()
	h, _ := declared(t, testOptions())
	h.handle(tea.WindowSizeMsg{Width: 80, Height: 24})
	scr := h.screen()
	lines := strings.Split(scr, "\n")
	if len(lines) != 24 {
		t.Fatalf("%d lines at 80x24", len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("line %d is %d wide", i, w)
		}
	}
	// In LIVE the cluster it reaches outranks the runbook title at 80 columns.
	for _, want := range []string{"LIVE lab · https://10.1.0.1:6443", "RTO", "Identify corruption", "Why:", "enter run"} {
		if !strings.Contains(scr, want) {
			t.Errorf("80x24 lacks %q:\n%s", want, scr)
		}
	}
	if strings.Contains(scr, "PostgreSQL") {
		t.Errorf("panes not collapsed at 80x24")
	}
	h.handle(tea.WindowSizeMsg{Width: 120, Height: 40})
	if !strings.Contains(h.screen(), "PostgreSQL") {
		t.Errorf("panes missing at 120x40")
	}
	if !strings.Contains(h.screen(), "Database corruption · LIVE lab · https://10.1.0.1:6443 · ns default") {
		t.Errorf("120x40 header lacks the title and the LIVE target:\n%s", h.screen())
	}
}

func TestResumedSecretIsAskedAgainNotRunMasked(t *testing.T) {
	t.Parallel()
	j := incident.NewMemJournal()
	for _, e := range []incident.Event{
		declaredEvent(testNow, testNow),
		{Type: incident.EventVariableSet, Time: testNow, Name: "token", Value: "***", Secret: true},
	} {
		_ = j.Append(e)
	}
	opts := testOptions()
	opts.Resume = &Resume{ID: "inc-2", Journal: j}
	h := newHarness(t, opts)
	h.press("enter")
	if h.m.overlay != ovPrompt || h.m.prompt.kind != promptSecret || h.m.run != nil {
		t.Fatalf("ran without the secret: overlay %v run %v", h.m.overlay, h.m.run)
	}
	h.typeText("t0ken")
	if strings.Contains(h.screen(), "t0ken") {
		t.Errorf("secret echoed")
	}
	h.press("enter", "enter")
	h.until("ran", func(m Model) bool { return m.stepStatus(0) == incident.StepDone })
	if got := h.m.target().Vars["token"]; got != "t0ken" {
		t.Errorf("token = %q", got)
	}
}
