package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/drnav/drnav/incident"
)

// incidentJournal adapts the incident package's journal to the UI's.
type incidentJournal struct{ j *incident.Journal }

// Append converts and appends; the declared event was written by Create.
func (a incidentJournal) Append(ev Event) error {
	if ev.Kind == EvDeclared {
		return nil
	}
	if err := a.j.Append(toIncident(ev)); err != nil {
		return fmt.Errorf("append %s: %w", ev.Kind, err)
	}
	return nil
}

// Close releases the driver lock.
func (a incidentJournal) Close() error { return a.j.Close() }

// ID is the incident id.
func (a incidentJournal) ID() string { return a.j.ID() }

// createIncident declares a new incident in the journal root.
func createIncident(root string, m *Model, decl Event) (Journal, error) {
	mode := incident.ModeLive
	if decl.Mode == ModeDrill {
		mode = incident.ModeDrill
	}
	d := incident.Declared{
		RunbookID: m.rb.ID, RunbookTitle: m.rb.Title, RunbookFile: m.rb.File, Mode: mode,
		Detected: decl.Detected, RTO: m.opts.Config.RTO.Duration, RPO: m.opts.Config.RPO.Duration,
		Phases: incident.PhasesOf(m.rb), At: decl.Time,
	}
	if m.env != nil {
		d.KubeContext, d.Database = m.env.Context, m.env.Database
	}
	j, err := incident.Create(root, d)
	if err != nil {
		return nil, fmt.Errorf("declare incident: %w", err)
	}
	return incidentJournal{j}, nil
}

func toIncident(ev Event) incident.Event {
	e := incident.Event{Time: ev.Time, Type: string(ev.Kind), Step: ev.Step}
	switch ev.Kind {
	case EvVariableSet:
		e.Name, e.Value, e.Secret = ev.Name, ev.Value, ev.Secret
	case EvStepStarted:
		e.Command, e.Equivalent, e.Phase = ev.Text, ev.Equivalent, ev.Phase
	case EvOutput:
		e.Lines = ev.Lines
	case EvStepFinished:
		e.Exit, e.Err, e.Duration, e.Verified = ev.ExitCode, ev.Err, ev.Duration, ev.Verified
	case EvStepSkipped:
		e.Reason = ev.Text
	case EvVerify:
		e.OK = ev.Verified != nil && *ev.Verified
		e.Detail = ev.Text
	case EvNote, EvStepMarked, EvResolved:
		e.Text = ev.Text
	case EvHintShown:
		e.N, e.Text = ev.N, ev.Text
	case EvStatusPosted:
		e.Text, e.Kind, e.How = ev.Text, ev.Name, ev.Value
	case EvRoleAssigned:
		e.Role, e.Person = ev.Name, ev.Value
	}
	return e
}

// FromIncident converts a journal event of the incident package.
func FromIncident(e incident.Event) Event {
	ev := Event{Kind: EventKind(e.Type), Time: e.Time, Step: e.Step, Phase: e.Phase}
	switch e.Type {
	case incident.EventDeclared:
		if d := e.Declared; d != nil {
			ev.Runbook, ev.Title, ev.Detected = d.RunbookID, d.RunbookTitle, d.Detected
			ev.Mode = ModeLive
			if d.Mode == incident.ModeDrill {
				ev.Mode = ModeDrill
			}
		}
	case incident.EventVariableSet:
		ev.Name, ev.Value, ev.Secret = e.Name, e.Value, e.Secret
	case incident.EventStepStarted:
		ev.Text, ev.Equivalent = e.Command, e.Equivalent
	case incident.EventOutput:
		ev.Lines = e.Lines
	case incident.EventStepFinished:
		ev.ExitCode, ev.Err, ev.Duration, ev.Verified = e.Exit, e.Err, e.Duration, e.Verified
	case incident.EventStepSkipped:
		ev.Text = e.Reason
	case incident.EventVerification:
		ok := e.OK
		ev.Verified, ev.Text = &ok, e.Detail
	case incident.EventHintUsed:
		ev.N, ev.Text = e.N, e.Text
	case incident.EventStatusPosted:
		ev.Text, ev.Name, ev.Value = e.Text, e.Kind, e.How
	case incident.EventRoleAssigned:
		ev.Name, ev.Value = e.Role, e.Person
	default:
		ev.Text = e.Text
	}
	return ev
}

// ResumeIncident takes over driving an incident: it takes the lock (an
// *incident.LockedError when someone else drives it: offer `drnav watch`),
// marks running steps interrupted and returns its events for the UI.
func ResumeIncident(root, id string) (*Resume, error) {
	j, _, _, err := incident.Open(root, id)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", id, err)
	}
	_, evs, _, err := incident.Read(root, id)
	if err != nil {
		_ = j.Close()
		return nil, fmt.Errorf("read %s: %w", id, err)
	}
	r := &Resume{ID: id, Journal: incidentJournal{j}}
	for _, e := range evs {
		r.Events = append(r.Events, FromIncident(e))
	}
	return r, nil
}

// OpenIncidents lists the unresolved incidents of a journal root for the
// picker (newest first as the incident package lists them).
func OpenIncidents(root string) ([]OpenIncident, error) {
	list, err := incident.List(root)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	var out []OpenIncident
	for _, s := range list {
		if s.Resolved {
			continue
		}
		mode := ModeLive
		if s.Mode == incident.ModeDrill {
			mode = ModeDrill
		}
		id := s.ID
		out = append(out, OpenIncident{ID: id, Runbook: s.RunbookID, Detected: s.Detected, Mode: mode,
			Open: func() (*Resume, error) { return ResumeIncident(root, id) }})
	}
	return out, nil
}

// FollowIncident streams an incident's events for an observer (Options.Follow).
// The channel closes when ctx is done or the journal cannot be read.
func FollowIncident(ctx context.Context, root, id string) <-chan Event {
	evs, errs := incident.Follow(ctx, root, id, 0)
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		for {
			select {
			case e, ok := <-evs:
				if !ok {
					return
				}
				select {
				case out <- FromIncident(e):
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
	if m.env != nil && m.env.Close != nil {
		m.env.Close()
	}
	if c, ok := m.journal.(interface{ Close() error }); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("close journal: %w", err)
		}
	}
	return nil
}

// IncidentID is the id of the incident being driven or watched ("" before one is declared).
func (m Model) IncidentID() string {
	if j, ok := m.journal.(interface{ ID() string }); ok {
		return j.ID()
	}
	return ""
}
