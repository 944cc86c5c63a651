package steps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/drnav/drnav/runbooks"
)

// fakeKube hands out one fake clientset for every context.
type fakeKube struct {
	cs    *fake.Clientset
	force bool
}

func (f *fakeKube) Client(name string) (kubernetes.Interface, ContextInfo, error) {
	return f.cs, ContextInfo{Name: "test-" + orStr(name, "primary"), Namespace: "default", ForceDryRun: f.force}, nil
}

// dryRunLog records requests that carried DryRun=All; a reactor answers them
// without persisting, as the API server does.
type dryRunLog struct {
	mu   sync.Mutex
	seen []string
}

func (d *dryRunLog) install(cs *fake.Clientset) {
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		var dry []string
		switch x := a.(type) {
		case k8stesting.UpdateActionImpl:
			dry = x.UpdateOptions.DryRun
		case k8stesting.PatchActionImpl:
			dry = x.PatchOptions.DryRun
		case k8stesting.DeleteActionImpl:
			dry = x.DeleteOptions.DryRun
		case k8stesting.CreateActionImpl:
			dry = x.CreateOptions.DryRun
		}
		if len(dry) == 1 && dry[0] == metav1.DryRunAll {
			d.mu.Lock()
			d.seen = append(d.seen, a.GetVerb()+" "+a.GetResource().Resource+"/"+a.GetSubresource())
			d.mu.Unlock()
			if a.GetSubresource() == "scale" {
				return true, &autoscalingv1.Scale{}, nil
			}
			return true, nil, nil
		}
		return false, nil, nil
	})
}

// scaleReactor implements the scale subresource the fake lacks.
func scaleReactor(cs *fake.Clientset) {
	cs.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.UpdateActionImpl)
		if u.GetSubresource() != "scale" {
			return false, nil, nil
		}
		sc := u.GetObject().(*autoscalingv1.Scale)
		obj, err := cs.Tracker().Get(appsv1.SchemeGroupVersion.WithResource("deployments"), u.GetNamespace(), sc.Name)
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment).DeepCopy()
		d.Spec.Replicas = &sc.Spec.Replicas
		if err := cs.Tracker().Update(appsv1.SchemeGroupVersion.WithResource("deployments"), d, u.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, sc, nil
	})
}

func i32(n int32) *int32 { return &n }

func deployment(name string, replicas int32, image string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Generation: 2,
			Annotations: map[string]string{RevisionAnnotation: "2"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: i32(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas},
	}
}

func replicaSet(d *appsv1.Deployment, rev, image, hash string) *appsv1.ReplicaSet {
	tmpl := d.Spec.Template.DeepCopy()
	tmpl.Labels = map[string]string{"app": d.Name, appsv1.DefaultDeploymentUniqueLabelKey: hash}
	tmpl.Spec.Containers[0].Image = image
	yes := true
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-" + hash, Namespace: "default", UID: types.UID("uid-rs-" + d.Name + "-" + hash),
			Labels:          map[string]string{"app": d.Name, appsv1.DefaultDeploymentUniqueLabelKey: hash},
			Annotations:     map[string]string{RevisionAnnotation: rev},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: i32(0), Template: *tmpl, Selector: d.Spec.Selector},
	}
}

func pod(name, app string, ready bool, waiting string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": app}, CreationTimestamp: metav1.NewTime(time.Now().Add(-5 * time.Minute))},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	cs := corev1.ContainerStatus{Name: "app", Ready: ready, RestartCount: 4}
	if waiting != "" {
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting}
	} else {
		cs.State.Running = &corev1.ContainerStateRunning{}
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	return p
}

func k8sStep(a runbooks.K8sAction) runbooks.Step {
	return runbooks.Step{ID: "k", K8s: &a}
}

func intp(n int) *int { return &n }

func getDep(t *testing.T, cs kubernetes.Interface, name string) *appsv1.Deployment {
	t.Helper()
	d, err := cs.AppsV1().Deployments("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestKubeScale(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(deployment("web", 3, "web:1"))
	scaleReactor(cs)
	evs := collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "scale", Deployment: "web", Replicas: intp(0)}), Target{Kube: &fakeKube{cs: cs}}))
	fin := finished(t, evs)
	if fin.ExitCode != 0 {
		t.Fatalf("%+v", fin)
	}
	if got := *getDep(t, cs, "web").Spec.Replicas; got != 0 {
		t.Fatalf("replicas %d", got)
	}
	want := "kubectl --context test-primary -n default scale deployment/web --replicas=0"
	if evs[0].Equivalent != want {
		t.Fatalf("equivalent %q", evs[0].Equivalent)
	}
}

func TestKubeRestart(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(deployment("web", 3, "web:1"))
	before := time.Now().Truncate(time.Second)
	fin := finished(t, collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "restart", Deployment: "web"}),
		Target{Kube: &fakeKube{cs: cs}})))
	if fin.ExitCode != 0 {
		t.Fatalf("%+v", fin)
	}
	// kubectl's restarter stamps the wall clock, in RFC 3339.
	got := getDep(t, cs, "web").Spec.Template.Annotations[RestartedAtKey]
	at, err := time.Parse(time.RFC3339, got)
	if err != nil || at.Before(before) || at.After(time.Now()) {
		t.Fatalf("restartedAt %q (%v), want a time since %s", got, err, before)
	}
}

// A paused deployment is not restarted (kubectl refuses it): the step fails
// naming the reason instead of leaving a rollout-status step to time out.
func TestKubeRestartPaused(t *testing.T) {
	t.Parallel()
	d := deployment("web", 3, "web:1")
	d.Spec.Paused = true
	cs := fake.NewClientset(d)
	fin := finished(t, collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "restart", Deployment: "web"}),
		Target{Kube: &fakeKube{cs: cs}})))
	if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "restart deployment web: can't restart paused deployment") {
		t.Fatalf("%+v", fin)
	}
	if got := getDep(t, cs, "web").Spec.Template.Annotations[RestartedAtKey]; got != "" {
		t.Fatalf("paused deployment restarted: %q", got)
	}
}

func TestKubeUndo(t *testing.T) {
	t.Parallel()
	d := deployment("web", 3, "web:bad")
	rs1 := replicaSet(d, "1", "web:1.4.2", "aaa")
	rs2 := replicaSet(d, "2", "web:bad", "bbb")
	other := replicaSet(deployment("other", 1, "x"), "5", "other:9", "ccc") // another owner
	other.Labels["app"] = "web"
	cs := fake.NewClientset(d, rs1, rs2, other)
	evs := collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "undo", Deployment: "web"}), Target{Kube: &fakeKube{cs: cs}}))
	fin := finished(t, evs)
	if fin.ExitCode != 0 {
		t.Fatalf("%+v", fin)
	}
	got := getDep(t, cs, "web").Spec.Template
	if got.Spec.Containers[0].Image != "web:1.4.2" {
		t.Fatalf("image %q", got.Spec.Containers[0].Image)
	}
	if _, ok := got.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; ok {
		t.Fatal("pod-template-hash copied into the deployment")
	}
	if !strings.Contains(lines(evs)[0].Text, "rolled back to revision 1") {
		t.Fatalf("%+v", lines(evs))
	}
}

func TestKubeUndoNoHistory(t *testing.T) {
	t.Parallel()
	d := deployment("web", 3, "web:1")
	cs := fake.NewClientset(d, replicaSet(d, "1", "web:1", "aaa"))
	fin := finished(t, collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "undo", Deployment: "web"}), Target{Kube: &fakeKube{cs: cs}})))
	if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "no rollout history") {
		t.Fatalf("%+v", fin)
	}
}

// kubectl's rollbacker carries the revision's annotations back to the
// deployment (change-cause among them) and keeps the deployment's own
// revision bookkeeping.
func TestKubeUndoRestoresChangeCause(t *testing.T) {
	t.Parallel()
	const cause = "kubernetes.io/change-cause"
	d := deployment("web", 3, "web:bad")
	d.Annotations[cause] = "deploy web:bad"
	rs1 := replicaSet(d, "1", "web:1.4.2", "aaa")
	rs1.Annotations[cause] = "deploy web:1.4.2"
	rs2 := replicaSet(d, "2", "web:bad", "bbb")
	rs2.Annotations[cause] = "deploy web:bad"
	cs := fake.NewClientset(d, rs1, rs2)
	evs := collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "undo", Deployment: "web"}), Target{Kube: &fakeKube{cs: cs}}))
	if fin := finished(t, evs); fin.ExitCode != 0 {
		t.Fatalf("%+v", fin)
	}
	got := getDep(t, cs, "web")
	if got.Annotations[cause] != "deploy web:1.4.2" {
		t.Errorf("change-cause after undo = %q, want the revision's", got.Annotations[cause])
	}
	if got.Annotations[RevisionAnnotation] != "2" {
		t.Errorf("revision annotation = %q: the rollbacker keeps the deployment's own", got.Annotations[RevisionAnnotation])
	}
	var text []string
	for _, l := range lines(evs) {
		text = append(text, l.Text)
	}
	if !strings.Contains(strings.Join(text, "\n"), "change-cause: deploy web:1.4.2") {
		t.Errorf("output does not name the restored change-cause: %q", text)
	}
}

func TestKubeUndoPaused(t *testing.T) {
	t.Parallel()
	d := deployment("web", 3, "web:bad")
	d.Spec.Paused = true
	cs := fake.NewClientset(d, replicaSet(d, "1", "web:1", "aaa"), replicaSet(d, "2", "web:bad", "bbb"))
	fin := finished(t, collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "undo", Deployment: "web"}), Target{Kube: &fakeKube{cs: cs}})))
	if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "paused") {
		t.Fatalf("%+v", fin)
	}
	if img := getDep(t, cs, "web").Spec.Template.Spec.Containers[0].Image; img != "web:bad" {
		t.Fatalf("paused deployment rolled back to %s", img)
	}
}

func TestKubeDryRunLeavesObjectsUnchanged(t *testing.T) {
	t.Parallel()
	d := deployment("web", 3, "web:bad")
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all-ingress", Namespace: "default"}}
	cs := fake.NewClientset(d, replicaSet(d, "1", "web:1", "aaa"), replicaSet(d, "2", "web:bad", "bbb"), pod("web-1", "web", true, ""), np)
	log := &dryRunLog{}
	log.install(cs)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "np.yaml")
	writeFile(t, manifest, allowPolicyYAML)
	steps := []runbooks.K8sAction{
		{Action: "scale", Deployment: "web", Replicas: intp(0)},
		{Action: "restart", Deployment: "web"},
		{Action: "undo", Deployment: "web"},
		{Action: "delete-pod", Pod: "web-1"},
		{Action: "delete-networkpolicy", Policy: "deny-all-ingress"},
		{Action: "apply", Path: manifest},
	}
	for _, force := range []bool{false, true} {
		for _, a := range steps {
			tg := Target{Kube: &fakeKube{cs: cs, force: force}, DryRun: !force}
			evs := collect(t, Start(context.Background(), k8sStep(a), tg))
			fin := finished(t, evs)
			if fin.ExitCode != 0 || !evs[0].DryRun || !strings.HasSuffix(evs[0].Equivalent, "--dry-run=server") {
				t.Fatalf("%s (force %v): started %+v finished %+v", a.Action, force, evs[0], fin)
			}
		}
	}
	if len(log.seen) != 2*(len(steps)+1) { // apply sends two objects
		t.Fatalf("dry-run requests %v", log.seen)
	}
	after := getDep(t, cs, "web")
	if *after.Spec.Replicas != 3 || after.Spec.Template.Spec.Containers[0].Image != "web:bad" || after.Spec.Template.Annotations[RestartedAtKey] != "" {
		t.Fatalf("deployment changed: %+v", after.Spec)
	}
	if _, err := cs.CoreV1().Pods("default").Get(context.Background(), "web-1", metav1.GetOptions{}); err != nil {
		t.Fatal("pod deleted by a dry run")
	}
	nps, _ := cs.NetworkingV1().NetworkPolicies("default").List(context.Background(), metav1.ListOptions{})
	if len(nps.Items) != 1 || nps.Items[0].Name != "deny-all-ingress" {
		t.Fatalf("network policies changed: %+v", nps.Items)
	}
}

const allowPolicyYAML = `# allow app ingress
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-ci-failure-agent
spec:
  podSelector:
    matchLabels:
      app: ci-failure-agent
  policyTypes: [Ingress]
  ingress:
  - {}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: failover
`

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestKubeApply(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), allowPolicyYAML)
	writeFile(t, filepath.Join(dir, "b.json"), `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"ci-failure-agent","namespace":"dr"},
	 "spec":{"replicas":2,"selector":{"matchLabels":{"app":"ci-failure-agent"}},"template":{"metadata":{"labels":{"app":"ci-failure-agent"}},"spec":{"containers":[{"name":"app","image":"ci-failure-agent:1.4.2"}]}}}}`)
	writeFile(t, filepath.Join(dir, "ignored.txt"), "not a manifest")
	cs := fake.NewClientset()
	evs := collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "apply", Path: dir, Context: "failover"}), Target{Kube: &fakeKube{cs: cs}}))
	fin := finished(t, evs)
	if fin.ExitCode != 0 {
		t.Fatalf("%+v %+v", fin, lines(evs))
	}
	np, err := cs.NetworkingV1().NetworkPolicies("default").Get(context.Background(), "allow-ci-failure-agent", metav1.GetOptions{})
	if err != nil || np.Spec.PodSelector.MatchLabels["app"] != "ci-failure-agent" {
		t.Fatalf("network policy %v %v", np, err)
	}
	d, err := cs.AppsV1().Deployments("dr").Get(context.Background(), "ci-failure-agent", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 2 {
		t.Fatalf("deployment %v %v", d, err)
	}
	cm, err := cs.CoreV1().ConfigMaps("default").Get(context.Background(), "settings", metav1.GetOptions{})
	if err != nil || cm.Data["mode"] != "failover" {
		t.Fatalf("configmap %v %v", cm, err)
	}
	found := false
	for _, mf := range d.ManagedFields {
		if mf.Manager == FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply {
			found = true
		}
	}
	if !found {
		t.Fatalf("no apply by field manager drnav: %+v", d.ManagedFields)
	}
	if !strings.Contains(evs[0].Equivalent, "apply --server-side --field-manager=drnav -f") {
		t.Fatalf("equivalent %q", evs[0].Equivalent)
	}
}

func TestKubeApplyConflictAndErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmYAML := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: failover\n"
	writeFile(t, filepath.Join(dir, "cm.yaml"), cmYAML)
	cs := fake.NewClientset()
	// Another manager owns data.mode with another value.
	other := strings.Replace(cmYAML, "failover", "primary", 1)
	if _, err := cs.CoreV1().ConfigMaps("default").Patch(context.Background(), "settings", types.ApplyPatchType, []byte(mustJSON(t, other)), metav1.PatchOptions{FieldManager: "helm"}); err != nil {
		t.Fatal(err)
	}
	fin := finished(t, collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "apply", Path: filepath.Join(dir, "cm.yaml")}), Target{Kube: &fakeKube{cs: cs}})))
	if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "conflict") || !strings.Contains(fin.Err, "helm") {
		t.Fatalf("conflict not reported naming the manager: %+v", fin)
	}

	writeFile(t, filepath.Join(dir, "bad.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndatta: {}\n")
	fin = finished(t, collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "apply", Path: filepath.Join(dir, "bad.yaml")}), Target{Kube: &fakeKube{cs: cs}})))
	if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "datta") {
		t.Fatalf("unknown field not reported: %+v", fin)
	}
}

func mustJSON(t *testing.T, y string) string {
	t.Helper()
	ms, err := splitYAML(y)
	if err != nil {
		t.Fatal(err)
	}
	return string(ms[0].JSON)
}

func splitYAML(y string) ([]Manifest, error) {
	dir, err := os.MkdirTemp("", "drnav-yaml")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		return nil, err
	}
	return ReadManifests(p)
}

func TestKubeListPodsAndPolicies(t *testing.T) {
	t.Parallel()
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all-ingress", Namespace: "default"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	webA, webB := pod("web-a", "web", true, ""), pod("web-b", "web", false, "CrashLoopBackOff")
	webB.CreationTimestamp = webA.CreationTimestamp
	cs := fake.NewClientset(webA, webB, pod("db-0", "db", true, ""), np)
	// AGE against a fixed clock: a loaded machine can pass a second
	// between creating the pods and listing them ("5m1s").
	fixed := func() time.Time { return webA.CreationTimestamp.Add(5 * time.Minute) }
	evs := collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "list-pods", Selector: "app=web"}), Target{Kube: &fakeKube{cs: cs}, Now: fixed}))
	if fin := finished(t, evs); fin.ExitCode != 0 {
		t.Fatalf("%+v", fin)
	}
	var text []string
	for _, l := range lines(evs) {
		text = append(text, l.Text)
	}
	want := []string{
		"NAME    READY   STATUS             RESTARTS   AGE",
		"web-a   1/1     Running            4          5m",
		"web-b   0/1     CrashLoopBackOff   4          5m",
	}
	if strings.Join(text, "\n") != strings.Join(want, "\n") {
		t.Fatalf("table:\n%s\nwant:\n%s", strings.Join(text, "\n"), strings.Join(want, "\n"))
	}
	evs = collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "list-networkpolicies"}), Target{Kube: &fakeKube{cs: cs}}))
	ls := lines(evs)
	if len(ls) != 2 || !strings.HasPrefix(ls[1].Text, "deny-all-ingress") || !strings.Contains(ls[1].Text, "Ingress") {
		t.Fatalf("%+v", ls)
	}
	// delete-pod and delete-networkpolicy for real.
	for _, a := range []runbooks.K8sAction{{Action: "delete-pod", Pod: "web-b"}, {Action: "delete-networkpolicy", Policy: "deny-all-ingress"}} {
		if fin := finished(t, collect(t, Start(context.Background(), k8sStep(a), Target{Kube: &fakeKube{cs: cs}}))); fin.ExitCode != 0 {
			t.Fatalf("%s: %+v", a.Action, fin)
		}
	}
	if _, err := cs.CoreV1().Pods("default").Get(context.Background(), "web-b", metav1.GetOptions{}); err == nil {
		t.Fatal("pod not deleted")
	}
	if _, err := cs.NetworkingV1().NetworkPolicies("default").Get(context.Background(), "deny-all-ingress", metav1.GetOptions{}); err == nil {
		t.Fatal("policy not deleted")
	}
}

func TestKubeRolloutStatus(t *testing.T) {
	t.Parallel()
	d := deployment("web", 3, "web:2")
	d.Status.AvailableReplicas = 1
	cs := fake.NewClientset(d)
	r := Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "rollout-status", Deployment: "web"}), Target{Kube: &fakeKube{cs: cs}})
	var seenWaiting bool
	var evs []Event
	for ev := range r.Events() {
		evs = append(evs, ev)
		for _, l := range ev.Lines {
			if l.Text == `Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...` && !seenWaiting {
				seenWaiting = true
				upd := getDep(t, cs, "web")
				upd.Status.AvailableReplicas = 3
				if _, err := cs.AppsV1().Deployments("default").UpdateStatus(context.Background(), upd, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	fin := finished(t, evs)
	if !seenWaiting || fin.ExitCode != 0 {
		t.Fatalf("waiting %v, %+v, %+v", seenWaiting, fin, lines(evs))
	}
	if ls := lines(evs); ls[len(ls)-1].Text != `deployment "web" successfully rolled out` {
		t.Fatalf("%+v", ls)
	}

	st := k8sStep(runbooks.K8sAction{Action: "rollout-status", Deployment: "web"})
	st.Timeout = runbooks.Duration{Duration: 300 * time.Millisecond}
	upd := getDep(t, cs, "web")
	upd.Status.UpdatedReplicas = 1
	if _, err := cs.AppsV1().Deployments("default").UpdateStatus(context.Background(), upd, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fin = finished(t, collect(t, Start(context.Background(), st, Target{Kube: &fakeKube{cs: cs}})))
	if fin.ExitCode != ExitTimeout || !strings.Contains(fin.Err, "1 out of 3 new replicas") {
		t.Fatalf("%+v", fin)
	}
}

func TestKubeNoProvider(t *testing.T) {
	t.Parallel()
	fin := finished(t, collect(t, Start(context.Background(), k8sStep(runbooks.K8sAction{Action: "list-pods"}), Target{})))
	if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "no Kubernetes access") {
		t.Fatalf("%+v", fin)
	}
}

func TestNewKubeProvider(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	writeFile(t, kc, `apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: abc}
contexts:
- name: prod
  context: {cluster: c, user: u, namespace: apps}
- name: dr
  context: {cluster: c, user: u}
`)
	p := NewKubeProvider(kc, "", "", "")
	_, info, err := p.Client("primary")
	if err != nil || info.Name != "prod" || info.Namespace != "apps" || !info.Real {
		t.Fatalf("%+v %v", info, err)
	}
	if _, _, err := p.Client("failover"); err == nil || !strings.Contains(err.Error(), "no failover context configured") {
		t.Fatalf("failover: %v", err)
	}
	_, info, err = NewKubeProvider(kc, "", "dr", "ops").Client("failover")
	if err != nil || info.Name != "dr" || info.Namespace != "ops" {
		t.Fatalf("%+v %v", info, err)
	}
	if _, _, err := p.Client("nowhere"); err == nil || !strings.Contains(err.Error(), `"nowhere" not found`) {
		t.Fatalf("missing: %v", err)
	}
}

// A verify on the failover context shows a kubectl line for that context,
// not the (possibly dead) primary.
func TestVerifyEquivalentNamesTheContext(t *testing.T) {
	t.Parallel()
	tg := Target{Kube: &fakeKube{cs: fake.NewClientset()}, Namespace: "app"}
	v := &runbooks.Verify{Context: "failover", PodsReady: "app=x"}
	got := verifyEquivalent(v, runbooks.Step{}, tg)
	if want := "kubectl --context test-failover -n default get pods -l app=x"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Without a provider it still names the namespace it would use.
	if got := verifyEquivalent(v, runbooks.Step{}, Target{Namespace: "app"}); got != "kubectl -n app get pods -l app=x" {
		t.Errorf("no provider: %q", got)
	}
}

// TestKubePreviewIsWhatARunJournals: for every action, the started event's
// description and kubectl line are KubePreview's (the navigator previews a
// step with it), dry run included.
func TestKubePreviewIsWhatARunJournals(t *testing.T) {
	t.Parallel()
	for _, a := range []runbooks.K8sAction{
		{Action: runbooks.K8sScale, Deployment: "web", Replicas: intp(2)},
		{Action: runbooks.K8sRestart, Deployment: "web"},
		{Action: runbooks.K8sUndo, Deployment: "web"},
		{Action: runbooks.K8sRolloutStatus, Deployment: "web"},
		{Action: runbooks.K8sDeletePod, Pod: "web-1"},
		{Action: runbooks.K8sListPods, Selector: "app=web"},
		{Action: runbooks.K8sApply, Path: "manifests"},
		{Action: runbooks.K8sNetworkPolicies},
		{Action: runbooks.K8sDeleteNetPolicy, Policy: "deny all"},
	} {
		for _, dry := range []bool{false, true} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			evs := collect(t, Start(ctx, k8sStep(a), Target{Kube: &fakeKube{cs: fake.NewClientset()}, DryRun: dry}))
			cancel()
			desc, equiv := KubePreview(a, "test-primary", "default", dry)
			if evs[0].Command != desc || evs[0].Equivalent != equiv {
				t.Errorf("%s (dry run %v) journaled\n  %q\n  %q\npreview\n  %q\n  %q", a.Action, dry, evs[0].Command, evs[0].Equivalent, desc, equiv)
			}
		}
	}
	if _, equiv := KubePreview(runbooks.K8sAction{Action: runbooks.K8sApply, Path: "m"}, "", "ns", false); equiv != "kubectl -n ns apply --server-side --field-manager=drnav -f m" {
		t.Errorf("apply previews %q", equiv)
	}
}
