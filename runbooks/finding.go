package runbooks

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity grades a Finding.
type Severity int

const (
	// Error makes a runbook unusable (the loader refuses it, lint fails).
	Error Severity = iota
	// Warning is worth fixing but does not stop the runbook from loading.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Finding is one problem in a runbook file, located by file, line and field.
type Finding struct {
	File     string
	Line     int    // 0 when unknown
	Field    string // field path such as "steps[3].timeout" (1-based indexes); "" for the whole file
	Message  string
	Severity Severity
}

// String formats the finding as "file:line: field: message".
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.File)
	if f.Line > 0 {
		fmt.Fprintf(&b, ":%d", f.Line)
	}
	b.WriteString(": ")
	if f.Field != "" {
		b.WriteString(f.Field)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// Findings is a list of findings; as an error it reports every one of them,
// one per line.
type Findings []Finding

// Error joins the findings, one per line.
func (fs Findings) Error() string {
	lines := make([]string, len(fs))
	for i, f := range fs {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// HasErrors reports whether any finding has Error severity.
func (fs Findings) HasErrors() bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error })
}

// Errors returns the findings of Error severity.
func (fs Findings) Errors() Findings {
	var out Findings
	for _, f := range fs {
		if f.Severity == Error {
			out = append(out, f)
		}
	}
	return out
}

// sortFindings orders findings by file, then line; ties keep their order.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}
