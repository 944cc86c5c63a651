package mdimport

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drnav/drnav/runbooks"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const plan = "DISASTER_RECOVERY_PLAN.md"

func importFile(t *testing.T, path string) *Result {
	t.Helper()
	src, err := ReadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(src, Options{Source: filepath.Base(path), Now: testNow})
	if err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	return res
}

// golden compares got with the file, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the import (run with -update and review the diff):\n--- got\n%s", path, got)
	}
}

// loads checks a generated runbook loads with no errors and returns it.
func loads(t *testing.T, f File) *runbooks.Runbook {
	t.Helper()
	rb, err := runbooks.LoadFile(f.Name, f.Data)
	if err != nil {
		t.Fatalf("%s does not load:\n%v\n%s", f.Name, err, f.Data)
	}
	return rb
}

// TestReferencePlan imports the shipped plan: the golden files are the
// reviewed output; every runbook loads and lints with only review warnings.
func TestReferencePlan(t *testing.T) {
	res := importFile(t, filepath.Join("testdata", plan))
	var summary bytes.Buffer
	WriteSummary(&summary, res, plan)
	golden(t, filepath.Join("testdata", "golden", "plan", "summary.txt"), summary.Bytes())
	var names []string
	byID := map[string]*runbooks.Runbook{}
	for _, f := range res.Files {
		names = append(names, f.Name)
		golden(t, filepath.Join("testdata", "golden", "plan", f.Name), f.Data)
		rb := loads(t, f)
		byID[rb.ID] = rb
		for _, fd := range f.Findings {
			if fd.Severity == runbooks.Error {
				t.Errorf("lint error: %s", fd)
			}
			if !strings.HasPrefix(fd.Message, "review: ") && !strings.HasPrefix(fd.Message, "review overdue") {
				t.Errorf("lint finding of a kind not listed for review: %s", fd)
			}
		}
	}
	want := []string{"data-center-failure.toml", "database-corruption.toml", "application-failure.toml",
		"network-failure.toml", "complete-system-outage.toml", "backup-verification.toml",
		"communication-plan.toml", "monthly-dr-drill.toml", "annual-audit.toml"}
	if !slices.Equal(names, want) {
		t.Fatalf("runbooks %q, want %q", names, want)
	}

	// The complete outage: five phases with the plan's budgets.
	co := byID["complete-system-outage"]
	var budgets []string
	for _, p := range co.Phases {
		budgets = append(budgets, runbooks.FormatDuration(p.Budget.Duration))
	}
	if !slices.Equal(budgets, []string{"15m", "30m", "2h", "30m", "30m"}) {
		t.Errorf("complete outage budgets %v", budgets)
	}
	if co.TotalBudget() != 3*time.Hour+45*time.Minute {
		t.Errorf("complete outage total %v", co.TotalBudget())
	}
	for _, s := range co.Steps {
		if s.Phase == "" || s.Manual == "" {
			t.Errorf("complete outage step %s: phase %q manual %q", s.ID, s.Phase, s.Manual)
		}
	}

	// Database corruption: its kubectl/psql lines as steps, the ones that
	// change state marked destructive.
	dc := byID["database-corruption"]
	wantRun := map[string]bool{ // run → destructive
		`kubectl exec -it deployment/{{db_deployment}} -- psql -U postgres -c "CHECK TABLE_NAME;"`:         true,
		"kubectl scale deployment {{deployment}} --replicas=0":                                             true,
		"psql -U postgres {{database}} < {{backup}}":                                                       true,
		`kubectl exec -it deployment/{{db_deployment}} -- psql -U postgres -c "REINDEX DATABASE db_name;"`: true,
		"kubectl scale deployment {{deployment}} --replicas=3":                                             true,
	}
	if len(dc.Steps) != len(wantRun) {
		t.Errorf("database corruption has %d steps, want %d", len(dc.Steps), len(wantRun))
	}
	for _, s := range dc.Steps {
		d, ok := wantRun[s.Run]
		if !ok {
			t.Errorf("unexpected step %s: %q", s.ID, s.Run)
			continue
		}
		if s.Destructive != d {
			t.Errorf("step %s destructive = %v, want %v", s.ID, s.Destructive, d)
		}
	}
	// Application failure: reads are not destructive; logs -f is flagged.
	for _, s := range byID["application-failure"].Steps {
		switch {
		case strings.HasPrefix(s.Run, "kubectl get pods"), strings.HasPrefix(s.Run, "kubectl describe"), strings.HasPrefix(s.Run, "kubectl rollout status"):
			if s.Destructive {
				t.Errorf("read-only step %q marked destructive", s.Run)
			}
		case strings.HasPrefix(s.Run, "kubectl delete pod {{failing_pod}}"):
			if !s.Destructive {
				t.Errorf("%q not destructive", s.Run)
			}
		case strings.Contains(s.Run, " -f"):
			if !s.Interactive {
				t.Errorf("never-ending %q not interactive", s.Run)
			}
		}
	}
	if v, ok := byID["application-failure"].VariableByName("failing_pod"); !ok || v.Source != "pods:unready" {
		t.Errorf("failing_pod variable: %+v", v)
	}
	// The communication plan repeats: a cadence runbook.
	if cp := byID["communication-plan"]; cp.Kind != runbooks.KindCadence || len(cp.Phases) != 3 || cp.Phases[1].Every.Duration != 30*time.Minute {
		t.Errorf("communication plan: kind %q phases %+v", cp.Kind, cp.Phases)
	}
	// What has no runbook is reported with its lines.
	for _, s := range []string{"DISASTER_RECOVERY_PLAN.md:3: \"Scope and Objectives\": no steps",
		"DISASTER_RECOVERY_PLAN.md:193-196: \"Contact Information\": list of 4 \"key: value\" items"} {
		if !strings.Contains(summary.String(), s) {
			t.Errorf("summary lacks %q:\n%s", s, summary.String())
		}
	}
}

// TestShapes imports small plans of other shapes against golden files.
func TestShapes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "shapes", "*.md"))
	if err != nil || len(files) < 3 {
		t.Fatalf("shapes: %v %v", files, err)
	}
	for _, md := range files {
		t.Run(filepath.Base(md), func(t *testing.T) {
			res := importFile(t, md)
			var all bytes.Buffer
			for _, f := range res.Files {
				loads(t, f)
				for _, fd := range f.Findings {
					if fd.Severity == runbooks.Error {
						t.Errorf("lint error: %s", fd)
					}
				}
				all.WriteString("=== " + f.Name + "\n")
				all.Write(f.Data)
			}
			all.WriteString("=== summary\n")
			WriteSummary(&all, res, filepath.Base(md))
			golden(t, strings.TrimSuffix(md, ".md")+".golden", all.Bytes())
		})
	}
}

// one imports a snippet and returns its only runbook, loaded.
func one(t *testing.T, md string) (*runbooks.Runbook, File, *Result) {
	t.Helper()
	res, err := Import([]byte(md), Options{Source: "t.md", Now: testNow})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if len(res.Files) != 1 {
		t.Fatalf("%d runbooks, want 1", len(res.Files))
	}
	return loads(t, res.Files[0]), res.Files[0], res
}

func TestPhaseBudgets(t *testing.T) {
	rb, _, _ := one(t, `# Failover

## Phase 1: Assessment (15 minutes)
- Check the dashboards

## Phase 2: Switch over
Timeframe: 2 hours

- Flip DNS

## Phase 3: Recover (1.5 hours)
- Restore data
`)
	want := []struct {
		id, title string
		d         time.Duration
	}{{"assessment", "Assessment", 15 * time.Minute}, {"switch-over", "Switch over", 2 * time.Hour}, {"recover", "Recover", 90 * time.Minute}}
	if len(rb.Phases) != len(want) {
		t.Fatalf("phases %+v", rb.Phases)
	}
	for i, w := range want {
		p := rb.Phases[i]
		if p.ID != w.id || p.Title != w.title || p.Budget.Duration != w.d {
			t.Errorf("phase %d = %+v, want %+v", i, p, w)
		}
	}
	if rb.Steps[1].Phase != "switch-over" || rb.Steps[1].Manual != "Flip DNS" {
		t.Errorf("step 2 %+v", rb.Steps[1])
	}
}

func TestBudgetParsing(t *testing.T) {
	for _, c := range []struct {
		in    string
		d     time.Duration
		every bool
		ok    bool
	}{
		{"Assess (15 minutes)", 15 * time.Minute, false, true},
		{"Updates (Every 30 minutes)", 30 * time.Minute, true, true},
		{"Post-incident (Within 24 hours)", 24 * time.Hour, false, true},
		{"Timeframe: 2 hours", 2 * time.Hour, false, true},
		{"Restore (1-2 h)", 2 * time.Hour, false, true},
		{"Nothing (0 minutes)", 0, false, false},
		{"Forever (99999 days)", 0, false, false},
		{"Scope and objectives", 0, false, false},
	} {
		b, ok := findBudget(c.in)
		if ok != c.ok || b.d != c.d || b.every != c.every {
			t.Errorf("findBudget(%q) = %+v %v, want %v %v %v", c.in, b, ok, c.d, c.every, c.ok)
		}
	}
}

func TestConsolePrompts(t *testing.T) {
	rb, _, _ := one(t, "# Check\n\n```console\n$ kubectl get pods -n prod\nNAME   READY\nweb-1  1/1\n$ echo done \\\n> again\ndone again\n```\n")
	if len(rb.Steps) != 2 {
		t.Fatalf("steps %+v", rb.Steps)
	}
	if rb.Steps[0].Run != "kubectl get pods -n {{namespace}}" || rb.Steps[0].Expect != "Output like:\nNAME   READY\nweb-1  1/1" {
		t.Errorf("step 1 run %q expect %q", rb.Steps[0].Run, rb.Steps[0].Expect)
	}
	if rb.Steps[1].Run != "echo done \\\nagain" {
		t.Errorf("step 2 run %q", rb.Steps[1].Run)
	}
	if v, _ := rb.VariableByName("namespace"); v.Default != "prod" || v.Config != "namespace" {
		t.Errorf("namespace variable %+v", v)
	}
}

func TestPlaceholders(t *testing.T) {
	rb, f, _ := one(t, "# Pods\n\n```bash\n"+
		"kubectl delete pod <pod-name>\n"+
		"kubectl logs \"$POD\" --tail=10\n"+
		"echo \"pod is $POD\"\n"+
		"for NODE in a b; do kubectl drain $NODE; done\n"+
		"echo $HOME\n"+
		"```\n\n1. Restart <pod-name> by hand\n")
	runs := []string{}
	for _, s := range rb.Steps {
		runs = append(runs, s.Run+"|"+s.Manual)
	}
	want := []string{
		"kubectl delete pod {{pod_name}}|",
		"kubectl logs {{pod}} --tail=10|",
		"echo \"pod is \"{{pod}}\"\" &&\nfor NODE in a b; do kubectl drain $NODE; done|",
		"echo $HOME|",
		"|Restart {{pod_name}} by hand",
	}
	if !slices.Equal(runs, want) {
		t.Errorf("steps:\n%q\nwant\n%q", runs, want)
	}
	var names []string
	for _, v := range rb.Variables {
		names = append(names, v.Name+"/"+v.Source)
	}
	if !slices.Equal(names, []string{"pod_name/pods", "pod/pods"}) {
		t.Errorf("variables %q", names)
	}
	if !bytes.Contains(f.Data, []byte(`# REVIEW: {{pod}} was inside double quotes: the quotes are closed around it`)) {
		t.Errorf("no note on the quoted placeholder:\n%s", f.Data)
	}
}

func TestDestructiveDetection(t *testing.T) {
	for _, c := range []struct {
		cmd                      string
		destructive, interactive bool
	}{
		{"kubectl get pods -A", false, false},
		{"kubectl -n prod describe deploy web", false, false},
		{"kubectl delete pod web-1", true, false},
		{"kubectl scale deployment web --replicas=0", true, false},
		{"kubectl rollout restart deployment/web", true, false},
		{"kubectl rollout status deployment/web", false, false},
		{"kubectl drain node-1 --ignore-daemonsets", true, false},
		{"kubectl patch deploy web -p '{}'", true, false},
		{"kubectl logs -f deploy/web", false, true},
		{"kubectl get pods -w", false, true},
		{"kubectl exec -it web -- psql -c 'SELECT 1'", false, true},
		{"kubectl exec web -- psql -c 'DROP TABLE users'", true, false},
		{"psql -c 'select count(*) from t'", false, false},
		{"psql -c 'DELETE FROM t'", true, false},
		{"psql app < dump.sql", true, false},
		{"psql -f migrate.sql", true, false},
		{"pg_restore -d app backup.dump", true, false},
		{"rm -rf /var/lib/data", true, false},
		{"mv a b", true, false},
		{"curl -s http://x/health | jq .", false, false},
		{"curl -X DELETE http://x/item", true, false},
		{"systemctl status nginx", false, false},
		{"sudo systemctl restart nginx", true, false},
		{"tail -f /var/log/syslog", false, true},
		{"watch kubectl get pods", false, true},
		{"helm rollback web 3", true, false},
		{"helm list", false, false},
		{"echo hi > /etc/motd", true, false},
		{"echo hi > /dev/null", false, false},
		{"./scripts/reset.sh", true, false},
		{"dig example.com", false, false},
	} {
		t.Run(c.cmd, func(t *testing.T) {
			items := analyseShell([]blockLine{{c.cmd, 1}}, false, newRegistry())
			if len(items) != 1 || items[0].cmd == nil {
				t.Fatalf("items %+v", items)
			}
			cmd := items[0].cmd
			if got := len(cmd.destructive) > 0; got != c.destructive {
				t.Errorf("destructive = %v (%q), want %v", got, cmd.destructive, c.destructive)
			}
			if got := len(cmd.interactive)+len(cmd.endless) > 0; got != c.interactive {
				t.Errorf("interactive = %v (%q %q), want %v", got, cmd.interactive, cmd.endless, c.interactive)
			}
		})
	}
}

func TestNestedLists(t *testing.T) {
	rb, _, _ := one(t, `# Recovery

Do these in order.

1. Prepare the standby
   - Check replication lag with `+"`kubectl get pods -l app=db`"+`
   - Page the DBA
2. Promote it:

   `+"```sh\n   pg_ctl promote -D /data\n   ```"+`
3. Tell the channel
`)
	type st struct{ title, why, run, manual string }
	var got []st
	for _, s := range rb.Steps {
		got = append(got, st{s.Title, s.Why, s.Run, s.Manual})
	}
	want := []st{
		{"Check replication lag with kubectl get pods -l app=db", "Do these in order. — Prepare the standby", "kubectl get pods -l {{app_label}}", ""},
		{"Page the DBA", "Do these in order. — Prepare the standby", "", "Page the DBA"},
		{"Promote it", "Do these in order.", "pg_ctl promote -D /data", ""},
		{"Tell the channel", "Do these in order.", "", "Tell the channel"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("steps:\n%+v\nwant\n%+v", got, want)
	}
	if !rb.Steps[2].Destructive {
		t.Error("pg_ctl promote not destructive")
	}
}

func TestHeadingWithoutStepsSkipped(t *testing.T) {
	_, _, res := one(t, "# Plan\n\n## Contacts\n\n- DBA: Ann\n- SRE: Bob\n\n## Scope\n\nAll of prod.\n\n## Restart\n\n1. Restart it\n")
	var skipped []string
	for _, s := range res.Skipped {
		skipped = append(skipped, s.What)
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0], `"Contacts": no steps`) || !strings.Contains(skipped[1], `"Scope": no steps`) {
		t.Errorf("skipped %q", skipped)
	}
	if len(res.Unmapped) != 2 || res.Unmapped[0].From != 5 || res.Unmapped[0].To != 6 {
		t.Errorf("unmapped %+v", res.Unmapped)
	}
}

func TestTextKeptAsComments(t *testing.T) {
	_, f, _ := one(t, "# Restore\n\n| host | role |\n| --- | --- |\n| db1 | primary |\n\n```yaml\nkind: Pod\n```\n\n- Restore it\n\nAfterwards, write it up.\n")
	for _, s := range []string{"# t.md:3-5: table\n#   | host | role |", "#   kind: Pod", "#   Afterwards, write it up."} {
		if !bytes.Contains(f.Data, []byte(s)) {
			t.Errorf("missing %q in\n%s", s, f.Data)
		}
	}
}

func TestNoRunbook(t *testing.T) {
	res, err := Import([]byte("# Notes\n\nJust prose.\n"), Options{})
	if !errors.Is(err, ErrNoRunbooks) || res == nil || len(res.Skipped) != 1 {
		t.Fatalf("err %v res %+v", err, res)
	}
}

func TestIDPrefixAndUniqueIDs(t *testing.T) {
	res, err := Import([]byte("# A\n## Restart\n- x\n## Restart\n- y\n"), Options{IDPrefix: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Files[0].ID != "acme-restart" || res.Files[1].ID != "acme-restart-2" {
		t.Errorf("files %+v", res.Files)
	}
	if _, err := Import([]byte("# A\n- x\n"), Options{IDPrefix: "Bad Prefix"}); err == nil {
		t.Error("bad prefix accepted")
	}
}

func TestWriteFilesNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	files := []File{{Name: "a.toml", Data: []byte("new a")}, {Name: "b.toml", Data: []byte("new b")}}
	if err := os.WriteFile(filepath.Join(dir, "b.toml"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFiles(dir, files, false); err == nil || !strings.Contains(err.Error(), "b.toml") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.toml")); !os.IsNotExist(err) {
		t.Error("a.toml written although b.toml blocked the import")
	}
	written, err := WriteFiles(dir, files, true)
	if err != nil || len(written) != 2 {
		t.Fatalf("force: %v %v", written, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b.toml")); string(b) != "new b" {
		t.Errorf("b.toml = %q", b)
	}
}

func TestBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin.md")
	huge := filepath.Join(dir, "huge.md")
	fifo := filepath.Join(dir, "fifo.md")
	latin := filepath.Join(dir, "latin1.md")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(bin, []byte("# x\n\x00\x01\x02"), 0o644))
	must(os.WriteFile(huge, bytes.Repeat([]byte("- step\n"), MaxSize/7+10), 0o644))
	must(os.WriteFile(latin, []byte("# caf\xe9\n- x\n"), 0o644))
	must(syscall.Mkfifo(fifo, 0o644))
	for _, c := range []struct{ path, want string }{
		{bin, "binary file (NUL byte at offset 4)"},
		{huge, "too big for a recovery plan"},
		{fifo, "not a regular file"},
		{latin, "not UTF-8"},
		{dir, "is a folder"},
		{filepath.Join(dir, "missing.md"), "no such file"},
	} {
		_, err := ReadPlan(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadPlan(%s) = %v, want %q", filepath.Base(c.path), err, c.want)
		}
	}
}

func TestTOMLStrings(t *testing.T) {
	for _, s := range []string{"plain", `say "hi"`, `it's "both"`, "a\\b", "multi\nline 'x'", "ends with '\nquote'", "tab\there", "ctl\x1b[0m", "'''\n'''", "\nleading newline", "x\r\ny"} {
		data := []byte("id = \"x\"\ntitle = " + tomlString(s) + "\n[[steps]]\nid = \"s\"\ntitle = \"t\"\nmanual = \"m\"\n")
		rb, err := runbooks.LoadFile("s.toml", data)
		if err != nil {
			t.Errorf("%q: %v\n%s", s, err, data)
			continue
		}
		if rb.Title != s {
			t.Errorf("round trip %q → %s → %q", s, tomlString(s), rb.Title)
		}
	}
}

// A comment-only group is a manual step, even right before a numbered one.
func TestCommentOnlyGroupIsManual(t *testing.T) {
	rb, _, _ := one(t, "# Failover\n\n```bash\n# 4. Update DNS\n# Change the CNAME records\n\n# 5. Monitor health\nkubectl get pods\n```\n")
	if len(rb.Steps) != 2 || rb.Steps[0].Title != "Update DNS" || rb.Steps[0].Manual != "Change the CNAME records" ||
		rb.Steps[1].Title != "Monitor health" || rb.Steps[1].Run != "kubectl get pods" {
		t.Errorf("steps %+v", rb.Steps)
	}
}

// Budgets past the RTO are kept as the plan says, and lint's error is listed.
func TestBudgetsPastRTOAreReported(t *testing.T) {
	res, err := Import([]byte("# Big\n\n1. Restore (3 hours)\n   - Restore\n2. Verify (2 hours)\n   - Verify\n"), Options{Source: "t.md", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	var sum bytes.Buffer
	WriteSummary(&sum, res, "t.md")
	if !strings.Contains(sum.String(), "ERROR: big.toml:") || !strings.Contains(sum.String(), "phase budgets sum to 5h, past the RTO of 4h") {
		t.Errorf("summary:\n%s", sum.String())
	}
}
