package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

func editorWith(value string, w, h int) editor {
	e := newEditor()
	e.SetWidth(w)
	e.SetHeight(h)
	e.SetValue(value)
	e.Focus()
	return e
}

// editorKey builds a key press from its name: "a", "enter", "ctrl+home",
// "alt+backspace", …
func editorKey(k string) tea.KeyPressMsg {
	var mod tea.KeyMod
	for {
		if rest, ok := strings.CutPrefix(k, "ctrl+"); ok {
			mod |= tea.ModCtrl
			k = rest
		} else if rest, ok := strings.CutPrefix(k, "alt+"); ok {
			mod |= tea.ModAlt
			k = rest
		} else {
			break
		}
	}
	special := map[string]rune{
		"enter": tea.KeyEnter, "up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft,
		"right": tea.KeyRight, "backspace": tea.KeyBackspace, "delete": tea.KeyDelete,
		"home": tea.KeyHome, "end": tea.KeyEnd, "space": tea.KeySpace, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
	}
	if c, ok := special[k]; ok {
		return tea.KeyPressMsg{Code: c, Mod: mod}
	}
	r := []rune(k)[0]
	if mod != 0 {
		return tea.KeyPressMsg{Code: r, Mod: mod}
	}
	return tea.KeyPressMsg{Code: r, Text: k}
}

func editorKeys(e editor, keys ...string) editor {
	for _, k := range keys {
		msg := editorKey(k)
		if got := msg.String(); got != k {
			panic("editorKey(" + k + ") is " + got)
		}
		e, _ = e.Update(msg)
	}
	return e
}

func editorType(e editor, text string) editor {
	for _, r := range text {
		e, _ = e.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return e
}

func TestEditorEditing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, value string
		keys        []string
		typed       string
		want        string
	}{
		{"type at the end", "abc", nil, "de", "abcde"},
		{"home then type", "abc", []string{"home"}, "X", "Xabc"},
		{"left twice", "abc", []string{"left", "left"}, "X", "aXbc"},
		{"enter splits", "abcd", []string{"left", "left", "enter"}, "", "ab\ncd"},
		{"backspace joins lines", "ab\ncd", []string{"home", "backspace"}, "", "abcd"},
		{"delete joins lines", "ab\ncd", []string{"up", "end", "delete"}, "", "abcd"},
		{"ctrl+k kills to the end", "hello world", []string{"home", "alt+f", "ctrl+k"}, "", "hello"},
		{"ctrl+u kills to the start", "hello world", []string{"alt+b", "ctrl+u"}, "", "world"},
		{"ctrl+w deletes a word", "one two three", []string{"ctrl+w"}, "", "one two "},
		{"up keeps the column", "abcdef\nxyz", []string{"left", "up"}, "Q", "abQcdef\nxyz"},
		{"down from the last line goes to its end", "ab\ncd", []string{"home", "down"}, "!", "ab\ncd!"},
		{"space key", "a", []string{"space"}, "b", "a b"},
		{"right at a line end moves down", "ab\ncd", []string{"up", "end", "right"}, "X", "ab\nXcd"},
		{"non-ASCII", "héllo wörld", []string{"alt+b", "backspace"}, "", "héllowörld"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := editorType(editorKeys(editorWith(c.value, 40, 5), c.keys...), c.typed)
			if got := e.Value(); got != c.want {
				t.Errorf("value = %q, want %q", got, c.want)
			}
		})
	}
}

func TestEditorPasteNormalisesText(t *testing.T) {
	t.Parallel()
	e := editorWith("x", 40, 5)
	e, _ = e.Update(tea.PasteMsg{Content: "a\r\nb\tc\x07d\re"})
	if got, want := e.Value(), "xa\nb    cd\ne"; got != want {
		t.Errorf("value = %q, want %q", got, want)
	}
	if e.row != 2 || e.col != 1 {
		t.Errorf("cursor at %d:%d, want 2:1 (after the paste)", e.row, e.col)
	}
}

// TestEditorCopiesAreIndependent: a Model copy keeps its own text (the
// benchmark and the draft both rely on it).
func TestEditorCopiesAreIndependent(t *testing.T) {
	t.Parallel()
	a := editorWith("first line\nsecond", 40, 5)
	a = editorKeys(a, "up", "home")
	b := editorType(a, "NEW ")
	b = editorKeys(b, "enter", "backspace", "ctrl+end", "backspace")
	if got, want := a.Value(), "first line\nsecond"; got != want {
		t.Errorf("original changed to %q", got)
	}
	if got, want := b.Value(), "NEW first line\nsecon"; got != want {
		t.Errorf("copy = %q, want %q", got, want)
	}
}

// TestEditorWrapsAndScrolls: long text wraps at word boundaries within the
// width, every row is exactly the width, and the cursor's row stays visible.
func TestEditorWrapsAndScrolls(t *testing.T) {
	t.Parallel()
	const w, h = 24, 3
	e := editorWith("", w, h)
	words := strings.Repeat("restore wal ", 20)
	e = editorType(e, words+"END")
	view := ansi.Strip(e.View())
	rows := strings.Split(view, "\n")
	if len(rows) != h {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), h, view)
	}
	for _, r := range rows {
		if ansi.StringWidth(r) != w {
			t.Errorf("row %q is %d cells, want %d", r, ansi.StringWidth(r), w)
		}
		if !strings.HasPrefix(r, editorPrompt) {
			t.Errorf("row %q lacks the prompt", r)
		}
	}
	if !strings.Contains(rows[h-1], "END") {
		t.Errorf("the cursor's row (with END) is not visible:\n%s", view)
	}
	for _, r := range rows[:h-1] {
		body := strings.TrimRight(strings.TrimPrefix(r, editorPrompt), " ")
		if strings.HasPrefix(body, "al") || strings.HasSuffix(body, "resto") {
			t.Errorf("row %q breaks inside a word", r)
		}
	}
	// Back to the top: the first row shows the start.
	e = editorKeys(e, "ctrl+home")
	if first := strings.Split(ansi.Strip(e.View()), "\n")[0]; !strings.Contains(first, "restore wal") {
		t.Errorf("after ctrl+home the first row is %q", first)
	}
	// Up and down walk the wrapped rows of one line.
	e = editorKeys(e, "down")
	if e.row != 0 || e.col == 0 {
		t.Errorf("down on a wrapped line went to %d:%d, want line 0, further along", e.row, e.col)
	}
}

func TestEditorIgnoresKeysWhenBlurred(t *testing.T) {
	t.Parallel()
	e := editorWith("abc", 40, 3)
	e.Blur()
	if e = editorType(e, "x"); e.Value() != "abc" {
		t.Errorf("blurred editor took a key: %q", e.Value())
	}
}
