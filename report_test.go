package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drnav/drnav/incident"
)

// TestReportFindsARunbookLoadedFromAFolder: an incident declared with a
// runbook from --runbooks is reported later with the same --runbooks: the
// runbook is found by id among the loaded ones. Without the flag the report
// stands on the journal alone (the file the journal names is never loaded).
func TestReportFindsARunbookLoadedFromAFolder(t *testing.T) {
	dir := isolate(t)
	rbDir := writeRunbook(t, dir, localRunbook+`[[steps]]
id = "later"
title = "A step never run"
run = "true"
`)
	// The run stops at nothing; both steps run.
	code, out, errs := drnav(t, "run", "local", "--runbooks", rbDir)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = drnav(t, "report", "--runbooks", rbDir)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	for _, want := range []string{"Say hello", "A step never run"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q (runbook not found by id among the loaded ones):\n%s", want, out)
		}
	}
	code, out, errs = drnav(t, "report")
	if code != 0 {
		t.Fatalf("report without --runbooks: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Local procedure") {
		t.Errorf("report without the runbook lacks the journal's title:\n%s", out)
	}
}

// TestReportVerify: report --verify on an untouched journal says OK; one
// line edited by hand makes it exit 3 naming that event, and the journal
// still reports.
func TestReportVerify(t *testing.T) {
	dir := isolate(t)
	_, id := openIncident(t, dir)
	code, out, errs := drnav(t, "report", "--verify", id)
	if code != exitOK || !strings.Contains(out, "links intact") || !strings.Contains(out, "OK: every chain holds") {
		t.Fatalf("verify of an untouched journal: exit %d\n%s%s", code, out, errs)
	}
	path := filepath.Join(dir, "state", "drnav", "incidents", id, incident.JournalName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	// The output event with the first step's "hello" (output is journaled
	// in batches as it comes, so which event holds it depends on timing):
	// rewrite what it printed.
	n := slices.IndexFunc(lines, func(l []byte) bool {
		return bytes.Contains(l, []byte(`"type":"output"`)) && bytes.Contains(l, []byte(`"hello"]`))
	}) + 1
	if n == 0 {
		t.Fatalf("no output event with hello:\n%s", data)
	}
	lines[n-1] = bytes.Replace(lines[n-1], []byte(`"hello"]`), []byte(`"HELLO"]`), 1)
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = drnav(t, "report", "--verify", id)
	if code != exitVerify || !strings.Contains(out, fmt.Sprintf("BROKEN LINK at event %d", n)) || !strings.Contains(out, fmt.Sprintf("event %d (line %d): changed after it was written", n, n)) {
		t.Errorf("verify of an edited journal: exit %d, want %d naming event %d\n%s%s", code, exitVerify, n, out, errs)
	}
	if code, _, errs := drnav(t, "report", id); code != exitOK {
		t.Errorf("the edited journal no longer reports: exit %d %s", code, errs)
	}
}
