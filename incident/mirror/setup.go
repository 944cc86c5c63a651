package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/drnav/drnav/incident"
)

// Setup is how drnav mirrors its incidents: the targets (one per
// configured context), the namespace, which target holds the Lease and
// its timings, and this process's identity. main builds it from config.
type Setup struct {
	Targets   []Target
	Namespace string
	// LeaseTarget is the index in Targets of the context holding the Lease.
	LeaseTarget                               int
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Identity                                  string // user@host:pid
	Logger                                    *slog.Logger
}

func (s Setup) leaseOptions(id string) LeaseOptions {
	t := s.Targets[s.LeaseTarget]
	return LeaseOptions{
		Client: t.Client, Context: t.Name, Namespace: t.ns(s.Namespace), ID: id, Identity: s.Identity,
		Duration: s.LeaseDuration, RenewDeadline: s.RenewDeadline, RetryPeriod: s.RetryPeriod, Logger: s.Logger,
	}
}

// TakeLease takes incident id's Lease, waiting until ctx ends while
// another machine holds it.
func (s Setup) TakeLease(ctx context.Context, id string) (*Lease, error) {
	if len(s.Targets) == 0 {
		return nil, errors.New("mirror: no context configured")
	}
	return AcquireLease(withLogger(ctx, s.Logger), s.leaseOptions(id))
}

// Options are the mirror's options for this setup.
func (s Setup) Options() Options {
	return Options{Namespace: s.Namespace, Targets: s.Targets, Writer: s.Identity, Logger: s.Logger}
}

// Start mirrors j guarded by lease. With no lease (a new incident) it
// takes one, briefly: nobody else can hold a new incident's Lease, so a
// failure means the context is unreachable or refuses, and the incident
// goes on locally, mirrored whenever the contexts answer, the header
// saying there is no Lease (leaseErr).
func (s Setup) Start(j *incident.Journal, lease *Lease) (sess *Session, leaseErr error) {
	if lease == nil {
		ctx, cancel := context.WithTimeout(context.Background(), max(s.RenewDeadline, 2*time.Second))
		defer cancel()
		var err error
		if lease, err = s.TakeLease(ctx, j.ID()); err != nil {
			leaseErr = fmt.Errorf("driving without the lease (only this machine's lock): %w", err)
			if s.Logger != nil {
				s.Logger.Warn("mirror lease", "err", leaseErr)
			}
		}
	}
	return Drive(j, lease, s.Options()), leaseErr
}

// PullInto takes over incident id from the cluster: it waits for the Lease
// (until it is free or expired, or ctx ends), pulls the longest valid copy
// from the targets (only the one named only, when set) and imports it
// under root. The caller opens the incident (which journals the resume)
// and starts the mirror with the returned Lease.
func (s Setup) PullInto(ctx context.Context, root, id, only string, progress func(string)) (*Lease, Copy, []Copy, error) {
	targets := s.Targets
	if only != "" {
		targets = nil
		for _, t := range s.Targets {
			if t.Name == only {
				targets = append(targets, t)
			}
		}
		if len(targets) == 0 {
			return nil, Copy{}, nil, fmt.Errorf("context %q is not among mirror.contexts", only)
		}
	}
	if holder, err := LeaseHolder(ctx, s.Targets[s.LeaseTarget].Client, s.Targets[s.LeaseTarget].ns(s.Namespace), id); err == nil && holder != "" && progress != nil {
		progress(fmt.Sprintf("waiting for the lease of %s, held by %s (it expires %s after its last renewal)", id, holder, s.LeaseDuration))
	}
	lease, err := s.TakeLease(ctx, id)
	if err != nil {
		return nil, Copy{}, nil, fmt.Errorf("take over %s: %w", id, err)
	}
	best, copies, err := Pull(withLogger(ctx, s.Logger), targets, s.Namespace, id)
	if err != nil {
		lease.Release()
		return nil, best, copies, err
	}
	if _, err := incident.Import(root, id, best.Data); err != nil {
		lease.Release()
		return nil, best, copies, err
	}
	return lease, best, copies, nil
}
