package live

import (
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// stoppedClock never moves: a wait on it lasts for ever.
type stoppedClock struct{ now time.Time }

func (c stoppedClock) Now() time.Time                     { return c.now }
func (stoppedClock) After(time.Duration) <-chan time.Time { return nil }

// TestKubeSyncedShownAtOnce: the first snapshot with the whole list is
// published when the caches sync, without waiting out MinInterval after
// the snapshot before it.
func TestKubeSyncedShownAtOnce(t *testing.T) {
	t.Parallel()
	cs := fake.NewClientset(runningPod("agent-a"), runningPod("agent-b"))
	// The informer's list of the pods (the second; the first is the
	// pre-flight probe) waits until the first snapshot has been read.
	gate := make(chan struct{})
	var lists atomic.Int32
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		n := lists.Add(1)
		if n > 1 {
			<-gate
		}
		return false, nil, nil
	})
	src := startSource(t, cs, KubeOptions{MinInterval: time.Hour, Clock: stoppedClock{time.Unix(1e9, 0)}})
	first := waitSnap(t, src, "the first snapshot", func(KubeSnapshot) bool { return true })
	if first.Synced {
		t.Fatalf("first snapshot already synced: %+v", first)
	}
	close(gate)
	s := waitSnap(t, src, "the synced snapshot", func(s KubeSnapshot) bool { return s.Synced })
	if got, want := podNames(s), "agent-a=Running,agent-b=Running"; got != want {
		t.Errorf("pods = %s, want %s", got, want)
	}
}
