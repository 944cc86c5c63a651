package incident

import (
	"fmt"
	"strings"
)

// maxIDLen bounds an incident id (a folder name).
const maxIDLen = 200

// ValidID refuses an incident id that is not a plain folder name: empty,
// "." or "..", with a slash, a NUL or a control character, starting with a
// dot or a dash, or longer than 200 bytes. Every entry point checks it before
// anything is created.
func ValidID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("incident id is empty (see 'drnav incidents')")
	case len(id) > maxIDLen:
		return fmt.Errorf("incident id %.40q… is longer than %d bytes", id, maxIDLen)
	case id == "." || id == "..":
		return fmt.Errorf("incident id %q is not an incident", id)
	case strings.HasPrefix(id, ".") || strings.HasPrefix(id, "-"):
		return fmt.Errorf("incident id %q may not start with %q", id, id[:1])
	}
	for _, r := range id {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return fmt.Errorf("incident id %q: %q is not allowed in an id", id, r)
		}
	}
	return nil
}
