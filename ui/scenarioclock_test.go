package ui

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestDrillRunsOnTheScenarioClock: a drill environment's clock (the
// simulator's, at --drill-speed) is the incident's clock: ticks read it,
// not the wall time they carry, and the journal's times come from it.
func TestDrillRunsOnTheScenarioClock(t *testing.T) {
	t.Parallel()
	var scen atomic.Int64
	scen.Store(testNow.UnixNano())
	opts := testOptions()
	opts.Mode = ModeDrill
	drill := *opts.Drill
	drill.Now = func() time.Time { return time.Unix(0, scen.Load()) }
	opts.Drill = &drill
	h, j := declared(t, opts)
	if d := j.Events()[0].Time; !d.Equal(testNow) {
		t.Fatalf("declared at %v, want the scenario's %v", d, testNow)
	}
	// 1 s of wall time; 20 minutes of scenario time (speed 1200)
	scen.Store(testNow.Add(20 * time.Minute).UnixNano())
	mm, _ := h.m.Update(tickMsg(testNow.Add(time.Second))) // (the harness drops ticks)
	h.m = mm.(Model)
	if !h.m.clock.Equal(testNow.Add(20 * time.Minute)) {
		t.Errorf("clock after a tick = %v, want the scenario's +20m", h.m.clock.Sub(testNow))
	}
	if scr := h.screen(); !strings.Contains(scr, "notification DUE") {
		t.Errorf("header does not follow the scenario clock (notification due at 15m):\n%s", scr)
	}
	h.press("h")
	h.until("hint", func(m Model) bool { return m.inc.Steps["identify"] != nil && m.inc.Steps["identify"].Hints == 1 })
	if got := j.Events()[len(j.Events())-1].Time; !got.Equal(testNow.Add(20 * time.Minute)) {
		t.Errorf("hint journaled at %v after the start, want the scenario's 20m", got.Sub(testNow))
	}
}
