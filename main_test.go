package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// drnav runs the CLI in-process and returns exit code, stdout and stderr.
func drnav(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv("KUBECONFIG", writeLabKubeconfig(t, dir))
	return dir
}

// labKubeconfig is a plain kubeconfig: two contexts, lab current. Its
// servers refuse connections (nothing in these tests dials them).
const labKubeconfig = `apiVersion: v1
kind: Config
current-context: lab
clusters:
- name: lab-cluster
  cluster: {server: "https://127.0.0.1:1"}
- name: west-cluster
  cluster: {server: "https://127.0.0.2:1"}
contexts:
- name: lab
  context: {cluster: lab-cluster, user: lab-admin}
- name: west
  context: {cluster: west-cluster, user: west-admin}
- name: lab-alias
  context: {cluster: lab-cluster, user: lab-admin}
users:
- name: lab-admin
  user: {token: lab-token}
- name: west-admin
  user: {token: west-token}
`

func writeLabKubeconfig(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(p, []byte(labKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestListShowsTheNineProcedures(t *testing.T) {
	isolate(t)
	code, out, errs := drnav(t, "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, id := range []string{"data-center-failure", "database-corruption", "application-failure", "network-failure",
		"complete-outage", "backup-verification", "monthly-dr-drill", "annual-audit", "communication-plan"} {
		if !strings.Contains(out, id) {
			t.Errorf("list lacks %s:\n%s", id, out)
		}
	}
	if !strings.Contains(out, "3h45m") {
		t.Errorf("complete outage budget 3h45m missing:\n%s", out)
	}
}

func TestLint(t *testing.T) {
	isolate(t)
	code, _, errs := drnav(t, "lint", "--strict")
	if code != 0 {
		t.Fatalf("shipped runbooks: exit %d: %s", code, errs)
	}
	bad := filepath.Join("runbooks", "testdata", "bad")
	code, out, _ := drnav(t, "lint", bad)
	if code != 1 {
		t.Fatalf("bad corpus: exit %d, want 1", code)
	}
	entries, err := os.ReadDir(bad)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.Contains(out, e.Name()+":") {
			t.Errorf("no file:line finding for %s", e.Name())
		}
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	isolate(t)
	for _, c := range commands() {
		args := []string{"--help"}
		if c.name != "" {
			args = []string{c.name, "--help"}
		}
		code, out, _ := drnav(t, args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("drnav %v: exit %d\n%s", args, code, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	isolate(t)
	cases := [][]string{
		{"frobnicate"},
		{"lint", "--no-such-flag"},
		{"run"},
		{"run", "database-corruption", "--var", "novalue"},
		{"report", "--format", "pdf"},
		{"version", "extra"},
	}
	for _, args := range cases {
		if code, _, _ := drnav(t, args...); code != exitUsage {
			t.Errorf("drnav %v: exit %d, want %d", args, code, exitUsage)
		}
	}
	code, _, errs := drnav(t, "run", "no-such-runbook")
	if code != 1 || !strings.Contains(errs, `no runbook "no-such-runbook"`) {
		t.Errorf("unknown runbook: exit %d, %s", code, errs)
	}
}

func TestVersion(t *testing.T) {
	isolate(t)
	code, out, _ := drnav(t, "version")
	if code != 0 || !strings.HasPrefix(out, "drnav "+version) {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestBadConfigIsAClearError(t *testing.T) {
	dir := isolate(t)
	p := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(p, []byte("namespce = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := drnav(t, "incidents", "--config", p)
	if code != 1 || !strings.Contains(errs, "unknown key namespce") {
		t.Errorf("exit %d: %s", code, errs)
	}
}

// TestRunResumeContinuesAJournal: a headless run stopped at a refused step
// continues with --resume, keeping what was done.
func TestRunResumeContinuesAJournal(t *testing.T) {
	dir := isolate(t)
	marker := filepath.Join(dir, "count")
	rbDir := writeRunbook(t, dir, `id = "two"
title = "Two steps"
impact = "none"
[[steps]]
id = "first"
title = "Count a run"
run = "echo x >> `+marker+`"
`+refusedStep)
	code, out, _ := drnav(t, "run", "two", "--runbooks", rbDir)
	if code != 1 || !strings.Contains(out, "destructive step refused") {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	_, list, _ := drnav(t, "incidents")
	fields := strings.Fields(strings.Split(list, "\n")[1])
	id := fields[0]
	code, out, errs := drnav(t, "run", "two", "--runbooks", rbDir, "--resume", id, "--allow-destructive", "change")
	if code != 0 {
		t.Fatalf("resumed run: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "first already done") {
		t.Errorf("the done step was not kept:\n%s", out)
	}
	b, err := os.ReadFile(marker)
	if err != nil || strings.Count(string(b), "x") != 1 {
		t.Errorf("the done step ran again: %q %v", b, err)
	}
}

func TestRunResumeRefusesAnotherRunbook(t *testing.T) {
	isolate(t)
	code, _, _ := drnav(t, "run", "database-corruption", "--drill", "--drill-speed", "50", "--skip-manual")
	if code != 1 {
		t.Fatalf("first run: exit %d, want 1 (destructive step refused)", code)
	}
	_, list, _ := drnav(t, "incidents")
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	code, _, errs := drnav(t, "run", "network-failure", "--drill", "--resume", id)
	if code != 1 || !strings.Contains(errs, `runs runbook "database-corruption", not "network-failure"`) {
		t.Errorf("exit %d: %s", code, errs)
	}
}
