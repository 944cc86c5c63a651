package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/internal/environ"
	"github.com/drnav/drnav/internal/where"
)

// oneStepRunbooks writes a folder with a runbook of one harmless shell step
// and one destructive one, and returns the folder.
func oneStepRunbooks(t *testing.T, dir string) string {
	t.Helper()
	return writeRunbook(t, dir, localRunbook+refusedStep)
}

const labLine = "lab · https://127.0.0.1:1 · ns default · user lab-admin"

// TestLiveRunNamesTheContextInOutputJournalAndReport: with a plain
// kubeconfig (current context lab, no --context, no primary_context) a
// LIVE run prints, journals and reports lab, its server, namespace and
// user, and the database as host, port, database and user.
func TestLiveRunNamesTheContextInOutputJournalAndReport(t *testing.T) {
	dir := isolate(t)
	t.Setenv("PGHOST", "db9.internal")
	t.Setenv("PGPORT", "5433")
	t.Setenv("PGDATABASE", "orders") // the config's database (default app) wins, as for the steps
	t.Setenv("PGUSER", "dr")
	t.Setenv("PGPASSWORD", "never-shown-pw")
	rb := oneStepRunbooks(t, dir)
	code, out, errs := drnav(t, "run", "local", "--runbooks", rb, "--allow-destructive", "all", "--report", "json")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"LIVE: kube " + labLine, "LIVE: database app on db9.internal:5433 as user dr"} {
		if !strings.Contains(out, want) {
			t.Errorf("run output lacks %q:\n%s", want, out)
		}
	}
	var rep struct {
		KubeContext string     `json:"kube_context"`
		Kube        where.Kube `json:"kube"`
		DB          where.DB   `json:"db"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &rep); err != nil {
		t.Fatalf("json report: %v\n%s", err, out)
	}
	want := where.Kube{Context: "lab", Cluster: "lab-cluster", Server: "https://127.0.0.1:1", Namespace: "default", User: "lab-admin"}
	if rep.KubeContext != "lab" || rep.Kube != want || rep.DB.String() != "database app on db9.internal:5433 as user dr" {
		t.Errorf("json report: %+v", rep)
	}
	code, md, errs := drnav(t, "report")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	for _, want := range []string{"| Kube context | " + labLine + " |", "| Database | database app on db9.internal:5433 as user dr |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(out+md, "never-shown-pw") {
		t.Error("the password reached the output or the report")
	}
}

func TestLiveRunIsRefusedWithoutACurrentContext(t *testing.T) {
	dir := isolate(t)
	rb := oneStepRunbooks(t, dir)
	kc := filepath.Join(dir, "nocurrent")
	if err := os.WriteFile(kc, []byte(strings.Replace(labKubeconfig, "current-context: lab\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kc)
	code, out, errs := drnav(t, "run", "local", "--runbooks", rb)
	if code != 1 || !strings.Contains(errs, "LIVE refused") || !strings.Contains(errs, "no current context") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	t.Setenv("KUBECONFIG", filepath.Join(dir, "missing"))
	if code, _, errs := drnav(t, "run", "local", "--runbooks", rb); code != 1 || !strings.Contains(errs, "LIVE refused") {
		t.Fatalf("no kubeconfig: exit %d: %s", code, errs)
	}
	// Choosing the context with kubectl's own flags resolves it.
	code, out, errs = drnav(t, "run", "local", "--runbooks", rb, "--kubeconfig", kc, "--context", "west")
	if code != 1 || !strings.Contains(out, "LIVE: kube west · https://127.0.0.2:1 · ns default · user west-admin") {
		t.Fatalf("--kubeconfig --context west: exit %d (want 1: destructive refused)\n%s\n%s", code, out, errs)
	}
}

func TestKUBECONFIGWithTwoFiles(t *testing.T) {
	dir := isolate(t)
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	// a names the current context, b defines it.
	if err := os.WriteFile(a, []byte("apiVersion: v1\nkind: Config\ncurrent-context: west\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte(labKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", a+string(os.PathListSeparator)+b)
	o := newCmdOpts()
	tg := resolveTargets(o, config.Default())
	if tg.Unresolved != "" || tg.Primary.Context != "west" || tg.Primary.Server != "https://127.0.0.2:1" {
		t.Fatalf("targets: %+v", tg)
	}
	if got := strings.Join(tg.Contexts, ","); got != "lab,lab-alias,west" {
		t.Errorf("contexts %s", got)
	}
	if d := environ.Description(tg); d.KubeWhere == nil || d.KubeWhere.Short() != "west · https://127.0.0.2:1 · ns default" || d.Unresolved != "" {
		t.Errorf("mode screen description: %+v", d)
	}
}

func TestRunRefusesAFailoverOnTheSameServer(t *testing.T) {
	dir := isolate(t)
	rb := oneStepRunbooks(t, dir)
	code, out, errs := drnav(t, "run", "local", "--runbooks", rb, "--failover-context", "lab-alias")
	if code != 1 || !strings.Contains(errs, "primary lab and failover lab-alias are the same server (https://127.0.0.1:1)") ||
		!strings.Contains(errs, "--accept-same-server") || strings.Contains(out, "hello") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = drnav(t, "run", "local", "--runbooks", rb, "--failover-context", "lab-alias", "--accept-same-server", "--allow-destructive", "all")
	if code != 0 {
		t.Fatalf("accepted: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := drnav(t, "run", "local", "--runbooks", rb, "--failover-context", "west", "--allow-destructive", "all"); code != 0 {
		t.Fatalf("a real failover: exit %d: %s", code, errs)
	}
}

func TestRunResumeRefusesAChangedContext(t *testing.T) {
	dir := isolate(t)
	rb := oneStepRunbooks(t, dir)
	code, out, _ := drnav(t, "run", "local", "--runbooks", rb)
	if code != 1 || !strings.Contains(out, "destructive step refused") {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	_, list, _ := drnav(t, "incidents")
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	code, out, errs := drnav(t, "run", "local", "--runbooks", rb, "--resume", id, "--context", "west", "--allow-destructive", "all")
	for _, want := range []string{"declared on " + labLine, "this run reaches west", "context lab → west", "--context lab", "--accept-context-change"} {
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("exit %d, stderr lacks %q:\n%s\n%s", code, want, out, errs)
		}
	}
	code, out, errs = drnav(t, "run", "local", "--runbooks", rb, "--resume", id, "--context", "west", "--allow-destructive", "all", "--accept-context-change")
	if code != 0 {
		t.Fatalf("accepted: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestResumeWithoutAContextNamesTheDeclaredOne: `drnav resume` of a LIVE
// incident where no context resolves now refuses, naming the one it was
// declared with.
func TestResumeWithoutAContextNamesTheDeclaredOne(t *testing.T) {
	dir := isolate(t)
	rb := oneStepRunbooks(t, dir)
	if code, out, _ := drnav(t, "run", "local", "--runbooks", rb); code != 1 || !strings.Contains(out, "destructive step refused") {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	t.Setenv("KUBECONFIG", filepath.Join(dir, "missing"))
	code, _, errs := drnav(t, "resume", "--runbooks", rb)
	if code != 1 || !strings.Contains(errs, "LIVE refused") || !strings.Contains(errs, "was declared on lab") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}
