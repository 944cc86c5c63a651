package drill

import (
	"context"
	"testing"
	"time"

	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// TestWaitTakesScenarioTime: a wait for a rollout in a drill lasts what the
// rollout lasts in the scenario (pods start in 3–8 s of scenario time), not
// the fraction of a second it takes on the wall at --drill-speed 50: the
// step engine reads the scenario clock, as the navigator gives it.
func TestWaitTakesScenarioTime(t *testing.T) {
	t.Parallel()
	e := New(Options{Speed: 50, Seed: 3, Dir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	if err := e.Inject(ScenarioApplication); err != nil {
		t.Fatal(err)
	}
	target := steps.Target{Kube: e.KubeProvider(), DB: e.Database(), Namespace: e.Namespace(), Now: e.Now}
	run := func(s runbooks.Step) steps.Event {
		t.Helper()
		r := steps.Start(ctx, s, target)
		go func() {
			for range r.Events() {
			}
		}()
		ev := r.Wait()
		if ev.ExitCode != 0 {
			t.Fatalf("step %s: exit %d: %s", s.ID, ev.ExitCode, ev.Err)
		}
		return ev
	}
	run(runbooks.Step{ID: "undo", K8s: &runbooks.K8sAction{Action: runbooks.K8sUndo, Deployment: AppDeployment}})
	wallStart := time.Now()
	ev := run(runbooks.Step{ID: "rollout", K8s: &runbooks.K8sAction{Action: runbooks.K8sRolloutStatus, Deployment: AppDeployment},
		Timeout: runbooks.Duration{Duration: time.Hour}})
	if ev.Duration < 3*time.Second {
		t.Errorf("the rollout's wait took %v of scenario time; a pod alone needs 3 s to start", ev.Duration)
	}
	// The scenario runs 50 times faster than the wall: the figure is the
	// scenario's, whatever the machine's load made the wall time.
	if wall := time.Since(wallStart); ev.Duration < 10*wall {
		t.Errorf("the rollout's wait took %v of scenario time in %v of wall time at speed 50: wall time, not the scenario's", ev.Duration, wall)
	}
	t.Logf("wait for rollout: %v of scenario time", ev.Duration)
}
