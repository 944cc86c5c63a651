package incident

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Printable makes text from step output, a journal, a note or the
// environment safe to write to a terminal: colour (SGR) sequences are
// dropped, and every other control character (escape sequences that move
// the cursor, set the title, write the clipboard or rewrite what was already
// printed), line breaks, bidirectional overrides and invalid UTF-8 are shown
// escaped (\x1b, \n, \u202e) instead of acting. The result is one line.
// Every printed form of incident data goes through it (headless progress,
// report --format md, incidents, list, error messages).
func Printable(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		if l := sgrLen(s[i:]); l > 0 {
			i += l
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteByte('\t')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, // C1 controls (0x9b is a one-byte CSI)
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, // bidi overrides
			r == 0x200e || r == 0x200f || r == 0x061c:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isPlain reports printable ASCII (and tab) only: nothing to change.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// sgrLen is the length of a colour sequence (ESC [ digits/; m) at the start
// of s, else 0.
func sgrLen(s string) int {
	if len(s) < 3 || s[0] != 0x1b || s[1] != '[' {
		return 0
	}
	for i := 2; i < len(s) && i < 64; i++ {
		c := s[i]
		switch {
		case c == 'm':
			return i + 1
		case c >= '0' && c <= '9', c == ';', c == ':':
		default:
			return 0
		}
	}
	return 0
}

// PrintableText is Printable applied to each line of s: the line breaks
// stay, everything else is neutralised the same way.
func PrintableText(s string) string {
	if isPlain(strings.ReplaceAll(s, "\n", "")) {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Printable(l)
	}
	return strings.Join(lines, "\n")
}

// jsonEscapeControls writes the characters encoding/json leaves raw but a
// terminal may act on (DEL, C1 controls, bidirectional overrides) as \u
// escapes: the JSON decodes to the same text and is safe to cat.
func jsonEscapeControls(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c {
			if out == nil {
				out = append(make([]byte, 0, len(b)+16), b[:i]...)
			}
			out = fmt.Appendf(out, `\u%04x`, r)
		} else if out != nil {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	if out == nil {
		return b
	}
	return out
}

// EscapeJSONControls is jsonEscapeControls for JSON that other packages
// print (drnav's -o json): one owner for what a terminal may act on.
func EscapeJSONControls(b []byte) []byte { return jsonEscapeControls(b) }
