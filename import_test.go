package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportCommand(t *testing.T) {
	dir := isolate(t)
	plan := filepath.Join("runbooks", "mdimport", "testdata", "DISASTER_RECOVERY_PLAN.md")
	out := filepath.Join(dir, "imported")
	code, stdout, errs := drnav(t, "import", plan, "--out", out, "--id-prefix", "acme")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, s := range []string{"acme-database-corruption.toml", "Total: 9 runbooks, 8 phases", "Needs review:", "Contact Information"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("summary lacks %q:\n%s", s, stdout)
		}
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.toml"))
	if len(files) != 9 {
		t.Fatalf("%d files written: %v", len(files), files)
	}
	// What was written lints with warnings only, and loads in drnav.
	if code, _, errs := drnav(t, "lint", out); code != 0 {
		t.Fatalf("lint %s: exit %d: %s", out, code, errs)
	}
	if code, stdout, errs := drnav(t, "list", "--runbooks", out); code != 0 || !strings.Contains(stdout, "acme-complete-system-outage") {
		t.Fatalf("list: exit %d: %s%s", code, stdout, errs)
	}
	// Never overwrite without --force.
	mine := filepath.Join(out, "acme-annual-audit.toml")
	if err := os.WriteFile(mine, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = drnav(t, "import", plan, "--out", out, "--id-prefix", "acme")
	if code != 1 || !strings.Contains(errs, "not overwriting") {
		t.Fatalf("second import: exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(mine); string(b) != "# mine\n" {
		t.Fatal("an existing file was overwritten")
	}
	if code, _, errs := drnav(t, "import", plan, "--out", out, "--id-prefix", "acme", "--force"); code != 0 {
		t.Fatalf("--force: exit %d: %s", code, errs)
	}
	// No runbook at all: non-zero, with the reason.
	prose := filepath.Join(dir, "prose.md")
	if err := os.WriteFile(prose, []byte("# Notes\n\nNothing to do.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = drnav(t, "import", prose, "--out", filepath.Join(dir, "none"))
	if code != 1 || !strings.Contains(errs, "no runbook found") || !strings.Contains(errs, `"Notes": no steps`) {
		t.Fatalf("prose: exit %d: %s", code, errs)
	}
	if code, _, _ := drnav(t, "import"); code != exitUsage {
		t.Fatalf("no file: exit %d", code)
	}
}
