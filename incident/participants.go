package incident

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/drnav/drnav/internal/safefile"
)

// ParticipantsName is the file in an incident folder that records who
// connected to it over `drnav serve`. It is kept apart from the journal:
// the journal has one writer (the driver, under its lock), while the server
// records watchers that never hold the lock.
const ParticipantsName = "participants.jsonl"

// maxParticipantLines bounds what is read back: a report lists people, not
// an endless log.
const maxParticipantLines = 10000

// Connection is one connection or disconnection of an SSH session.
type Connection struct {
	At          time.Time `json:"at"`
	Event       string    `json:"event"` // "connected" or "disconnected"
	Name        string    `json:"name"`  // from the key's comment
	Fingerprint string    `json:"fingerprint"`
	Role        string    `json:"role"` // "watcher" or "driver"
	Remote      string    `json:"remote,omitempty"`
}

// Participant is one key's presence in an incident, for the report.
type Participant struct {
	Name        string        `json:"name"`
	Fingerprint string        `json:"fingerprint"`
	Role        string        `json:"role"`
	Remotes     []string      `json:"remotes,omitempty"`
	Sessions    int           `json:"sessions"`
	First       time.Time     `json:"first"`
	Last        time.Time     `json:"last"`
	Connected   bool          `json:"connected"` // still connected at the last record
	Time        time.Duration `json:"time_ns"`   // total connected time of ended sessions
}

// RecordConnection appends c to the incident's participants file (created
// with the folder's sharing mode, fsynced). The incident folder must be the
// caller's own, as for the journal.
func RecordConnection(root, id string, c Connection) error {
	if _, err := checkIncidentDir(root, id, true); err != nil {
		return err
	}
	c.Name, c.Remote = Printable(c.Name), Printable(c.Remote)
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("record connection: %w", err)
	}
	path := filepath.Join(root, id, ParticipantsName)
	f, err := createFile(path, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return fmt.Errorf("record connection: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("record connection: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("record connection: %w", err)
	}
	return f.Close()
}

// ReadConnections reads the participants file of an incident (none when it
// does not exist). Lines that do not parse are skipped: the file is a
// record of presence, not of the incident's state.
func ReadConnections(root, id string) ([]Connection, error) {
	uid, err := checkIncidentDir(root, id, false)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(root, id, ParticipantsName)
	f, err := safefile.OpenOwned("participants file", path, os.O_RDONLY, uid)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Connection
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() && len(out) < maxParticipantLines {
		var c Connection
		if json.Unmarshal(sc.Bytes(), &c) == nil && (c.Event == "connected" || c.Event == "disconnected") {
			out = append(out, c)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// Participants folds connections into one entry per key (fingerprint and
// role), in order of first connection.
func Participants(conns []Connection) []Participant {
	type open struct {
		n     int
		since []time.Time
	}
	var out []Participant
	idx := map[string]int{}
	live := map[string]*open{}
	for _, c := range conns {
		k := c.Fingerprint + "\x00" + c.Role
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Participant{Name: c.Name, Fingerprint: c.Fingerprint, Role: c.Role, First: c.At})
			live[k] = &open{}
		}
		p, o := &out[i], live[k]
		if c.At.After(p.Last) {
			p.Last = c.At
		}
		if c.Remote != "" && !slices.Contains(p.Remotes, c.Remote) {
			p.Remotes = append(p.Remotes, c.Remote)
		}
		switch c.Event {
		case "connected":
			p.Sessions++
			o.since = append(o.since, c.At)
		case "disconnected":
			if len(o.since) > 0 {
				p.Time += c.At.Sub(o.since[0])
				o.since = o.since[1:]
			}
		}
		p.Connected = len(o.since) > 0
	}
	return out
}

// participantsText is one report line for p.
func participantsText(p Participant) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, %s)", orDash(p.Name), p.Role, p.Fingerprint)
	fmt.Fprintf(&b, ": %d session", p.Sessions)
	if p.Sessions != 1 {
		b.WriteString("s")
	}
	fmt.Fprintf(&b, ", first %s", hhmm(p.First))
	if p.Connected {
		b.WriteString(", still connected")
	} else {
		fmt.Fprintf(&b, ", %s connected", fmtDur(p.Time))
	}
	if len(p.Remotes) > 0 {
		fmt.Fprintf(&b, ", from %s", strings.Join(p.Remotes, ", "))
	}
	return b.String()
}
