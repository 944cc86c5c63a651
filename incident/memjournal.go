package incident

import (
	"sync"
	"time"
)

// MemJournal keeps events in memory (tests, and the fallback when no
// journal root is given: nothing survives a crash). Like *Journal it
// stamps Seq (and Time when zero) and folds what it appends.
type MemJournal struct {
	mu     sync.Mutex
	events []Event
	state  State
}

// Append records an event.
func (j *MemJournal) Append(ev Event) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	ev.Seq = len(j.events) + 1
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	j.events = append(j.events, ev)
	j.state.Apply(ev)
	return nil
}

// Events returns a copy of what was appended.
func (j *MemJournal) Events() []Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Event(nil), j.events...)
}

// State is a copy of the fold of every event appended.
func (j *MemJournal) State() State {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state.Clone()
}

// ID is empty: an in-memory incident has no folder.
func (j *MemJournal) ID() string { return "" }

// Close does nothing.
func (j *MemJournal) Close() error { return nil }

// NewMemJournal returns an in-memory journal (for tests and demos).
func NewMemJournal() *MemJournal { return &MemJournal{} }
