package mdimport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/drnav/drnav/runbooks"
)

// file renders a draft as TOML and lints it.
func (im *importer) file(d *draft) File {
	src := im.sourceName()
	var b strings.Builder
	notes := 0
	review := func(n string) {
		b.WriteString("# REVIEW: " + comment(n) + "\n")
		notes++
	}
	fmt.Fprintf(&b, "# Imported by drnav import from %s, section %q (line %d).\n", comment(src), comment(d.title), d.line)
	b.WriteString("# Each \"# REVIEW:\" comment is a guess to check: fix what it says, then delete it\n")
	b.WriteString("# (drnav lint lists those left). \"# from FILE:N\" is where each step was in the plan.\n")
	for _, n := range d.notes {
		review(n)
	}
	kv(&b, "id", d.id)
	kv(&b, "title", d.title)
	kvIf(&b, "impact", d.impact)
	kvIf(&b, "summary", d.summary)
	if d.kind != "" {
		kv(&b, "kind", d.kind)
		review("kind = \"cadence\": a phase repeats (\"every\"), so this runs beside an incident rather than step by step")
	}
	kvIf(&b, "version", im.version)
	lu, errLU := time.Parse(time.DateOnly, im.lastUpdated)
	if errLU == nil {
		kv(&b, "last_updated", im.lastUpdated)
	}
	if nr, err := time.Parse(time.DateOnly, im.nextReview); err == nil && (errLU != nil || !nr.Before(lu)) {
		kv(&b, "next_review", im.nextReview)
	}
	related := append([]string{src}, im.related...)
	b.WriteString("related = [")
	for i, r := range related {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tomlString(r))
	}
	b.WriteString("]\n")
	if len(d.comments) > 0 {
		b.WriteString("\n# Not mapped to steps (kept from the plan):\n")
		for _, c := range d.comments {
			fmt.Fprintf(&b, "# %s:%s: %s\n", comment(src), lineRange(c.From, c.To), comment(c.What))
			for _, l := range im.planLines(c.From, c.To) {
				b.WriteString(strings.TrimRight("#   "+comment(l), " ") + "\n")
			}
		}
	}
	for _, v := range d.vars.vars {
		b.WriteString("\n[[variables]]\n")
		for _, n := range v.notes(src) {
			review(n)
		}
		kv(&b, "name", v.name)
		kv(&b, "prompt", v.prompt)
		kvIf(&b, "default", v.def)
		kvIf(&b, "config", v.config)
		kvIf(&b, "source", v.source)
	}
	for _, p := range d.phases {
		b.WriteString("\n[[phases]]\n")
		fmt.Fprintf(&b, "# from %s:%d\n", comment(src), p.line)
		kv(&b, "id", p.id)
		kv(&b, "title", p.title)
		if p.budget.every {
			kv(&b, "every", runbooks.FormatDuration(p.budget.d))
		} else {
			kv(&b, "budget", runbooks.FormatDuration(p.budget.d))
		}
	}
	kinds := map[string]int{}
	destructive := 0
	for _, s := range d.steps {
		b.WriteString("\n[[steps]]\n")
		fmt.Fprintf(&b, "# from %s:%d\n", comment(src), s.line)
		for _, n := range s.notes {
			review(n)
		}
		for _, v := range d.vars.vars {
			if v.kind != "placeholder" && len(v.value) >= 3 && strings.Contains(s.run, v.value) {
				review(fmt.Sprintf("%q is still written here: use {{%s}} where it means the same thing", v.value, v.name))
			}
		}
		kv(&b, "id", s.id)
		kv(&b, "title", s.title)
		kvIf(&b, "phase", s.phase)
		kvIf(&b, "why", s.why)
		kvIf(&b, "expect", s.expect)
		if s.destructive {
			b.WriteString("destructive = true\n")
			destructive++
		}
		if s.interactive {
			b.WriteString("interactive = true\n")
		}
		if s.run != "" {
			kv(&b, "run", s.run)
			kinds["run"]++
		} else {
			kv(&b, "manual", s.manual)
			kinds["manual"]++
		}
	}
	name := d.id + ".toml"
	data := []byte(b.String())
	_, findings := runbooks.LintData(filepath.Join(im.opts.Dir, name), data, runbooks.LintOptions{RTO: im.opts.RTO, Now: im.opts.Now})
	return File{Name: name, ID: d.id, Title: d.title, Line: d.line, Data: data,
		Phases: len(d.phases), Steps: len(d.steps), Kinds: kinds, Destructive: destructive,
		Variables: len(d.vars.vars), Reviews: notes, Comments: d.comments, Findings: findings}
}

// planLines returns plan lines from..to (1-based, inclusive).
func (im *importer) planLines(from, to int) []string {
	var out []string
	for l := from; l <= to && l >= 1 && l <= len(im.starts); l++ {
		end := len(im.src)
		if l < len(im.starts) {
			end = im.starts[l] - 1
		}
		out = append(out, strings.TrimRight(string(im.src[im.starts[l-1]:max(end, im.starts[l-1])]), "\r\n"))
	}
	return out
}

func lineRange(from, to int) string {
	if to > from {
		return fmt.Sprintf("%d-%d", from, to)
	}
	return fmt.Sprint(from)
}

func kv(b *strings.Builder, key, value string) {
	b.WriteString(key + " = " + tomlString(value) + "\n")
}

// kvIf writes key = "value" when value is not empty.
func kvIf(b *strings.Builder, key, value string) {
	if value != "" {
		kv(b, key, value)
	}
}

// comment makes text safe inside a TOML comment: one line, no control characters.
func comment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// tomlString writes s as a TOML string: a literal string when that needs
// no escapes and reads better (commands with double quotes), multi-line
// when s has several lines.
func tomlString(s string) string {
	ctrl := strings.IndexFunc(s, func(r rune) bool { return (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f }) >= 0
	if strings.Contains(s, "\n") {
		if !ctrl && !strings.Contains(s, "'''") && !strings.HasSuffix(s, "'") && !strings.HasPrefix(s, "\n") {
			return "'''\n" + s + "'''"
		}
		return "\"\"\"\n" + escape(s, true) + "\"\"\""
	}
	if !ctrl && !strings.Contains(s, "'") && (strings.Contains(s, "\"") || strings.Contains(s, "\\")) {
		return "'" + s + "'"
	}
	return "\"" + escape(s, false) + "\""
}

func escape(s string, multiline bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n' && multiline:
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// WriteFiles writes the runbooks into dir (created if needed). Unless force,
// it writes nothing when any of the files already exists. It returns the
// paths written.
func WriteFiles(dir string, files []File, force bool) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	if !force {
		var exist []string
		for _, f := range files {
			p := filepath.Join(dir, f.Name)
			if _, err := os.Lstat(p); err == nil {
				exist = append(exist, p)
			} else if !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("check %s: %w", p, err)
			}
		}
		if len(exist) > 0 {
			return nil, fmt.Errorf("not overwriting %s (use --force, or another --out)", strings.Join(exist, ", "))
		}
	}
	var written []string
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if force {
			flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		}
		fh, err := os.OpenFile(p, flags, 0o644)
		if err != nil {
			return written, fmt.Errorf("write %s: %w", p, err)
		}
		_, err = fh.Write(f.Data)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return written, fmt.Errorf("write %s: %w", p, err)
		}
		written = append(written, p)
	}
	return written, nil
}

// ReadPlan reads a Markdown plan from a regular file, refusing FIFOs,
// devices, folders, huge and binary files with a clear error.
func ReadPlan(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	switch {
	case st.IsDir():
		return nil, fmt.Errorf("read plan %s: is a folder, not a Markdown file", path)
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("read plan %s: not a regular file (%s)", path, st.Mode().Type())
	case st.Size() > MaxSize:
		return nil, fmt.Errorf("read plan %s: %d bytes is too big for a recovery plan (limit %d MiB)", path, st.Size(), MaxSize>>20)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read plan %s: %w", path, err)
	}
	if err := CheckPlan(data); err != nil {
		return nil, fmt.Errorf("read plan %s: %w", path, err)
	}
	return data, nil
}

// WriteSummary prints what an import produced: the runbooks and their steps,
// totals, the review notes and lint findings, and the plan text not mapped.
func WriteSummary(w io.Writer, res *Result, source string) {
	var phases, steps, run, manual, destr, vars, reviews, errs, warns int
	fmt.Fprintf(w, "Imported %s:\n", source)
	for _, f := range res.Files {
		fmt.Fprintf(w, "  %-34s %2d steps (%d run, %d manual), %d destructive, %d variables", f.Name, f.Steps, f.Kinds["run"], f.Kinds["manual"], f.Destructive, f.Variables)
		if f.Phases > 0 {
			fmt.Fprintf(w, ", %d phases", f.Phases)
		}
		fmt.Fprintf(w, "  (line %d)\n", f.Line)
		phases += f.Phases
		steps += f.Steps
		run += f.Kinds["run"]
		manual += f.Kinds["manual"]
		destr += f.Destructive
		vars += f.Variables
		reviews += f.Reviews
		for _, fd := range f.Findings {
			if fd.Severity == runbooks.Error {
				errs++
			} else {
				warns++
			}
		}
	}
	fmt.Fprintf(w, "Total: %d runbooks, %d phases, %d steps (%d run, %d manual), %d marked destructive, %d variables extracted.\n",
		len(res.Files), phases, steps, run, manual, destr, vars)
	fmt.Fprintf(w, "\nNeeds review: %d \"# REVIEW:\" notes; lint: %d errors, %d warnings:\n", reviews, errs, warns)
	for _, f := range res.Files {
		for _, fd := range f.Findings {
			sev := "warning: "
			if fd.Severity == runbooks.Error {
				sev = "ERROR: "
			}
			fmt.Fprintf(w, "  %s%s\n", sev, fd.String())
		}
	}
	if len(res.Skipped) > 0 {
		fmt.Fprintf(w, "\nHeadings without a runbook:\n")
		for _, s := range res.Skipped {
			fmt.Fprintf(w, "  %s:%d: %s\n", source, s.From, s.What)
		}
	}
	kept := 0
	for _, f := range res.Files {
		kept += len(f.Comments)
	}
	if len(res.Unmapped)+kept > 0 {
		fmt.Fprintf(w, "\nNot mapped to steps (%d):\n", len(res.Unmapped)+kept)
		for _, s := range res.Unmapped {
			fmt.Fprintf(w, "  %s:%s: %s (in no runbook)\n", source, lineRange(s.From, s.To), s.What)
		}
		for _, f := range res.Files {
			for _, s := range f.Comments {
				fmt.Fprintf(w, "  %s:%s: %s (kept as a comment in %s)\n", source, lineRange(s.From, s.To), s.What, f.Name)
			}
		}
	}
}
