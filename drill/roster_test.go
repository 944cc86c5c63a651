package drill

import (
	"strings"
	"testing"

	"github.com/drnav/drnav/config"
)

func TestRosterMarksEveryName(t *testing.T) {
	t.Parallel()
	contacts := append(config.Default().Contacts, config.Contact{Role: "Network Team"}, config.Contact{Role: "Security"})
	onCall, roster := Roster(contacts)
	if !strings.HasSuffix(onCall, RosterMark) {
		t.Errorf("on-call %q not marked", onCall)
	}
	if len(roster) != len(contacts) {
		t.Fatalf("%d roster entries for %d roles", len(roster), len(contacts))
	}
	seen := map[string]bool{}
	for i, c := range roster {
		if c.Role != contacts[i].Role || !strings.HasSuffix(c.Name, " "+RosterMark) || c.Handle != "" || c.Phone != "" {
			t.Errorf("roster entry %+v for role %q", c, contacts[i].Role)
		}
		if seen[c.Name] {
			t.Errorf("%s named twice", c.Name)
		}
		seen[c.Name] = true
	}
}
