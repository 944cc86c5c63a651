package incident

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A journal copied from elsewhere is imported, opened, and its running
// step shows interrupted on the host that ran it, in the state and the
// report; the clock keeps the original detection time.
func TestImportTakeoverNamesTheHost(t *testing.T) {
	t.Setenv(EnvHost, "bastion-a")
	src := t.TempDir()
	detected := time.Now().Add(-40 * time.Minute).Truncate(time.Second)
	j, err := Create(src, Declared{RunbookID: "dc", RunbookTitle: "DC", Detected: detected})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(Event{Type: EventStepStarted, Step: "promote"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	j.Close()

	t.Setenv(EnvHost, "bastion-b")
	dst := filepath.Join(t.TempDir(), "incidents")
	if err := PrepareRoot(dst, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(dst, j.ID(), data[:len(data)-10]); err != nil {
		t.Fatalf("import a copy with a torn last line: %v", err)
	}
	if n, err := Import(dst, j.ID(), data); err != nil || n != 2 {
		t.Fatalf("import the longer copy over its prefix: %d %v", n, err)
	}
	jb, st, _, err := Open(dst, j.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer jb.Close()
	s := st.Step("promote")
	if s.Status != StepInterrupted || s.RanElsewhere(st.DriverHost) != "bastion-a" || st.DriverHost != "bastion-b" {
		t.Errorf("promote: %s on %q, driver %q", s.Status, s.Host, st.DriverHost)
	}
	if !st.Detected.Equal(detected) {
		t.Errorf("detected %s, want %s", st.Detected, detected)
	}
	md := RenderMarkdown(Report(st, nil, 4*time.Hour, 15*time.Minute, time.Now()))
	if !strings.Contains(md, "the driver on bastion-a went away") {
		t.Errorf("report does not name bastion-a:\n%s", md)
	}
	// A local journal that is not a prefix of the copy is never replaced.
	if err := jb.Append(Event{Type: EventNote, Text: "B's own"}); err != nil {
		t.Fatal(err)
	}
	jb.Close()
	if _, err := Import(dst, j.ID(), data); err == nil || !strings.Contains(err.Error(), "not a prefix") {
		t.Errorf("import over a longer local journal: %v", err)
	}
}

func TestFencedJournalRefuses(t *testing.T) {
	j, err := Create(t.TempDir(), Declared{RunbookID: "f", RunbookTitle: "F"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	lost := errors.New("lease lost")
	allowed := error(nil)
	var seen []int
	j.Observe(func(seq int, line []byte) { seen = append(seen, seq) })
	j.Guard(func() error { return allowed })
	if err := j.Append(Event{Type: EventNote, Text: "ok"}); err != nil {
		t.Fatal(err)
	}
	allowed = lost
	if err := j.Append(Event{Type: EventNote, Text: "no"}); !errors.Is(err, lost) {
		t.Errorf("append after the guard failed: %v", err)
	}
	allowed = nil // once fenced, always fenced
	if err := j.Append(Event{Type: EventNote, Text: "still no"}); !errors.Is(err, lost) {
		t.Errorf("append after the guard recovered: %v", err)
	}
	if len(seen) != 1 || seen[0] != 2 || j.Seq() != 2 {
		t.Errorf("observed %v, seq %d", seen, j.Seq())
	}
}
