package ui

import (
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/drnav/drnav/incident"
)

// movingClock is a test clock that only moves when the test says so.
type movingClock struct{ ns atomic.Int64 }

func newMovingClock(t time.Time) *movingClock {
	c := &movingClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *movingClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *movingClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

var headerUsedRe = regexp.MustCompile(`RTO \S+ \S+ ([0-9hms]+) used`)

func headerUsed(t *testing.T, screen string) string {
	t.Helper()
	m := headerUsedRe.FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no RTO bar in the header:\n%s", screen)
	}
	return m[1]
}

// TestDeclareWithStaleTick is the loaded-machine case: the last tick is
// almost a second older than the declaration, and another tick, queued
// behind other work, arrives carrying an even older time. The header must
// still measure the incident from the declaration, not from the tick.
func TestDeclareWithStaleTick(t *testing.T) {
	t.Parallel()
	clk := newMovingClock(testNow)
	opts := testOptions()
	opts.Now = clk.now
	j := incident.NewMemJournal()
	opts.NewJournal = func(d incident.Event) (Journal, error) { return j, j.Append(d) }
	h := newHarness(t, opts)
	tickAt := clk.now()
	h.m = must(h.m.Update(tickMsg(tickAt)))

	h.press("enter") // picker: the only runbook; the mode is given
	h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
	clk.advance(900 * time.Millisecond) // no tick since: the machine is busy
	h.typeText("15m")
	h.press("enter", "enter", "enter")
	h.until("checklist", func(m Model) bool { return m.screen == screenChecklist && m.journal != nil })
	h.m.overlay = ovNone

	if got := headerUsed(t, h.screen()); got != "15m" {
		t.Errorf("declared 15m ago, header shows %s used (clock %v, last tick %v)", got, h.m.clock, tickAt)
	}
	// A stale tick never moves the clock back.
	h.m = must(h.m.Update(tickMsg(tickAt.Add(-3 * time.Second))))
	if got := headerUsed(t, h.screen()); got != "15m" {
		t.Errorf("after a stale tick the header shows %s used, want 15m", got)
	}
	if h.m.clock.Before(clk.now()) {
		t.Errorf("clock %v went back before now %v", h.m.clock, clk.now())
	}
}

// TestResumeWithStaleClock: a resumed incident is measured from the moment
// of resuming, whatever the clock was when the model was built.
func TestResumeWithStaleClock(t *testing.T) {
	t.Parallel()
	clk := newMovingClock(testNow)
	opts := testOptions()
	opts.Now = clk.now
	j := incident.NewMemJournal()
	if err := j.Append(declaredEvent(testNow.Add(-20*time.Minute), testNow.Add(-45*time.Minute))); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, opts)
	clk.advance(time.Minute) // built long before the resume lands
	h.handle(resumeMsg{r: &Resume{Journal: j}})
	h.m.overlay = ovNone
	if got := headerUsed(t, h.screen()); got != "46m" {
		t.Errorf("detected 46m before the resume, header shows %s used, want 46m", got)
	}
}

func must(m tea.Model, _ tea.Cmd) Model { return m.(Model) }
