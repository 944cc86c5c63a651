// Package environ is the world a run touches, built in one place: the
// step target (cluster, database, guards, shell mode, config's shell
// environment and backup policy), the values and live choices of the
// runbook's variables, where it all is, the sources feeding the
// navigator's panes, and the Close that stops what was started. The
// headless runner and the navigator build theirs here alike.
//
// Three constructors build one: Live (the real cluster and database),
// Guarded (a drill on a real context, behind the production guard) and
// Drill (the simulator, drill.Simulator, with the runbook's scenario
// injected). Each always sets a complete base target (steps.BaseTarget),
// so no environment is built without one. Description and
// DrillDescription only describe a choice for the mode screen: they have
// no target, and are built (Make, or the navigator's MakeEnv) once chosen.
package environ

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/drill"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/where"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// Environment is what steps run against in one mode. The steps do not see
// it: each step receives a steps.Target, a copy of Target with the
// incident's variables, secrets and clock filled in.
type Environment struct {
	// Mode is incident.ModeLive or incident.ModeDrill.
	Mode string
	// Target is the complete base target (cluster, database, guards, shell
	// mode, allow-list, env, folder, backup policy); the runner fills Vars,
	// Secrets and Now per step. Nil only in a description.
	Target *steps.Target
	// ConfigValues are the values of `config = "key"` variables (a drill's
	// overrides included); nil means Config.Values().
	ConfigValues map[string]string
	// Recovered reports whether a drill scenario is recovered (scorecard).
	Recovered func() (bool, string)
	// Close stops what the environment started (the simulator, the panes'
	// sources); it may be called more than once.
	Close func()
	// Now, when set, is the environment's clock: a drill's scenario clock,
	// which runs at --drill-speed. The incident's times (header, journal,
	// step durations) read it.
	Now func() time.Time
	// Context and Database are shown before anything is touched: the kube
	// context name and the database description (no password).
	Context  string
	Database string
	// KubeWhere, FailoverWhere and DBWhere are the resolved targets of LIVE
	// (nil in simulated drills): shown on the mode screen, the header and
	// every confirmation, and recorded with the declaration.
	KubeWhere     *where.Kube
	FailoverWhere *where.Kube
	DBWhere       *where.DB
	// Unresolved says why LIVE's kube context could not be resolved (no
	// kubeconfig, no current context): LIVE is refused until one of
	// Contexts is chosen.
	Unresolved string
	Contexts   []string
	// FailoverProblem says why the configured failover context did not
	// resolve (shown on the mode screen).
	FailoverProblem string
	// Make, when set on a description, builds the environment it describes
	// once chosen (a context picked on the mode screen).
	Make func(ctx context.Context, rb *runbooks.Runbook) (*Environment, error)
	// KubeSnapshots, DBSnapshots and FailoverSnapshots feed the panes (set
	// when built with Spec.Panes; the failover one only where a failover
	// region is known).
	KubeSnapshots     <-chan live.KubeSnapshot
	DBSnapshots       <-chan live.DBSnapshot
	FailoverSnapshots <-chan live.KubeSnapshot
	// Choices lists live values for variable sources (runbooks.Source*),
	// e.g. unready pods; ChoiceFacts (preferred) lists the same values with
	// their facts (a pod's status, a backup's time) for the declare form.
	Choices     func(ctx context.Context, source string) ([]string, error)
	ChoiceFacts func(ctx context.Context, source string) ([]live.Choice, error)

	// rto is the config's recovery time objective (the declaration's).
	rto time.Duration
}

// Spec is what every constructor is given.
type Spec struct {
	// Config is the loaded config (for LIVE, pinned to the resolved primary
	// context: Targets.Pin).
	Config config.Config
	// Runbook is the runbook about to run (nil for none): a drill injects
	// its scenario, and its id selects the drill's allowed shell steps.
	Runbook *runbooks.Runbook
	// Panes starts the sources feeding the navigator's panes (informers on
	// the primary and failover contexts, the database prober); Close stops
	// them. The headless runner does without.
	Panes bool
}

// Declared is the declaration's record of this environment: its targets
// and the config's objectives (the runbook, mode and times are the
// runner's to fill).
func (e *Environment) Declared() incident.Declared {
	d := incident.Declared{
		RTO: e.rto, KubeContext: e.Context, Database: e.Database,
		Kube: e.KubeWhere, FailoverKube: e.FailoverWhere, DB: e.DBWhere,
		SSHClient: os.Getenv("SSH_CONNECTION"),
	}
	if e.Target != nil {
		d.RPO = e.Target.RPO
	}
	return d
}

// Live builds LIVE: the real cluster through kube (nil: Kubernetes steps
// fail clearly) and the config's database, at the resolved targets t.
func Live(ctx context.Context, s Spec, kube steps.KubeProvider, t Targets) (*Environment, error) {
	return onRealContext(ctx, s, kube, t, false)
}

// Guarded builds a drill on a real (staging) context: the production guard
// makes every mutation a server-side dry run unless the context is
// allow-listed, refuses data changes in a real database, and shell steps
// are shown, not run (config [drill] allow_shell excepted).
func Guarded(ctx context.Context, s Spec, kube steps.KubeProvider, t Targets) (*Environment, error) {
	return onRealContext(ctx, s, kube, t, true)
}

func onRealContext(ctx context.Context, s Spec, kube steps.KubeProvider, t Targets, guarded bool) (*Environment, error) {
	cfg := s.Config
	target := steps.BaseTarget(cfg)
	db, err := steps.NewDatabase(cfg.DSN)
	if err != nil {
		return nil, err
	}
	target.Kube, target.DB = kube, db
	mode := incident.ModeLive
	if guarded {
		mode = incident.ModeDrill
		if kube != nil {
			target.Kube = drill.Guard(kube, cfg)
		}
		target.DB = drill.GuardDatabase(db, cfg.Drill.AllowDatabase)
		target.ShowShellOnly(cfg.Drill.AllowShell, runbookID(s.Runbook))
	}
	prober, err := live.NewPGProber(cfg.DSN, cfg.Database)
	if err != nil {
		return nil, err
	}
	e := base(mode, cfg, &target, cfg.Values())
	p, dbw := t.Primary, t.DB
	e.Context, e.KubeWhere = p.Context, &p
	if t.Failover != nil {
		f := *t.Failover
		e.FailoverWhere = &f
	}
	e.Database, e.DBWhere = dbw.String(), &dbw
	var stop []func()
	if s.Panes {
		server := ""
		if !dbw.IsZero() {
			server = strings.Join(dbw.Hosts, ",") + "/" + dbw.Database // one DSN, its region not known
		}
		stop = append(stop, e.startPanes(ctx, cfg, panes{prober: prober, server: server, failover: guarded || cfg.FailoverContext != ""}))
	}
	e.Close = closer(stop...)
	return e, nil
}

// Drill builds a drill on the simulator, with the runbook's scenario
// injected; Close stops the simulator.
func Drill(ctx context.Context, s Spec) (*Environment, error) {
	cfg := s.Config
	sim := drill.New(drill.Options{Speed: cfg.Drill.Speed, Namespace: cfg.Namespace})
	if err := sim.Start(ctx); err != nil {
		return nil, fmt.Errorf("start drill simulator: %w", err)
	}
	rb := s.Runbook
	if rb != nil && rb.Scenario != "" {
		if err := sim.Inject(rb.Scenario); err != nil {
			sim.Stop()
			return nil, fmt.Errorf("drill scenario %s: %w", rb.Scenario, err)
		}
	}
	values := cfg.Values()
	values["primary_context"] = drill.PrimaryContext
	values["failover_context"] = drill.FailoverContext
	for k, v := range sim.ConfigOverrides() {
		values[k] = v
	}
	target := steps.BaseTarget(cfg)
	if d := values["backup_dir"]; d != "" {
		target.Backup.Dir = d
	}
	target.Kube = sim.KubeProvider()
	target.DB = sim.Database()
	target.ShowShellOnly(cfg.Drill.AllowShell, runbookID(rb))
	e := base(incident.ModeDrill, cfg, &target, values)
	e.Context, e.Database = simulatedContext, target.DB.Describe(cfg.Database)
	e.Now = sim.Now
	if rb != nil && rb.Scenario != "" {
		id := rb.Scenario
		e.Recovered = func() (bool, string) { return sim.Recovered(id) }
	}
	// The sources stop before the simulator they watch.
	stop := []func(){}
	if s.Panes {
		server, region := sim.DBWhere()
		stop = append(stop, e.startPanes(ctx, cfg, panes{prober: sim.DBProber(), clock: sim.PaneClock(),
			server: server, region: region, failover: true}))
	}
	e.Close = closer(append(stop, sim.Stop)...)
	return e, nil
}

// simulatedContext is how a simulated drill names its primary context.
const simulatedContext = drill.PrimaryContext + " (simulated)"

// Description is LIVE at the resolved targets t as the mode screen shows it
// before anything is built: no target, nothing to close.
func Description(t Targets) *Environment {
	db := t.DB
	e := &Environment{Mode: incident.ModeLive, Database: db.String(), DBWhere: &db, Contexts: t.Contexts,
		Unresolved: t.Unresolved, FailoverProblem: t.FailoverProblem}
	if t.Unresolved == "" {
		p := t.Primary
		e.Context, e.KubeWhere = p.Context, &p
		e.FailoverWhere = t.Failover
	}
	return e
}

// DrillDescription is a simulated drill as the mode screen shows it.
func DrillDescription() *Environment {
	return &Environment{Mode: incident.ModeDrill, Context: simulatedContext, Database: "simulated PostgreSQL"}
}

// base is an environment of mode around target, with the choices its
// cluster and backup folder offer.
func base(mode string, cfg config.Config, target *steps.Target, values map[string]string) *Environment {
	e := &Environment{Mode: mode, Target: target, ConfigValues: values, rto: cfg.RTO.Duration}
	e.ChoiceFacts = choiceFactsFor(target.Kube, cfg, target.Backup.Dir)
	e.Choices = func(ctx context.Context, source string) ([]string, error) {
		cs, err := e.ChoiceFacts(ctx, source)
		return live.Values(cs), err
	}
	return e
}

// panes is what the panes' sources need beyond the config.
type panes struct {
	prober live.DBProber
	clock  live.Clock // nil: the real one
	// server and region name the database the pane shows.
	server, region string
	// failover: the failover region's deployments show beside the primary's.
	failover bool
}

// startPanes starts the sources feeding the panes, each following one of
// the target's contexts ("primary", "failover"), dialled (and re-dialled)
// by the source itself. The returned stop ends them and waits (at most
// a few seconds) for them to return.
func (e *Environment) startPanes(ctx context.Context, cfg config.Config, p panes) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	kube := e.Target.Kube
	source := func(shown, which string) *live.KubeSource {
		return live.NewKubeSource(nil, live.KubeOptions{
			Context:   shown,
			Namespace: cfg.Namespace,
			Clock:     p.clock,
			Selector:  cfg.AppLabel,
			Dial: func(context.Context) (kubernetes.Interface, error) {
				if kube == nil {
					return nil, fmt.Errorf("no kube provider")
				}
				c, _, err := kube.Client(which)
				return c, err
			},
		})
	}
	ks := source(e.Context, "primary")
	ds := live.NewDBSource(p.prober, live.DBOptions{
		RPO:              cfg.RPO.Duration,
		BackupDir:        e.Target.Backup.Dir,
		FreshnessCommand: cfg.Backup.FreshnessCommand,
		Clock:            p.clock,
		Server:           p.server,
		Region:           p.region,
	})
	run(ks.Run)
	run(ds.Run)
	e.KubeSnapshots, e.DBSnapshots = ks.Snapshots(), ds.Snapshots()
	if p.failover {
		name := cfg.FailoverContext
		if e.Mode == incident.ModeDrill && name == "" {
			name = drill.FailoverContext
		}
		fs := source(name, "failover")
		run(fs.Run)
		e.FailoverSnapshots = fs.Snapshots()
	}
	return func() {
		cancel()
		done := make(chan struct{})
		go func() {
			wg.Wait()
			close(done)
		}()
		// Every source honours ctx; the bound only keeps a stuck dial from
		// holding up an exit.
		t := time.NewTimer(sourcesStopWait)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		}
	}
}

// sourcesStopWait bounds how long Close waits for the panes' sources.
const sourcesStopWait = 5 * time.Second

// closer runs each of fs in order, once, however often it is called.
func closer(fs ...func()) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, f := range fs {
				f()
			}
		})
	}
}

// runbookID is the id of rb ("" for none).
func runbookID(rb *runbooks.Runbook) string {
	if rb == nil {
		return ""
	}
	return rb.ID
}

// KubeShort is the header form of the environment's kube context:
// "lab · https://10.1.0.1:6443 · ns perf" ("" for none).
func (e *Environment) KubeShort() string {
	if e == nil {
		return ""
	}
	if e.KubeWhere != nil {
		return e.KubeWhere.Short()
	}
	return e.Context
}

// DBText describes the database (host, port, database, user).
func (e *Environment) DBText() string {
	if e == nil {
		return ""
	}
	if e.DBWhere != nil && !e.DBWhere.IsZero() {
		return e.DBWhere.String()
	}
	return e.Database
}

// SameServer reports whether primary and failover reach one API server.
func (e *Environment) SameServer() bool {
	return e != nil && e.KubeWhere != nil && e.FailoverWhere != nil && where.SameServer(*e.KubeWhere, *e.FailoverWhere)
}
