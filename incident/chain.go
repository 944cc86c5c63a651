package incident

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/drnav/drnav/internal/safefile"
)

// The journal is a hash chain: every event after the declared one carries
// in Prev the link to the line of the event before it, so an event changed
// after it was written no longer matches the link its successor holds.
// (The last event has no successor: a change to it shows only against
// another copy, see Compare.)

// LinkOf is the link to a journal line: the hex SHA-256 of its exact bytes,
// without the newline.
func LinkOf(line []byte) string {
	sum := sha256.Sum256(bytes.TrimSuffix(line, []byte{'\n'}))
	return hex.EncodeToString(sum[:])
}

// ChainBreak is one place where a copy of a journal does not hold together.
type ChainBreak struct {
	Seq  int // the event named (the changed one, or the one out of place)
	Line int // its 1-based line in the copy
	Msg  string
}

func (b ChainBreak) String() string {
	return fmt.Sprintf("event %d (line %d): %s", b.Seq, b.Line, b.Msg)
}

// maxBreaks bounds the breaks CheckChain lists.
const maxBreaks = 20

// ChainCheck is what CheckChain found in one copy of a journal.
type ChainCheck struct {
	Lines [][]byte // every event's exact line, newline included
	Seqs  []int    // and its seq
	// Unchained counts the events after the first that carry no link
	// because they were written before drnav chained its journal; the
	// chain starts after them (0: chained from the declared event on).
	Unchained int
	Breaks    []ChainBreak
	// Skipped names the lines that are no event (garbage, a torn end):
	// not part of the chain, and not a break by themselves.
	Skipped []Warning

	lineNos []int // each event's 1-based line
}

// Events is how many events the copy holds.
func (c ChainCheck) Events() int { return len(c.Lines) }

// Last is the last event's seq (0 when none).
func (c ChainCheck) Last() int {
	if len(c.Seqs) == 0 {
		return 0
	}
	return c.Seqs[len(c.Seqs)-1]
}

// OK says the chain holds.
func (c ChainCheck) OK() bool { return len(c.Breaks) == 0 }

// CheckChain reads a journal's bytes (a local file or a mirrored copy) and
// checks its chain: it starts with the declared event of id ("" accepts
// any), seqs follow one another, and each event's Prev is the link to the
// line before it. Events without Prev before the first that has one are an
// older journal's (counted in Unchained, not a break); one without Prev
// after the chain started is a break.
func CheckChain(data []byte, id string) ChainCheck {
	var c ChainCheck
	data = bytes.TrimPrefix(data, bom)
	lineNo := 0
	link := ""
	chained := false
	brkAt := func(seq, line int, msg string) {
		if len(c.Breaks) < maxBreaks {
			c.Breaks = append(c.Breaks, ChainBreak{Seq: seq, Line: line, Msg: msg})
		}
	}
	brk := func(seq int, msg string) { brkAt(seq, lineNo, msg) }
	for len(data) > 0 {
		lineNo++
		nl := bytes.IndexByte(data, '\n')
		var line []byte
		if nl < 0 {
			line, data = data, nil
		} else {
			line, data = data[:nl+1], data[nl+1:]
		}
		raw := bytes.TrimSuffix(line, []byte{'\n'})
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(raw, &ev); err != nil || ev.Type == "" {
			msg := "not an event: skipped"
			if nl < 0 {
				msg = "torn last line: ignored"
			}
			c.Skipped = append(c.Skipped, Warning{Line: lineNo, Msg: msg})
			continue
		}
		last := c.Last()
		switch {
		case len(c.Lines) == 0:
			switch {
			case ev.Type != EventDeclared || ev.Declared == nil:
				brk(ev.Seq, fmt.Sprintf("the journal starts with a %s event, not the declaration", ev.Type))
			case id != "" && ev.Declared.ID != id:
				brk(ev.Seq, fmt.Sprintf("the declaration is of %q, not %q", ev.Declared.ID, id))
			case ev.Seq != 1:
				brk(ev.Seq, fmt.Sprintf("the declaration has seq %d, not 1", ev.Seq))
			case ev.Prev != "":
				brk(ev.Seq, "the declaration carries a link: the chain starts there")
			}
		case ev.Seq <= last:
			brk(ev.Seq, fmt.Sprintf("follows event %d: out of order or repeated", last))
		case ev.Seq > last+1:
			brk(ev.Seq, fmt.Sprintf("follows event %d: %d events missing", last, ev.Seq-last-1))
		case ev.Prev == "" && chained:
			brk(ev.Seq, fmt.Sprintf("carries no link to event %d although the chain started before it (its link was removed)", last))
		case ev.Prev == "":
			c.Unchained++
		case ev.Prev != link:
			// The successor's link no longer matches: the event before
			// it was changed (or this link was).
			brkAt(last, c.lineOf(len(c.Lines)-1), fmt.Sprintf("changed after it was written: event %d's link (%.12s…) does not match it (%.12s…)", ev.Seq, ev.Prev, link))
		}
		if ev.Prev != "" && len(c.Lines) > 0 {
			chained = true
		}
		c.Lines = append(c.Lines, line)
		c.Seqs = append(c.Seqs, ev.Seq)
		c.lineNos = append(c.lineNos, lineNo)
		link = LinkOf(raw)
	}
	return c
}

// lineOf is the 1-based line of the i-th event.
func (c ChainCheck) lineOf(i int) int {
	if i < 0 || i >= len(c.lineNos) {
		return 0
	}
	return c.lineNos[i]
}

// Relation is how one copy of a journal stands to a reference copy.
type Relation struct {
	// Same, Behind (a strict prefix of the reference, N events short),
	// Ahead (the reference is a strict prefix of it, N events more) or
	// Differs (from event Seq on).
	Kind string
	N    int
	Seq  int
	// Mine and Theirs are the first differing lines (Differs only).
	Mine, Theirs []byte
}

// Kinds of a Relation.
const (
	RelSame    = "same"
	RelBehind  = "behind"
	RelAhead   = "ahead"
	RelDiffers = "differs"
)

// Compare says how other stands to ref, event by event, on their exact
// lines.
func Compare(ref, other ChainCheck) Relation {
	n := min(len(ref.Lines), len(other.Lines))
	for i := 0; i < n; i++ {
		if !bytes.Equal(ref.Lines[i], other.Lines[i]) {
			return Relation{Kind: RelDiffers, Seq: ref.Seqs[i], Mine: other.Lines[i], Theirs: ref.Lines[i]}
		}
	}
	switch {
	case len(other.Lines) < len(ref.Lines):
		return Relation{Kind: RelBehind, N: len(ref.Lines) - len(other.Lines)}
	case len(other.Lines) > len(ref.Lines):
		return Relation{Kind: RelAhead, N: len(other.Lines) - len(ref.Lines)}
	}
	return Relation{Kind: RelSame}
}

// JournalBytes reads incident id's journal file under root as it is (for
// checking its chain), without writing to it.
func JournalBytes(root, id string) ([]byte, error) {
	uid, err := checkIncidentDir(root, id, false)
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", id, err)
	}
	f, err := safefile.OpenOwned("journal", filepath.Join(root, id, JournalName), os.O_RDONLY, uid)
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", id, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", id, err)
	}
	return data, nil
}
