package runbooks

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/drnav/drnav/internal/safefile"
)

// shipped holds the runbooks drnav ships with.
//
//go:embed *.toml
var shipped embed.FS

// EmbeddedPrefix prefixes the File of every shipped runbook.
const EmbeddedPrefix = "embedded:"

// Load returns the shipped runbooks when dir is "", else the runbooks of dir.
func Load(dir string) ([]*Runbook, error) {
	if dir == "" {
		return Embedded()
	}
	return LoadDir(dir)
}

// Embedded loads the runbooks shipped inside the binary.
func Embedded() ([]*Runbook, error) {
	return LoadFS(shipped, ".", EmbeddedPrefix)
}

// MaxBytes is the largest runbook file read (far beyond any real one).
const MaxBytes = 1 << 20

// LoadDir loads every *.toml file of dir (not its subfolders), sorted by name.
// Only regular files of at most MaxBytes are read: a FIFO, a device or an
// over-large file is a finding for that file, the others still load.
func LoadDir(dir string) ([]*Runbook, error) {
	return loadFS(os.DirFS(dir), ".", filepath.Clean(dir)+string(filepath.Separator), dir)
}

// ReadFile reads a runbook file from disk: a regular file of at most
// MaxBytes (a FIFO or device is refused without blocking).
func ReadFile(path string) ([]byte, error) {
	return safefile.ReadFile(path, MaxBytes)
}

// readEntry reads file name of dir in fsys; osDir, when set, is dir on disk
// (read with ReadFile's checks).
func readEntry(fsys fs.FS, dir, name, osDir string) ([]byte, error) {
	if osDir != "" {
		return ReadFile(filepath.Join(osDir, dir, name))
	}
	return fs.ReadFile(fsys, path.Join(dir, name))
}

// LoadFS loads every *.toml file of dir in fsys. Each runbook's File is
// prefix followed by the file's name. When any file has an error, the error
// is a Findings listing every problem of every file (duplicate ids across
// files included), and the runbooks without errors are still returned.
func LoadFS(fsys fs.FS, dir string, prefix string) ([]*Runbook, error) {
	return loadFS(fsys, dir, prefix, "")
}

func loadFS(fsys fs.FS, dir string, prefix string, osDir string) ([]*Runbook, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read runbooks %s%s: %w", prefix, dir, err)
	}
	var (
		all      []*Runbook
		findings Findings
	)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") {
			continue
		}
		name := prefix + e.Name()
		data, err := readEntry(fsys, dir, e.Name(), osDir)
		if err != nil {
			findings = append(findings, Finding{File: name, Message: fmt.Sprintf("read: %v", err), Severity: Error})
			continue
		}
		rb, fnd := parse(name, data)
		findings = append(findings, fnd...)
		if rb != nil {
			findings = append(findings, check(rb, LintOptions{RTO: -1})...)
			all = append(all, rb)
		}
	}
	findings = append(findings, duplicateIDs(all)...)
	bad := map[string]bool{}
	for _, f := range findings {
		if f.Severity == Error {
			bad[f.File] = true
		}
	}
	ok := slices.DeleteFunc(all, func(r *Runbook) bool { return bad[r.File] })
	if errs := findings.Errors(); len(errs) > 0 {
		sortFindings(errs)
		return ok, errs
	}
	return ok, nil
}

// LoadFile parses one runbook. name is used in error messages and as the
// runbook's File. The error, if any, is a Findings listing every problem.
// Review dates are not checked here (see Lint).
func LoadFile(name string, data []byte) (*Runbook, error) {
	rb, findings := parse(name, data)
	if rb != nil {
		findings = append(findings, check(rb, LintOptions{RTO: -1})...)
	}
	if errs := Findings(findings).Errors(); len(errs) > 0 {
		sortFindings(errs)
		return nil, errs
	}
	return rb, nil
}

// parse decodes the TOML text. It returns nil and a finding on a syntax
// error; otherwise the runbook (possibly with problems) and the decode
// findings, which are also kept in the runbook for Lint.
func parse(name string, data []byte) (*Runbook, []Finding) {
	if len(data) > MaxBytes {
		return nil, []Finding{{File: name, Message: fmt.Sprintf("larger than %d bytes", MaxBytes), Severity: Error}}
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if err := safefile.TOMLDepth(data, safefile.MaxTOMLDepth); err != nil {
		return nil, []Finding{{File: name, Message: err.Error(), Severity: Error}}
	}
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		f := Finding{File: name, Message: "syntax error: " + err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			f.Line = pe.Position.Line
			f.Message = "syntax error: " + pe.Message
		}
		return nil, []Finding{f}
	}
	lines, notes := scanLines(string(data))
	rb := &Runbook{File: name, lines: lines}
	for _, n := range notes {
		rb.reviewNotes = append(rb.reviewNotes, Finding{File: name, Line: n.line, Field: n.field,
			Message: "review: " + n.text, Severity: Warning})
	}
	rb.Line = 1
	if n, ok := rb.lines["id"]; ok {
		rb.Line = n
	}
	d := decoder{rb: rb}
	d.table("", tree, reflectValue(rb))
	for i := range rb.Variables {
		rb.Variables[i].Line = rb.lineOf(fmt.Sprintf("variables[%d]", i+1))
		if re, err := compilePattern(rb.Variables[i].Pattern); err == nil {
			rb.Variables[i].re = re
		}
	}
	for i := range rb.Phases {
		rb.Phases[i].Line = rb.lineOf(fmt.Sprintf("phases[%d]", i+1))
	}
	for i := range rb.Steps {
		rb.Steps[i].Line = rb.lineOf(fmt.Sprintf("steps[%d]", i+1))
	}
	rb.loadFindings = d.findings
	return rb, d.findings
}

// compilePattern anchors and compiles a variable pattern; nil for "".
func compilePattern(p string) (*regexp.Regexp, error) {
	if p == "" {
		return nil, nil
	}
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern %q: %w", p, err)
	}
	return re, nil
}

// Validate checks a value against the variable's pattern (anchored: the
// whole value must match). A variable without a pattern accepts anything.
func (v Variable) Validate(value string) error {
	re := v.re
	if re == nil {
		var err error
		if re, err = compilePattern(v.Pattern); err != nil {
			return fmt.Errorf("variable %s: %w", v.Name, err)
		}
		if re == nil {
			return nil
		}
	}
	if !re.MatchString(value) {
		// The value is never repeated: it may be a secret.
		return fmt.Errorf("variable %s: the value given does not match pattern %s", v.Name, v.Pattern)
	}
	return nil
}
