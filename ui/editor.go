package ui

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// editor is the status-update editor: multi-line text with soft wrapping,
// kept deliberately small. bubbles' textarea re-measured every grapheme and
// styled every row on each key (≈5 ms a key at 120x40 with a 1,000
// character message); this one wraps with a fast path for ASCII and renders
// only the visible rows, so a key costs tens of microseconds.
//
// Copies share lines: an edit replaces the slice (never writes into it), so
// a copy of the Model keeps its own text.
type editor struct {
	lines         []string // logical lines, without "\n"
	row, col      int      // cursor: line and rune index in it
	width, height int      // whole width (prompt included) and visible rows
	top           int      // first visible wrapped row
	focused       bool
	styles        editorStyles
	keys          EditorKeys
}

type editorStyles struct {
	prompt, cursor lipgloss.Style
}

// editorPrompt starts every row, as textarea's default prompt did.
const editorPrompt = "┃ "

// editorMaxRunes bounds the text (a paste of a whole log stays usable).
const editorMaxRunes = 64 << 10

func newEditor() editor {
	return editor{
		lines:  []string{""},
		width:  40,
		height: 6,
		styles: editorStyles{cursor: lipgloss.NewStyle().Reverse(true)},
		keys:   newEditorKeys(),
	}
}

// SetValue replaces the text and puts the cursor at its end.
func (e *editor) SetValue(s string) {
	s = sanitizeInput(s)
	if n := utf8.RuneCountInString(s); n > editorMaxRunes {
		s = string([]rune(s)[:editorMaxRunes])
	}
	e.lines = strings.Split(s, "\n")
	e.row = len(e.lines) - 1
	e.col = utf8.RuneCountInString(e.lines[e.row])
	e.top = 0
	e.scroll()
}

// Value is the text.
func (e editor) Value() string { return strings.Join(e.lines, "\n") }

func (e *editor) SetWidth(w int)  { e.width = max(w, 4); e.scroll() }
func (e *editor) SetHeight(h int) { e.height = max(h, 1); e.scroll() }
func (e *editor) Focus()          { e.focused = true }
func (e *editor) Blur()           { e.focused = false }

// textWidth is the cells a row of text may use: the prompt and one cell
// for the cursor after the last character are reserved.
func (e editor) textWidth() int { return max(1, e.width-ansi.StringWidth(editorPrompt)-1) }

// sanitizeInput turns pasted or set text into lines of printable runes:
// CRLF and CR become LF, a tab four spaces, other controls are dropped.
func sanitizeInput(s string) string {
	if isPlainASCII(s) {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteString("    ")
		case r == utf8.RuneError, unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isPlainASCII: printable ASCII and newlines only.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\n') || c >= 0x7f {
			return false
		}
	}
	return true
}

func runeWidth(r rune) int {
	if r < utf8.RuneSelf {
		return 1
	}
	return ansi.StringWidth(string(r))
}

// segment is one wrapped row: runes [start, end) of logical line line.
type segment struct{ line, start, end int }

// wrapLine splits one line into rows of at most w cells, breaking after
// the last space that fits, else inside the word.
func wrapLine(line string, w int) [][2]int {
	if line == "" {
		return [][2]int{{0, 0}}
	}
	var rows [][2]int
	start, cells, lastSpace := 0, 0, -1
	i := 0
	if isPlainASCII(line) {
		// Fast path: one byte, one rune, one cell.
		n := len(line)
		for start < n {
			if n-start <= w {
				rows = append(rows, [2]int{start, n})
				break
			}
			end := start + w
			if sp := strings.LastIndexByte(line[start:end+1], ' '); sp > 0 {
				end = start + sp + 1 // the space stays at the end of the row
			}
			rows = append(rows, [2]int{start, end})
			start = end
		}
		return rows
	}
	for _, r := range line {
		rw := runeWidth(r)
		if cells+rw > w && i > start {
			end := i
			if lastSpace >= start && lastSpace+1 < i {
				end = lastSpace + 1
			}
			rows = append(rows, [2]int{start, end})
			cells = 0
			for _, r2 := range []rune(line)[end:i] { // rare: only for non-ASCII lines
				cells += runeWidth(r2)
			}
			start = end
		}
		if r == ' ' {
			lastSpace = i
		}
		cells += rw
		i++
	}
	return append(rows, [2]int{start, i})
}

// layout wraps every line.
func (e editor) layout() []segment {
	w := e.textWidth()
	segs := make([]segment, 0, len(e.lines)+4)
	for li, l := range e.lines {
		for _, r := range wrapLine(l, w) {
			segs = append(segs, segment{li, r[0], r[1]})
		}
	}
	return segs
}

// cursorRow is the wrapped row holding the cursor.
func (e editor) cursorRow(segs []segment) int {
	for i, s := range segs {
		if s.line != e.row {
			continue
		}
		last := i+1 == len(segs) || segs[i+1].line != e.row
		if e.col < s.end || (e.col == s.end && last) {
			return i
		}
	}
	return len(segs) - 1
}

// scroll keeps the cursor's row visible.
func (e *editor) scroll() {
	if e.lines == nil {
		return
	}
	cr := e.cursorRow(e.layout())
	if cr < e.top {
		e.top = cr
	}
	if cr >= e.top+e.height {
		e.top = cr - e.height + 1
	}
}

func (e editor) lineRunes() []rune { return []rune(e.lines[e.row]) }

// setLine replaces the cursor's line in a new slice (copies share the old).
func (e *editor) setLine(s string) {
	e.lines = slices.Clone(e.lines)
	e.lines[e.row] = s
}

func (e editor) runeCount() int {
	n := len(e.lines) - 1
	for _, l := range e.lines {
		n += utf8.RuneCountInString(l)
	}
	return n
}

// insert puts text (possibly several lines) at the cursor.
func (e *editor) insert(text string) {
	text = sanitizeInput(text)
	if room := editorMaxRunes - e.runeCount(); utf8.RuneCountInString(text) > room {
		if room <= 0 {
			return
		}
		text = string([]rune(text)[:room])
	}
	if text == "" {
		return
	}
	rs := e.lineRunes()
	before, after := string(rs[:e.col]), string(rs[e.col:])
	parts := strings.Split(text, "\n")
	if len(parts) == 1 {
		e.setLine(before + text + after)
		e.col += utf8.RuneCountInString(text)
		return
	}
	nl := make([]string, 0, len(e.lines)+len(parts)-1)
	nl = append(nl, e.lines[:e.row]...)
	nl = append(nl, before+parts[0])
	nl = append(nl, parts[1:len(parts)-1]...)
	last := parts[len(parts)-1]
	nl = append(nl, last+after)
	nl = append(nl, e.lines[e.row+1:]...)
	e.lines = nl
	e.row += len(parts) - 1
	e.col = utf8.RuneCountInString(last)
}

// deleteRange removes runes [from, to) of the cursor's line and puts the
// cursor at from.
func (e *editor) deleteRange(from, to int) {
	rs := e.lineRunes()
	e.setLine(string(rs[:from]) + string(rs[to:]))
	e.col = from
}

// joinPrevious merges the cursor's line into the one above.
func (e *editor) joinPrevious() {
	if e.row == 0 {
		return
	}
	prev := e.lines[e.row-1]
	nl := slices.Clone(e.lines)
	nl[e.row-1] = prev + nl[e.row]
	e.lines = slices.Delete(nl, e.row, e.row+1)
	e.row--
	e.col = utf8.RuneCountInString(prev)
}

func (e editor) wordLeft() int {
	rs, i := e.lineRunes(), e.col
	for i > 0 && unicode.IsSpace(rs[i-1]) {
		i--
	}
	for i > 0 && !unicode.IsSpace(rs[i-1]) {
		i--
	}
	return i
}

func (e editor) wordRight() int {
	rs, i := e.lineRunes(), e.col
	for i < len(rs) && unicode.IsSpace(rs[i]) {
		i++
	}
	for i < len(rs) && !unicode.IsSpace(rs[i]) {
		i++
	}
	return i
}

// vertical moves the cursor d wrapped rows, keeping its cell column.
func (e *editor) vertical(d int) {
	segs := e.layout()
	cr := e.cursorRow(segs)
	to := cr + d
	if to < 0 || to >= len(segs) {
		if d < 0 {
			e.row, e.col = 0, 0
		} else {
			e.row = len(e.lines) - 1
			e.col = utf8.RuneCountInString(e.lines[e.row])
		}
		return
	}
	cur := segs[cr]
	rs := e.lineRunes()
	x := 0
	for _, r := range rs[cur.start:e.col] {
		x += runeWidth(r)
	}
	dst := segs[to]
	drs := []rune(e.lines[dst.line])
	col, cells := dst.start, 0
	for col < dst.end && cells+runeWidth(drs[col]) <= x {
		cells += runeWidth(drs[col])
		col++
	}
	// A row that wrapped ends before its last character (the break).
	if col == dst.end && to+1 < len(segs) && segs[to+1].line == dst.line && col > dst.start {
		col--
	}
	e.row, e.col = dst.line, col
}

// Update edits the text for keys and pastes; other messages are ignored.
func (e editor) Update(msg tea.Msg) (editor, tea.Cmd) {
	if !e.focused {
		return e, nil
	}
	switch msg := msg.(type) {
	case tea.PasteMsg:
		e.insert(msg.Content)
	case tea.KeyPressMsg:
		e.key(msg)
	default:
		return e, nil
	}
	e.scroll()
	return e, nil
}

func (e *editor) key(msg tea.KeyPressMsg) {
	n := utf8.RuneCountInString(e.lines[e.row])
	k, pressed := &e.keys, keyString(msg.String()) // one String() a key, not one a binding
	is := func(b key.Binding) bool { return key.Matches(pressed, b) }
	switch {
	case is(k.Left):
		if e.col > 0 {
			e.col--
		} else if e.row > 0 {
			e.row--
			e.col = utf8.RuneCountInString(e.lines[e.row])
		}
	case is(k.Right):
		if e.col < n {
			e.col++
		} else if e.row < len(e.lines)-1 {
			e.row++
			e.col = 0
		}
	case is(k.WordLeft):
		e.col = e.wordLeft()
	case is(k.WordRight):
		e.col = e.wordRight()
	case is(k.Up):
		e.vertical(-1)
	case is(k.Down):
		e.vertical(1)
	case is(k.PageUp):
		e.vertical(-e.height)
	case is(k.PageDown):
		e.vertical(e.height)
	case is(k.LineStart):
		e.col = 0
	case is(k.LineEnd):
		e.col = n
	case is(k.TextStart):
		e.row, e.col = 0, 0
	case is(k.TextEnd):
		e.row = len(e.lines) - 1
		e.col = utf8.RuneCountInString(e.lines[e.row])
	case is(k.Newline):
		e.insert("\n")
	case is(k.Backspace):
		if e.col > 0 {
			e.deleteRange(e.col-1, e.col)
		} else {
			e.joinPrevious()
		}
	case is(k.Delete):
		if e.col < n {
			e.deleteRange(e.col, e.col+1)
		} else if e.row < len(e.lines)-1 {
			e.row++
			e.col = 0
			e.joinPrevious()
		}
	case is(k.DeleteWordLeft):
		e.deleteRange(e.wordLeft(), e.col)
	case is(k.DeleteWordRight):
		e.deleteRange(e.col, e.wordRight())
	case is(k.DeleteToEnd):
		e.deleteRange(e.col, n)
	case is(k.DeleteToStart):
		e.deleteRange(0, e.col)
	case is(k.Space):
		e.insert(" ")
	default:
		if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
			e.insert(msg.Text)
		}
	}
}

// View renders the visible rows: the prompt, the text padded to the
// width, and the cursor in reverse video when focused.
func (e editor) View() string {
	segs := e.layout()
	cr := e.cursorRow(segs)
	w := e.textWidth() + 1
	prompt := e.styles.prompt.Render(editorPrompt)
	var b strings.Builder
	for i := e.top; i < e.top+e.height; i++ {
		if i > e.top {
			b.WriteByte('\n')
		}
		b.WriteString(prompt)
		if i >= len(segs) {
			b.WriteString(strings.Repeat(" ", w))
			continue
		}
		s := segs[i]
		line := e.lines[s.line]
		var text string
		if isPlainASCII(line) {
			text = line[s.start:s.end]
		} else {
			text = string([]rune(line)[s.start:s.end])
		}
		used := 0
		if i == cr && e.focused {
			at := e.col - s.start
			rs := []rune(text)
			under := " "
			after := ""
			if at < len(rs) {
				under, after = string(rs[at]), string(rs[at+1:])
			}
			b.WriteString(string(rs[:at]))
			b.WriteString(e.styles.cursor.Render(under))
			b.WriteString(after)
			used = ansi.StringWidth(string(rs[:at])) + ansi.StringWidth(under) + ansi.StringWidth(after)
		} else {
			b.WriteString(text)
			if isPlainASCII(text) {
				used = len(text)
			} else {
				used = ansi.StringWidth(text)
			}
		}
		if used < w {
			b.WriteString(strings.Repeat(" ", w-used))
		}
	}
	return b.String()
}
