package ui

import (
	"strings"
	"testing"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
)

// TestDrillRosterForRoles: a drill's contacts are the simulated roster,
// marked as such, so the trainee can assign the incident commander; a live
// incident keeps the config's contacts (missing here).
func TestDrillRosterForRoles(t *testing.T) {
	t.Parallel()
	roster := []config.Contact{{Role: "Incident Commander", Name: "Maya Chen (drill roster)"}, {Role: "Database Admin", Name: "Omar Haddad (drill roster)"}}
	for _, mode := range []Mode{ModeDrill, ModeLive} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			opts := testOptions()
			opts.Mode = mode
			opts.DrillOnCall, opts.DrillRoster = "you, the trainee (drill roster)", roster
			h, j := declared(t, opts)
			h.press("c")
			scr := h.screen()
			if mode == ModeLive {
				if strings.Contains(scr, "drill roster") || !strings.Contains(scr, "missing") {
					t.Errorf("live contacts:\n%s", scr)
				}
				return
			}
			for _, want := range []string{"simulated roster, nobody is paged", "you, the trainee (drill roster)", "Maya Chen (drill roster)", "Omar Haddad (drill roster)"} {
				if !strings.Contains(scr, want) {
					t.Errorf("drill contacts lack %q:\n%s", want, scr)
				}
			}
			h.press("down", "i")
			h.until("role", func(m Model) bool { return holder(m.inc, "Incident Commander") == "Maya Chen (drill roster)" })
			if last := j.Events()[len(j.Events())-1]; last.Type != incident.EventRoleAssigned {
				t.Errorf("event %+v", last)
			}
		})
	}
}

// TestShortDrillReachesTheCadence: in a drill the header says the coming
// notification can be posted now (a short drill ends before it is due),
// and posting it by ctrl+y counts it in the scorecard.
func TestShortDrillReachesTheCadence(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Mode = ModeDrill
	h, _ := declared(t, opts)
	if scr := h.screen(); !strings.Contains(scr, "incident notification in") || !strings.Contains(scr, "u posts it") {
		t.Fatalf("header does not offer the coming notification:\n%s", scr)
	}
	h.press("u", "ctrl+y")
	h.until("posted", func(m Model) bool { return len(m.inc.Updates) == 1 })
	if u := h.m.inc.Updates[0]; u.Kind != incident.KindNotification || u.How != incident.HowCopied {
		t.Errorf("update = %+v", u)
	}
	h.press("R", "right", "enter")
	h.until("scorecard", func(m Model) bool { return m.overlay == ovScorecard })
	if !strings.Contains(h.screen(), "Status updates posted: 1") {
		t.Errorf("scorecard does not count the copied update:\n%s", h.screen())
	}
}

func init() {
	// the contacts of a drill: the simulated roster, marked, at 80 and 120
	// columns without colour
	walkthroughWidgets["contacts_drill"] = func(m Model) string {
		m.mode = ModeDrill
		m.opts.DrillOnCall = "you, the trainee (drill roster)"
		m.opts.DrillRoster = []config.Contact{
			{Role: "Incident Commander", Name: "Maya Chen (drill roster)"},
			{Role: "Database Admin", Name: "Omar Haddad (drill roster)"},
			{Role: "Infrastructure Team", Name: "Lena Fischer (drill roster)"},
			{Role: "Executive Sponsor", Name: "Ruth Adeyemi (drill roster)"},
		}
		m.contact = 1
		return m.viewContacts()
	}
}
