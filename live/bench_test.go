package live

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// bulkyPod is a pod as an API server returns it: managed fields, a
// last-applied annotation, a full container spec.
func bulkyPod(i int) *corev1.Pod {
	p := runningPod(fmt.Sprintf("agent-%05d", i))
	p.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = strings.Repeat("{\"k\":\"v\"}", 60)
	p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate,
		FieldsV1: &metav1.FieldsV1{Raw: []byte(strings.Repeat(`{"f:status":{}}`, 40))}}}
	p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "C", Value: "3"}}
	p.Spec.Containers[0].Args = []string{"--port=8080", "--log-level=info"}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
	p.Status.PodIP = "10.0.0.1"
	return p
}

func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// BenchmarkPods10k: time from Run until a snapshot holds all 10,000 pods,
// and the heap in use with the source holding them (the fake clientset's
// own copy of the pods included; MB-heap-source is the source's share).
func BenchmarkPods10k(b *testing.B) {
	const n = 10000
	objs := make([]k8sruntime.Object, n)
	for i := range objs {
		objs[i] = bulkyPod(i)
	}
	var total time.Duration
	var heap, heapSource float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cs := fake.NewClientset(objs...)
		base := heapMB()
		src := NewKubeSource(cs, KubeOptions{Context: "bench", Namespace: testNS, Selector: "app=ci-failure-agent"})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		b.StartTimer()
		start := time.Now()
		go func() { src.Run(ctx); close(done) }()
		for s := range src.Snapshots() {
			if len(s.Pods) == n {
				break
			}
		}
		total += time.Since(start)
		b.StopTimer()
		heap = heapMB()
		heapSource = heap - base
		cancel()
		<-done
		runtime.KeepAlive(cs)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/first-snapshot")
	b.ReportMetric(heap, "MB-heap")
	b.ReportMetric(heapSource, "MB-heap-source")
}

// BenchmarkPodChurn: 100 pods all change every second for 5 seconds; the
// source coalesces to at most one snapshot per MinInterval (4/s).
func BenchmarkPodChurn(b *testing.B) {
	const n, ticks = 100, 5
	tick := time.Second
	for i := 0; i < b.N; i++ {
		objs := make([]k8sruntime.Object, n)
		for j := range objs {
			objs[j] = runningPod(fmt.Sprintf("agent-%03d", j))
		}
		cs := fake.NewClientset(objs...)
		src := NewKubeSource(cs, KubeOptions{Context: "bench", Namespace: testNS, Selector: "app=ci-failure-agent"})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { src.Run(ctx); close(done) }()
		for s := range src.Snapshots() {
			if s.Synced && len(s.Pods) == n {
				break
			}
		}
		count := make(chan int)
		go func() {
			c := 0
			for range src.Snapshots() {
				c++
			}
			count <- c
		}()
		start := time.Now()
		for t := 1; t <= ticks; t++ {
			for j := 0; j < n; j++ {
				p := runningPod(fmt.Sprintf("agent-%03d", j))
				p.Status.ContainerStatuses[0].RestartCount = int32(t)
				if _, err := cs.CoreV1().Pods(testNS).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			if d := time.Until(start.Add(time.Duration(t) * tick)); d > 0 {
				time.Sleep(d)
			}
		}
		elapsed := time.Since(start)
		cancel()
		<-done
		snaps := <-count
		b.ReportMetric(float64(snaps)/elapsed.Seconds(), "snapshots/s")
		b.ReportMetric(float64(n*ticks)/elapsed.Seconds(), "updates/s")
	}
}
