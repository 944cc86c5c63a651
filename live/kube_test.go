package live

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const testNS = "shop"

func ptr[T any](v T) *T { return &v }

func runningPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: testNS,
			Labels:            map[string]string{"app": "ci-failure-agent"},
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
			Annotations:       map[string]string{"bulky": strings.Repeat("x", 100)},
			ManagedFields:     []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
		},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "agent:1"}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			}},
		},
	}
}

func crashPod(name string, restarts int32) *corev1.Pod {
	p := runningPod(name)
	p.Status.ContainerStatuses[0] = corev1.ContainerStatus{
		Name: "app", RestartCount: restarts,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}},
	}
	return p
}

func startSource(t *testing.T, client kubernetes.Interface, opts KubeOptions) *KubeSource {
	t.Helper()
	if opts.Namespace == "" {
		opts.Namespace = testNS
	}
	if opts.Selector == "" {
		opts.Selector = "app=ci-failure-agent"
	}
	if opts.Context == "" {
		opts.Context = "test"
	}
	src := NewKubeSource(client, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return src
}

// waitSnap reads snapshots until ok holds, failing after a deadline.
func waitSnap(t *testing.T, src *KubeSource, what string, ok func(KubeSnapshot) bool) KubeSnapshot {
	t.Helper()
	deadline := time.After(90 * time.Second)
	var last KubeSnapshot
	for {
		select {
		case s, open := <-src.Snapshots():
			if !open {
				t.Fatalf("%s: snapshots closed", what)
			}
			last = s
			if ok(s) {
				return s
			}
		case <-deadline:
			t.Fatalf("%s: not seen before the deadline; last snapshot: %+v", what, last)
		}
	}
}

func podNames(s KubeSnapshot) string {
	var b []string
	for _, p := range s.Pods {
		b = append(b, p.Name+"="+p.Status)
	}
	return strings.Join(b, ",")
}

func TestKubePodsAddChangeDelete(t *testing.T) {
	t.Parallel()
	other := runningPod("other")
	other.Labels = map[string]string{"app": "else"}
	cs := fake.NewClientset(runningPod("agent-a"), crashPod("agent-b", 7), other)
	src := startSource(t, cs, KubeOptions{})

	s := waitSnap(t, src, "initial", func(s KubeSnapshot) bool { return s.Synced && len(s.Pods) == 2 })
	if got, want := podNames(s), "agent-b=CrashLoopBackOff,agent-a=Running"; got != want {
		t.Fatalf("pods = %s, want %s", got, want)
	}
	if s.Pods[0].Restarts != 7 || s.Pods[0].Severity != SeverityFail || s.Pods[0].Ready != 0 || s.Pods[0].Total != 1 {
		t.Errorf("crash pod = %+v", s.Pods[0])
	}
	if s.Count("running") != 1 || s.Count("crashloop") != 1 || s.Counts[0].State != "running" {
		t.Errorf("counts = %+v", s.Counts)
	}
	if s.Context != "test" || s.Err != "" {
		t.Errorf("snapshot = %+v", s)
	}

	ctx := context.Background()
	pending := runningPod("agent-c")
	pending.Spec.NodeName = ""
	pending.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
	}}}
	if _, err := cs.CoreV1().Pods(testNS).Create(ctx, pending, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSnap(t, src, "added", func(s KubeSnapshot) bool {
		return podNames(s) == "agent-b=CrashLoopBackOff,agent-c=Unschedulable,agent-a=Running"
	})

	fixed := runningPod("agent-b")
	if _, err := cs.CoreV1().Pods(testNS).Update(ctx, fixed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s = waitSnap(t, src, "changed", func(s KubeSnapshot) bool {
		return podNames(s) == "agent-c=Unschedulable,agent-a=Running,agent-b=Running"
	})
	if s.Count("running") != 2 || s.Count("pending") != 1 || s.Count("crashloop") != 0 {
		t.Errorf("counts = %+v", s.Counts)
	}

	if err := cs.CoreV1().Pods(testNS).Delete(ctx, "agent-c", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSnap(t, src, "deleted", func(s KubeSnapshot) bool { return podNames(s) == "agent-a=Running,agent-b=Running" })
}

func TestKubeTransformDropsBulk(t *testing.T) {
	t.Parallel()
	p := crashPod("x", 1)
	p.Annotations[AnnotationRestartedAt] = "now"
	out, err := trimObject(p)
	if err != nil {
		t.Fatal(err)
	}
	tp := out.(*podEntry)
	if tp.ManagedFields != nil || tp.Annotations != nil || tp.Name != p.Name || tp.Namespace != p.Namespace ||
		tp.ResourceVersion != p.ResourceVersion || !maps.Equal(tp.Labels, p.Labels) {
		t.Errorf("pod not trimmed: %+v", tp.ObjectMeta)
	}
	if tp.row != PodFrom(p) {
		t.Errorf("stored row %+v, full pod %+v", tp.row, PodFrom(p))
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Annotations: map[string]string{
		AnnotationRevision: "3", "kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("{}", 500),
	}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	out, _ = trimObject(d)
	td := out.(*appsv1.Deployment)
	if len(td.Annotations) != 1 || td.Annotations[AnnotationRevision] != "3" || td.ManagedFields != nil {
		t.Errorf("deployment not trimmed: %+v", td.ObjectMeta)
	}
}

func TestPodStatusReasons(t *testing.T) {
	t.Parallel()
	now := metav1.Now()
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		status string
		state  string
	}{
		{"running", func(p *corev1.Pod) {}, "Running", "running"},
		{"not ready", func(p *corev1.Pod) { p.Status.ContainerStatuses[0].Ready = false }, "Running", "not ready"},
		{"image pull", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}
		}, "ImagePullBackOff", "imagepull"},
		{"err image pull", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}}
		}, "ErrImagePull", "imagepull"},
		{"oom", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}
		}, "OOMKilled", "oomkilled"},
		{"creating", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
		}, "ContainerCreating", "pending"},
		{"terminating", func(p *corev1.Pod) { p.DeletionTimestamp = &now }, "Terminating", "terminating"},
		{"init", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Spec.InitContainers = []corev1.Container{{Name: "migrate"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}, "Init:0/1", "pending"},
		{"completed", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses[0].Ready = false
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}
		}, "Completed", "completed"},
		{"evicted", func(p *corev1.Pod) {
			p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted"
			p.Status.ContainerStatuses = nil
		}, "Evicted", "failed"},
		{"empty", func(p *corev1.Pod) { *p = corev1.Pod{} }, "Unknown", "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := runningPod("p")
			tt.mutate(p)
			got := PodFrom(p)
			if got.Status != tt.status || got.State != tt.state {
				t.Errorf("status %q state %q, want %q %q", got.Status, got.State, tt.status, tt.state)
			}
		})
	}
}

func rolloutObjects() []runtime.Object {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "ci-failure-agent", Namespace: testNS, UID: "d1", Generation: 4,
			Annotations: map[string]string{AnnotationRevision: "2"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "ci-failure-agent:1.5.0"}}}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 4, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3},
	}
	owner := []metav1.OwnerReference{{Kind: "Deployment", Name: "ci-failure-agent", UID: "d1", Controller: ptr(true)}}
	newRS := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ci-failure-agent-new", Namespace: testNS, OwnerReferences: owner,
			Annotations: map[string]string{AnnotationRevision: "2"}},
		Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2},
	}
	oldRS := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ci-failure-agent-old", Namespace: testNS, OwnerReferences: owner,
			Annotations: map[string]string{AnnotationRevision: "1"}},
		Status: appsv1.ReplicaSetStatus{Replicas: 1, ReadyReplicas: 1},
	}
	pg := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "postgres", Namespace: testNS, UID: "d2"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr(int32(1))},
		Status:     appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1},
	}
	return []runtime.Object{d, newRS, oldRS, pg}
}

func TestKubeRolloutProgress(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(rolloutObjects()...)
	src := startSource(t, cs, KubeOptions{})
	s := waitSnap(t, src, "rollout", func(s KubeSnapshot) bool { return s.Synced && len(s.Deployments) == 2 })
	d, ok := s.Deployment("ci-failure-agent")
	if !ok {
		t.Fatal("deployment missing")
	}
	want := Deployment{Name: "ci-failure-agent", Desired: 3, Updated: 3, Ready: 3, Available: 3, Generation: 4, Observed: 4,
		NewRS: "ci-failure-agent-new", NewReplicas: 3, NewReady: 2, OldReplicas: 1, RollingOut: true, Revision: "2",
		Image: "ci-failure-agent:1.5.0"}
	if d != want {
		t.Errorf("deployment = %+v\nwant %+v", d, want)
	}
	if pg, _ := s.Deployment("postgres"); pg.RollingOut || pg.Ready != 1 {
		t.Errorf("postgres = %+v", pg)
	}

	// The old ReplicaSet drains: the rollout completes.
	rs, err := cs.AppsV1().ReplicaSets(testNS).Get(context.Background(), "ci-failure-agent-old", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs.Status = appsv1.ReplicaSetStatus{}
	if _, err := cs.AppsV1().ReplicaSets(testNS).Update(context.Background(), rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	dep, _ := cs.AppsV1().Deployments(testNS).Get(context.Background(), "ci-failure-agent", metav1.GetOptions{})
	dep.Status.Replicas = 3
	if _, err := cs.AppsV1().Deployments(testNS).Update(context.Background(), dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSnap(t, src, "rollout done", func(s KubeSnapshot) bool {
		d, _ := s.Deployment("ci-failure-agent")
		return !d.RollingOut && d.OldReplicas == 0
	})
}

func forbiddenErr() error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "",
		errors.New(`User "bob" cannot list resource "pods" in API group "" in the namespace "shop"`))
}

func TestKubeForbiddenThenRecovers(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(runningPod("agent-a"))
	var fail atomic.Bool
	fail.Store(true)
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if fail.Load() {
			return true, nil, forbiddenErr()
		}
		return false, nil, nil
	})
	src := startSource(t, cs, KubeOptions{})
	s := waitSnap(t, src, "forbidden", func(s KubeSnapshot) bool { return s.Err != "" })
	if want := `cannot list pods in namespace "shop" (user "bob")`; s.Forbidden != want || s.Err != "forbidden: "+want {
		t.Errorf("Err %q Forbidden %q, want forbidden: %s", s.Err, s.Forbidden, want)
	}
	if !s.NextRetry.After(s.Updated) || s.NextRetry.Sub(s.Updated) > BackoffMin+time.Second {
		t.Errorf("NextRetry %v not ~1s after %v", s.NextRetry, s.Updated)
	}
	if s.Synced {
		t.Error("synced while forbidden")
	}
	s2 := waitSnap(t, src, "second failure", func(s KubeSnapshot) bool { return s.Err != "" && s.NextRetry.After(s.Updated.Add(BackoffMin)) })
	if d := s2.NextRetry.Sub(s2.Updated); d > 2*BackoffMin || d < 2*BackoffMin-100*time.Millisecond {
		t.Errorf("second backoff = %v, want 2s", d)
	}
	fail.Store(false)
	s = waitSnap(t, src, "recovered", func(s KubeSnapshot) bool { return s.Err == "" && s.Synced && len(s.Pods) == 1 })
	if !s.NextRetry.IsZero() || s.Forbidden != "" {
		t.Errorf("recovered snapshot keeps failure: %+v", s)
	}
}

// TestKubeWatchDropsThenRecovers breaks a synced informer: its watch ends
// with an error and the API server then refuses connections.
func TestKubeWatchDropsThenRecovers(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(runningPod("agent-a"))
	var down atomic.Bool
	var mu sync.Mutex
	var watchers []*watch.RaceFreeFakeWatcher
	refused := &url.Error{Op: "Get", URL: "https://10.0.0.1:6443/api/v1/namespaces/shop/pods", Err: syscall.ECONNREFUSED}
	cs.PrependReactor("list", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		if down.Load() {
			return true, nil, refused
		}
		return false, nil, nil
	})
	cs.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
		if down.Load() {
			return true, nil, refused
		}
		w := watch.NewRaceFreeFake()
		mu.Lock()
		watchers = append(watchers, w)
		mu.Unlock()
		return true, w, nil
	})
	src := startSource(t, cs, KubeOptions{})
	waitSnap(t, src, "synced", func(s KubeSnapshot) bool { return s.Synced && len(s.Pods) == 1 && s.Err == "" })
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(watchers)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pods watch never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	down.Store(true)
	mu.Lock()
	watchers[len(watchers)-1].Error(&metav1.Status{Status: metav1.StatusFailure, Code: 500, Reason: metav1.StatusReasonInternalError, Message: "connection reset"})
	mu.Unlock()
	s := waitSnap(t, src, "down", func(s KubeSnapshot) bool { return s.Err != "" })
	if s.NextRetry.IsZero() || len(s.Pods) != 1 {
		t.Errorf("down snapshot = %+v (want NextRetry and the cached pod)", s)
	}
	s = waitSnap(t, src, "probe failed", func(s KubeSnapshot) bool { return strings.Contains(s.Err, "unreachable") })
	if !strings.Contains(s.Err, "connection refused") {
		t.Errorf("Err = %q", s.Err)
	}
	down.Store(false)
	waitSnap(t, src, "recovered", func(s KubeSnapshot) bool { return s.Err == "" && s.NextRetry.IsZero() })
}

func TestKubeMissingContextThenDial(t *testing.T) {
	t.Parallel()
	var tries atomic.Int32
	cs := fake.NewClientset(runningPod("agent-a"))
	src := startSource(t, nil, KubeOptions{Context: "prod", Dial: func(context.Context) (kubernetes.Interface, error) {
		if tries.Add(1) == 1 {
			return nil, fmt.Errorf("context %q not found in kubeconfig", "prod")
		}
		return cs, nil
	}})
	s := waitSnap(t, src, "missing", func(s KubeSnapshot) bool { return s.Err != "" })
	if !strings.Contains(s.Err, "not found in kubeconfig") || s.NextRetry.IsZero() {
		t.Errorf("snapshot = %+v", s)
	}
	waitSnap(t, src, "dialled", func(s KubeSnapshot) bool { return s.Err == "" && s.Synced && len(s.Pods) == 1 })
}

func TestDescribeKubeError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{forbiddenErr(), `forbidden: cannot list pods in namespace "shop" (user "bob")`},
		{apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "", errors.New(`User "sa" cannot watch resource "deployments" in API group "apps" at the cluster scope`)),
			`forbidden: cannot watch deployments.apps cluster-wide (user "sa")`},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "replicasets"}, "", errors.New("denied")), `forbidden: cannot list replicasets in namespace "shop"`},
		{&url.Error{Op: "Get", URL: "https://k", Err: syscall.ECONNREFUSED}, `API server unreachable: Get "https://k": connection refused`},
		{context.DeadlineExceeded, "API server unreachable: no answer within 5s (list replicasets)"},
		{errors.New("odd"), "list replicasets: odd"},
	}
	for _, tt := range tests {
		res := "replicasets"
		if strings.Contains(tt.want, " pods ") {
			res = "pods"
		}
		if got := describeKubeError(tt.err, "list", res, testNS, 5*time.Second).msg; got != tt.want {
			t.Errorf("describe(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i, w := range want {
		if got := Backoff(i + 1); got != w*time.Second {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w*time.Second)
		}
	}
}
