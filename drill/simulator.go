// Package drill is the simulated environment for rehearsals: two kube
// contexts served by client-go fake clientsets with a small controller
// simulation (deployments, ReplicaSets, pods, rollouts, crash loops), a
// simulated PostgreSQL, sample manifests and backups, the scenarios that break
// them, and the production guard that keeps a drill from mutating real
// clusters and databases.
package drill

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/drnav/drnav/internal/where"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/steps"
)

// Context names the simulator serves.
const (
	PrimaryContext  = "drill-primary"
	FailoverContext = "drill-failover"
)

// Options configures a simulated environment.
type Options struct {
	// Speed multiplies the simulator's pace: 1 is realistic (a pod starts in
	// about 3–8 s, terminates in 2–5 s), 10 is ten times faster. The
	// scenario's clock (Simulator.Now) runs this many times faster than Clock, so
	// a pod still starts in 3–8 s of scenario time, and every delay takes
	// 1/Speed of it on the wall. Zero or negative means 1.
	Speed float64
	// Namespace the workloads live in (default "default").
	Namespace string
	// Seed makes pod names and delays reproducible.
	Seed int64
	// Clock is the wall clock (default the real one); the scenario's clock
	// runs Speed times faster than it.
	Clock clock.WithTicker
	// Dir is where the sample manifests and backups are written (default a
	// new temporary folder, removed by Stop).
	Dir string
}

// Simulator is the drill's simulated backend: two kube contexts and a
// database that a scenario breaks. It is not an environment by itself:
// internal/environ wraps it (target, choices, panes, Close).
type Simulator struct {
	opts     Options
	clk      *scenarioClock
	primary  *cluster
	failover *cluster
	db       *simDB

	dir        string
	ownDir     bool
	samplesErr error
	overrides  map[string]string

	mu       sync.Mutex
	scenario string // the injected scenario, "" for a healthy environment
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// New builds a healthy environment: the application (3 replicas) and
// postgres (1 replica) running in the primary context, an empty failover
// context, an up database. Inject breaks it; Start runs the simulation.
func New(opts Options) *Simulator {
	if opts.Speed <= 0 {
		opts.Speed = 1
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	// The simulation runs on the scenario clock at realistic durations (its
	// own pace is 1): the clock, not each delay, carries the speed.
	e := &Simulator{opts: opts, clk: newScenarioClock(opts.Clock, opts.Speed)}
	e.primary = newCluster(PrimaryContext, "10.0.0.1:6443", e.clk, 1, opts.Seed)
	e.failover = newCluster(FailoverContext, "10.1.0.1:6443", e.clk, 1, opts.Seed+1)
	e.db = newSimDB(e.clk, 1, func() bool {
		return e.primary.readyReplicas(opts.Namespace, DBDeployment) > 0
	})
	e.samplesErr = e.writeSamples()
	if err := e.reset(""); err != nil && e.samplesErr == nil {
		e.samplesErr = err
	}
	return e
}

// Start runs the controller simulations until ctx ends or Stop is called.
// It returns the error, if any, of writing the sample files.
func (e *Simulator) Start(ctx context.Context) error {
	if e.samplesErr != nil {
		return e.samplesErr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancel != nil {
		return fmt.Errorf("drill environment already started")
	}
	ctx, cancel := context.WithCancel(ctx)
	e.cancel = cancel
	// a tick every 250 ms of scenario time, at most one per 20 ms of wall
	tick := max(250*time.Millisecond, time.Duration(float64(20*time.Millisecond)*e.opts.Speed))
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		e.primary.run(ctx, tick, e.observe)
	}()
	go func() {
		defer e.wg.Done()
		e.failover.run(ctx, tick, nil)
	}()
	return nil
}

// Stop ends the simulation and removes the temporary sample folder.
func (e *Simulator) Stop() {
	e.mu.Lock()
	cancel := e.cancel
	e.cancel = nil
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	e.primary.setDown(true)
	e.failover.setDown(true)
	if e.ownDir && e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// observe feeds the database what the primary cluster shows after a tick.
func (e *Simulator) observe(now time.Time) {
	e.db.observe(now, e.primary.readyReplicas(e.opts.Namespace, AppDeployment))
}

// Now is the scenario's time: the drill's one clock (see Options.Speed).
// The navigator's incident clock reads it in a drill.
func (e *Simulator) Now() time.Time { return e.clk.Now() }

// PaneClock is the clock of the live sources that feed a drill's panes:
// snapshots are stamped with the scenario's time (so a data age or a pod's
// age reads like the header's RTO clock), while their intervals stay on
// the wall clock (a probe every few seconds whatever the speed).
func (e *Simulator) PaneClock() live.Clock { return paneClock{e.clk} }

type paneClock struct{ c *scenarioClock }

func (p paneClock) Now() time.Time                         { return p.c.Now() }
func (p paneClock) After(d time.Duration) <-chan time.Time { return p.c.base.After(d) }

// Speed is the pace the environment runs at.
func (e *Simulator) Speed() float64 { return e.opts.Speed }

// Namespace is where the workloads live.
func (e *Simulator) Namespace() string { return e.opts.Namespace }

// Clientset returns the fake clientset behind a context ("primary",
// "failover" or the drill context names), for tests and the headless runner.
// It obeys the scenario (an unreachable context fails every call).
func (e *Simulator) Clientset(contextName string) (kubernetes.Interface, error) {
	c, err := e.cluster(contextName)
	if err != nil {
		return nil, err
	}
	return c.cs, nil
}

func (e *Simulator) cluster(name string) (*cluster, error) {
	switch name {
	case "", "primary", PrimaryContext:
		return e.primary, nil
	case "failover", FailoverContext:
		return e.failover, nil
	}
	return nil, fmt.Errorf("kube context %q is not simulated (the drill serves %q and %q)", name, PrimaryContext, FailoverContext)
}

// KubeProvider hands out the simulated contexts: "primary" (or "") →
// drill-primary, "failover" → drill-failover.
func (e *Simulator) KubeProvider() steps.KubeProvider { return kubeProvider{e} }

type kubeProvider struct{ e *Simulator }

func (p kubeProvider) Client(name string) (kubernetes.Interface, steps.ContextInfo, error) {
	c, err := p.e.cluster(name)
	if err != nil {
		return nil, steps.ContextInfo{}, err
	}
	return c.cs, steps.ContextInfo{Name: c.name, Namespace: p.e.opts.Namespace, Real: false}, nil
}

// Where describes a simulated context (steps.KubeDescriber): its name and
// its made-up API server, so a list of contexts can say which is which.
func (p kubeProvider) Where(name string) (where.Kube, error) {
	c, err := p.e.cluster(name)
	if err != nil {
		return where.Kube{}, err
	}
	return where.Kube{Context: c.name, Cluster: c.name, Server: "https://" + c.host, Namespace: p.e.opts.Namespace, User: "drill"}, nil
}

// Contexts lists the simulated contexts (steps.KubeDescriber).
func (p kubeProvider) Contexts() ([]string, error) {
	return []string{PrimaryContext, FailoverContext}, nil
}

// Database is the simulated PostgreSQL as the SQL actions see it.
func (e *Simulator) Database() steps.Database { return e.db }

// DBProber is the simulated PostgreSQL as the health pane sees it.
func (e *Simulator) DBProber() live.DBProber { return e.db }

// DBWhere says which simulated database the PostgreSQL pane shows: its
// address and database, and its region. In the data-center failure it is
// the failover region's (empty until restored); otherwise the primary's.
func (e *Simulator) DBWhere() (server, region string) {
	if e.Scenario() == ScenarioDataCenter {
		return failoverDBAddr + "/" + DatabaseName, "failover"
	}
	return simDBAddr + "/" + DatabaseName, "primary"
}

// Scenario returns the injected scenario's id ("" when healthy).
func (e *Simulator) Scenario() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.scenario
}
