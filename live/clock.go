package live

import (
	"time"
)

// Clock is the time source of the live sources. k8s.io/utils/clock's
// RealClock and FakeClock satisfy it; nil means the real clock.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func clockOr(c Clock) Clock {
	if c == nil {
		return realClock{}
	}
	return c
}

// Backoff bounds of every source's retry after a failure.
const (
	BackoffMin = time.Second
	BackoffMax = 30 * time.Second
)

// Backoff returns the wait before retry number failures (1-based):
// 1s, 2s, 4s … capped at 30s.
func Backoff(failures int) time.Duration {
	if failures < 1 {
		return BackoffMin
	}
	d := BackoffMin
	for i := 1; i < failures; i++ {
		d *= 2
		if d >= BackoffMax {
			return BackoffMax
		}
	}
	return d
}

// publishLatest puts v into a channel of capacity 1, replacing an unread
// older value: the latest wins and the sender never blocks. It must be
// called by the channel's only sender.
func publishLatest[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
