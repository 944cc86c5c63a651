package drill

import (
	"time"

	"k8s.io/utils/clock"
)

// scenarioClock is the drill's one clock. From the moment it is made its
// time passes speed times faster than its base clock, and its timers and
// tickers fire after 1/speed of their duration. Every simulated timestamp
// (pods, rollouts, archived WAL, the database probe) and the drill's
// incident clock (the header's RTO, step durations, the journal) read it,
// so the story, the panes and the header agree at any --drill-speed. The
// values its channels deliver are the base clock's; the simulation reads
// Now instead.
type scenarioClock struct {
	base   clock.WithTicker
	origin time.Time
	speed  float64
}

var _ clock.WithTicker = (*scenarioClock)(nil)

func newScenarioClock(base clock.WithTicker, speed float64) *scenarioClock {
	if speed <= 0 {
		speed = 1
	}
	return &scenarioClock{base: base, origin: base.Now(), speed: speed}
}

// Now is the origin plus the base time since, times speed.
func (c *scenarioClock) Now() time.Time {
	return c.origin.Add(time.Duration(float64(c.base.Now().Sub(c.origin)) * c.speed))
}

// Since is the scenario time since t.
func (c *scenarioClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// base turns a scenario duration into base-clock time.
func (c *scenarioClock) real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

func (c *scenarioClock) After(d time.Duration) <-chan time.Time { return c.base.After(c.real(d)) }

func (c *scenarioClock) NewTimer(d time.Duration) clock.Timer {
	return scenarioTimer{Timer: c.base.NewTimer(c.real(d)), c: c}
}

func (c *scenarioClock) Tick(d time.Duration) <-chan time.Time { return c.base.Tick(c.real(d)) }

func (c *scenarioClock) Sleep(d time.Duration) { c.base.Sleep(c.real(d)) }

func (c *scenarioClock) NewTicker(d time.Duration) clock.Ticker {
	return c.base.NewTicker(c.real(d))
}

// scenarioTimer scales Reset like NewTimer.
type scenarioTimer struct {
	clock.Timer
	c *scenarioClock
}

func (t scenarioTimer) Reset(d time.Duration) bool { return t.Timer.Reset(t.c.real(d)) }
