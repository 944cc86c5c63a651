package drill

import (
	"strings"

	"github.com/drnav/drnav/config"
)

// RosterMark follows every name of the simulated on-call roster, so a
// drill's role assignments never read as real people in a report.
const RosterMark = "(drill roster)"

// rosterNames are the fictional people of the simulated roster, by role;
// roles the plan does not name here get the spare names in order.
var rosterNames = map[string]string{
	"incident commander":  "Maya Chen",
	"scribe":              "Tomás Silva",
	"database admin":      "Omar Haddad",
	"infrastructure team": "Lena Fischer",
	"executive sponsor":   "Ruth Adeyemi",
}

var rosterSpare = []string{"Jonas Berg", "Priya Nair", "Kofi Mensah", "Elena Petrova", "Hiro Tanaka"}

// Roster is the simulated on-call roster of a drill: the person on call
// (the trainee) and one fictional person for each role of the plan's
// contacts, each marked RosterMark, with no handle or phone that could
// reach anyone. The live contacts are not shown in a drill: role
// assignment is practised without paging real people.
func Roster(contacts []config.Contact) (onCall string, roster []config.Contact) {
	spare := 0
	for _, c := range contacts {
		name, ok := rosterNames[strings.ToLower(strings.TrimSpace(c.Role))]
		if !ok {
			name = rosterSpare[spare%len(rosterSpare)]
			spare++
		}
		roster = append(roster, config.Contact{Role: c.Role, Name: name + " " + RosterMark})
	}
	return "you, the trainee " + RosterMark, roster
}
