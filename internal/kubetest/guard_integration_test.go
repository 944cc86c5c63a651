package kubetest

// Integration test of the drill production guard (drill.Guard) against the
// real API server: a drill pointed at a real context that is not
// allow-listed must not change it, and the API server's audit log is the
// witness.

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/drill"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// runGuardedStep runs one step through the step engine with the given
// (guarded) provider.
func runGuardedStep(t *testing.T, prov steps.KubeProvider, ns string, st runbooks.Step) stepResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return runStepWith(ctx, prov, ns, st, false)
}

// auditSince returns the audit events in ns received at or after since by
// the harness' admin user (drnav's provider and the test's own admin client
// both authenticate as AdminUser; the control plane's components do not).
func auditSince(t *testing.T, cp *ControlPlane, ns string, since time.Time) []AuditEvent {
	t.Helper()
	events, err := cp.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	var out []AuditEvent
	for _, e := range events {
		if e.Namespace() != ns || e.User.Username != AdminUser || e.RequestReceivedTimestamp.Before(since) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func TestDrillGuardSendsNoMutation(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	ctx := context.Background()

	// Setup with the unguarded admin client: a deployment with three
	// revisions (so undo has somewhere to go) and a network policy.
	const app = "ledger"
	deployReady(t, cp, ns, testDeployment(app, 2))
	setImage(t, cp, ns, app, "registry.invalid/app:2")
	setImage(t, cp, ns, app, "registry.invalid/app:3")
	waitReady(t, cp.Client(), ns, app, 2)
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-ingress"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
	if _, err := cp.Client().NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create network policy: %v", err)
	}
	before := getDeployment(t, cp, ns, app)
	pods := podNames(t, cp, ns, app)
	var pod string
	for n := range pods {
		pod = n
	}

	real := steps.NewKubeProviderWith(steps.KubeProviderOptions{Kubeconfig: cp.Kubeconfig(), Primary: AdminContext, Namespace: ns})
	cfg := config.Default()
	cfg.Drill.AllowContexts = []string{"staging", RestrictedContext} // not AdminContext
	guarded := drill.Guard(real, cfg)

	// Everything from here on is the guarded drill: no admin setup request
	// is received at or after windowStart (each returned before it).
	windowStart := time.Now()

	actions := []runbooks.K8sAction{
		{Action: runbooks.K8sScale, Deployment: app, Replicas: intp(5)},
		{Action: runbooks.K8sRestart, Deployment: app},
		{Action: runbooks.K8sUndo, Deployment: app},
		{Action: runbooks.K8sDeletePod, Pod: pod},
		{Action: runbooks.K8sApply, Path: "testdata/manifests"},
		{Action: runbooks.K8sDeleteNetPolicy, Policy: np.Name},
	}
	for _, a := range actions {
		r := runGuardedStep(t, guarded, ns, k8sStep(a))
		// The guard forces server-side dry run: the step succeeds as a
		// dry run (a step that ignored ForceDryRun would be refused by the
		// guard's transport and fail here).
		if r.fin.ExitCode != steps.ExitOK || r.fin.Err != "" {
			t.Errorf("guarded %s: exit %d, err %q; output:\n%s", a.Action, r.fin.ExitCode, r.fin.Err, r.output())
		}
	}

	// The guard's transport, not only the step engine's dry-run flag: the
	// guarded clientset refuses a mutation without dryRun locally.
	cs, info, err := guarded.Client("primary")
	if err != nil {
		t.Fatalf("guarded client: %v", err)
	}
	if !info.ForceDryRun || !info.Real || info.Name != AdminContext {
		t.Errorf("guarded context info = %+v, want real %s with ForceDryRun", info, AdminContext)
	}
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "guard-probe"}, Data: map[string]string{"k": "v"}}
	direct := []struct {
		what string
		do   func() error
	}{
		{"update scale", func() error {
			sc, err := cs.AppsV1().Deployments(ns).GetScale(ctx, app, metav1.GetOptions{})
			if err != nil {
				return err
			}
			sc.Spec.Replicas = 7
			_, err = cs.AppsV1().Deployments(ns).UpdateScale(ctx, app, sc, metav1.UpdateOptions{})
			return err
		}},
		{"patch deployment", func() error {
			_, err := cs.AppsV1().Deployments(ns).Patch(ctx, app, types.MergePatchType,
				[]byte(`{"spec":{"template":{"metadata":{"annotations":{"guard-test":"x"}}}}}`), metav1.PatchOptions{})
			return err
		}},
		{"delete pod", func() error {
			return cs.CoreV1().Pods(ns).Delete(ctx, pod, metav1.DeleteOptions{})
		}},
		{"delete pod (dryRun=Other)", func() error {
			return cs.CoreV1().Pods(ns).Delete(ctx, pod, metav1.DeleteOptions{DryRun: []string{"Other"}})
		}},
		{"delete network policy", func() error {
			return cs.NetworkingV1().NetworkPolicies(ns).Delete(ctx, np.Name, metav1.DeleteOptions{})
		}},
		{"create configmap", func() error {
			_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, probe, metav1.CreateOptions{})
			return err
		}},
	}
	for _, d := range direct {
		err := d.do()
		if err == nil || !strings.Contains(err.Error(), "refused by the drill guard") {
			t.Errorf("guarded client, %s without dry run: err = %v, want a refusal by the drill guard", d.what, err)
		}
	}

	// The audit log: no mutating request without dryRun=All arrived in ns
	// from the admin user during the drill, and the dry runs did arrive
	// (so the log and the window really cover the drill).
	dryByResource := map[string]int{}
	for _, e := range auditSince(t, cp, ns, windowStart) {
		if !e.Mutating() {
			continue
		}
		if !e.DryRun() {
			t.Errorf("mutating request without dryRun reached the API server during the guarded drill: %s (user agent %q)", e, e.UserAgent)
			continue
		}
		if !strings.HasPrefix(e.UserAgent, "drnav") {
			t.Errorf("dry-run request from an unexpected client: %s (user agent %q)", e, e.UserAgent)
		}
		dryByResource[e.Verb+" "+e.Resource()]++
	}
	for _, want := range []string{"update deployments/scale", "patch deployments", "delete pods", "delete networkpolicies",
		"patch configmaps", "patch services"} {
		if dryByResource[want] == 0 {
			t.Errorf("audit log lacks a dry-run %q from the guarded drill; dry-run requests seen: %v", want, dryByResource)
		}
	}

	// And the objects are unchanged.
	after := getDeployment(t, cp, ns, app)
	if after.Generation != before.Generation || *after.Spec.Replicas != *before.Spec.Replicas ||
		after.Spec.Template.Spec.Containers[0].Image != "registry.invalid/app:3" ||
		after.Spec.Template.Annotations[steps.RestartedAtKey] != "" ||
		after.Annotations[steps.RevisionAnnotation] != before.Annotations[steps.RevisionAnnotation] {
		t.Errorf("guarded drill changed the deployment: generation %d→%d, replicas %d→%d, image %s, template annotations %v, revision %s→%s",
			before.Generation, after.Generation, *before.Spec.Replicas, *after.Spec.Replicas,
			after.Spec.Template.Spec.Containers[0].Image, after.Spec.Template.Annotations,
			before.Annotations[steps.RevisionAnnotation], after.Annotations[steps.RevisionAnnotation])
	}
	if p, err := cp.Client().CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Errorf("guarded drill deleted pod %s: %v", pod, err)
	}
	if _, err := cp.Client().NetworkingV1().NetworkPolicies(ns).Get(ctx, np.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("guarded drill deleted network policy %s: %v", np.Name, err)
	}
	for _, get := range []struct {
		what string
		err  error
	}{
		{"configmap shop-config", func() error {
			_, err := cp.Client().CoreV1().ConfigMaps(ns).Get(ctx, "shop-config", metav1.GetOptions{})
			return err
		}()},
		{"deployment shop", func() error {
			_, err := cp.Client().AppsV1().Deployments(ns).Get(ctx, "shop", metav1.GetOptions{})
			return err
		}()},
		{"configmap " + probe.Name, func() error {
			_, err := cp.Client().CoreV1().ConfigMaps(ns).Get(ctx, probe.Name, metav1.GetOptions{})
			return err
		}()},
	} {
		if !apierrors.IsNotFound(get.err) {
			t.Errorf("guarded drill created %s (get: %v)", get.what, get.err)
		}
	}

	// Allow-listed, the same provider really changes the context.
	cfg.Drill.AllowContexts = append(cfg.Drill.AllowContexts, AdminContext)
	allowed := drill.Guard(real, cfg)
	if _, info, err := allowed.Client("primary"); err != nil || info.ForceDryRun {
		t.Fatalf("allow-listed context: info %+v, err %v; want no ForceDryRun", info, err)
	}
	allowStart := time.Now()
	r := runGuardedStep(t, allowed, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sScale, Deployment: app, Replicas: intp(3)}))
	mustOK(t, "allow-listed scale", r)
	if d := getDeployment(t, cp, ns, app); *d.Spec.Replicas != 3 {
		t.Errorf("allow-listed scale: replicas %d, want 3", *d.Spec.Replicas)
	}
	waitReady(t, cp.Client(), ns, app, 3)
	var real3 int
	for _, e := range auditSince(t, cp, ns, allowStart) {
		if e.Mutating() && !e.DryRun() && e.Resource() == "deployments/scale" && strings.HasPrefix(e.UserAgent, "drnav") {
			real3++
		}
	}
	if real3 != 1 {
		t.Errorf("audit log holds %d real scale requests from the allow-listed drill, want 1", real3)
	}
}
