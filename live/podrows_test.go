package live

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// TestPodRowsMatchesFullSort: after random adds, updates (restarts, crash
// loops, selector changes) and deletes, the incremental order and counts
// equal a full conversion and sort of the same pods.
func TestPodRowsMatchesFullSort(t *testing.T) {
	t.Parallel()
	sel, err := labels.Parse("app=x")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	live := map[string]*corev1.Pod{}
	var r podRows
	for round := 0; round < 40; round++ {
		for op := 0; op < 1+rng.IntN(30); op++ {
			name := fmt.Sprintf("p-%03d", rng.IntN(200))
			ns := []string{"a", "b"}[rng.IntN(2)]
			key := ns + "/" + name
			if p, ok := live[key]; ok && rng.IntN(4) == 0 {
				delete(live, key)
				if rng.IntN(2) == 0 {
					r.remove(cache.DeletedFinalStateUnknown{Key: key, Obj: p})
				} else {
					r.remove(p)
				}
				continue
			}
			p := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "x"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
					Name: "c", Ready: true, RestartCount: int32(rng.IntN(3)),
					State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
				}}},
			}
			switch rng.IntN(5) {
			case 0:
				p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
			case 1:
				p.Labels["app"] = "other"
			}
			live[key] = p
			r.set(p, sel)
		}
		got, counts := r.sorted()
		var want []keyedPod
		for k, p := range live {
			if sel.Matches(labels.Set(p.Labels)) {
				want = append(want, keyedPod{k, PodFrom(p)})
			}
		}
		slices.SortFunc(want, comparePods)
		wantPods := make([]Pod, len(want))
		for i := range want {
			wantPods[i] = want[i].Pod
		}
		if !slices.Equal(got, wantPods) {
			t.Fatalf("round %d: incremental order differs from a full sort:\n got %v\nwant %v", round, got, wantPods)
		}
		if wc := countPods(wantPods); !slices.Equal(counts, wc) {
			t.Fatalf("round %d: counts %v, want %v", round, counts, wc)
		}
	}
}

// TestPodRowsReportChanges: set and remove say whether the pane's rows
// changed, so the source publishes (and the screen redraws) only then: a
// label the selector does not use changes nothing, a restart does, and so
// do leaving and re-entering the selector.
func TestPodRowsReportChanges(t *testing.T) {
	t.Parallel()
	sel, err := labels.Parse("app=x")
	if err != nil {
		t.Fatal(err)
	}
	pod := func(app, churn string, restarts int32) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "a", Labels: map[string]string{"app": app, "churn": churn}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
				Name: "c", Ready: true, RestartCount: restarts,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			}}},
		}
	}
	var r podRows
	steps := []struct {
		what string
		do   func() bool
		want bool
	}{
		{"add", func() bool { return r.set(pod("x", "1", 0), sel) }, true},
		{"label the pane does not show", func() bool { return r.set(pod("x", "2", 0), sel) }, false},
		{"restart", func() bool { return r.set(pod("x", "2", 1), sel) }, true},
		{"leaves the selector", func() bool { return r.set(pod("y", "2", 1), sel) }, true},
		{"outside the selector, changed", func() bool { return r.set(pod("y", "3", 2), sel) }, false},
		{"deleted outside the selector", func() bool { return r.remove(pod("y", "3", 2)) }, false},
		{"back in the selector", func() bool { return r.set(pod("x", "3", 2), sel) }, true},
		{"deleted", func() bool { return r.remove(pod("x", "3", 2)) }, true},
		{"deleted again", func() bool { return r.remove(cache.DeletedFinalStateUnknown{Key: "a/p"}) }, false},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Errorf("%s: changed = %v, want %v", s.what, got, s.want)
		}
	}
	if rows, _ := r.sorted(); len(rows) != 0 {
		t.Errorf("rows after the delete: %v", rows)
	}
}
