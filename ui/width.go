package ui

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// textWidth is ansi.StringWidth, computed without grapheme segmentation for
// the text drnav draws: printable ASCII, SGR/CSI and OSC sequences, and the
// one-cell glyphs of the frames and markers (narrowGlyph). Anything else
// (a wide or combining character, another control) is measured by
// ansi.StringWidth itself. The screen is measured line by line several
// times a frame; segmenting graphemes was half of a frame's cost.
func textWidth(s string) int {
	w := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			w++
			i++
		case c == 0x1b:
			n := escapeLen(s[i:])
			if n == 0 {
				return ansi.StringWidth(s)
			}
			i += n
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !narrowGlyph(r) {
				return ansi.StringWidth(s)
			}
			w++
			i += size
		default:
			return ansi.StringWidth(s)
		}
	}
	return w
}

// escapeLen is the length of the CSI or OSC sequence s starts with (s[0] is
// ESC), or 0 for anything else.
func escapeLen(s string) int {
	if len(s) < 2 {
		return 0
	}
	switch s[1] {
	case '[':
		for j := 2; j < len(s); j++ {
			switch c := s[j]; {
			case c >= 0x40 && c <= 0x7e:
				return j + 1 // final byte
			case c < 0x20 || c > 0x3f:
				return 0
			}
		}
	case ']':
		for j := 2; j < len(s); j++ {
			if s[j] == 0x07 {
				return j + 1
			}
			if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
		}
	}
	return 0
}

// narrowGlyph reports the non-ASCII characters drnav draws that take one
// cell on their own: box drawing and block elements, arrows, the status
// marks, the middle dot, bullet and ellipsis (TestTextWidth checks each
// against ansi.StringWidth).
func narrowGlyph(r rune) bool {
	switch {
	case r >= 0x2500 && r <= 0x259f, r >= 0x2190 && r <= 0x2199:
		return true
	}
	switch r {
	case 0xb7, 0x2022, 0x2026, 0x21b7, 0x2248, 0x25b6, 0x2713, 0x2717:
		return true
	}
	return false
}

// joinColumns is lipgloss.JoinHorizontal(lipgloss.Top, blocks...) measuring
// each line once, with textWidth.
func joinColumns(blocks ...string) string {
	if len(blocks) == 1 {
		return blocks[0]
	}
	lines := make([][]string, len(blocks))
	widths := make([][]int, len(blocks))
	widest := make([]int, len(blocks))
	height := 0
	for i, b := range blocks {
		b = strings.ReplaceAll(b, "\t", "    ")
		b = strings.ReplaceAll(b, "\r\n", "\n")
		lines[i] = strings.Split(b, "\n")
		widths[i] = make([]int, len(lines[i]))
		for j, l := range lines[i] {
			widths[i][j] = textWidth(l)
			widest[i] = max(widest[i], widths[i][j])
		}
		height = max(height, len(lines[i]))
	}
	var sb strings.Builder
	for j := range height {
		for i := range blocks {
			w := 0
			if j < len(lines[i]) {
				sb.WriteString(lines[i][j])
				w = widths[i][j]
			}
			sb.WriteString(strings.Repeat(" ", widest[i]-w))
		}
		if j < height-1 {
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}
