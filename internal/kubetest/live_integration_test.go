package kubetest

// Integration tests of live.KubeSource against the real control plane.

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/drnav/drnav/live"
)

// startSource runs a KubeSource on client for ns until the test ends.
func startSource(tb testing.TB, client kubernetes.Interface, ns string, interval time.Duration) *live.KubeSource {
	tb.Helper()
	src := live.NewKubeSource(client, live.KubeOptions{Context: AdminContext, Namespace: ns, MinInterval: interval, ProbeTimeout: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	return src
}

// waitSnapshot polls the source's latest snapshot until check accepts it.
func waitSnapshot(tb testing.TB, src *live.KubeSource, timeout time.Duration, what string, check func(live.KubeSnapshot) error) live.KubeSnapshot {
	tb.Helper()
	var snap live.KubeSnapshot
	poll(tb, timeout, what, func() error {
		snap = src.Latest()
		return check(snap)
	})
	return snap
}

func runningPods(s live.KubeSnapshot) int {
	n := 0
	for _, p := range s.Pods {
		if p.Status == "Running" && p.Ready == p.Total && p.Total > 0 {
			n++
		}
	}
	return n
}

func adminSourceClient(tb testing.TB, cp *ControlPlane) kubernetes.Interface {
	tb.Helper()
	c, err := kubernetes.NewForConfig(live.ProtobufConfig(cp.AdminConfig()))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestLivePodsAndDeployments(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	src := startSource(t, adminSourceClient(t, cp), ns, 50*time.Millisecond)
	waitSnapshot(t, src, 30*time.Second, "synced empty namespace", func(s live.KubeSnapshot) error {
		if !s.Synced || s.Err != "" || len(s.Pods) != 0 {
			return fmt.Errorf("synced %v err %q pods %d", s.Synced, s.Err, len(s.Pods))
		}
		return nil
	})

	// Appear.
	createDeployment(t, cp, ns, "web", 2)
	waitSnapshot(t, src, time.Minute, "deployment and 2 running pods appear", func(s live.KubeSnapshot) error {
		d, ok := s.Deployment("web")
		if !ok || d.Ready != 2 || d.Desired != 2 || runningPods(s) != 2 || s.Count("running") != 2 {
			return fmt.Errorf("deployment %+v, running %d, counts %v", d, runningPods(s), s.Counts)
		}
		return nil
	})

	// Change: scale up and roll out a new image.
	scale, err := cp.Client().AppsV1().Deployments(ns).GetScale(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 3
	if _, err := cp.Client().AppsV1().Deployments(ns).UpdateScale(context.Background(), "web", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, src, time.Minute, "3 running pods", func(s live.KubeSnapshot) error {
		if d, _ := s.Deployment("web"); d.Ready != 3 || runningPods(s) != 3 {
			return fmt.Errorf("ready %d running %d", d.Ready, runningPods(s))
		}
		return nil
	})
	setImage(t, cp, ns, "web", "registry.invalid/app:2")
	waitSnapshot(t, src, time.Minute, "new image and revision", func(s live.KubeSnapshot) error {
		d, _ := s.Deployment("web")
		if d.Image != "registry.invalid/app:2" || d.Revision != "2" || d.RollingOut || d.OldReplicas != 0 || runningPods(s) != 3 {
			return fmt.Errorf("deployment %+v, running %d", d, runningPods(s))
		}
		return nil
	})

	// Disappear.
	if err := cp.Client().AppsV1().Deployments(ns).Delete(context.Background(), "web", metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, src, time.Minute, "deployment and pods gone", func(s live.KubeSnapshot) error {
		if len(s.Deployments) != 0 || len(s.Pods) != 0 {
			return fmt.Errorf("%d deployments, %d pods", len(s.Deployments), len(s.Pods))
		}
		return nil
	})
}

func TestLiveForbidden(t *testing.T) {
	t.Parallel()
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	cfg := cp.AdminConfig()
	cfg.Impersonate.UserName = "drnav-nobody" // no role at all
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := startSource(t, c, ns, 50*time.Millisecond)
	s := waitSnapshot(t, src, 30*time.Second, "forbidden reported", func(s live.KubeSnapshot) error {
		if s.Forbidden == "" {
			return fmt.Errorf("err %q", s.Err)
		}
		return nil
	})
	for _, want := range []string{"list", "pods", ns, "drnav-nobody"} {
		if !strings.Contains(s.Forbidden, want) {
			t.Errorf("Forbidden %q does not name %q", s.Forbidden, want)
		}
	}

	// The restricted user may read everything the source needs.
	rc, err := cp.RestrictedClient()
	if err != nil {
		t.Fatal(err)
	}
	ok := startSource(t, rc, ns, 50*time.Millisecond)
	waitSnapshot(t, ok, 30*time.Second, "restricted user synced", func(s live.KubeSnapshot) error {
		if !s.Synced || s.Err != "" {
			return fmt.Errorf("synced %v err %q", s.Synced, s.Err)
		}
		return nil
	})
}

// TestLiveAPIServerOutage stops the API server for 20 s: the source reports
// the outage, then recovers by itself and sees what changed meanwhile. Not
// parallel: the whole package loses its API server.
func TestLiveAPIServerOutage(t *testing.T) {
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	deployReady(t, cp, ns, testDeployment("web", 2))
	src := startSource(t, adminSourceClient(t, cp), ns, 50*time.Millisecond)
	waitSnapshot(t, src, 30*time.Second, "2 running pods", func(s live.KubeSnapshot) error {
		if runningPods(s) != 2 || s.Err != "" {
			return fmt.Errorf("running %d err %q", runningPods(s), s.Err)
		}
		return nil
	})

	const outage = 20 * time.Second
	stopped := time.Now()
	if err := cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted { // leave the package a working API server
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := cp.StartAPIServer(ctx); err != nil {
				t.Errorf("restart API server: %v", err)
			}
		}
	}()
	// The report normally comes within a couple of seconds (probe timeout
	// 2 s); the bound is generous for a loaded 2-core CI machine.
	s := waitSnapshot(t, src, 90*time.Second, "outage reported", func(s live.KubeSnapshot) error {
		if s.Err == "" {
			return fmt.Errorf("no error yet")
		}
		return nil
	})
	t.Logf("outage reported after %s: %s", time.Since(stopped).Round(time.Millisecond), s.Err)
	if !strings.Contains(s.Err, "unreachable") && !strings.Contains(s.Err, "refused") {
		t.Errorf("outage error does not say the API server is unreachable: %q", s.Err)
	}
	// The pods stay on screen from the cache while the server is away.
	if runningPods(s) != 2 {
		t.Errorf("during the outage the snapshot shows %d running pods, want the cached 2", runningPods(s))
	}
	// Keep the server down for the whole outage (at least one more probe
	// after the report), then bring it back.
	<-time.After(max(time.Until(stopped.Add(outage)), 3*time.Second))
	if s := src.Latest(); s.Err == "" {
		t.Errorf("error cleared while the API server was still down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cp.StartAPIServer(ctx); err != nil {
		t.Fatalf("restart API server: %v", err)
	}
	restarted = true
	back := time.Now()

	scale, err := cp.Client().AppsV1().Deployments(ns).GetScale(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 3
	if _, err := cp.Client().AppsV1().Deployments(ns).UpdateScale(context.Background(), "web", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, src, 90*time.Second, "recovered with 3 running pods", func(s live.KubeSnapshot) error {
		if s.Err != "" || runningPods(s) != 3 {
			return fmt.Errorf("err %q running %d", s.Err, runningPods(s))
		}
		return nil
	})
	t.Logf("recovered %s after the API server came back", time.Since(back).Round(time.Millisecond))
}

// BenchmarkKube10kPods creates 10,000 pods and measures drnav's pods source
// on them: time until a new source holds them all, heap in use by it, and
// the snapshot rate while 100 pods change per second.
//
//	go test -run '^$' -bench Kube10kPods -benchtime 1x ./internal/kubetest/
func BenchmarkKube10kPods(b *testing.B) {
	const total = 10000
	cp := plane.Get(b)
	ns := cp.NewNamespace(b)
	ctx := context.Background()
	c := cp.Client()

	// The pods are bound to a node nobody manages: they stay Pending and
	// untouched, so only the benchmark's own changes move them.
	idle := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "idle-" + ns}}
	if _, err := c.CoreV1().Nodes().Create(ctx, idle, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.CoreV1().Pods(ns).DeleteCollection(context.Background(),
			metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, metav1.ListOptions{})
		_ = c.CoreV1().Nodes().Delete(context.Background(), idle.Name, metav1.DeleteOptions{})
	})
	t0 := time.Now()
	createPods(b, c, ns, idle.Name, total)
	b.Logf("created %d pods in %s", total, time.Since(t0).Round(time.Millisecond))

	var syncSec, heapMB, rate float64
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		start := time.Now()
		src := live.NewKubeSource(adminSourceClient(b, cp), live.KubeOptions{Context: AdminContext, Namespace: ns})
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			src.Run(sctx)
		}()
		waitSnapshot(b, src, 5*time.Minute, "source holds all pods", func(s live.KubeSnapshot) error {
			if len(s.Pods) != total {
				return fmt.Errorf("%d pods (err %q)", len(s.Pods), s.Err)
			}
			return nil
		})
		syncSec = time.Since(start).Seconds()

		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heapMB = float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / (1 << 20)

		rate = churnRate(b, c, ns, src, total)
		cancel()
		<-done
	}
	b.ReportMetric(syncSec, "s-to-sync")
	b.ReportMetric(heapMB, "MB-heap")
	b.ReportMetric(rate, "snapshots/s")
}

// createPods creates n pods bound to node with 16 parallel writers.
func createPods(b *testing.B, c kubernetes.Interface, ns, node string, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				p := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: "bench-" + strconv.FormatInt(i, 10), Labels: map[string]string{"app": "bench", "shard": strconv.FormatInt(i%100, 10)}},
					Spec: corev1.PodSpec{
						NodeName:   node,
						Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/bench:1"}},
					},
				}
				if _, err := c.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("create pod %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// churnRate patches 100 pods a second for 5 seconds and returns how many
// snapshots per second the source published meanwhile.
func churnRate(b *testing.B, c kubernetes.Interface, ns string, src *live.KubeSource, total int) float64 {
	const perSecond, seconds = 100, 5
	// Drain what is pending, then count.
	select {
	case <-src.Snapshots():
	default:
	}
	var snaps atomic.Int64
	stop := make(chan struct{})
	counted := make(chan struct{})
	go func() {
		defer close(counted)
		for {
			select {
			case <-stop:
				return
			case _, ok := <-src.Snapshots():
				if !ok {
					return
				}
				snaps.Add(1)
			}
		}
	}()
	tick := time.NewTicker(time.Second / perSecond)
	defer tick.Stop()
	start := time.Now()
	for i := range perSecond * seconds {
		<-tick.C
		name := "bench-" + strconv.Itoa((i*97)%total)
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{"bench/tick":"%d"}}}`, i)
		if _, err := c.CoreV1().Pods(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			b.Fatalf("patch %s: %v", name, err)
		}
	}
	elapsed := time.Since(start).Seconds()
	close(stop)
	<-counted
	return float64(snaps.Load()) / elapsed
}
