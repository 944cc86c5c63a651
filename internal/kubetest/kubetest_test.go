package kubetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

var plane Plane

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		mirrorHelperMain()
		return
	}
	plane.Main(m)
}

// poll calls check every 50 ms until it returns nil or the deadline passes.
func poll(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after %s: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}},
				},
			},
		},
	}
}

// readyPods counts pods of the deployment that are Running and Ready.
func readyPods(ctx context.Context, c kubernetes.Interface, ns, app string) (int, error) {
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n, nil
}

func waitReady(t *testing.T, c kubernetes.Interface, ns, app string, want int) {
	t.Helper()
	poll(t, 60*time.Second, fmt.Sprintf("%d ready pods of %s", want, app), func() error {
		n, err := readyPods(context.Background(), c, ns, app)
		if err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("%d ready", n)
		}
		d, err := c.AppsV1().Deployments(ns).Get(context.Background(), app, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.ReadyReplicas != int32(want) || d.Status.ObservedGeneration != d.Generation {
			return fmt.Errorf("deployment status ready %d, observed generation %d of %d",
				d.Status.ReadyReplicas, d.Status.ObservedGeneration, d.Generation)
		}
		return nil
	})
}

func TestControlPlane(t *testing.T) {
	cp := plane.Get(t)
	ctx := context.Background()
	c := cp.Client()
	ns := cp.NewNamespace(t)

	if _, err := c.AppsV1().Deployments(ns).Create(ctx, testDeployment("web", 2), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	waitReady(t, c, ns, "web", 2)
	t.Logf("control plane resident memory: %d MB", cp.RSS()>>20)

	v, err := c.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if v.GitVersion != "v1.37.2" {
		t.Errorf("server version %q, want v1.37.2 (version ldflags of kube-bins.sh)", v.GitVersion)
	}

	t.Run("restricted user may list pods but not scale", func(t *testing.T) {
		rc, err := cp.RestrictedClient()
		if err != nil {
			t.Fatal(err)
		}
		pods, err := rc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("restricted list pods: %v", err)
		}
		if len(pods.Items) != 2 {
			t.Errorf("restricted user sees %d pods, want 2", len(pods.Items))
		}
		scale := &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
			Spec:       autoscalingv1.ScaleSpec{Replicas: 5},
		}
		_, err = rc.AppsV1().Deployments(ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("restricted scale: got %v, want Forbidden", err)
		}
		if !strings.Contains(err.Error(), `"deployments/scale"`) || !strings.Contains(err.Error(), "update") {
			t.Errorf("denial does not name verb and resource: %v", err)
		}

		events, err := cp.AuditLog()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range events {
			if e.User.Username == RestrictedUser && e.Verb == "update" && e.Resource() == "deployments/scale" &&
				e.Namespace() == ns && e.Code() == 403 {
				found = true
			}
		}
		if !found {
			t.Errorf("audit log has no denied update of deployments/scale by %s (%d events)", RestrictedUser, len(events))
		}
	})

	t.Run("dry-run create is audited and changes nothing", func(t *testing.T) {
		d := testDeployment("dry", 1)
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatalf("dry-run create: %v", err)
		}
		if _, err := c.AppsV1().Deployments(ns).Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("dry-run created the deployment: %v", err)
		}
		events, err := cp.AuditLog()
		if err != nil {
			t.Fatal(err)
		}
		var dry, wet int
		for _, e := range events {
			if e.Namespace() == ns && e.Resource() == "deployments" && e.Verb == "create" {
				if e.DryRun() {
					dry++
				} else {
					wet++
				}
			}
		}
		if dry != 1 || wet != 1 {
			t.Errorf("audited deployment creates in %s: %d dry-run, %d real; want 1 and 1", ns, dry, wet)
		}
	})

	t.Run("API server restart", func(t *testing.T) {
		if err := cp.StopAPIServer(); err != nil {
			t.Fatalf("stop apiserver: %v", err)
		}
		if _, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
			t.Fatal("list pods succeeded with the API server stopped")
		}
		start, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := cp.StartAPIServer(start); err != nil {
			t.Fatalf("restart apiserver: %v", err)
		}
		// The controllers and kwok reconnect by themselves.
		scale, err := c.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get scale after restart: %v", err)
		}
		scale.Spec.Replicas = 3
		if _, err := c.AppsV1().Deployments(ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("scale after restart: %v", err)
		}
		waitReady(t, c, ns, "web", 3)
	})
}

// TestStopLeavesNoProcess starts a second, private control plane, stops it
// and checks that none of its processes, nor anything in their process
// groups, is left.
func TestStopLeavesNoProcess(t *testing.T) {
	if !plane.Available() {
		plane.Get(t) // skips or fails with the usual message
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cp, err := Start(ctx, Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	pids := cp.PIDs()
	if len(pids) != 5 {
		t.Errorf("running components: %v, want 5", pids)
	}
	dir := cp.Dir()
	if err := cp.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d still exists after Stop (kill 0: %v)", pid, err)
		}
	}
	left, err := processesInGroups(pids)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("processes left in the control plane's process groups: %v", left)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work dir %s not removed: %v", dir, err)
	}
	if err := cp.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

var statRE = regexp.MustCompile(`^\d+ \(.*\) \S+ (\d+) (\d+) `)

// processesInGroups scans /proc for processes whose process group is one of
// pgids.
func processesInGroups(pgids []int) ([]string, error) {
	want := map[int]bool{}
	for _, p := range pgids {
		want[p] = true
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	var left []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // ended meanwhile
		}
		m := statRE.FindSubmatch(stat)
		if m == nil {
			continue
		}
		pgid, _ := strconv.Atoi(string(m[2]))
		if want[pgid] {
			left = append(left, strings.TrimSpace(string(stat[:min(len(stat), 80)])))
		}
	}
	return left, nil
}

func TestNamespaceName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, prefix string }{
		{"TestScale", "testscale-"},
		{"TestLive/pods_appear", "testlive-pods-appear-"},
		{"Test__Weird  Name//x", "test-weird-name-x-"},
		{strings.Repeat("a", 80), strings.Repeat("a", 48) + "-"},
		{"///", "test-"},
	}
	for _, tt := range tests {
		got := namespaceName(tt.in)
		if !strings.HasPrefix(got, tt.prefix) || len(got) != len(tt.prefix)+6 || len(got) > 63 {
			t.Errorf("namespaceName(%q) = %q, want %q + 6 hex digits", tt.in, got, tt.prefix)
		}
	}
	if a, b := namespaceName("TestX"), namespaceName("TestX"); a == b {
		t.Errorf("two namespaces for one test got the same name %q", a)
	}
}

func TestAuditEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		verb, uri, body  string
		mutating, dryRun bool
	}{
		{"create", "/apis/apps/v1/namespaces/a/deployments?dryRun=All&fieldManager=drnav", "", true, true},
		{"patch", "/apis/apps/v1/namespaces/a/deployments/web?fieldManager=drnav", "", true, false},
		{"get", "/api/v1/namespaces/a/pods/p", "", false, false},
		{"deletecollection", "/api/v1/namespaces/a/pods?dryRun=All", "", true, true},
		{"delete", "/api/v1/namespaces/a/pods/p", `{"kind":"DeleteOptions","dryRun":["All"]}`, true, true},
		{"delete", "/api/v1/namespaces/a/pods/p", `{"kind":"DeleteOptions"}`, true, false},
		{"list", "%%bad", "", false, false},
	}
	for _, tt := range tests {
		var e AuditEvent
		line := fmt.Sprintf(`{"verb":%q,"requestURI":%q}`, tt.verb, tt.uri)
		if tt.body != "" {
			line = fmt.Sprintf(`{"verb":%q,"requestURI":%q,"requestObject":%s}`, tt.verb, tt.uri, tt.body)
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e.Mutating() != tt.mutating || e.DryRun() != tt.dryRun {
			t.Errorf("%s %s: mutating %v dryRun %v, want %v %v", tt.verb, tt.uri, e.Mutating(), e.DryRun(), tt.mutating, tt.dryRun)
		}
	}
}
