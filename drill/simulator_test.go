package drill

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

const testSpeed = 100

// startEnv builds and starts an environment with a scenario ("" = healthy).
func startEnv(t *testing.T, scenario string) *Simulator {
	t.Helper()
	e := New(Options{Speed: testSpeed, Seed: 1, Dir: t.TempDir()})
	if scenario != "" {
		if err := e.Inject(scenario); err != nil {
			t.Fatalf("inject: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { cancel(); e.Stop() })
	return e
}

// eventually polls cond until it returns "" or the deadline passes.
// waitLong bounds every wait for the simulator: generous, because CI runs on
// a loaded 2-core machine where the simulator's goroutines can be starved for
// seconds. A passing wait returns as soon as its condition holds.
const waitLong = 90 * time.Second

func eventually(t *testing.T, within time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s: %s", within, last)
}

func client(t *testing.T, e *Simulator, name string) kubernetes.Interface {
	t.Helper()
	cs, _, err := e.KubeProvider().Client(name)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

type podSummary struct {
	total, ready, terminating, crash int
	phases                           map[string]bool
}

func summarize(t *testing.T, cs kubernetes.Interface, app string) podSummary {
	t.Helper()
	l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	s := podSummary{phases: map[string]bool{}}
	for i := range l.Items {
		p := &l.Items[i]
		if p.DeletionTimestamp != nil {
			s.terminating++
			continue
		}
		s.total++
		if podReady(p) {
			s.ready++
		}
		if crashLooping(p) {
			s.crash++
		}
	}
	return s
}

func scale(t *testing.T, cs kubernetes.Interface, name string, n int32) {
	t.Helper()
	ctx := context.Background()
	sc, err := cs.AppsV1().Deployments("default").GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get scale: %v", err)
	}
	sc.Spec.Replicas = n
	if _, err := cs.AppsV1().Deployments("default").UpdateScale(ctx, name, sc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update scale: %v", err)
	}
}

func deployment(t *testing.T, cs kubernetes.Interface, name string) *appsv1.Deployment {
	t.Helper()
	d, err := cs.AppsV1().Deployments("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// rolledOut is kubectl rollout status's success condition ("" when done).
func rolledOut(d *appsv1.Deployment) string {
	if d.Generation > d.Status.ObservedGeneration {
		return fmt.Sprintf("generation %d not observed (%d)", d.Generation, d.Status.ObservedGeneration)
	}
	want := replicasOf(d.Spec.Replicas)
	switch {
	case d.Status.UpdatedReplicas < want:
		return fmt.Sprintf("%d of %d updated", d.Status.UpdatedReplicas, want)
	case d.Status.Replicas > d.Status.UpdatedReplicas:
		return fmt.Sprintf("%d old replicas pending termination", d.Status.Replicas-d.Status.UpdatedReplicas)
	case d.Status.AvailableReplicas < d.Status.UpdatedReplicas:
		return fmt.Sprintf("%d of %d updated available", d.Status.AvailableReplicas, d.Status.UpdatedReplicas)
	}
	return ""
}

func TestScaleDownAndUp(t *testing.T) {
	t.Parallel()
	e := startEnv(t, "")
	cs := client(t, e, "primary")
	if s := summarize(t, cs, AppDeployment); s.ready != 3 {
		t.Fatalf("initial ready %d, want 3", s.ready)
	}
	down := watchPhases(t, cs)
	scale(t, cs, AppDeployment, 0)
	d := deployment(t, cs, AppDeployment)
	if d.Generation <= d.Status.ObservedGeneration {
		t.Fatalf("scale did not bump generation: gen %d observed %d", d.Generation, d.Status.ObservedGeneration)
	}
	eventually(t, waitLong, func() string {
		s := summarize(t, cs, AppDeployment)
		if s.total+s.terminating != 0 {
			return fmt.Sprintf("%d pods (%d terminating)", s.total+s.terminating, s.terminating)
		}
		return ""
	})
	if !down()["Terminating"] {
		t.Errorf("pods vanished without a Terminating phase (saw %v)", down())
	}
	seen := watchPhases(t, cs)
	scale(t, cs, AppDeployment, 3)
	eventually(t, waitLong, func() string {
		if msg := rolledOut(deployment(t, cs, AppDeployment)); msg != "" {
			return msg
		}
		if s := summarize(t, cs, AppDeployment); s.ready != 3 {
			return fmt.Sprintf("ready %d", s.ready)
		}
		return ""
	})
	eventually(t, waitLong, func() string {
		if !seen()["Ready"] {
			return "watch has not delivered Ready yet"
		}
		return ""
	})
	for _, ph := range []string{"Pending", "ContainerCreating", "Running"} {
		if !seen()[ph] {
			t.Errorf("never saw a pod %s (saw %v)", ph, seen())
		}
	}
}

// watchPhases records every pod status a watch delivers.
func watchPhases(t *testing.T, cs kubernetes.Interface) func() map[string]bool {
	t.Helper()
	w, err := cs.CoreV1().Pods("default").Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	go func() {
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				mu.Lock()
				seen[phaseOf(p)] = true
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(w.Stop)
	return func() map[string]bool {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(seen)
	}
}

// phaseOf is kubectl's STATUS column, roughly.
func phaseOf(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil {
			return cs.State.Waiting.Reason
		}
	}
	if p.Status.Phase == corev1.PodRunning && !podReady(p) {
		return "Running"
	}
	if podReady(p) {
		return "Ready"
	}
	return string(p.Status.Phase)
}

func TestDeletedPodIsRecreated(t *testing.T) {
	t.Parallel()
	e := startEnv(t, "")
	cs := client(t, e, "primary")
	ctx := context.Background()
	l, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: AppLabel})
	if err != nil || len(l.Items) != 3 {
		t.Fatalf("list: %v (%d pods)", err, len(l.Items))
	}
	victim := l.Items[0].Name
	if err := cs.CoreV1().Pods("default").Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := cs.CoreV1().Pods("default").Get(ctx, victim, metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("deleted pod should be Terminating first: %v %v", err, p)
	}
	eventually(t, waitLong, func() string {
		if _, err := cs.CoreV1().Pods("default").Get(ctx, victim, metav1.GetOptions{}); err == nil {
			return victim + " still there"
		}
		if s := summarize(t, cs, AppDeployment); s.ready != 3 || s.total != 3 {
			return fmt.Sprintf("ready %d/%d", s.ready, s.total)
		}
		return ""
	})
}

func restart(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339Nano))
	if _, err := cs.AppsV1().Deployments("default").Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("restart: %v", err)
	}
}

func TestRestartRollsPodsOneByOne(t *testing.T) {
	t.Parallel()
	e := startEnv(t, "")
	cs := client(t, e, "primary")
	ctx := context.Background()
	before := map[string]bool{}
	l, _ := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: AppLabel})
	for _, p := range l.Items {
		before[p.Name] = true
	}
	restart(t, cs, AppDeployment)
	if msg := rolledOut(deployment(t, cs, AppDeployment)); msg == "" {
		t.Fatal("rollout status reports done right after the restart")
	}
	minReady := 3
	eventually(t, waitLong, func() string {
		s := summarize(t, cs, AppDeployment)
		minReady = min(minReady, s.ready)
		if msg := rolledOut(deployment(t, cs, AppDeployment)); msg != "" {
			return msg
		}
		l, _ := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: AppLabel})
		for _, p := range l.Items {
			if before[p.Name] {
				return "old pod " + p.Name + " still present"
			}
		}
		return ""
	})
	if minReady < 3 {
		t.Errorf("ready dropped to %d during a rolling restart (maxUnavailable 0)", minReady)
	}
	rss, _ := cs.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{LabelSelector: AppLabel})
	revs := map[string]int32{}
	for _, rs := range rss.Items {
		revs[rs.Annotations[revisionAnnotation]] = replicasOf(rs.Spec.Replicas)
	}
	if revs["1"] != 0 || revs["2"] != 3 {
		t.Errorf("replicasets by revision = %v, want 1:0 2:3", revs)
	}
	if d := deployment(t, cs, AppDeployment); d.Annotations[revisionAnnotation] != "2" {
		t.Errorf("deployment revision %q, want 2", d.Annotations[revisionAnnotation])
	}
}

func metaListAll() metav1.ListOptions { return metav1.ListOptions{} }
func metaGet() metav1.GetOptions      { return metav1.GetOptions{} }

// A sample folder left by a killed drill (its pid is gone) is swept by the
// next one; a live drill's folder and other folders are kept.
func TestStaleSamplesSwept(t *testing.T) {
	tmp := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(tmp, fmt.Sprintf("drnav-drill-%d-abc", cmd.Process.Pid))
	live := filepath.Join(tmp, fmt.Sprintf("drnav-drill-%d-def", os.Getppid()))
	other := filepath.Join(tmp, "drnav-drill-notapid")
	for _, d := range []string{dead, live, other} {
		if err := os.MkdirAll(filepath.Join(d, "backups"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sweepStaleSamples(tmp)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead drill's folder is still there: %v", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}
