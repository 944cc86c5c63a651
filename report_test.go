package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportFindsARunbookLoadedFromAFolder: an incident declared with a
// runbook from --runbooks is reported later with the same --runbooks: the
// runbook is found by id among the loaded ones. Without the flag the report
// stands on the journal alone (the file the journal names is never loaded).
func TestReportFindsARunbookLoadedFromAFolder(t *testing.T) {
	dir := isolate(t)
	rbDir := filepath.Join(dir, "rb")
	if err := os.MkdirAll(rbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := `id = "local"
title = "Local procedure"
impact = "none"
[[steps]]
id = "hello"
title = "Say hello"
run = "echo hello"
[[steps]]
id = "later"
title = "A step never run"
run = "true"
`
	if err := os.WriteFile(filepath.Join(rbDir, "local.toml"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
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
