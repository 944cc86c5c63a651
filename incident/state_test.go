package incident

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"
)

// randomEvent draws an event of any type about a few steps and phases.
func randomEvent(rng *rand.Rand, t time.Time) Event {
	steps := []string{"a", "b", "c", "d"}
	phases := []string{"assess", "failover", "restore", ""}
	step := steps[rng.Intn(len(steps))]
	ev := Event{Time: t, Step: step}
	switch rng.Intn(15) {
	case 0:
		ev.Type = EventVariableSet
		ev.Name = fmt.Sprint("v", rng.Intn(3))
		ev.Value = fmt.Sprint("value", rng.Intn(100))
		ev.Secret = rng.Intn(2) == 0
		ev.Step = ""
	case 1, 2:
		ev.Type = EventStepStarted
		ev.Phase = phases[rng.Intn(len(phases))]
		ev.Command, ev.Equivalent = "cmd "+step, "eq "+step
		ev.DryRun, ev.ShownOnly = rng.Intn(4) == 0, rng.Intn(4) == 0
	case 3:
		ev.Type = EventOutput
		for range rng.Intn(60) {
			ev.Lines = append(ev.Lines, fmt.Sprint("line ", rng.Intn(1000)))
		}
	case 4, 5:
		ev.Type = EventStepFinished
		ev.Exit = rng.Intn(3) / 2
		if rng.Intn(4) == 0 {
			ev.Err = "boom"
		}
		ev.Duration = time.Duration(rng.Intn(600)) * time.Second
		if rng.Intn(2) == 0 {
			ev.Verified = boolPtr(rng.Intn(3) > 0)
		}
		ev.TotalLines = int64(rng.Intn(500))
	case 6:
		ev.Type, ev.Reason = EventStepSkipped, "not needed"
	case 7:
		ev.Type, ev.OK, ev.Detail = EventVerification, rng.Intn(2) == 0, "ready 2/3"
	case 8:
		ev.Type, ev.Text = EventNote, "note"
		if rng.Intn(2) == 0 {
			ev.Step = ""
		}
	case 9:
		ev.Type, ev.Phase, ev.Step = EventPhaseEntered, phases[rng.Intn(len(phases))], ""
	case 10:
		ev.Type, ev.Step = EventStatusPosted, ""
		ev.Kind = []string{"", KindNotification, KindUpdate, KindReview}[rng.Intn(4)]
		ev.How, ev.Channel, ev.Text = HowSent, "#inc", "status"
	case 11:
		ev.Type, ev.Role, ev.Person, ev.Step = EventRoleAssigned, "Incident Commander", fmt.Sprint("p", rng.Intn(3)), ""
	case 12:
		ev.Type, ev.N = EventHintUsed, 1+rng.Intn(2)
	case 13:
		ev.Type, ev.Text = EventStepMarkedDone, "checked by hand"
	case 14:
		if rng.Intn(3) == 0 {
			ev.Type, ev.Text, ev.Step = EventResolved, "done", ""
		} else {
			ev.Type, ev.Operator, ev.PID, ev.Step = EventResumed, "bob", 42, ""
		}
	}
	return ev
}

func randomEvents(rng *rand.Rand, n int) []Event {
	d := outageDeclared(ModeLive)
	evs := []Event{{Seq: 1, Time: d.At, Type: EventDeclared, Declared: &d}}
	tm := d.At
	for i := 2; i <= n; i++ {
		tm = tm.Add(time.Duration(rng.Intn(300)) * time.Second)
		ev := randomEvent(rng, tm)
		ev.Seq = i
		if ev.Secret {
			ev.Value = SecretMask // as Append writes it
		}
		if len(ev.Lines) > MaxTailLines {
			ev.Lines = ev.Lines[len(ev.Lines)-MaxTailLines:]
		}
		evs = append(evs, ev)
	}
	return evs
}

// TestReplayEqualsLive: a state built event by event (with snapshots taken
// on the way, as the UI does) equals the replay of the same events read
// back from JSON, at every prefix.
func TestReplayEqualsLive(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(7))
	for iter := range 300 {
		evs := randomEvents(rng, 1+rng.Intn(60))
		var live State
		var snaps []State
		var decoded []Event
		for _, ev := range evs {
			live.Apply(ev)
			snaps = append(snaps, live.Clone())
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var back Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			decoded = append(decoded, back)
		}
		for i := range evs {
			if i%10 != 0 && i != len(evs)-1 {
				continue
			}
			if got := Replay(decoded[:i+1]); !reflect.DeepEqual(got, snaps[i]) {
				t.Fatalf("iteration %d, prefix %d: replay differs from live state\nreplay: %+v\nlive:   %+v", iter, i+1, got, snaps[i])
			}
		}
	}
}

// TestJournalStateEqualsReplay drives a real journal with random events: its
// live state equals the replay of what Read finds on disk.
func TestJournalStateEqualsReplay(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(11))
	for iter := range 15 {
		root := t.TempDir()
		j, err := Create(root, outageDeclared(ModeLive))
		if err != nil {
			t.Fatal(err)
		}
		tm := at(5 * minute)
		for range 30 {
			tm = tm.Add(time.Duration(rng.Intn(300)) * time.Second)
			ev := randomEvent(rng, tm)
			if ev.Type == EventResumed {
				continue // only Open appends those
			}
			if err := j.Append(ev); err != nil {
				t.Fatal(err)
			}
		}
		live := j.State()
		got, _, warns, err := Read(root, j.ID())
		if err != nil || len(warns) > 0 {
			t.Fatalf("read: %v %v", err, warns)
		}
		if !reflect.DeepEqual(got, live) {
			t.Fatalf("iteration %d: read state differs from live\nread: %+v\nlive: %+v", iter, got, live)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStepLifecycle(t *testing.T) {
	t.Parallel()
	var s State
	d := outageDeclared(ModeLive)
	s.Apply(Event{Seq: 1, Time: d.At, Type: EventDeclared, Declared: &d})
	s.Apply(Event{Seq: 2, Time: at(5 * minute), Type: EventStepStarted, Step: "restore", Phase: "restore"})
	if s.Status("restore") != StepRunning || s.CurrentPhase != "restore" {
		t.Fatalf("after start: %s %q", s.Status("restore"), s.CurrentPhase)
	}
	s.Apply(Event{Seq: 3, Time: at(6 * minute), Type: EventResumed, Operator: "bob"})
	if s.Status("restore") != StepInterrupted {
		t.Fatalf("after resume: %s", s.Status("restore"))
	}
	s.Apply(Event{Seq: 4, Time: at(7 * minute), Type: EventStepMarkedDone, Step: "restore", Text: "checked the row counts"})
	st := s.Step("restore")
	if st.Status != StepDone || !st.WasInterrupted || st.DoneNote == "" {
		t.Errorf("after marked done: %+v", st)
	}
	s.Apply(Event{Seq: 5, Time: at(8 * minute), Type: EventStepStarted, Step: "amcheck", Phase: "restore"})
	s.Apply(Event{Seq: 6, Time: at(9 * minute), Type: EventStepFinished, Step: "amcheck", Verified: boolPtr(false)})
	if s.Status("amcheck") != StepFailed {
		t.Errorf("failed verification: %s", s.Status("amcheck"))
	}
	s.Apply(Event{Seq: 7, Time: at(10 * minute), Type: EventStepStarted, Step: "amcheck", Phase: "restore"})
	s.Apply(Event{Seq: 8, Time: at(11 * minute), Type: EventStepFinished, Step: "amcheck", Verified: boolPtr(true)})
	if st := s.Step("amcheck"); st.Status != StepDone || st.Attempts != 2 || st.Duration != minute {
		t.Errorf("re-run: %+v", st)
	}
}

// TestShownStepSettlesOnExpectation: a step shown, not run, is "shown"
// until the trainee's expectation is recorded (KindExpectation, or the
// "expected: " note of older journals); any other note leaves it shown.
func TestShownStepSettlesOnExpectation(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	base := []Event{
		{Type: EventDeclared, Time: t0, Declared: &Declared{RunbookID: "rb", Mode: ModeDrill}},
		{Type: EventStepStarted, Time: t0, Step: "a", ShownOnly: true},
		{Type: EventStepFinished, Time: t0.Add(time.Second), Step: "a"},
		{Type: EventStepStarted, Time: t0.Add(2 * time.Second), Step: "b"},
		{Type: EventStepFinished, Time: t0.Add(3 * time.Second), Step: "b"},
	}
	s := Replay(base)
	if got := s.Status("a"); got != StepShown || got.String() != "shown" {
		t.Fatalf("shown-only step after finishing = %v, want shown", got)
	}
	if s.Status("b") != StepDone {
		t.Fatalf("a step that ran = %v, want done", s.Status("b"))
	}
	for name, ev := range map[string]Event{
		"expectation": ExpectationNote(t0.Add(4*time.Second), "a", "two lines"),
		"legacy":      {Type: EventNote, Time: t0.Add(4 * time.Second), Step: "a", Text: "expected: two lines"},
	} {
		s := Replay(append(append([]Event(nil), base...), Event{Type: EventNote, Time: t0.Add(4 * time.Second), Step: "a", Text: "looked at it"}))
		if s.Status("a") != StepShown {
			t.Errorf("%s: a plain note settled the shown step", name)
		}
		s.Apply(ev)
		if s.Status("a") != StepDone {
			t.Errorf("%s: after the expectation the step is %v, want done", name, s.Status("a"))
		}
		sc := scorecard(s, Report(s, nil, time.Hour, 0, t0.Add(time.Minute)))
		if sc.StepsShown != 1 || sc.StepsDone != 1 {
			t.Errorf("%s: scorecard shown %d done %d, want 1 and 1", name, sc.StepsShown, sc.StepsDone)
		}
	}
	// a new attempt of the step forgets the old expectation
	s = Replay(append(append([]Event(nil), base...), ExpectationNote(t0.Add(4*time.Second), "a", "x"),
		Event{Type: EventStepStarted, Time: t0.Add(5 * time.Second), Step: "a", ShownOnly: true},
		Event{Type: EventStepFinished, Time: t0.Add(6 * time.Second), Step: "a"}))
	if s.Status("a") != StepShown {
		t.Errorf("re-shown step = %v, want shown until a new expectation", s.Status("a"))
	}
}
