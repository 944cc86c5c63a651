package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/drnav/drnav/incident"
)

// TestIncidentJournalSurvivesCrash declares into a real journal folder, starts
// a slow step, abandons the process state as a crash would, resumes from the
// folder and finds the step interrupted, not re-run.
func TestIncidentJournalSurvivesCrash(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	opts := testOptions()
	opts.JournalRoot = root
	h := newHarness(t, opts)
	h.press("enter")
	h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
	h.typeText("10m")
	h.press("enter", "enter", "enter")
	h.until("checklist", func(m Model) bool { return m.screen == screenChecklist && m.journal != nil })
	h.press("down", "down", "enter")
	h.until("sleep running", func(m Model) bool {
		return m.run != nil && m.run.handle != nil && m.stepStatus(2) == incident.StepRunning
	})
	// crash: the process dies; its child and its lock go with it
	ij, ok := h.m.journal.(*incident.Journal)
	if !ok {
		t.Fatalf("journal is %T, want the incident journal", h.m.journal)
	}
	id := ij.ID()
	if err := ij.Close(); err != nil {
		t.Fatal(err)
	}
	h.m.run.handle.Cancel() // after Close: its finish cannot reach the journal

	list, err := OpenIncidents(root)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("open incidents = %+v, %v", list, err)
	}
	r, err := list[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	opts2 := testOptions()
	opts2.Now = func() time.Time { return testNow.Add(5 * time.Minute) }
	opts2.Resume = r
	h2 := newHarness(t, opts2)
	if got := h2.m.stepStatus(2); got != incident.StepInterrupted {
		t.Fatalf("resumed status = %v, want interrupted", got)
	}
	if h2.m.list.sel != 0 && h2.m.stepStatus(h2.m.list.sel) == incident.StepDone {
		t.Errorf("selection on a done step")
	}
	h2.m.list.sel = 2
	h2.press("enter")
	h2.settle()
	if h2.m.run != nil {
		t.Fatalf("interrupted step re-ran by itself")
	}
	if scr := h2.screen(); !strings.Contains(scr, "15m used") || !strings.Contains(scr, "interrupted") {
		t.Errorf("clock does not count from detection or step not interrupted:\n%s", scr)
	}
	// the resumed driver can still write
	h2.press("n")
	h2.typeText("resumed after a crash")
	h2.press("enter")
	h2.until("note", func(m Model) bool { return len(m.inc.Notes) == 1 })
	_ = r.Journal.(*incident.Journal).Close()
}
