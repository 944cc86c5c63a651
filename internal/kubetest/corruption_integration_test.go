package kubetest

// The shipped Database corruption runbook, unmodified, run headless against
// the real control plane (stand-in deployments that kwok runs) and a real
// PostgreSQL server of the test's own whose btree index is corrupt on disk
// and which took writes after its backup.

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drnav/drnav/headless"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/pgtest"
	"github.com/drnav/drnav/steps"
)

// standIn creates a deployment of n replicas labelled app=name that kwok
// runs (its image is never pulled).
func standIn(t *testing.T, cp *ControlPlane, ns, name string, n int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "registry.invalid/" + name + ":1"}}},
			},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cp.Client().AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment %s: %v", name, err)
	}
}

func TestDatabaseCorruptionHeadless(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	srv := pgtest.Start(t)
	ns := cp.NewNamespace(t)
	standIn(t, cp, ns, "ci-failure-agent", 3)
	standIn(t, cp, ns, "postgres", 1)
	waitReady(t, cp.Client(), ns, "ci-failure-agent", 3)
	kubeconfig := failoverKubeconfig(t, cp, ns, ns)

	work := t.TempDir()
	const name = "ci_builds"
	bad := srv.Corrupt(t, name, work)
	late := srv.Query(t, name, pgtest.LateRowsSQL)

	rb := shippedRunbook(t, "database-corruption")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	vars, err := headless.ResolveVars(ctx, rb, map[string]string{
		"deployment": "ci-failure-agent", "db_deployment": "postgres", "namespace": ns,
		"app_label": "app=ci-failure-agent", "backup": bad.Backup,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := steps.NewDatabase(srv.DSNFor(t, name), steps.WithPsql(filepath.Join(srv.Bin, "psql")))
	if err != nil {
		t.Fatal(err)
	}
	target := steps.Target{
		Kube: steps.NewKubeProviderWith(steps.KubeProviderOptions{Kubeconfig: kubeconfig, Primary: "primary", Failover: "failover"}),
		DB:   db, Namespace: ns, Dir: work,
		// kwok serves no container logs, so the two kubectl logs steps are
		// shown, not run (steps' TestShippedShellStepsFailWithoutCluster
		// proves they fail when kubectl does).
		ShellMode: steps.ShellShowOnly,
	}
	run := func(dry bool) (headless.Result, error) {
		tg := target
		tg.DryRun = dry
		var out bytes.Buffer
		res, err := headless.Run(ctx, headless.Options{
			Runbook: rb, JournalRoot: filepath.Join(work, "journals"), Mode: incident.ModeLive,
			Vars: vars, Target: tg, AllowDestructive: []string{"all"}, SkipManual: true, Out: &out,
		})
		t.Logf("headless output (dry run %v):\n%s", dry, out.String())
		return res, err
	}
	replicas := func() int32 {
		d, err := cp.Client().AppsV1().Deployments(ns).Get(ctx, "ci-failure-agent", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}

	// Dry run: the restore is rehearsed in a scratch database; nothing else
	// changes, so the final integrity check still finds the corruption.
	res, err := run(true)
	if res.Failed != "verify-integrity" {
		t.Fatalf("dry run: %v (failed %q), want it to stop at verify-integrity", err, res.Failed)
	}
	if got := srv.Databases(t, name); len(got) != 1 {
		t.Errorf("databases after the dry run: %v", got)
	}
	if got := srv.Query(t, name, pgtest.LateRowsSQL); got != late {
		t.Errorf("late rows after the dry run: %s, want %s", got, late)
	}
	if r := replicas(); r != 3 {
		t.Errorf("replicas after the dry run: %d, want 3", r)
	}

	res, err = run(false)
	if err != nil {
		t.Fatalf("run: %v (failed %q, refused %q)", err, res.Failed, res.Refused)
	}
	found, err := db.Amcheck(ctx, "")
	if err != nil || len(found) != 0 {
		t.Errorf("amcheck after the runbook: %v %v", found, err)
	}
	srv.CheckSwapped(t, bad, late)
	waitReady(t, cp.Client(), ns, "ci-failure-agent", 3)
	// The writers really were stopped: drnav scaled the deployment to 0.
	events, err := cp.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	for _, e := range events {
		if e.Namespace() == ns && strings.HasPrefix(e.UserAgent, "drnav") && e.ObjectRef != nil && e.ObjectRef.Resource == "deployments" &&
			(e.Verb == "patch" || e.Verb == "update") && !strings.Contains(e.RequestURI, "dryRun") && e.Stage == "ResponseComplete" {
			changes++
		}
	}
	if changes < 2 {
		t.Errorf("%d changes of deployments by drnav in the audit log, want the scale to 0 and back to 3", changes)
	}
}
