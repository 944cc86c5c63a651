package runbooks

import (
	"fmt"
	"strings"
)

// keyLines scans TOML text and maps field paths to the line where they are
// written: "id" → 1, "steps[3]" → the line of the third [[steps]] header,
// "steps[3].timeout" → the line of its timeout key. Indexes are 1-based.
// Keys inside inline tables and inline arrays are not recorded; lineOf falls
// back to the enclosing key. The text is assumed to have parsed as TOML.
func keyLines(text string) map[string]int {
	lines, _ := scanLines(text)
	return lines
}

// reviewPrefix starts a comment that asks a person to review what follows
// (drnav import writes them): lint reports each one as a warning until it is
// deleted.
const reviewPrefix = "# REVIEW:"

// reviewNote is a "# REVIEW:" comment: its line, the table it is in
// ("steps[3]", "" at the top level) and its text.
type reviewNote struct {
	line  int
	field string
	text  string
}

// scanLines is keyLines, and also returns the review notes: comments
// starting "# REVIEW:" outside strings.
func scanLines(text string) (map[string]int, []reviewNote) {
	lines := map[string]int{}
	var notes []reviewNote
	counts := map[string]int{} // array-of-tables path → elements so far
	var (
		prefix string
		sc     tomlScanner
	)
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		sc.line = n
		if sc.inML != "" || sc.depth > 0 {
			sc.scan(line)
			continue
		}
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, reviewPrefix):
			notes = append(notes, reviewNote{line: n, field: prefix, text: strings.TrimSpace(t[len(reviewPrefix):])})
		case t == "" || t[0] == '#':
			continue
		case strings.HasPrefix(t, "[["):
			end := strings.Index(t, "]]")
			if end < 0 {
				continue
			}
			segs := splitKey(t[2:end])
			if len(segs) == 0 {
				continue
			}
			p := resolve(counts, "", segs[:len(segs)-1])
			p = join(p, segs[len(segs)-1])
			counts[p]++
			record(lines, p, n) // the array itself: its first element
			p = fmt.Sprintf("%s[%d]", p, counts[p])
			record(lines, p, n)
			prefix = p
		case t[0] == '[':
			end := strings.Index(t, "]")
			if end < 0 {
				continue
			}
			p := resolve(counts, "", splitKey(t[1:end]))
			record(lines, p, n)
			prefix = p
		default:
			eq := keyEnd(t)
			if eq < 0 {
				continue
			}
			segs := splitKey(t[:eq])
			if len(segs) == 0 {
				continue
			}
			p := prefix
			for _, s := range segs {
				p = join(p, s)
				record(lines, p, n)
			}
			sc.arr, sc.elems, sc.lines = p, 0, lines
			sc.scan(t[eq+1:])
		}
	}
	return lines, notes
}

func record(lines map[string]int, path string, n int) {
	if _, ok := lines[path]; !ok {
		lines[path] = n
	}
}

func join(prefix, seg string) string {
	if prefix == "" {
		return seg
	}
	return prefix + "." + seg
}

// resolve builds a path from header segments, indexing arrays of tables by
// their latest element.
func resolve(counts map[string]int, p string, segs []string) string {
	for _, s := range segs {
		p = join(p, s)
		if c := counts[p]; c > 0 {
			p = fmt.Sprintf("%s[%d]", p, c)
		}
	}
	return p
}

// keyEnd returns the index of the '=' ending the key at the start of t, or -1.
func keyEnd(t string) int {
	var quote byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '=':
			return i
		case c == '#' || c == '[' || c == '{' || c == ',':
			return -1
		}
	}
	return -1
}

// splitKey splits a dotted key into its segments, unquoting quoted ones.
func splitKey(k string) []string {
	var segs []string
	var cur strings.Builder
	var quote byte
	has := false
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' && i+1 < len(k) {
				i++
				cur.WriteByte(k[i])
			} else if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			has = true
		case c == '.':
			segs = append(segs, cur.String())
			cur.Reset()
			has = false
		case c == ' ' || c == '\t':
		default:
			cur.WriteByte(c)
			has = true
		}
	}
	if has || cur.Len() > 0 {
		segs = append(segs, cur.String())
	}
	return segs
}

// tomlScanner follows strings, comments and bracket nesting across lines so
// that keyLines only reads keys at the top level of a table.
type tomlScanner struct {
	inML  string // `"""` or `'''` while inside a multi-line string
	depth int    // open [ and { of a value

	// While a value that is an inline array is scanned, each element's
	// line is recorded as "key[n]" (hints = ["…", { when = "…" }]).
	arr    string         // the key whose value is scanned
	elems  int            // elements of arr seen so far
	expect bool           // the next character at depth 1 starts an element
	lines  map[string]int // where element lines go
	line   int            // the line being scanned
}

func (sc *tomlScanner) scan(s string) {
	for i := 0; i < len(s); i++ {
		if sc.inML == "" && sc.arr != "" && sc.depth == 1 && sc.expect {
			switch s[i] {
			case ' ', '\t', ',', ']', '#', '\r':
			default:
				sc.elems++
				sc.expect = false
				record(sc.lines, fmt.Sprintf("%s[%d]", sc.arr, sc.elems), sc.line)
			}
		}
		if sc.inML != "" {
			j := closing(s[i:], sc.inML)
			if j < 0 {
				return
			}
			i += j + len(sc.inML) - 1
			sc.inML = ""
			continue
		}
		c := s[i]
		switch c {
		case '#':
			return
		case '[', '{':
			sc.depth++
			if sc.depth == 1 && c == '[' && sc.arr != "" {
				sc.expect = true
			} else if sc.depth == 1 {
				sc.arr = "" // an inline table: its keys are not recorded
			}
		case ']', '}':
			if sc.depth > 0 {
				sc.depth--
			}
			if sc.depth == 0 {
				sc.arr = ""
			}
		case ',':
			if sc.depth == 1 {
				sc.expect = true
			}
		case '"', '\'':
			delim := strings.Repeat(string(c), 3)
			if strings.HasPrefix(s[i:], delim) {
				sc.inML = delim
				i += 2
				continue
			}
			j := closing(s[i+1:], string(c))
			if j < 0 {
				return
			}
			i += j + 1
		}
	}
}

// closing finds the closing delimiter in s, skipping backslash escapes for
// basic strings; -1 when the line does not close it.
func closing(s, delim string) int {
	escapes := delim[0] == '"'
	for i := 0; i < len(s); i++ {
		if escapes && s[i] == '\\' {
			i++
			continue
		}
		if strings.HasPrefix(s[i:], delim) {
			// A multi-line string may end with up to two extra quotes.
			for len(delim) == 3 && i+3 < len(s) && s[i+3] == delim[0] {
				i++
			}
			return i
		}
	}
	return -1
}

// lineOf returns the line of a field path, falling back to the nearest
// enclosing field, then to the runbook's own line.
func (r *Runbook) lineOf(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if n, ok := r.lines[p]; ok {
			return n
		}
	}
	return r.Line
}

// parentPath strips the last ".key" or "[n]" of a path.
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}
