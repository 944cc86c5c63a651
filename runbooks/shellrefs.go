package runbooks

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// QuotedRefError is a placeholder written where bash would not take the
// shell-quoted value as one plain word: inside quotes ('…', "…", $'…'),
// backquotes or a here-document, or right after a backslash. The quotes
// drnav adds would then be undone or shown.
type QuotedRefError struct {
	Ref   Ref
	Where string // "single quotes", "double quotes", …
}

func (e *QuotedRefError) Error() string {
	return fmt.Sprintf("placeholder {{%s}} is inside %s in the shell command; write it bare, drnav shell-quotes every value", e.Ref.Name, e.Where)
}

// ShellRefs returns the placeholders of a bash command, checked with
// mvdan.cc/sh's parser: each must stand where a shell-quoted word keeps its
// meaning (see QuotedRefError). A command that does not parse as bash is an
// error too: bash would refuse it as well.
func ShellRefs(cmd string) ([]Ref, error) {
	refs := Refs(cmd)
	if len(refs) == 0 {
		return nil, nil
	}
	// Each placeholder becomes a same-length plain word, so offsets match.
	src := []byte(cmd)
	for _, r := range refs {
		for i := r.Start; i < r.End; i++ {
			src[i] = 'x'
		}
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(string(src)), "")
	if err != nil {
		return nil, fmt.Errorf("the shell command does not parse as bash: %w", err)
	}
	spans := quotingSpans(f)
	for _, r := range refs {
		if escaped(cmd, r.Start) {
			return nil, &QuotedRefError{Ref: r, Where: "a backslash escape"}
		}
		if where := innermost(spans, r.Start); where != "" {
			return nil, &QuotedRefError{Ref: r, Where: where}
		}
	}
	return refs, nil
}

// span is a region of the command with its quoting: where is "" for a
// region that starts fresh, unquoted ($(…), <(…)), else what quotes it.
type span struct {
	start, end int
	where      string
}

func quotingSpans(f *syntax.File) []span {
	var out []span
	add := func(n syntax.Node, where string) {
		out = append(out, span{int(n.Pos().Offset()), int(n.End().Offset()), where})
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.SglQuoted:
			if n.Dollar {
				add(n, "ANSI-C quotes ($'…')")
			} else {
				add(n, "single quotes")
			}
		case *syntax.DblQuoted:
			add(n, "double quotes")
		case *syntax.CmdSubst:
			if n.Backquotes {
				add(n, "backquotes")
			} else {
				add(n, "")
			}
		case *syntax.ProcSubst:
			add(n, "")
		case *syntax.Redirect:
			if n.Hdoc != nil {
				add(n.Hdoc, "a here-document")
			}
		}
		return true
	})
	return out
}

// innermost is the quoting of the smallest span holding offset i ("" when
// none does or the innermost one starts fresh). Spans nest, so the
// smallest is the innermost.
func innermost(spans []span, i int) string {
	best, where := -1, ""
	for _, s := range spans {
		if s.start <= i && i < s.end && (best < 0 || s.end-s.start < best) {
			best, where = s.end-s.start, s.where
		}
	}
	return where
}

// escaped reports whether the byte at i follows an odd run of backslashes.
func escaped(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}
