// Package mdimport turns a Markdown recovery plan into drnav runbooks for a
// person to review: headings become runbooks (and timed phases), list items
// and fenced shell blocks become steps, commands that change state are
// marked destructive, placeholders and hard-coded names become variables,
// and every guess is written as a "# REVIEW:" comment that drnav lint lists
// until it is deleted. Text the import cannot map is kept as comments or
// reported with its line numbers: nothing is dropped silently.
package mdimport

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/drnav/drnav/runbooks"
)

// MaxSize bounds the plan's size: a recovery plan is text, not a data dump.
const MaxSize = 4 << 20

// ErrNoRunbooks is returned when the plan holds no procedure at all.
var ErrNoRunbooks = errors.New("no runbook found: no heading has list items or shell blocks under it")

// Options tune Import.
type Options struct {
	// Source is the plan's name written in comments ("PLAN.md").
	Source string
	// Dir is the folder the files will be written to; it only names them in
	// lint findings.
	Dir string
	// IDPrefix is put before every runbook id ("acme" → "acme-database-corruption").
	IDPrefix string
	// RTO and Now are passed to lint (zero: its defaults).
	RTO time.Duration
	Now time.Time
}

// Result is what an import produced.
type Result struct {
	Files []File
	// Unmapped is plan text no runbook holds, with its lines.
	Unmapped []Span
	// Skipped are headings that produced no runbook, and why.
	Skipped []Span
}

// File is one generated runbook.
type File struct {
	Name  string // file name: ID + ".toml"
	ID    string
	Title string
	Line  int // the heading's line in the plan
	Data  []byte

	Phases      int
	Steps       int
	Kinds       map[string]int // "run", "manual" → steps
	Destructive int
	Variables   int
	Reviews     int    // "# REVIEW:" notes
	Comments    []Span // plan text kept as comments in the file
	Findings    []runbooks.Finding
}

// Span is a range of plan lines and what it is.
type Span struct {
	From, To int
	What     string
}

var idPrefixRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`) })

// CheckPlan rejects input that is not a Markdown text: too big, binary, or
// not UTF-8.
func CheckPlan(src []byte) error {
	if len(src) > MaxSize {
		return fmt.Errorf("%d bytes is too big for a recovery plan (limit %d MiB)", len(src), MaxSize>>20)
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return fmt.Errorf("binary file (NUL byte at offset %d), not Markdown", i)
	}
	if !utf8.Valid(src) {
		return errors.New("not UTF-8 text: convert the plan to UTF-8 first")
	}
	return nil
}

// Import converts a Markdown plan. It returns ErrNoRunbooks (with the
// result, which still lists what was skipped) when no runbook came out.
func Import(src []byte, opts Options) (*Result, error) {
	if err := CheckPlan(src); err != nil {
		return nil, err
	}
	if opts.IDPrefix != "" && !idPrefixRE().MatchString(opts.IDPrefix) {
		return nil, fmt.Errorf("invalid id prefix %q (want lowercase letters, digits, - and _)", opts.IDPrefix)
	}
	if opts.Source == "" {
		opts.Source = "plan.md"
	}
	md := goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))
	doc := md.Parser().Parse(text.NewReader(src))
	im := &importer{src: src, opts: opts, starts: lineStarts(string(src)), consumed: map[ast.Node]bool{}, ids: map[string]bool{}}
	root := im.sections(doc)
	im.metadata(root)
	im.walk(root)
	res := &Result{Unmapped: im.unmapped, Skipped: im.skipped}
	for _, d := range im.drafts {
		res.Files = append(res.Files, im.file(d))
	}
	if len(res.Files) == 0 {
		return res, ErrNoRunbooks
	}
	return res, nil
}

// importer holds the state of one import.
type importer struct {
	src      []byte
	opts     Options
	starts   []int
	consumed map[ast.Node]bool
	ids      map[string]bool
	drafts   []*draft
	unmapped []Span
	skipped  []Span

	version, lastUpdated, nextReview string
	related                          []string
}

// section is a heading and what follows it up to the next heading of the
// same or a higher level.
type section struct {
	title     string
	level     int
	line      int
	budget    budget
	hasBudget bool
	blocks    []ast.Node
	children  []*section
	parent    *section
}

func (im *importer) sections(doc ast.Node) *section {
	root := &section{}
	stack := []*section{root}
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		h, ok := n.(*ast.Heading)
		if !ok {
			top := stack[len(stack)-1]
			top.blocks = append(top.blocks, n)
			continue
		}
		for len(stack) > 1 && stack[len(stack)-1].level >= h.Level {
			stack = stack[:len(stack)-1]
		}
		parent := stack[len(stack)-1]
		s := &section{title: im.text(h), level: h.Level, line: im.lineOf(h), parent: parent}
		s.budget, s.hasBudget = findBudget(s.title)
		parent.children = append(parent.children, s)
		stack = append(stack, s)
	}
	return root
}

var metaRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^\s*(?:\*\*)?(version|last updated|last reviewed|next review)(?:\*\*)?\s*:\s*(?:\*\*)?\s*(.+?)\s*$`)
})

// metadata collects what applies to every runbook: the plan's version and
// review dates, a "Related documents" list, and "Timeframe:" paragraphs.
func (im *importer) metadata(s *section) {
	for _, b := range s.blocks {
		p, ok := b.(*ast.Paragraph)
		if !ok {
			continue
		}
		lines := im.rawLines(p)
		all := len(lines) > 0
		for _, l := range lines {
			m := metaRE().FindStringSubmatch(l)
			if m == nil {
				all = false
				continue
			}
			v := strings.TrimSpace(strings.Trim(m[2], "*_ "))
			switch strings.ToLower(m[1]) {
			case "version":
				im.version = v
			case "last updated", "last reviewed":
				im.lastUpdated = v
			case "next review":
				im.nextReview = v
			}
		}
		if all {
			im.consumed[b] = true
		}
		if s.level > 0 && !s.hasBudget {
			if bd, ok := findBudget(im.text(p)); ok && labelBudgetRE().MatchString(im.text(p)) {
				s.budget, s.hasBudget = bd, true
				if len(strings.Fields(im.text(p))) <= 6 {
					im.consumed[b] = true
				}
			}
		}
	}
	if s.level > 0 && regexp.MustCompile(`(?i)related|references|see also`).MatchString(s.title) {
		for _, b := range s.blocks {
			if l, ok := b.(*ast.List); ok {
				for it := l.FirstChild(); it != nil; it = it.NextSibling() {
					if t := strings.TrimSpace(im.itemText(it)); t != "" {
						im.related = append(im.related, t)
					}
				}
				im.consumed[b] = true
			}
		}
	}
	for _, c := range s.children {
		im.metadata(c)
	}
}

func (im *importer) walk(s *section) {
	if s.level > 0 {
		switch {
		case im.hasSteps(s.blocks):
			im.runbook(s, nil)
			for _, c := range s.children {
				im.walk(c)
			}
			return
		case im.phased(s.children):
			im.runbook(s, s.children)
			return
		}
		left := 0
		for _, b := range s.blocks {
			if !im.consumed[b] {
				left++
				im.unmapped = append(im.unmapped, Span{im.lineOf(b), im.endLine(b), fmt.Sprintf("%q: %s", s.title, im.describe(b))})
			}
		}
		if left > 0 || (len(s.blocks) == 0 && len(s.children) == 0) {
			im.skipped = append(im.skipped, Span{s.line, s.line, fmt.Sprintf("%q: no steps (no list items or shell blocks), no runbook", s.title)})
		}
	} else {
		for _, b := range s.blocks {
			if !im.consumed[b] {
				im.unmapped = append(im.unmapped, Span{im.lineOf(b), im.endLine(b), "before the first heading: " + im.describe(b)})
			}
		}
	}
	for _, c := range s.children {
		im.walk(c)
	}
}

// phased reports whether the children of a heading are the timed phases of
// one procedure: each child with steps has a budget and no sub-headings.
func (im *importer) phased(children []*section) bool {
	withSteps := 0
	for _, c := range children {
		if len(c.children) > 0 {
			return false
		}
		if im.hasSteps(c.blocks) {
			if !c.hasBudget {
				return false
			}
			withSteps++
		}
	}
	return withSteps > 0
}

// hasSteps reports whether blocks hold a list of steps or a shell block.
func (im *importer) hasSteps(blocks []ast.Node) bool {
	return slices.ContainsFunc(blocks, func(b ast.Node) bool {
		if im.consumed[b] {
			return false
		}
		switch x := b.(type) {
		case *ast.List:
			return !im.definitionList(x)
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			_, ok := im.shellLang(x)
			return ok
		}
		return false
	})
}

var defRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^:]{1,40}:(\s|$)`) })

// definitionList reports whether every item is "Key: value" (a schedule, a
// contact list) rather than something to do.
func (im *importer) definitionList(l *ast.List) bool {
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		if it.ChildCount() != 1 {
			return false
		}
		t := im.itemText(it)
		if _, ok := findBudget(t); ok || !defRE().MatchString(t) {
			return false
		}
	}
	return l.ChildCount() > 0
}

// shellLang says whether a code block holds shell commands, and whether it
// is a console transcript ("$ " prompts, output lines).
func (im *importer) shellLang(b ast.Node) (console bool, ok bool) {
	lang := ""
	if f, isF := b.(*ast.FencedCodeBlock); isF {
		lang = strings.ToLower(string(f.Language(im.src)))
	}
	switch lang {
	case "bash", "sh", "shell", "zsh", "ksh":
		return false, true
	case "console", "shell-session", "shellsession", "terminal":
		return true, true
	case "", "text", "txt":
		// An untagged block is a transcript when it has "$ " prompts.
		for _, l := range im.rawLines(b) {
			if strings.HasPrefix(strings.TrimSpace(l), "$ ") {
				return true, true
			}
		}
	}
	return false, false
}

// --- text helpers ---

func (im *importer) lineAt(off int) int {
	return sort.Search(len(im.starts), func(i int) bool { return im.starts[i] > off })
}

func firstOffset(n ast.Node) int {
	if n.Type() == ast.TypeBlock {
		if l := n.Lines(); l != nil && l.Len() > 0 {
			return l.At(0).Start
		}
	}
	if f, ok := n.(*ast.FencedCodeBlock); ok && f.Info != nil {
		return f.Info.Segment.Start
	}
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if o := firstOffset(c); o >= 0 {
			return o
		}
	}
	if t, ok := n.(*ast.Text); ok {
		return t.Segment.Start
	}
	return -1
}

func lastOffset(n ast.Node) int {
	for c := n.LastChild(); c != nil; c = c.PreviousSibling() {
		if o := lastOffset(c); o >= 0 {
			return o
		}
	}
	if n.Type() == ast.TypeBlock {
		if l := n.Lines(); l != nil && l.Len() > 0 {
			return l.At(l.Len() - 1).Start
		}
	}
	if t, ok := n.(*ast.Text); ok {
		return t.Segment.Start
	}
	return -1
}

// lineOf is the plan line where n starts (0 when unknown).
func (im *importer) lineOf(n ast.Node) int {
	off := firstOffset(n)
	if off < 0 {
		return 0
	}
	l := im.lineAt(off)
	if _, ok := n.(*ast.FencedCodeBlock); ok && n.Lines().Len() > 0 {
		l-- // the opening fence
	}
	return l
}

func (im *importer) endLine(n ast.Node) int {
	off := lastOffset(n)
	if off < 0 {
		return im.lineOf(n)
	}
	l := im.lineAt(off)
	if _, ok := n.(*ast.FencedCodeBlock); ok {
		l++ // the closing fence
	}
	return l
}

// rawLines are the source lines of a block, as written.
func (im *importer) rawLines(n ast.Node) []string {
	if n.Type() != ast.TypeBlock || n.Lines() == nil {
		return nil
	}
	var out []string
	for i := 0; i < n.Lines().Len(); i++ {
		seg := n.Lines().At(i)
		out = append(out, strings.TrimRight(string(seg.Value(im.src)), "\r\n"))
	}
	return out
}

// text renders the inline content of n as plain text (code spans keep
// their backticks).
func (im *importer) text(n ast.Node) string {
	var b strings.Builder
	im.inline(n, &b)
	return strings.Join(strings.Fields(b.String()), " ")
}

func (im *importer) inline(n ast.Node, b *strings.Builder) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch x := c.(type) {
		case *ast.Text:
			b.Write(x.Segment.Value(im.src))
			if x.SoftLineBreak() || x.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(x.Value)
		case *ast.CodeSpan:
			b.WriteByte('`')
			b.WriteString(im.codeSpan(x))
			b.WriteByte('`')
		case *ast.AutoLink:
			b.Write(x.URL(im.src))
		case *ast.RawHTML:
			for i := 0; i < x.Segments.Len(); i++ {
				seg := x.Segments.At(i)
				b.Write(seg.Value(im.src))
			}
		default:
			im.inline(c, b)
		}
	}
}

func (im *importer) codeSpan(c *ast.CodeSpan) string {
	var b strings.Builder
	for t := c.FirstChild(); t != nil; t = t.NextSibling() {
		switch x := t.(type) {
		case *ast.Text:
			b.Write(x.Segment.Value(im.src))
		case *ast.String:
			b.Write(x.Value)
		}
	}
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(b.String()))
}

// itemText is the text of a list item's first paragraph.
func (im *importer) itemText(it ast.Node) string {
	if c := it.FirstChild(); c != nil {
		switch c.(type) {
		case *ast.Paragraph, *ast.TextBlock:
			return im.text(c)
		}
	}
	return ""
}

// describe names a block for the not-mapped list.
func (im *importer) describe(b ast.Node) string {
	switch x := b.(type) {
	case *ast.Paragraph:
		return "paragraph " + quoteShort(im.text(x))
	case *ast.List:
		if im.definitionList(x) {
			return fmt.Sprintf("list of %d \"key: value\" items", x.ChildCount())
		}
		return fmt.Sprintf("list of %d items", x.ChildCount())
	case *ast.FencedCodeBlock:
		lang := string(x.Language(im.src))
		if lang == "" {
			lang = "untagged"
		}
		return lang + " code block"
	case *east.Table:
		return "table"
	case *ast.Blockquote:
		return "quote"
	case *ast.HTMLBlock:
		return "HTML"
	}
	return strings.ToLower(b.Kind().String())
}

func quoteShort(s string) string {
	r := []rune(s)
	if len(r) > 50 {
		s = string(r[:49]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// sourceName is the plan's name as comments write it.
func (im *importer) sourceName() string { return filepath.Base(im.opts.Source) }
