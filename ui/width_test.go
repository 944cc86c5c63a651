package ui

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// TestTextWidth: textWidth agrees with ansi.StringWidth on every glyph it
// measures itself, on every line of the goldens and of a coloured frame,
// and on the text it hands over.
func TestTextWidth(t *testing.T) {
	var cases []string
	for r := rune(0x80); r < 0x3000; r++ {
		if narrowGlyph(r) {
			cases = append(cases, string(r), "a"+string(r)+"b", string(r)+"\u0301", string(r)+"\ufe0f")
		}
	}
	cases = append(cases, "", "plain", "e\u0301", "日本", "日", "x日", "a\tb", "\x1b[1;38;5;12mbold\x1b[m",
		"\x1b]8;;https://x\x07link\x1b]8;;\x07", "\x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\", "\x1b[", "\x1b", "\x1bPq\x1b\\x", "tab\x7f")
	for _, dir := range []string{"testdata", "panes/testdata"} {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, strings.Split(string(data), "\n")...)
			return nil
		})
	}
	m := renderModel(120, 40, false)
	cases = append(cases, strings.Split(m.View().Content, "\n")...)
	if len(cases) < 200 {
		t.Fatalf("only %d lines to compare: goldens missing?", len(cases))
	}
	for _, s := range cases {
		if got, want := textWidth(s), ansi.StringWidth(s); got != want {
			t.Errorf("textWidth(%q) = %d, ansi.StringWidth = %d", s, got, want)
		}
	}
}

// TestJoinColumns: joinColumns writes what lipgloss.JoinHorizontal(Top)
// writes.
func TestJoinColumns(t *testing.T) {
	red := lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	for _, blocks := range [][]string{
		{},
		{"one"},
		{"a\nbb\nccc", "│\n│", red.Render("x") + "\nyy"},
		{"tab\there\r\nnext", "", "→ ✓\n…"},
		{"日本\nx", "e\u0301\n"},
	} {
		if got, want := joinColumns(blocks...), lipgloss.JoinHorizontal(lipgloss.Top, blocks...); got != want {
			t.Errorf("joinColumns(%q) =\n%q\nwant\n%q", blocks, got, want)
		}
	}
}
