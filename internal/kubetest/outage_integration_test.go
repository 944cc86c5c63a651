package kubetest

// The shipped Complete outage runbook, unmodified, run headless through its
// five phases against the real control plane (the application and its
// database deployment scaled to zero) and a real PostgreSQL server of the
// test's own whose database came back stale.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drnav/drnav/headless"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/pgtest"
	"github.com/drnav/drnav/steps"
)

// outageChecksum digests the orders table: equal digests, equal data.
const outageChecksum = "SELECT count(*)::text || ':' || coalesce(sum(total), 0)::text FROM orders"

func TestCompleteOutageHeadless(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	srv := pgtest.Start(t)
	ns := cp.NewNamespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	// The outage: nothing runs (both deployments at 0 replicas) and the
	// database came back stale (two of the backup's three orders, one of
	// them changed).
	const app, pg = "ci-failure-agent", "postgres"
	for _, name := range []string{app, pg} {
		if _, err := cp.Client().AppsV1().Deployments(ns).Create(ctx, appDeployment(name, 0), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create deployment %s: %v", name, err)
		}
	}
	const name = "app"
	srv.Exec(t, "postgres", "CREATE DATABASE "+name)
	srv.Exec(t, name, `CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, total numeric(10,2) NOT NULL);
		INSERT INTO orders VALUES (1, 'acme', 99.00), (2, 'globex', 75.00)`)
	stale := srv.Query(t, name, outageChecksum)
	work := t.TempDir()
	backups := filepath.Join(work, "backups")
	if err := os.Mkdir(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(backups, "app-latest.sql")
	if err := os.WriteFile(backup, []byte(failoverBackup), 0o600); err != nil {
		t.Fatal(err)
	}
	const want = "3:505.75"

	// The health endpoint of the smoke test (curl runs for real): healthy
	// when the application has 3 ready replicas and the database holds the
	// backup's data, as the real application's /healthz would be.
	dsn := srv.DSNFor(t, name)
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := outageHealth(r.Context(), cp, ns, app, dsn); why != "" {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer health.Close()

	rb := shippedRunbook(t, "complete-outage")
	vars, err := headless.ResolveVars(ctx, rb, map[string]string{
		"deployment": app, "db_deployment": pg, "namespace": ns,
		"backup_dir": backups, "backup": backup, "health_url": health.URL + "/healthz",
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := steps.NewDatabase(dsn, steps.WithPsql(filepath.Join(srv.Bin, "psql")))
	if err != nil {
		t.Fatal(err)
	}
	// kubectl get, ls and curl run for real; kwok runs no container to exec
	// pg_isready in, so that step is shown.
	target := shippedTarget(t, cp, ns, work, "list-workloads", "backup-availability", "smoke-test")
	target.DB = db
	journals := filepath.Join(work, "journals")
	replicas := func(name string) (desired, ready int32) {
		d, err := cp.Client().AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas, d.Status.ReadyReplicas
	}

	// Dry run: the restore is rehearsed in a scratch database; nothing
	// else changes.
	res, err := runShipped(t, ctx, rb, vars, target, journals, true)
	if err != nil {
		t.Fatalf("dry run: %v (failed %q, refused %q)", err, res.Failed, res.Refused)
	}
	for _, n := range []string{app, pg} {
		if d, r := replicas(n); d != 0 || r != 0 {
			t.Errorf("%s after the dry run: %d desired, %d ready; want 0", n, d, r)
		}
	}
	if got := srv.Query(t, name, outageChecksum); got != stale {
		t.Errorf("database after the dry run: %s, want it still stale (%s)", got, stale)
	}
	if got := srv.Databases(t, name); len(got) != 1 {
		t.Errorf("databases after the dry run: %v, want %s only", got, name)
	}

	// The real run: five phases, end to end.
	res, err = runShipped(t, ctx, rb, vars, target, journals, false)
	if err != nil {
		t.Fatalf("run: %v (failed %q, refused %q)", err, res.Failed, res.Refused)
	}
	waitReady(t, cp.Client(), ns, app, 3)
	waitReady(t, cp.Client(), ns, pg, 1)
	if d, r := replicas(app); d != 3 || r != 3 {
		t.Errorf("%s: %d desired, %d ready; want 3", app, d, r)
	}
	if d, r := replicas(pg); d != 1 || r != 1 {
		t.Errorf("%s: %d desired, %d ready; want 1", pg, d, r)
	}
	if got := srv.Query(t, name, outageChecksum); got != want {
		t.Errorf("database after the runbook: %s, want the backup's %s", got, want)
	}
	kept := srv.Databases(t, name+"_damaged_")
	if len(kept) != 1 {
		t.Fatalf("kept stale databases: %v, want one", kept)
	}
	if got := srv.Query(t, kept[0], outageChecksum); got != stale {
		t.Errorf("%s holds %s, want the stale data %s", kept[0], got, stale)
	}
	found, err := db.Amcheck(ctx, "")
	if err != nil || len(found) != 0 {
		t.Errorf("amcheck after the runbook: %v %v", found, err)
	}

	state, events, _, err := incident.Read(journals, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !state.Resolved {
		t.Error("journal not resolved after a complete run")
	}
	var phases []string
	for _, ev := range events {
		if ev.Type == incident.EventPhaseEntered {
			phases = append(phases, ev.Phase)
		}
	}
	if got := strings.Join(phases, ","); got != "assess,failover,restore,service,normal" {
		t.Errorf("phases entered: %s, want all five in order", got)
	}
	for _, id := range []string{"list-workloads", "backup-availability", "smoke-test", "restore", "start-application"} {
		if got := state.Status(id); got != incident.StepDone {
			t.Errorf("step %s: %s, want done", id, got)
		}
	}
}

// outageHealth says what keeps the application from serving ("" when it
// serves): fewer than 3 ready replicas, or a database without the backup's
// orders.
func outageHealth(ctx context.Context, cp *ControlPlane, ns, app, dsn string) string {
	d, err := cp.Client().AppsV1().Deployments(ns).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	if d.Status.ReadyReplicas < 3 {
		return fmt.Sprintf("%d replicas ready", d.Status.ReadyReplicas)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err.Error()
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&n); err != nil {
		return err.Error()
	}
	if n != 3 {
		return fmt.Sprintf("%d orders", n)
	}
	return ""
}
