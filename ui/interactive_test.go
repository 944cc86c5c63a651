package ui

import (
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
)

// TestInteractiveStepHandsTerminalOver runs an interactive step through
// tea.ExecProcess in a real program and sees it recorded when it returns.
func TestInteractiveStepHandsTerminalOver(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Now = nil
	opts.Runbooks[0].Steps = []runbooks.Step{{ID: "shell", Title: "Open a shell", Interactive: true, Run: "exit 4"}}
	j := incident.NewMemJournal()
	opts.NewJournal = func(d incident.Event) (Journal, error) { return j, j.Append(d) }
	tm, wait := declareInProgram(t, opts)
	wait("Open a shell")
	tm.Send(keyMsg("enter"))
	wait("failed: exit 4")
	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(90*time.Second)).(Model)
	if st := final.inc.Steps["shell"]; st == nil || st.Status != incident.StepFailed || st.Exit != 4 {
		t.Fatalf("interactive step state = %+v", st)
	}
	var kinds []string
	for _, e := range j.Events() {
		kinds = append(kinds, e.Type)
	}
	if len(kinds) < 2 || kinds[len(kinds)-2] != incident.EventStepStarted || kinds[len(kinds)-1] != incident.EventStepFinished {
		t.Errorf("journal = %v", kinds)
	}
}
