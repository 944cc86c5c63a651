package ui

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/incident"
)

// settled is a status the cursor moves on from: nothing left to do there.
func settled(st incident.StepStatus) bool {
	return st == incident.StepDone || st == incident.StepSkipped
}

// advanceFrom moves the cursor on from a step that has just settled (see
// checklist.advanceFrom) and shows the output it keeps in view.
func (m *Model) advanceFrom(id string) {
	if m.list.advanceFrom(m.rb, id, m.inc.Status) {
		m.refreshOutput()
	}
}

// outputID is the step whose output the output pane shows.
func (m *Model) outputID() string { return m.list.outputID(m.rb) }

// moveTo selects step i by hand: the output pane follows the selection.
func (m *Model) moveTo(i int) {
	m.list.moveTo(i)
	m.refreshOutput()
}

// afterJournaled moves the cursor on once the selected step settled, and
// forgets a status draft once it was posted.
func (m *Model) afterJournaled(ev incident.Event) {
	switch ev.Type {
	case incident.EventStepFinished, incident.EventStepMarkedDone, incident.EventStepSkipped:
		m.advanceFrom(ev.Step)
	case incident.EventNote:
		if incident.IsExpectation(ev) {
			m.advanceFrom(ev.Step)
		}
	case incident.EventStatusPosted:
		delete(m.drafts, m.inc.ID)
	}
}

// settledFlash says why Enter does not run a settled step, and how to run it again.
func (m *Model) settledFlash(status incident.StepStatus) string {
	n := m.list.sel + 1
	if status == incident.StepSkipped {
		return fmt.Sprintf("step %d was skipped: r runs it anyway (asks first)", n)
	}
	took := ""
	if st := m.inc.Steps[m.selectedID()]; st != nil && st.Duration > 0 {
		took = " (took " + fmtDur(st.Duration) + ")"
	}
	return fmt.Sprintf("step %d is done%s: r re-runs it (asks first)", n, took)
}

// ---- report export ----

// newOutputViewport is the output pane: long lines are wrapped by
// wrapOutput before they reach it, never clipped.
func newOutputViewport() viewport.Model {
	return viewport.New()
}

// outputIndent starts each continuation row of a wrapped output line, so a
// wrapped line reads as one.
const outputIndent = "  "

// wrapOutput word-wraps output lines to w columns (a word longer than a row
// is broken); continuation rows start with outputIndent. rowOf[i] is the
// first row of line i: search lands on the row, not on the line's index.
func wrapOutput(lines []string, w int) (rows []string, rowOf []int) {
	rows = make([]string, 0, len(lines))
	rowOf = make([]int, len(lines))
	for i, l := range lines {
		rowOf[i] = len(rows)
		if w <= len(outputIndent)+1 || ansi.StringWidth(l) <= w {
			rows = append(rows, l)
			continue
		}
		first, rest := splitRow(l, w)
		rows = append(rows, first)
		for rest != "" {
			var r string
			r, rest = splitRow(rest, w-len(outputIndent))
			rows = append(rows, outputIndent+r)
		}
	}
	return rows, rowOf
}

// splitRow cuts s to one row of at most w columns, at the last space that
// fits (or hard at w when a word is longer), and returns the row and the
// rest without its leading spaces.
func splitRow(s string, w int) (row, rest string) {
	if ansi.StringWidth(s) <= w {
		return s, ""
	}
	row = ansi.Truncate(s, w, "")
	if i := strings.LastIndexByte(row, ' '); i > 0 && strings.TrimSpace(row[:i]) != "" {
		row = row[:i]
	}
	rest = strings.TrimLeft(strings.TrimPrefix(s, row), " ")
	return strings.TrimRight(row, " "), rest
}

// sourceLine is the output line shown at row (see wrapOutput).
func sourceLine(rowOf []int, row int) int {
	i, found := slices.BinarySearch(rowOf, row)
	if !found {
		i--
	}
	return max(i, 0)
}

// dirJournal is a journal kept in a folder (*incident.Journal).
type dirJournal interface{ Dir() string }

type exportedMsg struct {
	path string
	err  error
}

// exportCmd writes the incident report (Markdown and JSON) into the
// incident's folder, in a Cmd; the footer shows the path.
func (m Model) exportCmd() (tea.Model, tea.Cmd) {
	dj, ok := m.journal.(dirJournal)
	if !ok || m.journal.ID() == "" {
		m.flash = "this incident is kept in memory only: no folder to export to (start drnav with a journal folder)"
		return m, nil
	}
	dir, st, rb, now := dj.Dir(), m.inc.Clone(), m.rb, m.clock
	age, known := m.freshness()
	m.flash = "exporting the report…"
	return m, func() tea.Msg {
		r := incident.Report(st, rb, st.RTO, st.RPO, now).WithFreshness(age, known)
		if withP, err := r.WithParticipants(filepath.Dir(dir)); err == nil {
			r = withP
		}
		md, _, err := incident.WriteReport(dir, r)
		if err != nil {
			return exportedMsg{err: fmt.Errorf("export report: %w", err)}
		}
		return exportedMsg{path: md}
	}
}

// freshness is the RPO exposure: the PostgreSQL pane's data-age figure at
// the clock, counting up with it; once the incident is resolved, the figure
// at resolution (unknown when the resolution was not seen in this session).
func (m Model) freshness() (age time.Duration, known bool) {
	if m.inc.Resolved {
		return m.resolvedAge, m.resolvedAgeKnown
	}
	return m.dataAgeAt(m.clock)
}

// ---- status drafts ----

// saveDraft keeps the status editor's text for this incident, so the
// editor opens on it next time instead of a fresh draft.
func (m *Model) saveDraft() {
	if m.drafts == nil {
		m.drafts = map[string]string{}
	}
	m.drafts[m.inc.ID] = m.status.Value()
}

// wrapWords wraps plain text at spaces only (a command's "ci-failure-agent"
// is never split at its hyphen); a word wider than w is cut hard.
func wrapWords(s string, w int) []string {
	w = max(1, w)
	var rows []string
	row := ""
	for _, word := range strings.Split(s, " ") {
		switch {
		case row == "":
			row = word
		case ansi.StringWidth(row)+1+ansi.StringWidth(word) <= w:
			row += " " + word
		default:
			rows = append(rows, row)
			row = word
		}
		for ansi.StringWidth(row) > w {
			rows = append(rows, ansi.Cut(row, 0, w))
			row = ansi.Cut(row, w, ansi.StringWidth(row))
		}
	}
	return append(rows, row)
}

// ---- typing stays instant ----

// newStatusEditor is the status-update editor (see editor.go); it takes
// no colour from the styles (the cursor is reverse video) and its keys
// from the KeyMap.
func newStatusEditor(_ Styles, k EditorKeys) editor {
	e := newEditor()
	e.keys = k
	return e
}

// typingIntoDialog reports whether msg only edits the text of the status
// editor or a prompt: nothing beneath the dialog changes, so the screen
// beneath it need not be rendered again (bgCache).
func (m *Model) typingIntoDialog(msg tea.Msg) bool {
	if m.overlay != ovStatus && m.overlay != ovPrompt {
		return false
	}
	switch msg := msg.(type) {
	case tea.PasteMsg:
		return true
	case tea.KeyPressMsg:
		if keyIs(msg, m.keys.Editor.Edit) {
			return true
		}
		return msg.Text != "" && msg.Mod&^tea.ModShift == 0
	}
	return false
}

// bgCache keeps the rendered screen beneath a typing dialog. It is valid
// for one generation of the model (Model.gen, bumped by every message that
// is not typing into the dialog), size and overlay: typing re-renders only
// the dialog, not the checklist and its panes. View stays free of I/O; the
// cache is a memo of its own output.
type bgCache struct {
	gen, w, h int
	overlay   overlay
	under     string
	ok        bool

	// The screen's pieces left and right of each dialog row, for the
	// dialog's last position and row widths (see Model.overlayCached).
	cutX, cutY  int
	cutWidths   []int
	left, right []string
}

// cuts returns the pieces of lines left of column x and right of each
// row's end, for the rows y, y+1, … of widths; they are cut again only when
// the position or a width changed.
func (c *bgCache) cuts(lines []string, x, y int, widths []int) (left, right []string) {
	if c.left != nil && c.cutX == x && c.cutY == y && slices.Equal(c.cutWidths, widths) {
		return c.left, c.right
	}
	left, right = make([]string, len(widths)), make([]string, len(widths))
	for i, bw := range widths {
		if y+i >= len(lines) {
			break
		}
		l := lines[y+i]
		lw := ansi.StringWidth(l)
		left[i] = ansi.Cut(l, 0, x)
		if n := x - ansi.StringWidth(left[i]); n > 0 {
			left[i] += strings.Repeat(" ", n)
		}
		if end := x + bw; end < lw {
			right[i] = ansi.Cut(l, end, lw)
		}
	}
	c.cutX, c.cutY, c.cutWidths, c.left, c.right = x, y, slices.Clone(widths), left, right
	return left, right
}

func (c *bgCache) get(m Model) (string, bool) {
	if c == nil || !c.ok || (m.overlay != ovStatus && m.overlay != ovPrompt) ||
		c.gen != m.gen || c.w != m.width || c.h != m.height || c.overlay != m.overlay {
		return "", false
	}
	return c.under, true
}

func (c *bgCache) put(m Model, under string) {
	if c == nil || (m.overlay != ovStatus && m.overlay != ovPrompt) {
		return
	}
	*c = bgCache{gen: m.gen, w: m.width, h: m.height, overlay: m.overlay, under: under, ok: true} // and no cuts
}
