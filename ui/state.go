package ui

import (
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
)

// modeOf is the UI mode of an incident mode (incident.ModeDrill or ModeLive).
func modeOf(mode string) Mode {
	if mode == incident.ModeDrill {
		return ModeDrill
	}
	return ModeLive
}

// incidentMode is the incident mode of a UI mode.
func incidentMode(m Mode) string {
	if m == ModeDrill {
		return incident.ModeDrill
	}
	return incident.ModeLive
}

// allSettled reports whether every step of rb is done or skipped.
func allSettled(s *incident.State, rb *runbooks.Runbook) bool {
	if rb == nil || len(rb.Steps) == 0 {
		return false
	}
	for i := range rb.Steps {
		if st := s.Status(rb.StepID(i)); st != incident.StepDone && st != incident.StepSkipped {
			return false
		}
	}
	return true
}

// secretNames lists the secret variables of the incident in the order first set.
func secretNames(s *incident.State) []string {
	var names []string
	for _, v := range s.Variables {
		if v.Secret {
			names = append(names, v.Name)
		}
	}
	return names
}

// variable is the recorded value of a variable ("" when unset).
func variable(s *incident.State, name string) (value string, secret bool) {
	v, ok := s.Variable(name)
	if !ok {
		return "", false
	}
	return v.Value, v.Secret
}
