package kubetest

// The shipped Application failure and Network failure runbooks, unmodified
// (variables only), run headless — a dry run, then for real — against the
// real control plane, with the fault made of real objects; each test then
// asserts on the objects themselves, not on what drnav printed.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drnav/drnav/headless"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// shippedRunbook returns the embedded runbook id, exactly as drnav ships it.
func shippedRunbook(t *testing.T, id string) *runbooks.Runbook {
	t.Helper()
	all, err := runbooks.Embedded()
	if err != nil {
		t.Fatalf("embedded runbooks: %v", err)
	}
	for _, r := range all {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("embedded runbook %s not found", id)
	return nil
}

// kubectlEnv puts the harness' kubectl first on PATH for shell steps (the
// step itself gets drnav's generated kubeconfig in KUBECONFIG).
func kubectlEnv(cp *ControlPlane) []string {
	return []string{"PATH=" + cp.BinDir() + string(os.PathListSeparator) + os.Getenv("PATH")}
}

// allowShell runs the named shell steps for real in ShellShowOnly mode and
// shows the others (kwok serves no container logs and runs no exec).
func allowShell(ids ...string) func(string) bool {
	return func(id string) bool {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
		return false
	}
}

// shippedTarget is the target a shipped runbook runs against in namespace
// ns (its primary and failover context both), from folder work: shell steps
// are shown, except those named in allowed, which run for real with the
// harness' kubectl (kwok serves no container logs and runs no exec).
func shippedTarget(t *testing.T, cp *ControlPlane, ns, work string, allowed ...string) steps.Target {
	t.Helper()
	return steps.Target{
		Kube:       steps.NewKubeProviderWith(steps.KubeProviderOptions{Kubeconfig: failoverKubeconfig(t, cp, ns, ns), Primary: "primary", Failover: "failover"}),
		Namespace:  ns,
		Dir:        work,
		Env:        kubectlEnv(cp),
		ShellMode:  steps.ShellShowOnly,
		AllowShell: allowShell(allowed...),
	}
}

// runShipped runs rb headless like `drnav run --allow-destructive all
// --skip-manual [--dry-run]` and logs what it printed.
func runShipped(t *testing.T, ctx context.Context, rb *runbooks.Runbook, vars map[string]string, tg steps.Target, journals string, dry bool) (headless.Result, error) {
	t.Helper()
	tg.DryRun = dry
	var out bytes.Buffer
	res, err := headless.Run(ctx, headless.Options{
		Runbook: rb, JournalRoot: journals, Mode: incident.ModeLive,
		Vars: vars, Target: tg, AllowDestructive: []string{"all"}, SkipManual: true, Out: &out,
	})
	t.Logf("drnav run %s (dry run %v):\n%s", rb.ID, dry, out.String())
	return res, err
}

// appDeployment is the application at its good release: n replicas of
// registry.invalid/<name>:1 that kwok runs, with a short progress deadline
// so a stalled rollout is reported as such (as kubectl rollout status does)
// within the test's time.
func appDeployment(name string, n int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	deadline := int32(20)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas:                &n,
			ProgressDeadlineSeconds: &deadline,
			Selector:                &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "registry.invalid/" + name + ":1"}}},
			},
		},
	}
}

func podsOf(ctx context.Context, cp *ControlPlane, ns, selector string) ([]corev1.Pod, error) {
	l, err := cp.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pods %s: %w", selector, err)
	}
	return l.Items, nil
}

func progressing(d *appsv1.Deployment) (reason string) {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing {
			return c.Reason
		}
	}
	return ""
}

// TestApplicationFailureHeadless: a release with an image that cannot be
// pulled (kwok's pod-image-pull-backoff stage, as a kubelet reports it)
// stalls the rollout past its progress deadline. The shipped runbook's
// dry run changes nothing and stops where kubectl would (the stalled
// rollout); the real run rolls back and restarts, and the Deployment is back
// on the good template with every replica ready.
func TestApplicationFailureHeadless(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	const app = "ci-failure-agent"
	const good, bad = "registry.invalid/" + app + ":1", "registry.invalid/" + app + ":broken"
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	deps := cp.Client().AppsV1().Deployments(ns)
	if _, err := deps.Create(ctx, appDeployment(app, 3), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	waitReady(t, cp.Client(), ns, app, 3)

	// The fault: the bad release is rolled out.
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"` + app + `","image":"` + bad + `"}]}}}}`)
	if _, err := deps.Patch(ctx, app, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("roll out the bad release: %v", err)
	}
	var failing string
	poll(t, 90*time.Second, "a pod of the bad release in ImagePullBackOff and the rollout past its deadline", func() error {
		pods, err := podsOf(ctx, cp, ns, "app="+app)
		if err != nil {
			return err
		}
		failing = ""
		for _, p := range pods {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Image == bad && cs.State.Waiting != nil && cs.State.Waiting.Reason == "ImagePullBackOff" {
					failing = p.Name
				}
			}
		}
		if failing == "" {
			return fmt.Errorf("no pod of %s in ImagePullBackOff yet", bad)
		}
		d, err := deps.Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if r := progressing(d); r != "ProgressDeadlineExceeded" {
			return fmt.Errorf("progressing condition %q", r)
		}
		return nil
	})
	before, err := deps.Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	badRevision := before.Annotations["deployment.kubernetes.io/revision"]

	rb := shippedRunbook(t, "application-failure")
	vars, err := headless.ResolveVars(ctx, rb, map[string]string{
		"deployment": app, "namespace": ns, "app_label": "app=" + app, "failing_pod": failing,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	// describe and rollout history run for real (kubectl against this API
	// server, through drnav's generated kubeconfig); kwok serves no
	// container logs, so the two kubectl logs steps are shown.
	target := shippedTarget(t, cp, ns, work, "describe-pod", "rollout-history")
	journals := filepath.Join(work, "journals")

	// Dry run: nothing changes, and it stops where reality stops: the
	// rollback was not made, so the rollout is still past its deadline.
	res, err := runShipped(t, ctx, rb, vars, target, journals, true)
	if res.Failed != "rollout-status" {
		t.Fatalf("dry run: %v (failed %q, refused %q), want it to stop at rollout-status", err, res.Failed, res.Refused)
	}
	after, err := deps.Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := after.Spec.Template.Spec.Containers[0].Image; img != bad || after.Generation != before.Generation {
		t.Errorf("after the dry run: image %s generation %d, want %s generation %d", img, after.Generation, bad, before.Generation)
	}
	if _, err := cp.Client().CoreV1().Pods(ns).Get(ctx, failing, metav1.GetOptions{}); err != nil {
		t.Errorf("the dry run's delete-pod deleted %s: %v", failing, err)
	}
	state, _, _, err := incident.Read(journals, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"describe-pod", "rollout-history"} {
		if got := state.Status(id); got != incident.StepDone {
			t.Errorf("dry run: shell step %s %s, want done (kubectl ran)", id, got)
		}
	}

	// The real run recovers it.
	res, err = runShipped(t, ctx, rb, vars, target, journals, false)
	if err != nil {
		t.Fatalf("run: %v (failed %q, refused %q)", err, res.Failed, res.Refused)
	}
	state, _, _, err = incident.Read(journals, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"describe-pod", "rollout-history"} {
		if got := state.Status(id); got != incident.StepDone {
			t.Errorf("shell step %s %s, want done (kubectl ran)", id, got)
		}
	}
	if out := state.Step("describe-pod").Tail; !strings.Contains(strings.Join(out, "\n"), "ImagePullBackOff") {
		t.Errorf("kubectl describe pod did not show ImagePullBackOff:\n%s", strings.Join(out, "\n"))
	}
	poll(t, 90*time.Second, "the deployment on the good release, 3 of 3 ready, no pod of the bad one", func() error {
		d, err := deps.Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != good {
			return fmt.Errorf("template image %s", img)
		}
		if d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
			return fmt.Errorf("template not restarted (no restartedAt annotation)")
		}
		if rev := d.Annotations["deployment.kubernetes.io/revision"]; rev == badRevision {
			return fmt.Errorf("revision still %s", rev)
		}
		s := d.Status
		if d.Status.ObservedGeneration < d.Generation || s.Replicas != 3 || s.UpdatedReplicas != 3 || s.ReadyReplicas != 3 || s.AvailableReplicas != 3 {
			return fmt.Errorf("status %+v (generation %d)", s, d.Generation)
		}
		pods, err := podsOf(ctx, cp, ns, "app="+app)
		if err != nil {
			return err
		}
		for _, p := range pods {
			if p.Spec.Containers[0].Image != good {
				return fmt.Errorf("pod %s runs %s", p.Name, p.Spec.Containers[0].Image)
			}
			if p.Name == failing {
				return fmt.Errorf("failing pod %s still exists", p.Name)
			}
		}
		return nil
	})
}

// denyAll is the fault: a policy selecting every pod and allowing no
// ingress.
func denyAll(name string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
}

// TestNetworkFailureHeadless: a deny-all NetworkPolicy cuts the
// application off. kwok enforces no policy, so the test asserts on the
// objects: after the shipped runbook the deny-all policy is gone and the
// known-good one (from the manifest) is in place; the dry run changed
// neither.
func TestNetworkFailureHeadless(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	const app = "ci-failure-agent"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	deployReady(t, cp, ns, appDeployment(app, 2))
	pols := cp.Client().NetworkingV1().NetworkPolicies(ns)
	if _, err := pols.Create(ctx, denyAll("deny-all"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the deny-all policy: %v", err)
	}
	pods, err := podsOf(ctx, cp, ns, "app="+app)
	if err != nil || len(pods) == 0 {
		t.Fatalf("pods: %v %v", pods, err)
	}
	manifest, err := filepath.Abs("testdata/network/allow-app.yaml")
	if err != nil {
		t.Fatal(err)
	}

	rb := shippedRunbook(t, "network-failure")
	vars, err := headless.ResolveVars(ctx, rb, map[string]string{
		"namespace": ns, "policy": "deny-all", "pod": pods[0].Name, "service": app,
		"health_url": "http://" + app + "." + ns + ".svc:8080/healthz", "network_policy": manifest,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	// kubectl describe runs for real; the kubectl exec steps are shown (kwok
	// runs no container to exec into).
	target := shippedTarget(t, cp, ns, work, "describe-policy")
	journals := filepath.Join(work, "journals")
	names := func() []string {
		l, err := pols.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range l.Items {
			out = append(out, p.Name)
		}
		return out
	}

	res, err := runShipped(t, ctx, rb, vars, target, journals, true)
	if err != nil {
		t.Fatalf("dry run: %v (failed %q, refused %q)", err, res.Failed, res.Refused)
	}
	if got := strings.Join(names(), ","); got != "deny-all" {
		t.Errorf("policies after the dry run: %s, want deny-all only", got)
	}

	res, err = runShipped(t, ctx, rb, vars, target, journals, false)
	if err != nil {
		t.Fatalf("run: %v (failed %q, refused %q)", err, res.Failed, res.Refused)
	}
	state, _, _, err := incident.Read(journals, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if out := strings.Join(state.Step("describe-policy").Tail, "\n"); !strings.Contains(out, "deny-all") {
		t.Errorf("kubectl describe networkpolicy did not describe deny-all:\n%s", out)
	}
	if got := strings.Join(names(), ","); got != "allow-app" {
		t.Fatalf("policies after the runbook: %s, want allow-app only", got)
	}
	p, err := pols.Get(ctx, "allow-app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.PodSelector.MatchLabels["app"] != app || len(p.Spec.Ingress) != 1 || len(p.Spec.Ingress[0].Ports) != 1 || p.Spec.Ingress[0].Ports[0].Port.IntValue() != 8080 {
		t.Errorf("allow-app is not the manifest's policy: %+v", p.Spec)
	}
}
