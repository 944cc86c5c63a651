package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
)

// apiVersion names the schema of every machine-readable output (-o json,
// -o yaml). Fields may be added within a version; a field that changes
// meaning or goes away needs the next one.
const apiVersion = "drnav/v1"

// The kinds of machine-readable output.
const (
	kindRunbookList  = "RunbookList"
	kindIncidentList = "IncidentList"
	kindReport       = "Report"
	kindLintResult   = "LintResult"
)

// typeMeta opens every machine-readable document, as in Kubernetes objects.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

func meta(kind string) typeMeta { return typeMeta{APIVersion: apiVersion, Kind: kind} }

// runbookListOutput is 'drnav list -o json'.
type runbookListOutput struct {
	typeMeta
	Items []runbookItem `json:"items"`
}

type runbookItem struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Kind   string `json:"kind"` // procedure or cadence
	Impact string `json:"impact"`
	Steps  int    `json:"steps"`
	Phases int    `json:"phases"`
	// Budget is the sum of the phase budgets (a Go duration, "3h45m0s");
	// "" when the runbook has none.
	Budget        string `json:"budget"`
	BudgetSeconds int64  `json:"budget_seconds"`
	File          string `json:"file"`
	// ReviewOverdueSince is the date (YYYY-MM-DD) the runbook's review fell
	// due, when it is overdue.
	ReviewOverdueSince string `json:"review_overdue_since,omitempty"`
}

func runbookList(rbs []*runbooks.Runbook, now time.Time) runbookListOutput {
	out := runbookListOutput{typeMeta: meta(kindRunbookList), Items: []runbookItem{}}
	for _, rb := range rbs {
		it := runbookItem{ID: rb.ID, Title: rb.Title, Kind: rb.Kind, Impact: rb.Impact, Steps: len(rb.Steps),
			Phases: len(rb.Phases), File: rb.File}
		if it.Kind == "" {
			it.Kind = runbooks.KindProcedure
		}
		if d := rb.TotalBudget(); d > 0 {
			it.Budget, it.BudgetSeconds = d.String(), int64(d/time.Second)
		}
		if since, overdue := rb.ReviewOverdue(now); overdue {
			it.ReviewOverdueSince = since.Format("2006-01-02")
		}
		out.Items = append(out.Items, it)
	}
	return out
}

// incidentListOutput is 'drnav incidents -o json'.
type incidentListOutput struct {
	typeMeta
	JournalDir string         `json:"journal_dir"`
	Items      []incidentItem `json:"items"`
}

type incidentItem struct {
	incident.Summary
	// State is open, resolved, or unreadable (then Error says why).
	State string `json:"state"`
	// Driver is the process holding the one-driver lock, if any.
	Driver *incident.LockInfo `json:"driver,omitempty"`
}

// reportOutput is 'drnav report -o json': the report with its type.
type reportOutput struct {
	typeMeta
	incident.ReportData
}

// lintOutput is 'drnav lint -o json'.
type lintOutput struct {
	typeMeta
	Runbooks int           `json:"runbooks"` // runbooks that parsed
	Errors   int           `json:"errors"`
	Warnings int           `json:"warnings"`
	Findings []findingItem `json:"findings"`
}

type findingItem struct {
	File     string `json:"file"`
	Line     int    `json:"line"`  // 0 when unknown
	Field    string `json:"field"` // "steps[3].timeout"; "" for the whole file
	Message  string `json:"message"`
	Severity string `json:"severity"` // error or warning
}

func lintResult(rbs []*runbooks.Runbook, findings []runbooks.Finding) lintOutput {
	out := lintOutput{typeMeta: meta(kindLintResult), Runbooks: len(rbs), Findings: []findingItem{}}
	for _, f := range findings {
		if f.Severity == runbooks.Error {
			out.Errors++
		} else {
			out.Warnings++
		}
		out.Findings = append(out.Findings, findingItem{File: f.File, Line: f.Line, Field: f.Field,
			Message: f.Message, Severity: f.Severity.String()})
	}
	return out
}

// checkOutput validates an -o value: "" (text), json or yaml.
func checkOutput(format string) error {
	switch format {
	case "", "json", "yaml":
		return nil
	}
	return usageError{fmt.Sprintf("unknown --output %q (json or yaml)", format)}
}

// writeOutput writes v as JSON or YAML. JSON keeps every value exact, with
// what a terminal would act on (DEL, C1 controls, bidirectional overrides)
// written as \u escapes; YAML is for reading, so its strings are shown as
// drnav prints text (control characters visible as \x1b, \u202e).
func writeOutput(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", format, err)
	}
	switch format {
	case "json":
		b = append(incident.EscapeJSONControls(b), '\n')
	case "yaml":
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		if b, err = yaml.Marshal(printableStrings(doc)); err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
	default:
		return usageError{fmt.Sprintf("unknown --output %q (json or yaml)", format)}
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", format, err)
	}
	return nil
}

// printableStrings neutralises every string (keys too) of a decoded JSON
// document for a terminal.
func printableStrings(v any) any {
	switch t := v.(type) {
	case string:
		return incident.PrintableText(t)
	case []any:
		for i := range t {
			t[i] = printableStrings(t[i])
		}
		return t
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[incident.Printable(k)] = printableStrings(e)
		}
		return m
	}
	return v
}
