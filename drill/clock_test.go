package drill

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// TestScenarioClockRunsAtSpeed: the scenario's time passes speed times
// faster than the wall, and a timer of scenario time d fires after d/speed
// of wall time.
func TestScenarioClockRunsAtSpeed(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	wall := clocktesting.NewFakeClock(start)
	c := newScenarioClock(wall, 20)
	if !c.Now().Equal(start) {
		t.Fatalf("scenario starts at %v, want the wall's %v", c.Now(), start)
	}
	timer := c.NewTimer(time.Minute)
	wall.Step(2 * time.Second)
	if got := c.Since(start); got != 40*time.Second {
		t.Errorf("after 2s of wall at speed 20: %v of scenario, want 40s", got)
	}
	select {
	case <-timer.C():
		t.Fatal("a 1m scenario timer fired after 40s of scenario time")
	default:
	}
	wall.Step(time.Second)
	select {
	case <-timer.C():
	default:
		t.Fatal("a 1m scenario timer did not fire after 60s of scenario time (3s of wall)")
	}
	timer.Reset(20 * time.Second)
	wall.Step(999 * time.Millisecond)
	select {
	case <-timer.C():
		t.Fatal("Reset(20s) fired before 1s of wall")
	default:
	}
	wall.Step(time.Millisecond)
	select {
	case <-timer.C():
	default:
		t.Fatal("Reset(20s) did not fire after 1s of wall at speed 20")
	}
}

// TestDrillTimesAreScenarioTimes: what the simulator stamps (a pod it
// creates, the archived WAL's age) is on the same clock as Simulator.Now, so a
// pane's "age" and the header's RTO agree at any speed.
func TestDrillTimesAreScenarioTimes(t *testing.T) {
	t.Parallel()
	wall := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC))
	e := New(Options{Speed: 30, Seed: 1, Clock: wall, Dir: t.TempDir()})
	defer e.Stop()
	if err := e.Inject(ScenarioApplication); err != nil {
		t.Fatal(err)
	}
	wall.Step(10 * time.Second) // 5 minutes of scenario
	if got := e.Now().Sub(wall.Now()); got != 290*time.Second {
		t.Errorf("scenario ahead of the wall by %v after 10s at speed 30, want 4m50s", got)
	}
	h, err := e.DBProber().Probe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// the scenario archived WAL 30s before the start; no tick ran since
	if got, want := e.Now().Sub(h.LastArchived), 30*time.Second+5*time.Minute; got != want {
		t.Errorf("WAL age %v, want %v (scenario time, not the wall's 40s)", got, want)
	}
	if pc := e.PaneClock(); !pc.Now().Equal(e.Now()) {
		t.Errorf("pane clock %v, scenario %v", pc.Now(), e.Now())
	}
}
