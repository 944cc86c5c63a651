package kubetest

// Integration tests of the step engine's Kubernetes actions against the real
// control plane. Tests that take the API server down are not parallel (Go
// runs them before the parallel ones); all others are.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// stepResult is a finished step with its output.
type stepResult struct {
	fin   steps.Event
	lines []string
}

func (r stepResult) output() string { return strings.Join(r.lines, "\n") }

// runStep runs one step through the real step engine, with drnav's real
// kube provider reading the harness kubeconfig (context kubeContext).
func runStep(t *testing.T, cp *ControlPlane, kubeContext, ns string, st runbooks.Step, dryRun bool) stepResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return runStepWith(ctx, steps.NewKubeProvider(cp.Kubeconfig(), kubeContext, "", ns), ns, st, dryRun)
}

// runStepWith runs one step with the given kube provider until it ends or
// ctx does.
func runStepWith(ctx context.Context, prov steps.KubeProvider, ns string, st runbooks.Step, dryRun bool) stepResult {
	if st.ID == "" {
		st.ID = "it-" + st.K8s.Action
	}
	run := steps.Start(ctx, st, steps.Target{Kube: prov, Namespace: ns, DryRun: dryRun})
	go func() {
		for range run.Events() {
		}
	}()
	fin := run.Wait()
	var lines []string
	for _, l := range run.Tail(1000) {
		lines = append(lines, l.Text)
	}
	return stepResult{fin: fin, lines: lines}
}

func mustOK(t *testing.T, what string, r stepResult) {
	t.Helper()
	if r.fin.ExitCode != steps.ExitOK || r.fin.Err != "" {
		t.Fatalf("%s: exit %d, err %q; output:\n%s", what, r.fin.ExitCode, r.fin.Err, r.output())
	}
}

func k8sStep(a runbooks.K8sAction) runbooks.Step { return runbooks.Step{K8s: &a} }

func intp(n int) *int { return &n }

func createDeployment(t *testing.T, cp *ControlPlane, ns, name string, replicas int32) *appsv1.Deployment {
	t.Helper()
	d, err := cp.Client().AppsV1().Deployments(ns).Create(context.Background(), testDeployment(name, replicas), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment %s: %v", name, err)
	}
	return d
}

// deployReady creates d and waits until all its replicas are ready.
func deployReady(t *testing.T, cp *ControlPlane, ns string, d *appsv1.Deployment) {
	t.Helper()
	if _, err := cp.Client().AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment %s: %v", d.Name, err)
	}
	waitReady(t, cp.Client(), ns, d.Name, int(*d.Spec.Replicas))
}

func getDeployment(t *testing.T, cp *ControlPlane, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := cp.Client().AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment %s: %v", name, err)
	}
	return d
}

// setImage changes the deployment's image (a new rollout) and waits for it.
func setImage(t *testing.T, cp *ControlPlane, ns, name, image string) {
	t.Helper()
	poll(t, 10*time.Second, "update image", func() error {
		d := getDeployment(t, cp, ns, name)
		d.Spec.Template.Spec.Containers[0].Image = image
		_, err := cp.Client().AppsV1().Deployments(ns).Update(context.Background(), d, metav1.UpdateOptions{})
		return err // a Conflict with the controller is retried
	})
	mustOK(t, "rollout status after image "+image, runStep(t, cp, AdminContext, ns,
		k8sStep(runbooks.K8sAction{Action: runbooks.K8sRolloutStatus, Deployment: name}), false))
}

// deployThreeRevisions creates the deployment (image registry.invalid/app:1)
// and rolls it out to app:2, then app:3, each rollout finished: an undo has
// revision 2 to go back to.
func deployThreeRevisions(t *testing.T, cp *ControlPlane, ns, name string, replicas int32) {
	t.Helper()
	deployReady(t, cp, ns, testDeployment(name, replicas))
	setImage(t, cp, ns, name, "registry.invalid/app:2")
	setImage(t, cp, ns, name, "registry.invalid/app:3")
}

func TestStepScale(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	deployReady(t, cp, ns, testDeployment("web", 1))

	st := k8sStep(runbooks.K8sAction{Action: runbooks.K8sScale, Deployment: "web", Replicas: intp(3)})
	st.Verify = &runbooks.Verify{Deployment: "web", Ready: intp(3),
		Within: runbooks.Duration{Duration: time.Minute}, Interval: runbooks.Duration{Duration: 200 * time.Millisecond}}
	r := runStep(t, cp, AdminContext, ns, st, false)
	mustOK(t, "scale", r)
	if r.fin.Verified == nil || !*r.fin.Verified {
		t.Errorf("scale: verify ready=3 not reported as passed; output:\n%s", r.output())
	}
	if !strings.Contains(r.output(), "replicas 1 → 3") {
		t.Errorf("scale output lacks the change: %s", r.output())
	}
	waitReady(t, cp.Client(), ns, "web", 3)
}

func TestStepRestartAndRolloutStatus(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	deployReady(t, cp, ns, testDeployment("api", 2))
	before := podNames(t, cp, ns, "api")

	mustOK(t, "restart", runStep(t, cp, AdminContext, ns,
		k8sStep(runbooks.K8sAction{Action: runbooks.K8sRestart, Deployment: "api"}), false))
	r := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sRolloutStatus, Deployment: "api"}), false)
	mustOK(t, "rollout status", r)
	if !strings.Contains(r.output(), `deployment "api" successfully rolled out`) {
		t.Errorf("rollout status output: %s", r.output())
	}

	d := getDeployment(t, cp, ns, "api")
	if d.Spec.Template.Annotations[steps.RestartedAtKey] == "" {
		t.Errorf("template lacks %s after restart", steps.RestartedAtKey)
	}
	if got := d.Annotations[steps.RevisionAnnotation]; got != "2" {
		t.Errorf("revision after restart = %q, want 2", got)
	}
	// The real controllers replaced every pod.
	waitReady(t, cp.Client(), ns, "api", 2)
	poll(t, 30*time.Second, "old pods gone", func() error {
		for n := range podNames(t, cp, ns, "api") {
			if before[n] {
				return fmt.Errorf("old pod %s still there", n)
			}
		}
		return nil
	})
}

func TestStepUndoAfterTwoRollouts(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	deployThreeRevisions(t, cp, ns, "shop", 2)

	r := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sUndo, Deployment: "shop"}), false)
	mustOK(t, "undo", r)
	if !strings.Contains(r.output(), "rolled back to revision 2") {
		t.Errorf("undo output: %s", r.output())
	}
	mustOK(t, "rollout status after undo", runStep(t, cp, AdminContext, ns,
		k8sStep(runbooks.K8sAction{Action: runbooks.K8sRolloutStatus, Deployment: "shop"}), false))
	d := getDeployment(t, cp, ns, "shop")
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.invalid/app:2" {
		t.Errorf("image after undo = %s, want registry.invalid/app:2", img)
	}
	// kubectl semantics: the undone-to revision becomes the newest (4).
	if got := d.Annotations[steps.RevisionAnnotation]; got != "4" {
		t.Errorf("revision after undo = %q, want 4", got)
	}
	waitReady(t, cp.Client(), ns, "shop", 2)
}

func podNames(t *testing.T, cp *ControlPlane, ns, app string) map[string]bool {
	t.Helper()
	pods, err := cp.Client().CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	names := map[string]bool{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			names[p.Name] = true
		}
	}
	return names
}

func TestStepDeletePodIsReplaced(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	deployReady(t, cp, ns, testDeployment("worker", 2))
	before := podNames(t, cp, ns, "worker")
	var victim string
	for n := range before {
		victim = n
		break
	}
	r := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sDeletePod, Pod: victim}), false)
	mustOK(t, "delete pod", r)
	poll(t, 60*time.Second, "pod replaced", func() error {
		if _, err := cp.Client().CoreV1().Pods(ns).Get(context.Background(), victim, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("pod %s still exists (%v)", victim, err)
		}
		now := podNames(t, cp, ns, "worker")
		if len(now) != 2 {
			return fmt.Errorf("%d pods", len(now))
		}
		n, err := readyPods(context.Background(), cp.Client(), ns, "worker")
		if err != nil || n != 2 {
			return fmt.Errorf("%d ready (%v)", n, err)
		}
		return nil
	})

	missing := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sDeletePod, Pod: "no-such-pod"}), false)
	if missing.fin.ExitCode == steps.ExitOK || !strings.Contains(missing.fin.Err, `"no-such-pod" not found`) {
		t.Errorf("deleting a missing pod: exit %d err %q", missing.fin.ExitCode, missing.fin.Err)
	}
}

func TestStepApplyManifests(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	apply := k8sStep(runbooks.K8sAction{Action: runbooks.K8sApply, Path: "testdata/manifests"})

	first := runStep(t, cp, AdminContext, ns, apply, false)
	mustOK(t, "first apply", first)
	for _, want := range []string{"configmap/shop-config serverside-applied", "deployment.apps/shop serverside-applied", "service/shop serverside-applied"} {
		if !strings.Contains(first.output(), want) {
			t.Errorf("first apply output lacks %q:\n%s", want, first.output())
		}
	}
	waitReady(t, cp.Client(), ns, "shop", 2)
	mustOK(t, "second apply (no conflict)", runStep(t, cp, AdminContext, ns, apply, false))

	cm, err := cp.Client().CoreV1().ConfigMaps(ns).Get(context.Background(), "shop-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["color"] != "blue" {
		t.Errorf("configmap color = %q", cm.Data["color"])
	}
	managers := map[string]bool{}
	for _, f := range cm.ManagedFields {
		managers[f.Manager] = true
	}
	if !managers[steps.FieldManager] {
		t.Errorf("field managers of shop-config: %v, want %s", managers, steps.FieldManager)
	}

	// Another field manager takes over .data.color (forced, as a person
	// running kubectl apply --force-conflicts would).
	other := corev1ac.ConfigMap("shop-config", ns).WithData(map[string]string{"color": "red"})
	if _, err := cp.Client().CoreV1().ConfigMaps(ns).Apply(context.Background(), other,
		metav1.ApplyOptions{FieldManager: "night-shift-script", Force: true}); err != nil {
		t.Fatalf("apply by the other manager: %v", err)
	}
	conflict := runStep(t, cp, AdminContext, ns, apply, false)
	if conflict.fin.ExitCode == steps.ExitOK {
		t.Fatalf("apply over another manager's field succeeded; output:\n%s", conflict.output())
	}
	for _, want := range []string{"configmap/shop-config", "conflict", `"night-shift-script"`, ".data.color"} {
		if !strings.Contains(conflict.fin.Err, want) {
			t.Errorf("conflict error lacks %q: %s", want, conflict.fin.Err)
		}
	}
	cm, err = cp.Client().CoreV1().ConfigMaps(ns).Get(context.Background(), "shop-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["color"] != "red" {
		t.Errorf("a failed (not forced) apply changed color to %q", cm.Data["color"])
	}
}

func TestStepDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	deployReady(t, cp, ns, testDeployment("db-proxy", 2))
	before := getDeployment(t, cp, ns, "db-proxy")
	pods := podNames(t, cp, ns, "db-proxy")
	var pod string
	for n := range pods {
		pod = n
	}

	actions := []runbooks.K8sAction{
		{Action: runbooks.K8sScale, Deployment: "db-proxy", Replicas: intp(0)},
		{Action: runbooks.K8sRestart, Deployment: "db-proxy"},
		{Action: runbooks.K8sDeletePod, Pod: pod},
		{Action: runbooks.K8sApply, Path: "testdata/manifests"},
	}
	for _, a := range actions {
		r := runStep(t, cp, AdminContext, ns, k8sStep(a), true)
		mustOK(t, "dry-run "+a.Action, r)
		if !r.fin.DryRun && !strings.Contains(r.output(), "dry run") {
			t.Errorf("dry-run %s: output does not say dry run:\n%s", a.Action, r.output())
		}
	}
	// A dry run that the server rejects still fails: validation is real.
	bad := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sScale, Deployment: "db-proxy", Replicas: intp(-1)}), true)
	if bad.fin.ExitCode == steps.ExitOK {
		t.Errorf("dry-run scale to -1 passed server validation; output:\n%s", bad.output())
	}

	after := getDeployment(t, cp, ns, "db-proxy")
	if after.Generation != before.Generation || *after.Spec.Replicas != 2 ||
		after.Spec.Template.Annotations[steps.RestartedAtKey] != "" {
		t.Errorf("dry runs changed the deployment: generation %d→%d, replicas %d", before.Generation, after.Generation, *after.Spec.Replicas)
	}
	if _, err := cp.Client().CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{}); err != nil {
		t.Errorf("dry-run delete removed pod %s: %v", pod, err)
	}
	if _, err := cp.Client().CoreV1().ConfigMaps(ns).Get(context.Background(), "shop-config", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry-run apply created configmap shop-config: %v", err)
	}
	if _, err := cp.Client().AppsV1().Deployments(ns).Get(context.Background(), "shop", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry-run apply created deployment shop: %v", err)
	}

	// The audit log proves it: every mutating request drnav sent in this
	// namespace carried dryRun=All.
	events, err := cp.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	var dry int
	for _, e := range events {
		if e.Namespace() != ns || !strings.HasPrefix(e.UserAgent, "drnav") || !e.Mutating() {
			continue
		}
		if !e.DryRun() {
			t.Errorf("mutating request without dryRun reached the server: %s", e)
		}
		dry++
	}
	if dry < len(actions)+1 {
		t.Errorf("audit log holds %d dry-run requests from drnav in %s, want at least %d", dry, ns, len(actions)+1)
	}
}

func TestStepRBACDenial(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	createDeployment(t, cp, ns, "web", 1)

	tests := []struct {
		action runbooks.K8sAction
		want   []string
	}{
		{runbooks.K8sAction{Action: runbooks.K8sScale, Deployment: "web", Replicas: intp(3)},
			[]string{`"drnav-restricted"`, `cannot update resource "deployments/scale"`, `API group "apps"`, ns}},
		{runbooks.K8sAction{Action: runbooks.K8sRestart, Deployment: "web"},
			[]string{`cannot patch resource "deployments"`}},
		{runbooks.K8sAction{Action: runbooks.K8sDeletePod, Pod: "web-x"},
			[]string{`cannot delete resource "pods"`}},
	}
	for _, tt := range tests {
		r := runStep(t, cp, RestrictedContext, ns, k8sStep(tt.action), false)
		if r.fin.ExitCode == steps.ExitOK {
			t.Errorf("%s as %s succeeded", tt.action.Action, RestrictedUser)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(r.fin.Err, w) {
				t.Errorf("%s denial %q does not mention %s", tt.action.Action, r.fin.Err, w)
			}
		}
	}
	// Reading is allowed.
	mustOK(t, "list pods as restricted", runStep(t, cp, RestrictedContext, ns,
		k8sStep(runbooks.K8sAction{Action: runbooks.K8sListPods, Selector: "app=web"}), false))
	if d := getDeployment(t, cp, ns, "web"); *d.Spec.Replicas != 1 {
		t.Errorf("denied scale changed replicas to %d", *d.Spec.Replicas)
	}
}
