package ui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/drnav/drnav/incident"
)

// TestProgramEndToEnd runs the model inside a real Bubble Tea program: pick,
// declare into a real journal folder, run a real bash step, skip one, quit;
// a second, read-only model follows the same journal.
func TestProgramEndToEnd(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	opts := testOptions()
	opts.JournalRoot = root
	opts.Now = nil // the real clock: the program ticks
	tm, wait := declareInProgram(t, opts)
	wait("Identify corruption")
	tm.Send(keyMsg("enter"))
	// step 1 done: the cursor moved on to step 2, step 1's output stays
	wait("of step 1")
	tm.Send(keyMsg("s"))
	tm.Type("not today")
	tm.Send(keyMsg("enter"))
	wait("skipped")

	list, err := incident.List(root)
	if err != nil || len(list) != 1 {
		t.Fatalf("incidents = %v, %v", list, err)
	}
	// an observer follows the same journal read-only
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := testOptions()
	obs.ReadOnly = true
	obs.Follow = FollowIncident(ctx, root, list[0].ID)
	h := newHarness(t, obs)
	h.exec(followCmd(obs.Follow))
	h.until("observer sees the run and the skip", func(m Model) bool {
		return m.rb != nil && m.stepStatus(0) == incident.StepDone && m.stepStatus(1) == incident.StepSkipped
	})
	if !strings.Contains(h.screen(), "read-only") {
		t.Errorf("observer banner:\n%s", h.screen())
	}

	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(90*time.Second)).(Model)
	if final.stepStatus(0) != incident.StepDone || final.stepStatus(1) != incident.StepSkipped {
		t.Errorf("final statuses %v %v", final.stepStatus(0), final.stepStatus(1))
	}
	st, evs, _, err := incident.Read(root, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	for _, want := range []string{"declared", "variable_set", "step_started", "output", "step_finished", "step_skipped"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("journal lacks %s: %v", want, types)
		}
	}
	if st.Status("fail") != incident.StepSkipped {
		t.Errorf("incident state of the skipped step = %v", st.Status("fail"))
	}
	if j, ok := final.journal.(*incident.Journal); ok {
		_ = j.Close()
	}
}

// declareInProgram runs the model as a real Bubble Tea program, picks the
// only runbook and declares with the defaults; wait blocks until the output
// shows a text.
func declareInProgram(t *testing.T, opts Options) (*teatest.TestModel, func(string)) {
	t.Helper()
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(120, 40))
	wait := func(what string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(what)) },
			teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	wait("Database corruption")
	tm.Send(keyMsg("enter"))
	wait("Detection time")
	tm.Send(keyMsg("enter"))
	tm.Send(keyMsg("enter"))
	tm.Send(keyMsg("enter"))
	return tm, wait
}
