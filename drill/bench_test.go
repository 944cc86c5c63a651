package drill

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkReconcile measures one controller tick over a settled cluster
// with n application pods (plus postgres).
func BenchmarkReconcile(b *testing.B) {
	for _, n := range []int32{3, 100} {
		b.Run(fmt.Sprintf("pods=%d", n), func(b *testing.B) {
			e := New(Options{Speed: 1000, Dir: b.TempDir()})
			b.Cleanup(e.Stop)
			c := e.primary
			sc, err := c.cs.AppsV1().Deployments("default").GetScale(context.Background(), AppDeployment, metav1.GetOptions{})
			if err != nil {
				b.Fatal(err)
			}
			sc.Spec.Replicas = n
			if _, err := c.cs.AppsV1().Deployments("default").UpdateScale(context.Background(), AppDeployment, sc, metav1.UpdateOptions{}); err != nil {
				b.Fatal(err)
			}
			// settle: ticks until every pod is ready
			now := time.Now()
			for i := 0; i < 2000 && c.readyReplicas("default", AppDeployment) != n; i++ {
				now = now.Add(100 * time.Millisecond)
				c.cs.Lock()
				c.reconcile(now)
				c.cs.Unlock()
			}
			if r := c.readyReplicas("default", AppDeployment); r != n {
				b.Fatalf("did not settle: ready %d/%d", r, n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				now = now.Add(time.Millisecond)
				c.cs.Lock()
				c.reconcile(now)
				c.cs.Unlock()
			}
		})
	}
}
