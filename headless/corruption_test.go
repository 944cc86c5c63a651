package headless

// The shipped Database corruption runbook, unmodified, run headless against
// a real PostgreSQL whose btree index is corrupt on disk and which took
// writes after its backup. The Kubernetes steps run against the drill
// simulator here (internal/kubetest runs the same against a real control
// plane); shell steps are shown, not run (kubectl logs needs a kubelet).

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drnav/drnav/drill"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/pgtest"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

func embeddedRunbook(t *testing.T, id string) *runbooks.Runbook {
	t.Helper()
	all, err := runbooks.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, rb := range all {
		if rb.ID == id {
			return rb
		}
	}
	t.Fatalf("no shipped runbook %s", id)
	return nil
}

func TestDatabaseCorruptionRunbookOnRealPostgres(t *testing.T) {
	pgtest.Require(t)
	t.Parallel()
	srv := pgtest.Start(t)
	work := t.TempDir()
	const name = "ci_builds"
	bad := srv.Corrupt(t, name, work)
	// amcheck sees the damage before the runbook starts
	db, err := steps.NewDatabase(srv.DSNFor(t, name), steps.WithPsql(filepath.Join(srv.Bin, "psql")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	found, err := db.Amcheck(ctx, "")
	if err != nil || len(found) == 0 {
		t.Fatalf("amcheck before the runbook: %v %v, want the corrupt index", found, err)
	}
	late := srv.Query(t, name, pgtest.LateRowsSQL)

	sim := drill.New(drill.Options{Speed: 20, Seed: 1, Dir: t.TempDir()})
	if err := sim.Inject(drill.ScenarioCorruption); err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sim.Stop()

	rb := embeddedRunbook(t, "database-corruption")
	vars, err := ResolveVars(ctx, rb, map[string]string{
		"deployment": drill.AppDeployment, "db_deployment": drill.DBDeployment,
		"namespace": "default", "app_label": drill.AppLabel, "backup": bad.Backup,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := steps.Target{Kube: sim.KubeProvider(), DB: db, Namespace: "default", Dir: work, ShellMode: steps.ShellShowOnly}
	run := func(dry bool) (Result, string, error) {
		tg := target
		tg.DryRun = dry
		var out bytes.Buffer
		res, err := Run(ctx, Options{
			Runbook: rb, JournalRoot: filepath.Join(work, "journals"), Mode: incident.ModeLive,
			Vars: vars, Target: tg, AllowDestructive: []string{"all"}, SkipManual: true, Out: &out,
		})
		return res, out.String(), err
	}

	// The dry run rehearses the restore in a scratch database; it finds the
	// live one still corrupt, so it stops at the final integrity check.
	res, out, err := run(true)
	t.Logf("dry run:\n%s", out)
	if res.Failed != "verify-integrity" {
		t.Fatalf("dry run: %v (failed %q), want it to stop at verify-integrity (nothing was repaired)", err, res.Failed)
	}
	if got := srv.Databases(t, name); len(got) != 1 {
		t.Errorf("databases after the dry run: %v, want only %s", got, name)
	}
	if got := srv.Query(t, name, pgtest.LateRowsSQL); got != late {
		t.Errorf("late rows after the dry run: %s, want %s (unchanged)", got, late)
	}
	if !strings.Contains(out, "✓ 5/8 restore") {
		t.Errorf("the dry-run restore did not pass:\n%s", out)
	}

	// The real run.
	res, out, err = run(false)
	t.Logf("run:\n%s", out)
	if err != nil {
		t.Fatalf("run: %v (failed %q, refused %q)", err, res.Failed, res.Refused)
	}
	if found, err := db.Amcheck(ctx, ""); err != nil || len(found) != 0 {
		t.Errorf("amcheck after the runbook: %v %v", found, err)
	}
	// The report tells the story: what amcheck found, what the restore swapped.
	state, _, _, err := incident.Read(filepath.Join(work, "journals"), res.ID)
	if err != nil {
		t.Fatal(err)
	}
	report := incident.RenderMarkdown(incident.Report(state, rb, 4*time.Hour, 15*time.Minute, time.Now()))
	for _, want := range []string{`corrupt: public.builds_pkey: index "builds_pkey" contains unexpected zero page at block 1`,
		"restore: swapped: " + name + " → " + name + "_damaged_", "; took ", "amcheck: no corruption found"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	srv.CheckSwapped(t, bad, late)
	if got := srv.Databases(t, name); len(got) != 2 {
		t.Errorf("databases: %v, want %s and the kept one", got, name)
	}
	cs, _, err := sim.KubeProvider().Client("primary")
	if err != nil {
		t.Fatal(err)
	}
	dep, err := cs.AppsV1().Deployments("default").Get(ctx, drill.AppDeployment, metav1.GetOptions{})
	if err != nil || dep.Status.ReadyReplicas != 3 {
		t.Errorf("application after the runbook: %v ready, %v; want 3", dep.Status.ReadyReplicas, err)
	}
	_ = os.Remove(bad.Backup)
}
