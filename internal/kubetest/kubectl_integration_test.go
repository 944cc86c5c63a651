package kubetest

// Integration tests of the step engine's Kubernetes actions that go through
// kubectl's own code (k8s.io/kubectl's rollbacker, object restarter and
// status viewer) and cli-runtime's resource.Builder (apply of any kind).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

const changeCause = "kubernetes.io/change-cause"

// rollOut changes the deployment's image with a change-cause, as
// kubectl set image … followed by kubectl annotate would, and waits for it.
func rollOut(t *testing.T, cp *ControlPlane, ns, name, image, cause string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, changeCause, cause, image)
	if _, err := cp.Client().AppsV1().Deployments(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("roll out %s: %v", image, err)
	}
	mustOK(t, "rollout status after "+image, runStep(t, cp, AdminContext, ns,
		k8sStep(runbooks.K8sAction{Action: runbooks.K8sRolloutStatus, Deployment: name}), false))
}

// revisionCauses maps each revision of the deployment's replica sets to its
// change-cause (what kubectl rollout history lists).
func revisionCauses(t *testing.T, cp *ControlPlane, ns, app string) map[string]string {
	t.Helper()
	l, err := cp.Client().AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatalf("list replica sets: %v", err)
	}
	out := map[string]string{}
	for _, rs := range l.Items {
		out[rs.Annotations[steps.RevisionAnnotation]] = rs.Annotations[changeCause]
	}
	return out
}

// Undo restores the revision's change-cause with its template (kubectl's
// rollbacker), so the history names the revision the deployment runs.
func TestStepUndoRestoresChangeCause(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	const app = "ledger"
	d := testDeployment(app, 2)
	d.Annotations = map[string]string{changeCause: "release 1"}
	deployReady(t, cp, ns, d)
	rollOut(t, cp, ns, app, "registry.invalid/app:2", "release 2")
	rollOut(t, cp, ns, app, "registry.invalid/app:3", "release 3 (bad)")

	// The dry run (server side) changes nothing.
	dry := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sUndo, Deployment: app}), true)
	mustOK(t, "dry-run undo", dry)
	if got := getDeployment(t, cp, ns, app); got.Annotations[changeCause] != "release 3 (bad)" || got.Spec.Template.Spec.Containers[0].Image != "registry.invalid/app:3" {
		t.Fatalf("dry-run undo changed the deployment: change-cause %q, image %s", got.Annotations[changeCause], got.Spec.Template.Spec.Containers[0].Image)
	}

	r := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sUndo, Deployment: app}), false)
	mustOK(t, "undo", r)
	for _, want := range []string{"rolled back to revision 2", "change-cause: release 2", "image registry.invalid/app:2"} {
		if !strings.Contains(r.output(), want) {
			t.Errorf("undo output lacks %q:\n%s", want, r.output())
		}
	}
	mustOK(t, "rollout status after undo", runStep(t, cp, AdminContext, ns,
		k8sStep(runbooks.K8sAction{Action: runbooks.K8sRolloutStatus, Deployment: app}), false))
	got := getDeployment(t, cp, ns, app)
	if got.Annotations[changeCause] != "release 2" {
		t.Errorf("deployment change-cause after undo = %q, want %q", got.Annotations[changeCause], "release 2")
	}
	// The deployment controller made revision 2's replica set revision 4;
	// the history says what it is.
	poll(t, 30*time.Second, "history after undo", func() error {
		h := revisionCauses(t, cp, ns, app)
		if h["4"] != "release 2" || h["3"] != "release 3 (bad)" || h["1"] != "release 1" {
			return fmt.Errorf("revision → change-cause %v", h)
		}
		return nil
	})
}

// wrappedProvider is drnav's real kube provider with one more layer at the
// bottom of the transport of every client it hands out.
type wrappedProvider struct {
	steps.KubeProvider
	wrap func(http.RoundTripper) http.RoundTripper
}

func (p wrappedProvider) Client(contextName string) (kubernetes.Interface, steps.ContextInfo, error) {
	_, info, err := p.KubeProvider.Client(contextName)
	if err != nil {
		return nil, info, err
	}
	cfg, err := p.RESTConfig(contextName)
	if err != nil {
		return nil, info, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	return cs, info, err
}

func (p wrappedProvider) RESTConfig(contextName string) (*rest.Config, error) {
	cfg, err := p.KubeProvider.(steps.RESTConfigProvider).RESTConfig(contextName)
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(p.wrap)
	return cfg, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// An undo cancelled as kubectl's rollbacker sends its PATCH sends nothing:
// the rollbacker's requests carry the step's context, so the PATCH does not
// land after the user cancelled, the deployment keeps its template and the
// step ends cancelled.
func TestStepUndoCancelledSendsNoPatch(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	const app = "till"
	deployThreeRevisions(t, cp, ns, app, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// What the transport returned for the deployment's PATCH.
	patched := make(chan error, 1)
	prov := wrappedProvider{
		KubeProvider: steps.NewKubeProvider(cp.Kubeconfig(), AdminContext, "", ns),
		wrap: func(next http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(req *http.Request) (*http.Response, error) {
				if req.Method != http.MethodPatch || !strings.HasSuffix(req.URL.Path, "/deployments/"+app) {
					return next.RoundTrip(req)
				}
				cancel() // the user cancels as the PATCH goes out
				resp, err := next.RoundTrip(req)
				select {
				case patched <- err:
				default:
				}
				return resp, err
			})
		},
	}
	r := runStepWith(ctx, prov, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sUndo, Deployment: app}), false)
	if r.fin.ExitCode != steps.ExitCancelled {
		t.Errorf("cancelled undo: exit %d, err %q, want %d; output:\n%s", r.fin.ExitCode, r.fin.Err, steps.ExitCancelled, r.output())
	}
	select {
	case err := <-patched:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the rollbacker's PATCH went out after the cancel (transport error %v)", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the undo never sent its PATCH")
	}
	d := getDeployment(t, cp, ns, app)
	if img, rev := d.Spec.Template.Spec.Containers[0].Image, d.Annotations[steps.RevisionAnnotation]; img != "registry.invalid/app:3" || rev != "3" {
		t.Errorf("cancelled undo changed the deployment: image %s, revision %s", img, rev)
	}
	events, err := cp.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Namespace() == ns && e.Verb == "patch" && e.Resource() == "deployments" {
			t.Errorf("the server received a PATCH of the deployment: %s", e)
		}
	}
}

// A paused deployment is not restarted: the step fails saying so (kubectl's
// restarter), rather than patching a template that no rollout follows.
func TestStepRestartPausedFails(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	deployReady(t, cp, ns, testDeployment("api", 1))
	if _, err := cp.Client().AppsV1().Deployments(ns).Patch(context.Background(), "api", types.MergePatchType,
		[]byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	before := getDeployment(t, cp, ns, "api")
	for _, dry := range []bool{true, false} {
		r := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sRestart, Deployment: "api"}), dry)
		if r.fin.ExitCode != steps.ExitFailed || !strings.Contains(r.fin.Err, "restart deployment api: can't restart paused deployment (run rollout resume first)") {
			t.Errorf("restart of a paused deployment (dry run %v): exit %d, err %q", dry, r.fin.ExitCode, r.fin.Err)
		}
	}
	after := getDeployment(t, cp, ns, "api")
	if after.Generation != before.Generation || after.Spec.Template.Annotations[steps.RestartedAtKey] != "" {
		t.Errorf("paused deployment changed: generation %d → %d, restartedAt %q", before.Generation, after.Generation, after.Spec.Template.Annotations[steps.RestartedAtKey])
	}
}

// Rollout status follows a rollout that cannot finish (kwok keeps the
// ":broken" image's pods in ImagePullBackOff) with kubectl's messages, and
// fails with kubectl's words once the progress deadline passes.
func TestStepRolloutStatusStalled(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	const app = "cart"
	deployReady(t, cp, ns, appDeployment(app, 2))
	ok := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sRolloutStatus, Deployment: app}), false)
	mustOK(t, "rollout status of a complete rollout", ok)
	if want := `deployment "cart" successfully rolled out`; ok.output() != want {
		t.Errorf("complete rollout: output %q, want %q", ok.output(), want)
	}

	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":%q,"image":"registry.invalid/%s:broken"}]}}}}`, app, app)
	if _, err := cp.Client().AppsV1().Deployments(ns).Patch(context.Background(), app, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	r := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sRolloutStatus, Deployment: app}), false)
	if r.fin.ExitCode != steps.ExitFailed || r.fin.Err != `deployment "cart" exceeded its progress deadline` {
		t.Fatalf("stalled rollout: exit %d, err %q; output:\n%s", r.fin.ExitCode, r.fin.Err, r.output())
	}
	if !strings.Contains(r.output(), `Waiting for deployment "cart" rollout to finish: `) {
		t.Errorf("stalled rollout: no progress message in the output:\n%s", r.output())
	}
}

// crdManifests writes a file holding a custom resource and, after it, the
// CRD that defines its kind, in a group of the test's own (CRDs are
// cluster-wide). The apply must put the CRD first and wait until it is
// served.
func crdManifests(t *testing.T, group, ns string) (dir string) {
	t.Helper()
	dir = t.TempDir()
	doc := fmt.Sprintf(`apiVersion: %[1]s/v1
kind: Failover
metadata:
  name: eu-west
  namespace: %[2]s
spec:
  region: eu-west-1
  replicas: 3
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: failovers.%[1]s
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: failovers, singular: failover, kind: Failover}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              region: {type: string}
              replicas: {type: integer}
`, group, ns)
	if err := os.WriteFile(filepath.Join(dir, "failover.yaml"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// failoverCRD writes crdManifests for a group named after ns and returns,
// with the group and the folder, dynamic clients for CRDs and for the
// namespace's failovers; the CRD is deleted when the test ends.
func failoverCRD(t *testing.T, cp *ControlPlane, ns string) (group, dir string, crds, failovers dynamic.ResourceInterface) {
	t.Helper()
	group = ns + ".drnav.test"
	dir = crdManifests(t, group, ns)
	dyn, err := dynamic.NewForConfig(cp.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	crds = dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	failovers = dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v1", Resource: "failovers"}).Namespace(ns)
	t.Cleanup(func() {
		_ = crds.Delete(context.Background(), "failovers."+group, metav1.DeleteOptions{})
	})
	return group, dir, crds, failovers
}

// Apply goes through cli-runtime's resource.Builder: a CRD and a custom
// resource of its kind in one manifest apply, dry run first (nothing is
// created), then for real; the CR is validated strictly against the CRD's
// schema.
func TestStepApplyCRDThenCustomResource(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	group, dir, crds, failovers := failoverCRD(t, cp, ns)
	apply := k8sStep(runbooks.K8sAction{Action: runbooks.K8sApply, Path: dir})

	dry := runStep(t, cp, AdminContext, ns, apply, true)
	mustOK(t, "dry-run apply", dry)
	crdLine := "customresourcedefinition.apiextensions.k8s.io/failovers." + group + " serverside-applied (server dry run)"
	crLine := "failover." + group + "/eu-west not sent (dry run)"
	if !strings.Contains(dry.output(), crdLine) || !strings.Contains(dry.output(), crLine) {
		t.Errorf("dry-run apply output lacks %q or %q:\n%s", crdLine, crLine, dry.output())
	}
	if _, err := crds.Get(context.Background(), "failovers."+group, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run apply created the CRD (%v)", err)
	}

	r := runStep(t, cp, AdminContext, ns, apply, false)
	mustOK(t, "apply", r)
	lines := r.lines
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "customresourcedefinition.apiextensions.k8s.io/failovers."+group+" serverside-applied") ||
		lines[1] != "failover."+group+"/eu-west serverside-applied" {
		t.Errorf("apply output, CRD first then the CR:\n%s", r.output())
	}
	cr, err := failovers.Get(context.Background(), "eu-west", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("custom resource after apply: %v", err)
	}
	if region, _, _ := unstructured.NestedString(cr.Object, "spec", "region"); region != "eu-west-1" {
		t.Errorf("custom resource spec.region = %q", region)
	}
	if !managedBy(cr.GetManagedFields(), steps.FieldManager) {
		t.Errorf("custom resource field managers %v, want %s (apply)", cr.GetManagedFields(), steps.FieldManager)
	}
	// Idempotent: the same apply again changes nothing and conflicts with nobody.
	mustOK(t, "second apply", runStep(t, cp, AdminContext, ns, apply, false))

	// Strict field validation: a field the CRD's schema does not declare is
	// an error naming it, not silently pruned.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(fmt.Sprintf("apiVersion: %s/v1\nkind: Failover\nmetadata:\n  name: typo\nspec:\n  regoin: eu-west-1\n", group)), 0o600); err != nil {
		t.Fatal(err)
	}
	br := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sApply, Path: bad}), false)
	if br.fin.ExitCode == steps.ExitOK || !strings.Contains(br.fin.Err, "regoin") {
		t.Errorf("apply with an undeclared field: exit %d, err %q", br.fin.ExitCode, br.fin.Err)
	}
	if _, err := failovers.Get(context.Background(), "typo", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused custom resource exists (%v)", err)
	}

	// A kind nobody defines fails clearly and applies nothing else wrongly.
	unknown := filepath.Join(t.TempDir(), "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("apiVersion: nowhere.drnav.test/v1\nkind: Ghost\nmetadata:\n  name: boo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ur := runStep(t, cp, AdminContext, ns, k8sStep(runbooks.K8sAction{Action: runbooks.K8sApply, Path: unknown}), false)
	if ur.fin.ExitCode == steps.ExitOK || !strings.Contains(ur.fin.Err, `no matches for kind "Ghost" in version "nowhere.drnav.test/v1"`) {
		t.Errorf("apply of an unknown kind: exit %d, err %q", ur.fin.ExitCode, ur.fin.Err)
	}
}

func managedBy(fields []metav1.ManagedFieldsEntry, manager string) bool {
	for _, f := range fields {
		if f.Manager == manager && f.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// A conflict on a custom resource names the other field manager and the
// field, and the other manager's value stays.
func TestStepApplyConflictOnCustomResource(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	group, dir, _, failovers := failoverCRD(t, cp, ns)
	apply := k8sStep(runbooks.K8sAction{Action: runbooks.K8sApply, Path: dir})
	mustOK(t, "apply", runStep(t, cp, AdminContext, ns, apply, false))

	other := []byte(fmt.Sprintf(`{"apiVersion":"%s/v1","kind":"Failover","metadata":{"name":"eu-west"},"spec":{"replicas":1}}`, group))
	if _, err := failovers.Patch(context.Background(), "eu-west", types.ApplyPatchType, other,
		metav1.PatchOptions{FieldManager: "capacity-autoscaler", Force: new(true)}); err != nil {
		t.Fatalf("apply by the other manager: %v", err)
	}
	r := runStep(t, cp, AdminContext, ns, apply, false)
	if r.fin.ExitCode == steps.ExitOK {
		t.Fatalf("apply over another manager's field succeeded:\n%s", r.output())
	}
	for _, want := range []string{"failover." + group + "/eu-west", "conflict", `"capacity-autoscaler"`, ".spec.replicas"} {
		if !strings.Contains(r.fin.Err, want) {
			t.Errorf("conflict error lacks %q: %s", want, r.fin.Err)
		}
	}
	cr, err := failovers.Get(context.Background(), "eu-west", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, _, _ := unstructured.NestedInt64(cr.Object, "spec", "replicas"); n != 1 {
		t.Errorf("a refused (not forced) apply changed spec.replicas to %d", n)
	}
}
