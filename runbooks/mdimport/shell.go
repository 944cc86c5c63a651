package mdimport

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// command is one top-level shell statement of a fenced block, analysed.
type command struct {
	text    string // the statement's source, placeholders rewritten
	line    int    // its first line in the plan
	verb    string // "kubectl rollout restart", for titles
	trivial bool   // echo/printf/sleep only: folded into the next step
	context bool   // cd/export/assignment: prefixed to the steps after it
	output  []string

	destructive []string // why it changes state
	endless     []string // why it never ends by itself
	interactive []string // why it needs a terminal
	notes       []string // other review notes (typed-action suggestions…)
}

// blockLine is one line of a fenced block and its line in the plan.
type blockLine struct {
	text string
	line int
}

// shellItem is a comment line or a statement, in block order.
type shellItem struct {
	comment string // set for a comment line
	cmd     *command
	line    int
}

var (
	angleRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<([A-Za-z][A-Za-z0-9_-]*)>`) })
	cronRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\s*((?:[0-9*][0-9*/,-]*\s+){4}[0-9*][0-9*/,-]*)\s+(\S.*)$`)
	})
	upperRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`) })
)

// wellKnownEnv are environment variables a command may use as they are.
var wellKnownEnv = []string{"HOME", "PATH", "USER", "PWD", "SHELL", "KUBECONFIG", "HOSTNAME",
	"TMPDIR", "LANG", "TERM", "RANDOM", "LOGNAME", "EDITOR", "PGHOST", "PGPORT", "PGUSER",
	"PGDATABASE", "PGPASSWORD", "OLDPWD", "SECONDS", "UID", "EUID"}

// analyseShell splits a fenced block into comment lines and statements.
// console is true for console/shell-session blocks: "$ " starts a command,
// other lines are output. Failing to parse the block is not an error: each
// line becomes a statement with a review note.
func analyseShell(lines []blockLine, console bool, vars *registry) []shellItem {
	// Work on a copy: the rewrites below keep the number of lines.
	// A line never holds a newline (inline code may): split it.
	var split []blockLine
	for _, l := range lines {
		for _, t := range strings.Split(l.text, "\n") {
			split = append(split, blockLine{t, l.line})
		}
	}
	lines = split
	src := make([]string, len(lines))
	lineNotes := map[int][]string{}
	outputs := map[int][]string{} // block line of a command → its output
	lastCmd := -1
	for i, l := range lines {
		t := l.text
		if console {
			trim := strings.TrimSpace(t)
			switch {
			case trim == "$" || strings.HasPrefix(trim, "$ "):
				t = strings.TrimSpace(strings.TrimPrefix(trim, "$"))
				lastCmd = i
			case strings.HasPrefix(trim, "> ") && lastCmd >= 0 && lastCmd == i-1:
				t = strings.TrimPrefix(trim, "> ")
				lastCmd = i
			case lastCmd == i-1 && i > 0 && strings.HasSuffix(strings.TrimSpace(src[i-1]), "\\"):
				lastCmd = i
			case trim == "" || strings.HasPrefix(trim, "#"):
			default:
				if lastCmd >= 0 {
					outputs[lastCmd] = append(outputs[lastCmd], trim)
				}
				t = ""
			}
		}
		if m := cronRE().FindStringSubmatch(t); m != nil && !strings.HasPrefix(strings.TrimSpace(t), "#") {
			t = m[2]
			lineNotes[i] = append(lineNotes[i], fmt.Sprintf("was a crontab entry (%s): drnav runs it once, now; the schedule stays with cron", m[1]))
		}
		t = angleRE().ReplaceAllStringFunc(t, func(s string) string {
			return "{{" + vars.placeholder(s[1:len(s)-1], l.line) + "}}"
		})
		src[i] = t
	}
	text := strings.Join(src, "\n")
	file, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(text), "")
	if err != nil {
		return fallbackShell(lines, src, err, vars)
	}
	assigned := assignedNames(file)
	inStmt := map[int]bool{}
	var items []shellItem
	for _, st := range file.Stmts {
		first, last := int(st.Pos().Line())-1, int(st.End().Line())-1
		for i := first; i <= last; i++ {
			inStmt[i] = true
		}
		a := &analyser{vars: vars, assigned: assigned, lines: lines, offLine: lineStarts(text)}
		a.walk(st)
		start, end := int(st.Pos().Offset()), int(st.End().Offset())
		c := &command{
			text:        a.rewrite(text, start, end),
			line:        lines[min(first, len(lines)-1)].line,
			verb:        a.verb,
			trivial:     trivialStmt(st),
			context:     contextStmt(st),
			destructive: a.destructive,
			endless:     a.endless,
			interactive: a.interactive,
			notes:       a.notes,
		}
		for i := first; i <= last; i++ {
			c.notes = append(c.notes, lineNotes[i]...)
			c.output = append(c.output, outputs[i]...)
		}
		if _, ok := st.Cmd.(*syntax.ForClause); ok && c.verb == "" {
			c.verb = "loop"
		}
		items = append(items, shellItem{cmd: c, line: c.line})
	}
	for i, s := range src {
		if t := strings.TrimSpace(s); strings.HasPrefix(t, "#") && !inStmt[i] {
			items = append(items, shellItem{comment: strings.TrimSpace(strings.TrimLeft(t, "#")), line: lines[i].line})
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].line < items[j].line })
	return items
}

// contextStmt reports whether a statement only sets up the shell for the
// next ones (cd, export, VAR=…): it is repeated in each later step.
func contextStmt(st *syntax.Stmt) bool {
	c, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(st.Redirs) > 0 {
		return false
	}
	if hasCmdSubst(st) {
		return false // X=$(…) is not repeated: it rides along with the next step
	}
	if len(c.Args) == 0 {
		return len(c.Assigns) > 0
	}
	return slices.Contains(contextCmds, c.Args[0].Lit())
}

func hasCmdSubst(n syntax.Node) bool {
	found := false
	syntax.Walk(n, func(n syntax.Node) bool {
		if _, ok := n.(*syntax.CmdSubst); ok {
			found = true
		}
		return !found
	})
	return found
}

// trivialStmt reports whether a statement only prints or waits: it rides
// along with the next step.
func trivialStmt(st *syntax.Stmt) bool {
	c, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(st.Redirs) > 0 {
		return false
	}
	if len(c.Args) == 0 {
		return len(c.Assigns) > 0 // X=$(…)
	}
	switch c.Args[0].Lit() {
	case "echo", "printf", "sleep":
		return true
	}
	return false
}

// fallbackShell makes one statement per non-comment line (joining
// backslash continuations) when the block is not valid shell.
func fallbackShell(lines []blockLine, src []string, perr error, vars *registry) []shellItem {
	var items []shellItem
	var cur *command
	for i, s := range src {
		t := strings.TrimSpace(s)
		switch {
		case cur != nil:
			cur.text += "\n" + s
		case t == "":
			continue
		case strings.HasPrefix(t, "#"):
			items = append(items, shellItem{comment: strings.TrimSpace(strings.TrimLeft(t, "#")), line: lines[i].line})
			continue
		default:
			cur = &command{text: t, line: lines[i].line, verb: strings.Fields(t)[0],
				destructive: []string{"not valid shell, so not analysed: assumed to change state"},
				notes:       []string{"shell syntax error in the block: " + perr.Error()}}
		}
		if !strings.HasSuffix(t, "\\") {
			items = append(items, shellItem{cmd: cur, line: cur.line})
			cur = nil
		}
	}
	if cur != nil {
		items = append(items, shellItem{cmd: cur, line: cur.line})
	}
	_ = vars
	return items
}

// lineStarts returns the offset of each line of text.
func lineStarts(text string) []int {
	starts := []int{0}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// assignedNames lists the shell variables the block sets itself (VAR=…,
// for VAR in, read VAR): those are not placeholders.
func assignedNames(f *syntax.File) map[string]bool {
	names := map[string]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.Assign:
			if x.Name != nil {
				names[x.Name.Value] = true
			}
		case *syntax.WordIter:
			if x.Name != nil {
				names[x.Name.Value] = true
			}
		case *syntax.CallExpr:
			if len(x.Args) > 1 && x.Args[0].Lit() == "read" {
				for _, w := range x.Args[1:] {
					names[w.Lit()] = true
				}
			}
		}
		return true
	})
	return names
}

// replacement rewrites text[start:end] of the block.
type replacement struct {
	start, end int
	text       string
}

// analyser walks one statement.
type analyser struct {
	vars     *registry
	assigned map[string]bool
	lines    []blockLine
	offLine  []int

	verb        string
	destructive []string
	endless     []string
	interactive []string
	notes       []string
	repl        []replacement
	doneParams  map[*syntax.ParamExp]bool
}

// planLine is the plan line of a block offset.
func (a *analyser) planLine(off int) int {
	i := sort.Search(len(a.offLine), func(i int) bool { return a.offLine[i] > off }) - 1
	if i < 0 || i >= len(a.lines) {
		return 0
	}
	return a.lines[i].line
}

func (a *analyser) addUnique(list *[]string, s string) {
	if !slices.Contains(*list, s) {
		*list = append(*list, s)
	}
}

func (a *analyser) walk(st *syntax.Stmt) {
	a.doneParams = map[*syntax.ParamExp]bool{}
	syntax.Walk(st, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.Stmt:
			if call, ok := x.Cmd.(*syntax.CallExpr); ok {
				a.call(call, x.Redirs)
			} else {
				a.redirects("", x.Redirs)
			}
		case *syntax.DblQuoted:
			a.quotedParams(x)
		case *syntax.ParamExp:
			a.param(x, false)
		}
		return true
	})
}

// quotedParams handles "$POD" (the whole quoted word is the placeholder:
// the quotes go, drnav quotes the value) and "… $POD …" (the quotes are
// closed around the placeholder, "… "{{pod}}" …", with a note).
func (a *analyser) quotedParams(q *syntax.DblQuoted) {
	if len(q.Parts) == 1 {
		if p, ok := q.Parts[0].(*syntax.ParamExp); ok && a.isPlaceholder(p) {
			name := a.vars.placeholder(p.Param.Value, a.planLine(int(p.Pos().Offset())))
			a.repl = append(a.repl, replacement{int(q.Pos().Offset()), int(q.End().Offset()), "{{" + name + "}}"})
			a.doneParams[p] = true
			return
		}
	}
	for _, part := range q.Parts {
		if p, ok := part.(*syntax.ParamExp); ok {
			a.param(p, true)
		}
	}
}

func (a *analyser) isPlaceholder(p *syntax.ParamExp) bool {
	if p.Param == nil || !upperRE().MatchString(p.Param.Value) || a.assigned[p.Param.Value] || slices.Contains(wellKnownEnv, p.Param.Value) {
		return false
	}
	return !p.Excl && !p.Length && p.Index == nil && p.Slice == nil && p.Repl == nil && p.Exp == nil && p.Names == 0
}

func (a *analyser) param(p *syntax.ParamExp, quoted bool) {
	if a.doneParams[p] || !a.isPlaceholder(p) {
		return
	}
	a.doneParams[p] = true
	name := a.vars.placeholder(p.Param.Value, a.planLine(int(p.Pos().Offset())))
	ph := "{{" + name + "}}"
	if quoted {
		// A placeholder may not stand inside quotes (drnav shell-quotes the
		// value): close the quotes around it, "pod is "{{pod}}"", which
		// bash joins into the same one word.
		ph = `"` + ph + `"`
		a.addUnique(&a.notes, fmt.Sprintf("{{%s}} was inside double quotes: the quotes are closed around it (\"…\"{{%s}}\"…\"), as drnav shell-quotes the value", name, name))
	}
	a.repl = append(a.repl, replacement{int(p.Pos().Offset()), int(p.End().Offset()), ph})
}

// rewrite returns text[start:end] with the replacements inside it applied.
func (a *analyser) rewrite(text string, start, end int) string {
	rs := slices.Clone(a.repl)
	sort.Slice(rs, func(i, j int) bool { return rs[i].start > rs[j].start })
	s := text[start:end]
	last := len(s) + 1
	for _, r := range rs {
		if r.start < start || r.end > end || r.end-start > last {
			continue // outside the statement, or overlapping one applied
		}
		s = s[:r.start-start] + r.text + s[r.end-start:]
		last = r.start - start
	}
	return s
}

// word is a word's literal value (quotes removed) and whether it is wholly
// literal and unquoted (only then can part of it be replaced).
type word struct {
	w       *syntax.Word
	value   string
	literal bool // no expansions
	bare    bool // one unquoted literal part
}

func mkWord(w *syntax.Word) word {
	out := word{w: w, literal: true, bare: len(w.Parts) == 1}
	var b strings.Builder
	for _, p := range w.Parts {
		switch x := p.(type) {
		case *syntax.Lit:
			b.WriteString(x.Value)
		case *syntax.SglQuoted:
			b.WriteString(x.Value)
			out.bare = false
		case *syntax.DblQuoted:
			out.bare = false
			for _, q := range x.Parts {
				if l, ok := q.(*syntax.Lit); ok {
					b.WriteString(l.Value)
				} else {
					out.literal = false
				}
			}
		default:
			out.literal = false
			out.bare = false
		}
	}
	out.value = b.String()
	if out.bare {
		_, out.bare = w.Parts[0].(*syntax.Lit)
	}
	return out
}

// found turns the hard-coded value of w (from byte from of its value on) into
// a variable of that kind.
func (a *analyser) found(kind string, w word, from int) {
	v := w.value[from:]
	if v == "" || !w.literal || strings.Contains(v, "{{") {
		return
	}
	off := int(w.w.Pos().Offset())
	name := a.vars.found(kind, v, a.planLine(off))
	switch {
	case w.bare:
		a.repl = append(a.repl, replacement{off + from, int(w.w.End().Offset()), "{{" + name + "}}"})
	case from == 0:
		a.repl = append(a.repl, replacement{off, int(w.w.End().Offset()), "{{" + name + "}}"})
	default:
		a.vars.unreplaced(name, a.planLine(off))
	}
}

var (
	readOnly = []string{"echo", "printf", "cat", "ls", "grep", "egrep", "fgrep", "jq", "yq", "sleep",
		"nslookup", "dig", "host", "head", "wc", "sort", "uniq", "awk", "cut", "tr", "date", "df", "du",
		"ps", "uptime", "free", "env", "printenv", "test", "[", "[[", "true", "false", "which", "whoami",
		"hostname", "id", "uname", "pg_isready", "pg_dump", "openssl", "nc", "traceroute", "ss", "netstat",
		"stat", "file", "diff", "cmp", "md5sum", "sha256sum", "base64", "column", "seq", "basename",
		"dirname", "realpath", "readlink", "wget", "tail", "journalctl", "ping", "curl", "sed", "find",
		"xxd", "nproc", "lsof", "getent", "tee"}
	contextCmds = []string{"cd", "export", "set", "source", ".", "unset", "alias", "declare", "local", "readonly", "shopt", "pushd", "popd"}
	terminalUIs = []string{"top", "htop", "less", "more", "vi", "vim", "nano", "man", "k9s", "psql-interactive"}
	wrappers    = []string{"sudo", "nohup", "time", "env", "timeout", "xargs", "nice", "ionice", "stdbuf", "watch"}
)

func (a *analyser) call(c *syntax.CallExpr, redirs []*syntax.Redirect) {
	words := make([]word, len(c.Args))
	for i, w := range c.Args {
		words[i] = mkWord(w)
	}
	if len(words) == 0 {
		a.redirects("", redirs)
		return
	}
	a.command(words, redirs)
}

// command analyses a command line (after any wrapper).
func (a *analyser) command(words []word, redirs []*syntax.Redirect) {
	// Strip wrappers: sudo, timeout 5, env A=B, watch…
	for len(words) > 0 && slices.Contains(wrappers, path.Base(words[0].value)) {
		name := path.Base(words[0].value)
		if name == "watch" {
			a.addUnique(&a.endless, "watch repeats until stopped")
		}
		words = words[1:]
		for len(words) > 0 && (strings.HasPrefix(words[0].value, "-") || strings.Contains(words[0].value, "=") ||
			(name == "timeout" && len(words[0].value) > 0 && words[0].value[0] >= '0' && words[0].value[0] <= '9')) {
			words = words[1:]
		}
	}
	if len(words) == 0 {
		return
	}
	if !words[0].literal {
		a.addUnique(&a.destructive, "the command name is computed, so not analysed: assumed to change state")
		a.redirects("?", redirs)
		return
	}
	name := path.Base(words[0].value)
	args := words[1:]
	if a.verb == "" {
		a.verb = name
	}
	has := func(flags ...string) bool {
		for _, w := range args {
			for _, f := range flags {
				if w.value == f || strings.HasPrefix(w.value, f+"=") {
					return true
				}
			}
		}
		return false
	}
	switch name {
	case "kubectl", "oc":
		a.kubectl(name, args)
	case "psql":
		a.psql(args, redirs)
	case "mysql":
		if !has("-e", "--execute") || !readOnlySQL(flagValue(args, "-e", "--execute")) {
			a.addUnique(&a.destructive, "mysql runs SQL that may change data")
		}
	case "pg_restore":
		a.addUnique(&a.destructive, "pg_restore loads a dump over the database")
		a.addUnique(&a.notes, `a restore: consider critical = true, or the typed action sql = { action = "restore", file = "…" } (plain SQL dumps)`)
		for _, w := range positional(args, []string{"-d", "--dbname", "-U", "-h", "-p", "-j", "-n", "-t", "-f", "--file"}) {
			a.found("backup", w, 0)
		}
	case "rm":
		if has("-rf", "-fr", "-r", "-R", "--recursive") {
			a.addUnique(&a.destructive, "rm -r deletes files recursively, without asking")
		} else {
			a.addUnique(&a.destructive, "rm deletes files")
		}
	case "mv", "cp", "dd", "truncate", "shred", "chmod", "chown", "ln", "install", "rsync", "mkdir", "touch", "scp", "tar", "unzip", "gzip", "gunzip":
		a.addUnique(&a.destructive, name+" changes files")
	case "systemctl", "service":
		sub := firstPositional(args)
		if name == "service" && len(args) > 1 {
			sub = args[1].value
		}
		if !slices.Contains([]string{"status", "is-active", "is-enabled", "is-failed", "list-units", "list-timers", "show", "cat"}, sub) {
			a.addUnique(&a.destructive, fmt.Sprintf("%s %s changes a service", name, sub))
		}
	case "reboot", "shutdown", "halt", "poweroff", "kill", "pkill", "killall", "dropdb", "createdb", "pg_ctl", "pg_resetwal", "pg_ctlcluster", "mkfs", "fdisk", "parted", "iptables", "crontab":
		a.addUnique(&a.destructive, name+" changes the system")
	case "curl":
		m := strings.ToUpper(flagValue(args, "-X", "--request"))
		switch {
		case m != "" && m != "GET" && m != "HEAD":
			a.addUnique(&a.destructive, "curl sends a "+m+" request")
		case has("-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "-F", "--form", "-T", "--upload-file", "--json"):
			a.addUnique(&a.destructive, "curl sends data (a POST)")
		}
		for _, w := range args {
			if strings.HasPrefix(w.value, "http://") || strings.HasPrefix(w.value, "https://") {
				a.found("url", w, 0)
			}
		}
	case "sed":
		if has("-i", "--in-place") {
			a.addUnique(&a.destructive, "sed -i edits files in place")
		}
	case "find":
		if has("-delete", "-exec", "-execdir") {
			a.addUnique(&a.destructive, "find -delete/-exec changes files")
		}
	case "tail", "journalctl":
		if has("-f", "-F", "--follow") {
			a.addUnique(&a.endless, name+" -f follows until stopped")
		}
	case "ping":
		if !has("-c") {
			a.addUnique(&a.endless, "ping without -c never stops")
		}
	case "helm", "docker", "podman", "terraform", "git", "aws", "gcloud", "az", "velero", "etcdctl":
		a.tool(name, args)
	case "tee":
		a.addUnique(&a.destructive, "tee writes files")
	case "ssh":
		if len(positional(args, []string{"-i", "-p", "-l", "-o", "-J", "-F"})) <= 1 {
			a.addUnique(&a.interactive, "ssh opens a remote shell")
		} else {
			a.addUnique(&a.destructive, "ssh runs a remote command: assumed to change state")
		}
	default:
		switch {
		case slices.Contains(terminalUIs, name):
			a.addUnique(&a.interactive, name+" needs a terminal")
		case slices.Contains(readOnly, name), slices.Contains(contextCmds, name):
		case strings.Contains(name, "{{"):
			a.addUnique(&a.destructive, "the command is a placeholder: assumed to change state")
		default:
			a.addUnique(&a.destructive, fmt.Sprintf("%s is not a command drnav knows: assumed to change state", name))
		}
	}
	a.redirects(name, redirs)
}

// tool handles CLIs whose subcommand says whether they change state.
func (a *analyser) tool(name string, args []word) {
	var sub []string
	for _, w := range args {
		if !strings.HasPrefix(w.value, "-") {
			sub = append(sub, w.value)
		}
	}
	reads := map[string][]string{
		"helm":      {"list", "ls", "status", "get", "history", "show", "search", "template", "lint", "version", "env"},
		"docker":    {"ps", "logs", "inspect", "images", "version", "info", "stats", "top", "port"},
		"podman":    {"ps", "logs", "inspect", "images", "version", "info", "stats", "top", "port"},
		"terraform": {"plan", "show", "output", "validate", "version", "providers", "graph"},
		"git":       {"status", "log", "diff", "show", "fetch", "branch", "remote", "rev-parse"},
		"velero":    {"get", "describe", "version"},
		"etcdctl":   {"get", "endpoint", "member", "version"},
	}
	read := false
	if r, ok := reads[name]; ok {
		read = len(sub) > 0 && slices.Contains(r, sub[0])
	} else { // aws, gcloud, az: the verb is somewhere in the words
		for _, s := range sub {
			if strings.HasPrefix(s, "describe") || strings.HasPrefix(s, "list") || strings.HasPrefix(s, "get") || s == "show" || s == "ls" {
				read = true
			}
		}
	}
	if !read {
		a.addUnique(&a.destructive, fmt.Sprintf("%s %s changes state", name, strings.Join(first(sub, 2), " ")))
	}
	if (name == "docker" || name == "podman") && len(sub) > 0 {
		if sub[0] == "logs" && slices.ContainsFunc(args, func(w word) bool { return w.value == "-f" || w.value == "--follow" }) {
			a.addUnique(&a.endless, name+" logs -f follows until stopped")
		}
		if sub[0] == "exec" && slices.ContainsFunc(args, func(w word) bool { return w.value == "-it" || w.value == "-ti" }) {
			a.addUnique(&a.interactive, name+" exec -it needs a terminal")
		}
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// redirects flags writes to files and notes restores from files.
func (a *analyser) redirects(name string, redirs []*syntax.Redirect) {
	for _, r := range redirs {
		if r.Word == nil {
			continue
		}
		w := mkWord(r.Word)
		switch r.Op {
		case syntax.RdrOut, syntax.AppOut, syntax.RdrAll, syntax.AppAll, syntax.ClbOut:
			if !slices.Contains([]string{"/dev/null", "/dev/stderr", "/dev/stdout"}, w.value) {
				a.addUnique(&a.destructive, "writes the file "+w.value)
			}
		case syntax.RdrIn:
			if name == "psql" || name == "mysql" || name == "pg_restore" {
				a.addUnique(&a.destructive, name+" loads "+w.value+": a restore over the database")
				if name == "psql" {
					a.addUnique(&a.notes, `a restore: consider the typed action sql = { action = "restore", file = "…" } (progress, and critical = true to make the operator type the database name)`)
				}
				a.found("backup", w, 0)
			}
		}
	}
}

func flagValue(args []word, flags ...string) string {
	for i, w := range args {
		for _, f := range flags {
			if w.value == f && i+1 < len(args) {
				return args[i+1].value
			}
			if strings.HasPrefix(w.value, f+"=") {
				return strings.TrimPrefix(w.value, f+"=")
			}
		}
	}
	return ""
}

// positional returns the words that are neither flags nor flag values.
func positional(args []word, valueFlags []string) []word {
	var out []word
	for i := 0; i < len(args); i++ {
		v := args[i].value
		switch {
		case v == "--":
			return out
		case strings.HasPrefix(v, "-"):
			if slices.Contains(valueFlags, v) {
				i++
			}
		default:
			out = append(out, args[i])
		}
	}
	return out
}

func firstPositional(args []word) string {
	for _, w := range args {
		if !strings.HasPrefix(w.value, "-") {
			return w.value
		}
	}
	return ""
}

var kubectlGlobal = []string{"-n", "--namespace", "--context", "--kubeconfig", "-s", "--server", "--cluster", "--user", "--as", "--token", "--request-timeout"}

func (a *analyser) kubectl(name string, args []word) {
	// Global flags may come before the verb.
	i := 0
	for i < len(args) && strings.HasPrefix(args[i].value, "-") {
		if slices.Contains(kubectlGlobal, args[i].value) {
			if (args[i].value == "-n" || args[i].value == "--namespace") && i+1 < len(args) {
				a.found("namespace", args[i+1], 0)
			}
			i++
		}
		i++
	}
	if i >= len(args) {
		return
	}
	verb := args[i].value
	rest := args[i+1:]
	var inner []word
	if k := slices.IndexFunc(rest, func(w word) bool { return w.value == "--" }); k >= 0 {
		inner = rest[k+1:]
		rest = rest[:k]
	}
	streaming := slices.Contains([]string{"logs", "exec", "attach", "port-forward", "cp", "debug", "run"}, verb)
	valueFlags := []string{"-n", "--namespace", "-l", "--selector", "-c", "--container", "-o", "--output",
		"--context", "--kubeconfig", "--since", "--since-time", "--tail", "--sort-by", "--field-selector",
		"-p", "--patch", "--type", "--replicas", "--timeout", "--image", "--grace-period", "--for", "-k",
		"--kustomize", "--current-replicas", "--to-revision", "-L", "--label-columns", "--template", "--as",
		"--max-log-requests", "--limit-bytes", "--cluster", "--user", "--revision"}
	if !streaming {
		valueFlags = append(valueFlags, "-f", "--filename")
	}
	var pos []word
	flag := func(f string) bool {
		return slices.ContainsFunc(rest, func(w word) bool { return w.value == f })
	}
	for j := 0; j < len(rest); j++ {
		v := rest[j].value
		key, val, hasEq := strings.Cut(v, "=")
		if !strings.HasPrefix(v, "-") {
			pos = append(pos, rest[j])
			continue
		}
		var vw word
		var from int
		switch {
		case hasEq:
			vw, from = rest[j], len(key)+1
			_ = val
		case slices.Contains(valueFlags, v) && j+1 < len(rest):
			j++
			vw = rest[j]
		default:
			continue
		}
		switch key {
		case "-n", "--namespace":
			a.found("namespace", vw, from)
		case "-l", "--selector":
			a.found("selector", vw, from)
		case "-f", "--filename", "-k", "--kustomize":
			a.found("manifests", vw, from)
		}
	}
	sub := ""
	if len(pos) > 0 {
		sub = pos[0].value
	}
	// deployment/NAME anywhere, or "deployment NAME".
	for j, w := range pos {
		for _, p := range []string{"deployment/", "deploy/", "deployments/", "deployment.apps/"} {
			if strings.HasPrefix(w.value, p) {
				a.found("deployment", w, len(p))
			}
		}
		if slices.Contains([]string{"deployment", "deploy", "deployments"}, w.value) && j+1 < len(pos) && (verb == "scale" || verb == "rollout" || verb == "describe" || verb == "get" || verb == "delete") {
			a.found("deployment", pos[j+1], 0)
		}
	}
	a.verb = name + " " + verb
	switch {
	case (verb == "get" || verb == "describe" || verb == "delete") && sub != "" && !strings.Contains(sub, "{{"):
		a.verb += " " + strings.SplitN(sub, "/", 2)[0]
	case len(inner) > 0 && inner[0].literal:
		a.verb += " " + path.Base(inner[0].value)
	}
	changes := func(why string) { a.addUnique(&a.destructive, why) }
	switch verb {
	case "get":
		if flag("-w") || flag("--watch") || flag("--watch-only") {
			a.addUnique(&a.endless, "kubectl get -w watches until stopped")
		}
	case "describe", "explain", "top", "version", "api-resources", "api-versions", "cluster-info", "events", "diff", "auth", "wait":
	case "logs":
		if flag("-f") || flag("--follow") {
			a.addUnique(&a.endless, "kubectl logs -f follows until stopped: use --since=10m --tail=200, or keep interactive")
		}
	case "rollout":
		a.verb += " " + sub
		switch sub {
		case "status", "history":
			if sub == "status" {
				a.addUnique(&a.notes, `typed action available: k8s = { action = "rollout-status", deployment = "…" }`)
			}
		case "restart", "undo":
			changes("kubectl rollout " + sub + " replaces the pods")
			a.addUnique(&a.notes, fmt.Sprintf(`typed action available: k8s = { action = %q, deployment = "…" }`, sub))
		default:
			changes("kubectl rollout " + sub + " changes the rollout")
		}
	case "scale":
		r := flagValue(rest, "--replicas")
		if r == "0" {
			changes("kubectl scale --replicas=0 stops the application")
		} else {
			changes("kubectl scale changes the number of replicas")
		}
		a.addUnique(&a.notes, `typed action available: k8s = { action = "scale", deployment = "…", replicas = N } with verify = { ready = N }`)
	case "delete":
		changes("kubectl delete deletes " + strings.TrimSpace(sub+" objects"))
		switch sub {
		case "pod", "pods", "po":
			a.addUnique(&a.notes, `typed action available: k8s = { action = "delete-pod", pod = "…" }`)
		case "networkpolicy", "networkpolicies", "netpol":
			a.addUnique(&a.notes, `typed action available: k8s = { action = "delete-networkpolicy", policy = "…" }`)
		}
	case "apply":
		changes("kubectl apply changes objects in the cluster")
		a.addUnique(&a.notes, `typed action available: k8s = { action = "apply", path = "…" }`)
	case "exec", "attach", "debug", "run":
		if flag("-it") || flag("-ti") || (flag("-i") && flag("-t")) || flag("--stdin") && flag("--tty") {
			a.addUnique(&a.interactive, "kubectl "+verb+" -it needs a terminal")
		}
		if verb != "exec" {
			changes("kubectl " + verb + " starts a process in the cluster")
		}
		if verb == "attach" {
			a.addUnique(&a.endless, "kubectl attach stays attached until stopped")
		}
		if len(inner) > 0 {
			saved := a.verb
			a.command(inner, nil)
			a.verb = saved
		}
	case "port-forward":
		a.addUnique(&a.endless, "kubectl port-forward runs until stopped")
	case "config":
		if !slices.Contains([]string{"view", "get-contexts", "current-context", "get-clusters", "get-users"}, sub) {
			changes("kubectl config " + sub + " changes your kubeconfig")
		}
	case "edit":
		a.addUnique(&a.interactive, "kubectl edit opens an editor")
		changes("kubectl edit changes an object")
	default:
		changes("kubectl " + verb + " changes state")
	}
}

var psqlValueFlags = []string{"-c", "--command", "-f", "--file", "-d", "--dbname", "-U", "--username", "-h", "--host", "-p", "--port", "-v", "--set", "-o", "--output", "-F", "-R", "-P", "-T", "-L"}

func (a *analyser) psql(args []word, redirs []*syntax.Redirect) {
	sqls := []string{}
	for i := 0; i < len(args); i++ {
		v := args[i].value
		if (v == "-c" || v == "--command") && i+1 < len(args) {
			sqls = append(sqls, args[i+1].value)
		}
		if strings.HasPrefix(v, "--command=") {
			sqls = append(sqls, strings.TrimPrefix(v, "--command="))
		}
		if (v == "-d" || v == "--dbname") && i+1 < len(args) {
			a.found("database", args[i+1], 0)
		}
	}
	pos := positional(args, psqlValueFlags)
	if len(pos) > 0 && !strings.Contains(pos[0].value, "=") && !strings.Contains(pos[0].value, "://") {
		a.found("database", pos[0], 0)
	}
	file := flagValue(args, "-f", "--file")
	stdin := slices.ContainsFunc(redirs, func(r *syntax.Redirect) bool {
		return r.Op == syntax.RdrIn || r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc || r.Op == syntax.WordHdoc
	})
	for _, s := range sqls {
		up := strings.ToUpper(s)
		if strings.Contains(up, "CHECK TABLE") || strings.HasPrefix(strings.TrimSpace(up), "CHECK ") {
			a.addUnique(&a.notes, `CHECK TABLE is MySQL, not PostgreSQL: use the typed action sql = { action = "amcheck", report_only = true }`)
		}
		if strings.Contains(up, "REINDEX") {
			a.addUnique(&a.notes, `typed action available: sql = { action = "reindex" }`)
		}
		if !readOnlySQL(s) {
			a.addUnique(&a.destructive, fmt.Sprintf("psql runs SQL that is not known to be read-only (%s)", firstSQLWords(s)))
		}
	}
	switch {
	case file != "":
		a.addUnique(&a.destructive, "psql runs the SQL file "+file)
	case len(sqls) == 0 && !stdin:
		a.addUnique(&a.interactive, "psql without -c or -f opens an interactive session")
	}
}

// readOnlySQL reports whether every statement of s only reads.
func readOnlySQL(s string) bool {
	for _, st := range strings.Split(s, ";") {
		f := strings.Fields(strings.ToUpper(st))
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "SELECT", "SHOW", "TABLE", "VALUES", `\D`, `\DT`, `\L`, `\DN`, `\DI`, `\CONNINFO`:
			if strings.Contains(" "+strings.Join(f, " ")+" ", " INTO ") {
				return false
			}
		case "EXPLAIN":
			if len(f) > 1 && strings.Contains(f[1], "ANALY") {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func firstSQLWords(s string) string {
	f := strings.Fields(s)
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}
