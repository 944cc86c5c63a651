package mdimport

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/yuin/goldmark/ast"
)

// draft is a runbook being built.
type draft struct {
	id, title, impact, summary, kind string
	line                             int
	vars                             *registry
	phases                           []*phase
	steps                            []*step
	comments                         []Span // plan text kept as comments
	notes                            []string
	stepIDs, phaseIDs                map[string]bool
}

type phase struct {
	id, title string
	budget    budget
	line      int
}

type step struct {
	id, title, phase, why, expect string
	run, manual                   string
	destructive, interactive      bool
	line                          int
	notes                         []string
}

func (im *importer) runbook(s *section, phases []*section) {
	title := cleanTitle(s.title, budget{})
	if genericTitle().MatchString(title) && s.parent != nil && s.parent.level > 0 {
		title = cleanTitle(s.parent.title, budget{})
	}
	d := &draft{title: title, line: s.line, vars: newRegistry(),
		stepIDs: map[string]bool{}, phaseIDs: map[string]bool{}}
	if d.title == "" {
		d.title = "Imported procedure"
	}
	id := slug(d.title, 48, "runbook")
	if im.opts.IDPrefix != "" {
		sep := "-"
		if strings.HasSuffix(im.opts.IDPrefix, "-") || strings.HasSuffix(im.opts.IDPrefix, "_") {
			sep = ""
		}
		id = im.opts.IDPrefix + sep + id
	}
	d.id = uniq(im.ids, id)
	im.blocks(d, s.blocks, "", "")
	for _, c := range phases {
		if !c.hasBudget || !im.hasSteps(c.blocks) {
			for _, b := range c.blocks {
				if !im.consumed[b] {
					d.comments = append(d.comments, Span{im.lineOf(b), im.endLine(b), fmt.Sprintf("%q: %s", c.title, im.describe(b))})
				}
			}
			continue
		}
		ph := d.addPhase(cleanTitle(c.title, c.budget), c.budget, c.line)
		im.blocks(d, c.blocks, ph.id, "")
	}
	if len(d.steps) == 0 {
		im.skipped = append(im.skipped, Span{s.line, s.line, fmt.Sprintf("%q: no steps came out of it", s.title)})
		return
	}
	for _, p := range d.phases {
		if p.budget.every {
			d.kind = "cadence"
		}
	}
	im.drafts = append(im.drafts, d)
}

func (d *draft) addPhase(title string, b budget, line int) *phase {
	if title == "" {
		title = "Phase " + fmt.Sprint(len(d.phases)+1)
	}
	p := &phase{id: uniq(d.phaseIDs, slug(title, 32, "phase")), title: title, budget: b, line: line}
	d.phases = append(d.phases, p)
	return p
}

func (d *draft) addStep(s *step) {
	if s.phase == "" && len(d.phases) > 0 {
		s.phase = d.phases[len(d.phases)-1].id
		s.notes = append(s.notes, fmt.Sprintf("put in phase %q, the last one before it", s.phase))
	}
	if s.title == "" {
		s.title = "Step " + fmt.Sprint(len(d.steps)+1)
	}
	s.title = clip(s.title, 90)
	s.id = uniq(d.stepIDs, slug(s.title, 40, "step"))
	if s.destructive && strings.TrimSpace(s.why) == "" {
		s.why = s.title + "."
		s.notes = append(s.notes, "the plan gives no reason for this step: write why it is needed")
	}
	d.steps = append(d.steps, s)
}

// genericTitle matches headings that only say "here are the steps": the
// runbook takes its parent heading's title instead.
var genericTitle = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^(recovery )?(steps|procedure|instructions|runbook|how to|what to do)$`)
})

// keyValueRE matches "**Impact**: text" and "Impact: text".
var keyValueRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*\**([A-Za-z][A-Za-z /()-]{0,40}?)\**\s*:\s*\**\s*(.*)$`)
})

// label reports whether a paragraph only introduces what follows
// ("**Recovery Steps**:").
func label(t string) bool {
	return strings.HasSuffix(strings.TrimSpace(t), ":") && len(strings.Fields(t)) <= 5
}

// blocks maps the blocks of a runbook or of one of its phases.
func (im *importer) blocks(d *draft, blocks []ast.Node, ph, why string) {
	lead := ""
	for i, b := range blocks {
		if im.consumed[b] {
			continue
		}
		var next ast.Node
		for _, n := range blocks[i+1:] {
			if !im.consumed[n] {
				next = n
				break
			}
		}
		switch x := b.(type) {
		case *ast.Paragraph:
			t := im.prose(d, im.text(x), im.lineOf(x))
			if m := keyValueRE().FindStringSubmatch(t); m != nil && m[2] != "" {
				switch strings.ToLower(strings.TrimSpace(m[1])) {
				case "impact":
					if d.impact == "" {
						d.impact = strings.TrimSpace(m[2])
						continue
					}
				case "summary", "description", "purpose", "when to use":
					if d.summary == "" {
						d.summary = strings.TrimSpace(m[2])
						continue
					}
				}
			}
			if next != nil && im.stepBlock(next) && !label(t) {
				lead = t
				continue
			}
			if d.summary == "" && len(d.steps) == 0 && !label(t) {
				d.summary = t
				continue
			}
			d.comments = append(d.comments, Span{im.lineOf(b), im.endLine(b), im.describe(b)})
		case *ast.List:
			if ph == "" && len(d.steps) == 0 && len(d.phases) == 0 && im.phasedList(x) {
				for it := x.FirstChild(); it != nil; it = it.NextSibling() {
					t := im.itemText(it)
					bd, _ := findBudget(t)
					p := d.addPhase(cleanTitle(im.prose(d, t, im.lineOf(it)), bd), bd, im.lineOf(it))
					p.line = im.lineOf(it)
					im.item(d, it, p.id, joinWhy(why, lead), true)
				}
			} else if im.definitionList(x) {
				d.comments = append(d.comments, Span{im.lineOf(b), im.endLine(b), im.describe(b)})
			} else {
				for it := x.FirstChild(); it != nil; it = it.NextSibling() {
					im.item(d, it, ph, joinWhy(why, lead), false)
				}
			}
			lead = ""
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			if console, ok := im.shellLang(b); ok {
				im.shell(d, b, console, ph, "", joinWhy(why, lead))
			} else {
				d.comments = append(d.comments, Span{im.lineOf(b), im.endLine(b), im.describe(b)})
			}
			lead = ""
		case *ast.ThematicBreak:
		default:
			d.comments = append(d.comments, Span{im.lineOf(b), im.endLine(b), im.describe(b)})
		}
	}
	if lead != "" {
		// A lead-in sentence whose list or block turned out empty.
		d.notes = append(d.notes, "not mapped: "+lead)
	}
}

func (im *importer) stepBlock(b ast.Node) bool {
	switch x := b.(type) {
	case *ast.List:
		return !im.definitionList(x)
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		_, ok := im.shellLang(x)
		return ok
	}
	return false
}

// phasedList reports whether every item of a list carries a time budget:
// "1. **Assess situation** (15 minutes)".
func (im *importer) phasedList(l *ast.List) bool {
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		b, ok := findBudget(im.itemText(it))
		if !ok || b.every {
			return false
		}
	}
	return l.ChildCount() > 0
}

func joinWhy(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " — ")
}

var htmlTags = map[string]bool{"br": true, "b": true, "i": true, "em": true, "strong": true, "p": true, "div": true,
	"span": true, "a": true, "code": true, "pre": true, "sup": true, "sub": true, "kbd": true, "u": true, "s": true,
	"hr": true, "img": true, "details": true, "summary": true, "ul": true, "ol": true, "li": true, "table": true,
	"tr": true, "td": true, "th": true, "small": true, "mark": true}

// prose rewrites the placeholders of a text (<pod-name>) as {{pod_name}}.
func (im *importer) prose(d *draft, t string, line int) string {
	return angleRE().ReplaceAllStringFunc(t, func(s string) string {
		name := s[1 : len(s)-1]
		if htmlTags[strings.ToLower(name)] {
			return s
		}
		return "{{" + d.vars.placeholder(name, line) + "}}"
	})
}

// commandWords are the first words of inline code that is a command.
var commandWords = map[string]bool{"kubectl": true, "oc": true, "psql": true, "pg_restore": true, "pg_dump": true,
	"pg_isready": true, "curl": true, "systemctl": true, "service": true, "docker": true, "podman": true, "helm": true,
	"aws": true, "gcloud": true, "az": true, "terraform": true, "rm": true, "mv": true, "cp": true, "ls": true,
	"cat": true, "grep": true, "tail": true, "journalctl": true, "ssh": true, "rsync": true, "git": true, "make": true,
	"bash": true, "sh": true, "python": true, "python3": true, "redis-cli": true, "mysql": true, "etcdctl": true,
	"velero": true, "dig": true, "nslookup": true, "ping": true, "jq": true, "watch": true, "kill": true, "sudo": true,
	"crontab": true, "dropdb": true, "createdb": true, "reboot": true, "df": true, "du": true}

// isCommand reports whether inline code looks like a shell command.
func isCommand(code string) bool {
	f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(code), "$ "))
	if len(f) == 0 {
		return false
	}
	w := f[0]
	return commandWords[w] || strings.HasPrefix(w, "./") || (strings.HasPrefix(w, "/") && strings.HasSuffix(w, ".sh")) || strings.HasPrefix(strings.TrimSpace(code), "$ ")
}

// item maps one list item: its nested list and code blocks become steps
// with the item's text as context; an item with neither becomes a run step
// (when its inline code is a command) or a manual step. asPhase: the item
// is a phase whose text is its title, not a step.
func (im *importer) item(d *draft, it ast.Node, ph, why string, asPhase bool) {
	line := im.lineOf(it)
	var txt string
	var codes []string
	first := it.FirstChild()
	if first != nil {
		if _, ok := first.(*ast.Paragraph); ok {
			txt = im.text(first)
		} else if _, ok := first.(*ast.TextBlock); ok {
			txt = im.text(first)
		} else {
			first = nil
		}
	}
	if first != nil {
		for c := first.FirstChild(); c != nil; c = c.NextSibling() {
			if cs, ok := c.(*ast.CodeSpan); ok {
				codes = append(codes, im.codeSpan(cs))
			}
		}
	}
	txt = im.prose(d, txt, line)
	title := txt
	if asPhase {
		bd, _ := findBudget(txt)
		title = cleanTitle(txt, bd)
		txt = ""
	}
	produced := false
	var extra []string
	for c := it.FirstChild(); c != nil; c = c.NextSibling() {
		if c == first {
			continue
		}
		switch x := c.(type) {
		case *ast.List:
			ctx := why
			if !asPhase {
				ctx = joinWhy(why, txt)
			}
			for sub := x.FirstChild(); sub != nil; sub = sub.NextSibling() {
				im.item(d, sub, ph, ctx, false)
			}
			produced = true
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			if console, ok := im.shellLang(c); ok {
				im.shell(d, c, console, ph, plainTitle(title), joinWhy(why, strings.Join(extra, " ")))
				produced = true
			} else {
				d.comments = append(d.comments, Span{im.lineOf(c), im.endLine(c), im.describe(c)})
			}
		case *ast.Paragraph, *ast.TextBlock:
			extra = append(extra, im.prose(d, im.text(c), im.lineOf(c)))
		default:
			d.comments = append(d.comments, Span{im.lineOf(c), im.endLine(c), im.describe(c)})
		}
	}
	if produced {
		if len(extra) > 0 && !asPhase {
			d.notes = append(d.notes, fmt.Sprintf("line %d: text of the item not mapped: %s", line, strings.Join(extra, " ")))
		}
		return
	}
	var cmds []string
	for _, c := range codes {
		if isCommand(c) {
			cmds = append(cmds, strings.TrimPrefix(strings.TrimSpace(c), "$ "))
		}
	}
	if len(cmds) > 0 {
		for _, c := range cmds {
			im.shellLines(d, []blockLine{{c, line}}, false, ph, plainTitle(title), why)
		}
		if len(extra) > 0 {
			d.notes = append(d.notes, fmt.Sprintf("line %d: text of the item not mapped: %s", line, strings.Join(extra, " ")))
		}
		return
	}
	manual := strings.Join(append([]string{txt}, extra...), "\n\n")
	if asPhase || strings.TrimSpace(manual) == "" {
		manual = title
	}
	if strings.TrimSpace(manual) == "" {
		return
	}
	d.addStep(&step{title: firstSentence(title), manual: manual, why: why, phase: ph, line: line})
}

// plainTitle drops the backticks of inline code from a title.
func plainTitle(s string) string {
	s = strings.ReplaceAll(s, "`", "")
	return strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), ":"))
}

// firstSentence shortens a text to its first sentence.
func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	for i := 0; i+1 < len(s); i++ {
		if (s[i] == '.' || s[i] == '!' || s[i] == '?') && s[i+1] == ' ' && i > 10 {
			return s[:i]
		}
	}
	return s
}

func (im *importer) shell(d *draft, b ast.Node, console bool, ph, title, why string) {
	var lines []blockLine
	n := b.Lines()
	for i := 0; i < n.Len(); i++ {
		seg := n.At(i)
		lines = append(lines, blockLine{strings.TrimRight(string(seg.Value(im.src)), "\r\n"), im.lineAt(seg.Start)})
	}
	if len(lines) == 0 {
		d.comments = append(d.comments, Span{im.lineOf(b), im.endLine(b), "empty code block"})
		return
	}
	im.shellLines(d, lines, console, ph, title, why)
}

var stepNumberRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^step\s+\d+\s*[:.]\s*`) })

// group is a comment line and the statements after it.
type group struct {
	title string
	extra []string
	cmds  []*command
	line  int
}

// shellLines turns the lines of a shell block into steps: a comment line
// titles the statements after it; each statement that does something is a
// step; cd/export and echo lines ride along with the next step.
func (im *importer) shellLines(d *draft, lines []blockLine, console bool, ph, title, why string) {
	items := analyseShell(lines, console, d.vars)
	var groups []*group
	lastComment := -1
	for _, it := range items {
		if it.cmd == nil {
			c := numberingRE().ReplaceAllString(it.comment, "")
			c = stepNumberRE().ReplaceAllString(c, "")
			numbered := c != it.comment
			if c == "" {
				continue
			}
			c = strings.ToUpper(c[:1]) + c[1:]
			// A comment starts a new group after commands, when it is
			// numbered ("# 5. Monitor health"), or after a blank line.
			gap := lastComment >= 0 && it.line > lastComment+1
			lastComment = it.line
			if len(groups) == 0 || len(groups[len(groups)-1].cmds) > 0 || numbered || gap {
				groups = append(groups, &group{title: im.prose(d, c, it.line), line: it.line})
			} else {
				g := groups[len(groups)-1]
				g.extra = append(g.extra, im.prose(d, c, it.line))
			}
			continue
		}
		if len(groups) == 0 {
			groups = append(groups, &group{line: it.line})
		}
		g := groups[len(groups)-1]
		g.cmds = append(g.cmds, it.cmd)
	}
	var prefix []*command // cd, export: kept for every later step of the block
	for _, g := range groups {
		gt := g.title
		if gt == "" {
			gt = title
		}
		if len(g.cmds) == 0 {
			text := strings.Join(g.extra, " ")
			if text == "" {
				text = gt
			}
			d.addStep(&step{title: gt, manual: text, why: why, phase: ph, line: g.line})
			continue
		}
		var units [][]*command
		var pending []*command
		for i, c := range g.cmds {
			last := i == len(g.cmds)-1
			switch {
			case c.context && !last:
				prefix = append(prefix, c)
			case c.trivial && !last:
				pending = append(pending, c)
			default:
				units = append(units, append(append(append([]*command(nil), prefix...), pending...), c))
				pending = nil
				if c.context {
					prefix = append(prefix, c)
				}
			}
		}
		for _, u := range units {
			main := u[len(u)-1]
			st := &step{phase: ph, line: main.line, why: joinWhy(strings.Join(g.extra, " "), why)}
			switch {
			case gt != "" && len(units) == 1:
				st.title = gt
			case gt != "":
				st.title = gt + ": " + main.verb
			default:
				st.title = "Run " + main.verb
			}
			var texts []string
			var destr, endless, inter []string
			for _, c := range u {
				texts = append(texts, c.text)
				destr = appendNew(destr, c.destructive...)
				endless = appendNew(endless, c.endless...)
				inter = appendNew(inter, c.interactive...)
				st.notes = appendNew(st.notes, c.notes...)
				if len(c.output) > 0 {
					out := c.output
					if len(out) > 5 {
						out = append(out[:5:5], "…")
					}
					st.expect = "Output like:\n" + strings.Join(out, "\n")
				}
			}
			st.run = strings.Join(texts, " &&\n")
			if len(destr) > 0 {
				st.destructive = true
				st.notes = append([]string{"destructive: " + strings.Join(destr, "; ")}, st.notes...)
			}
			if len(endless) > 0 {
				st.interactive = true
				st.notes = append(st.notes, "never ends by itself ("+strings.Join(endless, "; ")+"): interactive = true hands it the terminal, stop it with Ctrl-C")
			}
			if len(inter) > 0 {
				st.interactive = true
				st.notes = append(st.notes, "needs a terminal ("+strings.Join(inter, "; ")+"): interactive = true")
			}
			d.addStep(st)
		}
	}
}

func appendNew(list []string, items ...string) []string {
	for _, s := range items {
		if !contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// slug makes an id of a title: lowercase letters, digits and -.
func slug(s string, max int, fallback string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > max {
		out = out[:max]
		if i := strings.LastIndexByte(out, '-'); i > max/2 {
			out = out[:i]
		}
		out = strings.Trim(out, "-")
	}
	if out == "" {
		return fallback
	}
	return out
}

func uniq(seen map[string]bool, id string) string {
	out := id
	for n := 2; seen[out]; n++ {
		out = fmt.Sprintf("%s-%d", id, n)
	}
	seen[out] = true
	return out
}

// clip shortens s to at most n runes, on a word boundary.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n-1])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

var _ = time.Second
