package incident

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// chainedJournal declares an incident, runs two steps, closes it and
// returns its root, id and file bytes.
func chainedJournal(t *testing.T) (string, string, []byte) {
	t.Helper()
	root := t.TempDir()
	j := mustCreate(t, root, outageDeclared(ModeLive))
	appendAll(t, j, stepRun("list-pods", "assess", minute, minute, 0, nil)...)
	appendAll(t, j, stepRun("scale-db", "failover", 3*minute, minute, 0, nil)...)
	id := j.ID()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	return root, id, data
}

func TestChainLinksEveryEvent(t *testing.T) {
	t.Parallel()
	root, id, data := chainedJournal(t)
	lines := bytes.SplitAfter(data, []byte{'\n'})
	lines = lines[:len(lines)-1]
	for i, l := range lines {
		var ev Event
		if err := json.Unmarshal(l, &ev); err != nil {
			t.Fatal(err)
		}
		switch {
		case i == 0 && ev.Prev != "":
			t.Errorf("the declared event carries a link %q", ev.Prev)
		case i > 0 && ev.Prev != LinkOf(lines[i-1]):
			t.Errorf("event %d: prev %q, want the link to line %d", ev.Seq, ev.Prev, i)
		}
	}
	c := CheckChain(data, id)
	if !c.OK() || c.Events() != 7 || c.Unchained != 0 {
		t.Errorf("check: %d events, %d unchained, breaks %v", c.Events(), c.Unchained, c.Breaks)
	}
	// Reopening continues the chain from the last line on disk.
	j, _, _, err := Open(root, id)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, j, Event{Type: EventNote, Text: "after the resume"})
	_ = j.Close()
	data, _ = os.ReadFile(j.Path())
	if c := CheckChain(data, id); !c.OK() || c.Events() != 9 {
		t.Errorf("after a resume: %d events, breaks %v", c.Events(), c.Breaks)
	}
}

// TestVerifyNamesTheEditedEvent: one line edited by hand (a step's exit
// code) is named by its seq; the journal still opens.
func TestVerifyNamesTheEditedEvent(t *testing.T) {
	t.Parallel()
	_, id, data := chainedJournal(t)
	lines := bytes.SplitAfter(data, []byte{'\n'})
	// Event 4 is list-pods' step_finished: make a failure look like
	// success (here: exit 0 becomes exit 0 with another duration).
	if !bytes.Contains(lines[3], []byte(`"type":"step_finished"`)) {
		t.Fatalf("line 4 is %s", lines[3])
	}
	lines[3] = bytes.Replace(lines[3], []byte(`"duration_ns":60000000000`), []byte(`"duration_ns":6000000000`), 1)
	edited := bytes.Join(lines, nil)
	if bytes.Equal(edited, data) {
		t.Fatal("the edit changed nothing")
	}
	c := CheckChain(edited, id)
	if len(c.Breaks) != 1 || c.Breaks[0].Seq != 4 || c.Breaks[0].Line != 4 || !strings.Contains(c.Breaks[0].Msg, "changed after it was written") {
		t.Fatalf("breaks: %v, want event 4 changed", c.Breaks)
	}
	// Against the untouched copy, the first difference is the same event.
	if r := Compare(CheckChain(data, id), c); r.Kind != RelDiffers || r.Seq != 4 {
		t.Errorf("compare: %+v", r)
	}
	// A removed link, a removed event and a reordered pair are named too.
	orig := bytes.SplitAfter(data, []byte{'\n'})
	noLink := bytes.Join(append(append([][]byte{}, orig[:5]...), append([][]byte{stripPrev(t, orig[5])}, orig[6:]...)...), nil)
	if c := CheckChain(noLink, id); len(c.Breaks) == 0 || c.Breaks[0].Seq != 6 || !strings.Contains(c.Breaks[0].Msg, "no link") {
		t.Errorf("link removed: %v", c.Breaks)
	}
	gone := bytes.Join(append(append([][]byte{}, orig[:2]...), orig[3:]...), nil)
	if c := CheckChain(gone, id); len(c.Breaks) == 0 || c.Breaks[0].Seq != 4 || !strings.Contains(c.Breaks[0].Msg, "1 events missing") {
		t.Errorf("event removed: %v", c.Breaks)
	}
}

func stripPrev(t *testing.T, line []byte) []byte {
	t.Helper()
	i := bytes.Index(line, []byte(`,"prev":"`))
	if i < 0 {
		t.Fatalf("no prev in %s", line)
	}
	return append(append([]byte{}, line[:i]...), []byte("}\n")...)
}

// TestUnchainedJournalStillOpens: a journal written before the chain
// (no prev anywhere) opens, is "unchained" rather than broken, and is
// chained from the next event on.
func TestUnchainedJournalStillOpens(t *testing.T) {
	t.Parallel()
	root, id, data := chainedJournal(t)
	lines := bytes.SplitAfter(data, []byte{'\n'})
	var old [][]byte
	for i, l := range lines[:len(lines)-1] {
		if i == 0 {
			old = append(old, l)
			continue
		}
		old = append(old, stripPrev(t, l))
	}
	oldData := bytes.Join(old, nil)
	c := CheckChain(oldData, id)
	if !c.OK() || c.Unchained != 6 {
		t.Fatalf("old journal: %d unchained, breaks %v", c.Unchained, c.Breaks)
	}
	path := root + "/" + id + "/" + JournalName
	if err := os.WriteFile(path, oldData, 0o600); err != nil {
		t.Fatal(err)
	}
	j, st, _, err := Open(root, id)
	if err != nil {
		t.Fatalf("an unchained journal does not open: %v", err)
	}
	if st.Step("scale-db").Status != StepDone {
		t.Errorf("scale-db: %s", st.Step("scale-db").Status)
	}
	_ = j.Close()
	data, _ = os.ReadFile(path)
	if c := CheckChain(data, id); !c.OK() || c.Unchained != 6 || c.Events() != 8 {
		t.Errorf("resumed old journal: %d events, %d unchained, breaks %v", c.Events(), c.Unchained, c.Breaks)
	}
}

func TestCompareBehindAndAhead(t *testing.T) {
	t.Parallel()
	_, id, data := chainedJournal(t)
	full := CheckChain(data, id)
	lines := bytes.SplitAfter(data, []byte{'\n'})
	prefix := CheckChain(bytes.Join(lines[:4], nil), id)
	if r := Compare(full, prefix); r.Kind != RelBehind || r.N != 3 {
		t.Errorf("prefix: %+v", r)
	}
	if r := Compare(prefix, full); r.Kind != RelAhead || r.N != 3 {
		t.Errorf("longer: %+v", r)
	}
	if r := Compare(full, full); r.Kind != RelSame {
		t.Errorf("same: %+v", r)
	}
}
