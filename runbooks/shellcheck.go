package runbooks

import (
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// HiddenFailure is a command whose failure a fallback (`|| echo`,
// `|| true`, `|| :`) turns into success.
type HiddenFailure struct {
	Command  string // the command that can fail, as written
	Fallback string // "|| echo", "|| true"…
}

// fallbacks are the commands that, after ||, make a failure a success.
var fallbacks = map[string]bool{"echo": true, "true": true, ":": true, "printf": true}

// HiddenFailures finds the `A || echo …` (or true, :) of a shell command
// whose A can fail for a reason other than "nothing matched": A's pipeline
// starts with a command other than echo or printf, or with a grep that does
// not read a captured variable (<<< or a here-document). A command that
// does not parse is reported whole when it holds such a fallback.
func HiddenFailures(cmd string) []HiddenFailure {
	// Placeholders become same-length words so positions match cmd.
	b := []byte(cmd)
	for _, r := range Refs(cmd) {
		copy(b[r.Start:r.End], strings.Repeat("x", r.End-r.Start))
	}
	src := string(b)
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), "")
	if err != nil {
		if m := regexp.MustCompile(`\|\|\s*(echo|true|:)\b`).FindStringSubmatch(cmd); m != nil {
			return []HiddenFailure{{Command: clip(cmd), Fallback: "|| " + m[1]}}
		}
		return nil
	}
	var out []HiddenFailure
	syntax.Walk(f, func(n syntax.Node) bool {
		b, ok := n.(*syntax.BinaryCmd)
		if !ok || b.Op != syntax.OrStmt || b.Y == nil {
			return true
		}
		name := callName(b.Y)
		if !fallbacks[name] {
			return true
		}
		first := pipelineSource(b.X)
		if safeSource(first) {
			return true
		}
		text := cmd[first.Pos().Offset():min(len(cmd), int(first.End().Offset()))]
		out = append(out, HiddenFailure{Command: clip(text), Fallback: "|| " + name})
		return true
	})
	return out
}

// pipelineSource is the first command of a pipeline (or the statement).
func pipelineSource(s *syntax.Stmt) *syntax.Stmt {
	for s != nil {
		b, ok := s.Cmd.(*syntax.BinaryCmd)
		if !ok || (b.Op != syntax.Pipe && b.Op != syntax.PipeAll) {
			return s
		}
		s = b.X
	}
	return s
}

func callName(s *syntax.Stmt) string {
	if s == nil {
		return ""
	}
	c, ok := s.Cmd.(*syntax.CallExpr)
	if !ok || len(c.Args) == 0 {
		return ""
	}
	return c.Args[0].Lit()
}

// safeSource: output already captured is being filtered, so a failure can
// only mean "nothing matched".
func safeSource(s *syntax.Stmt) bool {
	switch callName(s) {
	case "echo", "printf":
		return true
	case "grep", "egrep", "fgrep":
		for _, r := range s.Redirs {
			if r.Op == syntax.WordHdoc || r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc {
				return true
			}
		}
	}
	return false
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
