package mirror

import (
	"context"
	"time"

	"github.com/drnav/drnav/incident"
)

// Session is one driver's mirror and Lease around its journal.
type Session struct {
	Mirror *Mirror
	Lease  *Lease // nil when no Lease is used
	j      *incident.Journal
	stop   chan struct{}
	done   chan struct{}
}

// Drive mirrors j and, with a Lease, guards it: every append first checks
// the Lease, and once the Lease is lost the journal turns read-only and the
// mirror never writes again.
func Drive(j *incident.Journal, lease *Lease, opts Options) *Session {
	s := &Session{Lease: lease, j: j, stop: make(chan struct{}), done: make(chan struct{})}
	if lease != nil {
		opts.Allowed = lease.Held
		j.Guard(lease.Held)
	}
	s.Mirror = Attach(j, opts)
	go s.watch()
	return s
}

// watch fences the journal and stops the mirror as soon as the Lease is
// lost, even when nothing is being appended.
func (s *Session) watch() {
	defer close(s.done)
	if s.Lease == nil {
		return
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.Lease.Lost():
		case <-tick.C:
		}
		if err := s.Lease.Held(); err != nil {
			s.j.Fence(err)
			s.Mirror.Stop(err)
			return
		}
	}
}

// ReadOnly is why the driver may no longer write, or nil.
func (s *Session) ReadOnly() error { return s.j.Fenced() }

// Status is the mirror's state per context.
func (s *Session) Status() []Status { return s.Mirror.Status() }

// Close waits up to ctx for the mirror to catch up, stops it, and releases
// the Lease. The journal is left to its owner.
func (s *Session) Close(ctx context.Context) error {
	err := s.Mirror.Flush(ctx)
	close(s.stop)
	<-s.done
	s.Mirror.Close()
	if s.Lease != nil {
		s.Lease.Release()
	}
	return err
}
