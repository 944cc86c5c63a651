package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/drnav/drnav/incident"
)

// ResumeIncident takes over driving an incident: it takes the lock (an
// *incident.LockedError when someone else drives it: offer `drnav watch`)
// and appends the resumed event, so running steps are interrupted.
func ResumeIncident(root, id string) (*Resume, error) { return ResumeIncidentAs(root, id, "") }

// ResumeIncidentAs is ResumeIncident naming operator as the new driver
// ("" for the process's user).
func ResumeIncidentAs(root, id, operator string) (*Resume, error) {
	j, _, _, err := incident.OpenAs(root, id, operator)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", id, err)
	}
	// Steps that ran detached: their real outcome, when they ended meanwhile
	// (their output stays in the run folder: the secrets to mask it are not
	// known before they are re-entered).
	settled, err := j.Settle(nil)
	if err != nil {
		_ = j.Close()
		return nil, fmt.Errorf("resume %s: %w", id, err)
	}
	return &Resume{ID: id, Journal: j, Settled: settled}, nil
}

// OpenIncidents lists the unresolved incidents of a journal root for the
// picker (newest first as the incident package lists them).
func OpenIncidents(root string) ([]OpenIncident, error) { return OpenIncidentsAs(root, "") }

// OpenIncidentsAs is OpenIncidents whose Open names operator as the driver.
func OpenIncidentsAs(root, operator string) ([]OpenIncident, error) {
	list, err := incident.List(root)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	var out []OpenIncident
	for _, s := range list {
		if s.Resolved {
			continue
		}
		id := s.ID
		out = append(out, OpenIncident{ID: id, Runbook: s.RunbookID, Detected: s.Detected, Mode: modeOf(s.Mode),
			Open: func() (*Resume, error) { return ResumeIncidentAs(root, id, operator) }})
	}
	return out, nil
}

// FollowIncident streams an incident's events for an observer (Options.Follow).
// The channel closes when ctx is done or the journal cannot be read; skipped
// garbage lines (warnings) are dropped.
func FollowIncident(ctx context.Context, root, id string) <-chan incident.Event {
	evs, errs := incident.Follow(ctx, root, id, 0)
	out := make(chan incident.Event, 64)
	go func() {
		defer close(out)
		for {
			select {
			case e, ok := <-evs:
				if !ok {
					return
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			case _, ok := <-errs:
				if !ok {
					errs = nil
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// IsLocked reports whether err says another process drives the incident.
func IsLocked(err error) (*incident.LockedError, bool) {
	var le *incident.LockedError
	ok := errors.As(err, &le)
	return le, ok
}

// readDoc reads a local document for the pager (at most 1 MiB).
func readDoc(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open document: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read document: %w", err)
	}
	return string(b), nil
}

// Close releases the incident journal (and its driver lock) when the model
// holds one; main calls it on the final model after the program exits.
func (m Model) Close() error {
	if m.built != nil && m.built.Close != nil {
		m.built.Close()
	}
	if m.env != nil && m.env != m.built && m.env.Close != nil {
		m.env.Close()
	}
	if o := m.handing; o != nil {
		// A session that ends mid-handover withdraws the offer; if the
		// receiver took it first, the journal is theirs to close.
		o.refuse("the session ended")
		if o.Accepted() {
			m.journal = nil
		}
	}
	if m.journal != nil {
		if err := m.journal.Close(); err != nil {
			return fmt.Errorf("close journal: %w", err)
		}
	}
	return nil
}

// IncidentID is the id of the incident being driven or watched ("" before one
// is declared, or for an in-memory journal).
func (m Model) IncidentID() string {
	if m.journal != nil {
		return m.journal.ID()
	}
	return m.inc.ID // followed (a watcher, or a driver who handed over)
}

// RecordSignal journals that a signal stopped drnav (after the program
// ended; main calls it before Close). A running step is left as it is: not
// failed, not done; a detached one runs on and its outcome is read on
// resume. Read-only and in-memory journals record nothing.
func (m Model) RecordSignal(name string) error {
	if m.journal == nil || m.opts.ReadOnly || m.journal.ID() == "" {
		return nil
	}
	step := ""
	if m.run != nil && !m.run.verify {
		step = m.run.step
	}
	if err := m.journal.Append(incident.Event{Type: incident.EventSignalled, Signal: name, Step: step,
		Operator: incident.CurrentUser(), PID: os.Getpid()}); err != nil {
		return fmt.Errorf("journal signal: %w", err)
	}
	return nil
}

// Detaching is a journal whose detach runs (the mirror catching up, its
// Lease released) before the journal itself closes.
type Detaching struct {
	*incident.Journal
	Detach func()
}

// Close detaches, then closes the journal.
func (d Detaching) Close() error {
	if d.Detach != nil {
		d.Detach()
	}
	return d.Journal.Close()
}
