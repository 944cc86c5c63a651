package ui

import (
	"strings"
	"testing"
)

// Every constant of the UI's enums names itself: a new constant without a
// String case shows as "unknown …" and fails here.
func TestEnumsNameThemselves(t *testing.T) {
	t.Parallel()
	var names []string
	for a := actStepRun; a <= actIncidentResolve; a++ {
		names = append(names, a.String())
	}
	for s := screenPicker; s <= screenChecklist; s++ {
		names = append(names, s.String())
	}
	for o := ovNone; o <= ovContexts; o++ {
		names = append(names, o.String())
	}
	for a := actRun; a <= actHandover; a++ {
		names = append(names, a.String())
	}
	for k := promptSkip; k <= promptExpect; k++ {
		names = append(names, k.String())
	}
	for _, n := range names {
		if strings.HasPrefix(n, "unknown") {
			t.Errorf("an enum constant has no name: %v", names)
			break
		}
	}
	if got := stepAction(0).String(); got != "unknown action" {
		t.Errorf("zero stepAction = %q", got)
	}
}
