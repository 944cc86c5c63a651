package incident

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParticipantsFold(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	ann := Connection{Name: "ann", Fingerprint: "SHA256:a", Role: "watcher"}
	bob := Connection{Name: "bob", Fingerprint: "SHA256:b", Role: "driver"}
	at := func(c Connection, ev string, min int, remote string) Connection {
		c.Event, c.At, c.Remote = ev, t0.Add(time.Duration(min)*time.Minute), remote
		return c
	}
	ps := Participants([]Connection{
		at(ann, "connected", 0, "10.0.0.1:5000"),
		at(bob, "connected", 5, "10.0.0.2:6000"),
		at(ann, "disconnected", 10, "10.0.0.1:5000"),
		at(ann, "connected", 20, "10.0.0.3:5001"),
		at(ann, "disconnected", 50, "10.0.0.3:5001"),
	})
	if len(ps) != 2 {
		t.Fatalf("participants %+v", ps)
	}
	a, b := ps[0], ps[1]
	if a.Name != "ann" || a.Sessions != 2 || a.Time != 40*time.Minute || a.Connected || len(a.Remotes) != 2 {
		t.Errorf("ann: %+v", a)
	}
	if b.Name != "bob" || b.Sessions != 1 || !b.Connected || b.Time != 0 {
		t.Errorf("bob: %+v", b)
	}
	if got := participantsText(a); !strings.Contains(got, "2 sessions") || !strings.Contains(got, "40m connected") {
		t.Errorf("text %q", got)
	}
}

func TestRecordConnectionRefusesAPlantedFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	j, err := Create(root, Declared{RunbookID: "x", Mode: ModeDrill, RTO: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	c := Connection{At: time.Now(), Event: "connected", Name: "ann\x1b[31m", Fingerprint: "SHA256:a", Role: "watcher"}
	if err := RecordConnection(root, j.ID(), c); err != nil {
		t.Fatal(err)
	}
	conns, err := ReadConnections(root, j.ID())
	if err != nil || len(conns) != 1 || strings.ContainsRune(conns[0].Name, 0x1b) {
		t.Fatalf("read back %+v, %v (escape kept?)", conns, err)
	}
	// A link planted in place of the file is not followed.
	path := filepath.Join(root, j.ID(), ParticipantsName)
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := RecordConnection(root, j.ID(), c); err == nil {
		t.Error("wrote through a planted link")
	}
	if data, _ := os.ReadFile(target); len(data) != 0 {
		t.Errorf("link target written: %q", data)
	}
}
