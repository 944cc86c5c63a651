package kubetest

// The Data Center Failure runbook run headless against the real control
// plane (two namespaces stand in for the primary and failover regions) and
// a real PostgreSQL database standing in for the failover database.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/headless"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// failoverBackup is the plain SQL dump restored into the failover database.
const failoverBackup = `CREATE TABLE orders (
	id       bigint PRIMARY KEY,
	customer text NOT NULL,
	total    numeric(10,2) NOT NULL
);
CREATE INDEX orders_customer_idx ON orders (customer);
INSERT INTO orders (id, customer, total) VALUES
	(1, 'acme', 120.50),
	(2, 'globex', 75.00),
	(3, 'initech', 310.25);
`

// testDatabase creates a fresh database on the server of DRNAV_TEST_PG_DSN
// (dropped when the test ends) and returns a DSN pointing at it. Without
// the variable the test is skipped, unless DRNAV_REQUIRE_PG=1.
func testDatabase(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("DRNAV_TEST_PG_DSN")
	if dsn == "" {
		if os.Getenv("DRNAV_REQUIRE_PG") == "1" {
			t.Fatal("DRNAV_TEST_PG_DSN is unset; required because DRNAV_REQUIRE_PG=1")
		}
		t.Skip("DRNAV_TEST_PG_DSN is unset: no PostgreSQL server to restore into")
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := "drnav_failover_" + hex.EncodeToString(suffix[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return dsnWithDatabase(t, dsn, name)
}

// dsnWithDatabase points a libpq DSN (URL or keyword/value) at database.
func dsnWithDatabase(t *testing.T, dsn, database string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("parse DRNAV_TEST_PG_DSN: %v", err)
		}
		u.Path = "/" + database
		return u.String()
	}
	// keyword/value: a later keyword wins
	return dsn + " dbname=" + database
}

// failoverKubeconfig writes a kubeconfig whose contexts "primary" and
// "failover" are the harness' admin on the same API server, each with its
// own default namespace.
func failoverKubeconfig(t *testing.T, cp *ControlPlane, primaryNS, failoverNS string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(cp.Kubeconfig())
	if err != nil {
		t.Fatalf("load harness kubeconfig: %v", err)
	}
	admin, ok := cfg.Contexts[AdminContext]
	if !ok {
		t.Fatalf("harness kubeconfig has no context %s", AdminContext)
	}
	cfg.Contexts["primary"] = &clientcmdapi.Context{Cluster: admin.Cluster, AuthInfo: admin.AuthInfo, Namespace: primaryNS}
	cfg.Contexts["failover"] = &clientcmdapi.Context{Cluster: admin.Cluster, AuthInfo: admin.AuthInfo, Namespace: failoverNS}
	cfg.CurrentContext = "primary"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}

func TestDataCenterFailoverHeadless(t *testing.T) {
	t.Parallel()
	dsn := testDatabase(t)
	cp := plane.Get(t)
	primaryNS := cp.NewNamespace(t)
	failoverNS := cp.NewNamespace(t)
	kubeconfig := failoverKubeconfig(t, cp, primaryNS, failoverNS)

	rb := shippedRunbook(t, "data-center-failure")

	work := t.TempDir()
	backup := filepath.Join(work, "latest.sql")
	if err := os.WriteFile(backup, []byte(failoverBackup), 0o600); err != nil {
		t.Fatal(err)
	}
	manifests, err := filepath.Abs("testdata/failover")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Namespace = failoverNS
	cfg.PrimaryContext = "primary"
	cfg.FailoverContext = "failover"
	cfg.FailoverManifests = manifests
	cfg.Backup.Dir = work
	cfg.Backup.Latest = backup

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vars, err := headless.ResolveVars(ctx, rb, nil, cfg.Values(), nil)
	if err != nil {
		t.Fatalf("resolve variables: %v", err)
	}

	var dbOpts []steps.DatabaseOption
	if bin := os.Getenv("DRNAV_TEST_PG_BIN"); bin != "" {
		dbOpts = append(dbOpts, steps.WithPsql(filepath.Join(bin, "psql")))
	}
	db, err := steps.NewDatabase(dsn, dbOpts...)
	if err != nil {
		t.Fatal(err)
	}
	prov := steps.NewKubeProviderWith(steps.KubeProviderOptions{Kubeconfig: kubeconfig, Primary: cfg.PrimaryContext, Failover: cfg.FailoverContext})
	target := steps.Target{
		Kube:      prov,
		DB:        db,
		Namespace: failoverNS,
		Dir:       work,
		// The typed actions (apply, rollout status, restore, amcheck, the
		// pods-ready wait) are what is under test. The shell steps call
		// kubectl, which this harness does not put on PATH (and which, where
		// it exists, would not read this test's kubeconfig), so they are
		// shown, not run.
		ShellMode: steps.ShellShowOnly,
		Backup:    cfg.Backup,
		RPO:       cfg.RPO.Duration,
	}
	journals := t.TempDir()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the failover database: %v", err)
	}
	defer conn.Close(context.Background())

	// The dry run changes nothing, and stops where reality stops: its
	// server-side dry-run apply created no deployment whose rollout could
	// be awaited.
	res, err := runShipped(t, ctx, rb, vars, target, journals, true)
	if res.Failed != "failover-rollout" {
		t.Fatalf("dry run: %v (failed %q, refused %q), want it to stop at failover-rollout", err, res.Failed, res.Refused)
	}
	for _, ns := range []string{primaryNS, failoverNS} {
		deps, err := cp.Client().AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(deps.Items) != 0 {
			t.Errorf("the dry run created %d deployments in %s", len(deps.Items), ns)
		}
	}
	// The manifests hold a CRD and a custom resource of its kind; the
	// (left in place, cluster-wide) CRD may exist from an earlier run, the
	// custom resource in this test's namespace may not.
	dyn, err := dynamic.NewForConfig(cp.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	routes := dyn.Resource(schema.GroupVersionResource{Group: "drnav.test", Version: "v1", Resource: "failoverroutes"}).Namespace(failoverNS)
	if _, err := routes.Get(ctx, "ci-failure-agent", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dry run created the custom resource FailoverRoute (%v)", err)
	}
	var tables int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil || tables != 0 {
		t.Errorf("the failover database after the dry run: %d tables (%v), want it still empty", tables, err)
	}

	res, err = runShipped(t, ctx, rb, vars, target, journals, false)
	if err != nil {
		t.Fatalf("headless run: %v (failed %q, refused %q)", err, res.Failed, res.Refused)
	}

	// The failover region runs the application, every replica ready.
	waitReady(t, cp.Client(), failoverNS, "ci-failure-agent", 2)
	d, err := cp.Client().AppsV1().Deployments(failoverNS).Get(ctx, "ci-failure-agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 || d.Status.ReadyReplicas != 2 || d.Status.UpdatedReplicas != 2 {
		t.Errorf("failover deployment: %d desired, %d ready, %d updated; want 2 of each", *d.Spec.Replicas, d.Status.ReadyReplicas, d.Status.UpdatedReplicas)
	}
	if _, err := cp.Client().CoreV1().Services(failoverNS).Get(ctx, "ci-failure-agent", metav1.GetOptions{}); err != nil {
		t.Errorf("service ci-failure-agent in the failover namespace: %v", err)
	}
	if route, err := routes.Get(ctx, "ci-failure-agent", metav1.GetOptions{}); err != nil {
		t.Errorf("custom resource FailoverRoute in the failover namespace: %v", err)
	} else if w, _, _ := unstructured.NestedInt64(route.Object, "spec", "weight"); w != 100 {
		t.Errorf("FailoverRoute spec.weight = %d, want 100", w)
	}
	// Nothing was deployed in, or sent to, the primary region.
	deps, err := cp.Client().AppsV1().Deployments(primaryNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps.Items) != 0 {
		t.Errorf("the failover created %d deployments in the primary namespace", len(deps.Items))
	}
	events, err := cp.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Namespace() == primaryNS && strings.HasPrefix(e.UserAgent, "drnav") {
			t.Errorf("drnav sent a request to the primary namespace: %s", e)
		}
	}

	// The backup is restored into the failover database.
	var n int
	var sum string
	if err := conn.QueryRow(ctx, "SELECT count(*), sum(total)::text FROM orders").Scan(&n, &sum); err != nil {
		t.Fatalf("query restored orders: %v", err)
	}
	if n != 3 || sum != "505.75" {
		t.Errorf("restored orders: %d rows totalling %s, want 3 totalling 505.75", n, sum)
	}

	// The journal: every typed step done, manual ones skipped, shell ones
	// shown only, the incident resolved.
	state, jevents, warns, err := incident.Read(journals, res.ID)
	if err != nil {
		t.Fatalf("read journal: %v", err)
	}
	if len(warns) > 0 {
		t.Errorf("journal warnings: %v", warns)
	}
	shownOnly := map[string]bool{}
	for _, ev := range jevents {
		if ev.Type == incident.EventStepStarted && ev.ShownOnly {
			shownOnly[ev.Step] = true
		}
	}
	typed := 0
	for _, st := range rb.Steps {
		got := state.Status(st.ID)
		switch st.Kind() {
		case runbooks.ActionManual:
			if got != incident.StepSkipped {
				t.Errorf("manual step %s: %s, want skipped", st.ID, got)
			}
		case runbooks.ActionShell:
			// Shown in a drill, not run: "shown", never "done".
			if got != incident.StepShown || !shownOnly[st.ID] {
				t.Errorf("shell step %s: %s (shown only %v), want shown (not done) and shown only", st.ID, got, shownOnly[st.ID])
			}
		default:
			typed++
			if got != incident.StepDone || shownOnly[st.ID] {
				t.Errorf("typed step %s (%s): %s (shown only %v), want done", st.ID, st.Kind(), got, shownOnly[st.ID])
			}
		}
	}
	if typed != 5 {
		t.Errorf("runbook has %d typed steps, want 5 (apply, rollout-status, restore, amcheck, pods-ready wait): update this test", typed)
	}
	if !state.Resolved {
		t.Errorf("journal not resolved after a complete run")
	}
}
