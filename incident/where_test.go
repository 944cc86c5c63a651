package incident

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drnav/drnav/internal/where"
)

// TestDeclaredTargetsSurviveTheJournalAndReachTheReport: the resolved
// context, server, namespace, user and database are written with the
// declared event, read back, and named by both reports.
func TestDeclaredTargetsSurviveTheJournalAndReachTheReport(t *testing.T) {
	root := t.TempDir()
	d := outageDeclared(ModeLive)
	lab := where.Kube{Context: "lab", Cluster: "lab-cluster", Server: "https://10.1.0.1:6443", Namespace: "perf", User: "lab-admin"}
	west := where.Kube{Context: "dr-west", Server: "https://10.2.0.1:6443", Namespace: "default", User: "dr-admin"}
	db := where.DB{Hosts: []string{"db1.internal:5433"}, Database: "app", User: "dr"}
	d.KubeContext, d.Kube, d.FailoverKube, d.DB, d.Database = "lab", &lab, &west, &db, db.String()
	j := mustCreate(t, root, d)
	id := j.ID()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	st, _, _, err := Read(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kube == nil || *st.Kube != lab || st.FailoverKube == nil || *st.FailoverKube != west || st.DB == nil || st.DB.String() != db.String() {
		t.Fatalf("read back: kube %+v failover %+v db %+v", st.Kube, st.FailoverKube, st.DB)
	}
	r := Report(st, outageRunbook(), 0, 0, at(3*hour))
	md := RenderMarkdown(r)
	for _, want := range []string{
		"| Kube context | lab · https://10.1.0.1:6443 · ns perf · user lab-admin |",
		"| Failover context | dr-west · https://10.2.0.1:6443 · ns default · user dr-admin |",
		"| Database | database app on db1.internal:5433 as user dr |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown report lacks %q", want)
		}
	}
	js, err := RenderJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Kube         where.Kube `json:"kube"`
		FailoverKube where.Kube `json:"failover_kube"`
		DB           where.DB   `json:"db"`
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Kube != lab || back.FailoverKube != west || back.DB.String() != db.String() {
		t.Errorf("json report: %+v", back)
	}
}

// TestOldJournalWithoutTargetsStillReads: a declared event written before
// the resolved targets existed reads, and the report falls back to the
// recorded strings.
func TestOldJournalWithoutTargetsStillReads(t *testing.T) {
	root := t.TempDir()
	j := mustCreate(t, root, outageDeclared(ModeLive))
	id := j.ID()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// The journal as an older drnav wrote it has no kube/db objects.
	b, err := os.ReadFile(filepath.Join(root, id, JournalName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"kube_context":"prod-eu"`) || strings.Contains(string(b), `"kube"`) || strings.Contains(string(b), `"db"`) {
		t.Fatalf("the declaration is not the old shape: %s", b)
	}
	st, _, _, err := Read(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kube != nil || st.DB != nil {
		t.Errorf("targets invented: %+v %+v", st.Kube, st.DB)
	}
	md := RenderMarkdown(Report(st, outageRunbook(), 0, 0, at(3*hour)))
	if !strings.Contains(md, "| Kube context | prod-eu |") || !strings.Contains(md, "| Database | postgres@db.internal:5432/app |") {
		t.Errorf("old journal's report lost the recorded strings:\n%s", md)
	}
}
