package ui

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// The navigator journals step_started (fsynced) before the step's process
// starts, exactly once: the run's own started event is not appended again.
func TestWriteAheadStepStarted(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	j, err := incident.Create(root, incident.Declared{RunbookID: "rb", RunbookTitle: "RB"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	counter := filepath.Join(t.TempDir(), "counter")
	var startedBeforeEffect bool
	jr := &steps.Journaler{Step: "one", Phase: "p1", Title: "One", Dir: j.Dir()}
	tg := writeAheadTarget(steps.Target{}, j, nil, jr)
	hook := tg.WriteAhead
	tg.WriteAhead = func(ev steps.Event) error {
		if err := hook(ev); err != nil {
			return err
		}
		_, statErr := os.Stat(counter)
		st := j.State()
		startedBeforeEffect = os.IsNotExist(statErr) && st.Status("one") == incident.StepRunning
		return nil
	}
	r := steps.Start(context.Background(), runbooks.Step{ID: "one", Title: "One", Run: "echo x >> " + counter}, tg)
	cmd := readRunCmd(j, 1, jr, r, nil)
	deadline := time.Now().Add(60 * time.Second)
	for {
		msg := cmd().(runEventsMsg)
		if msg.err != nil {
			t.Fatal(msg.err)
		}
		if msg.done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("run did not finish")
		}
	}
	if !startedBeforeEffect {
		t.Error("step_started was not in the journal before the process ran")
	}
	_, events, _, err := incident.Read(root, j.ID())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if ev.Type == incident.EventStepStarted {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d step_started events, want 1", n)
	}
	final := j.State()
	if st := final.Step("one"); st.Status != incident.StepDone || st.Attempts != 1 {
		t.Errorf("step %+v", st)
	}
}
