package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/drill"
	"github.com/drnav/drnav/headless"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// environment is what a run touches: the real cluster and database, or the
// drill simulator (or a real staging context behind the production guard).
type environment struct {
	Mode     string
	Target   steps.Target
	Declared incident.Declared
	// ConfigValues are the values runbook variables take through `config = "key"`.
	ConfigValues map[string]string
	Choices      headless.ChoicesFunc
	// ChoiceFacts lists the same values with their facts (the declare form).
	ChoiceFacts func(ctx context.Context, source string) ([]live.Choice, error)
	// DBProber feeds the PostgreSQL pane.
	DBProber live.DBProber
	// Recovered reports whether the drill scenario is recovered (drill only).
	Recovered func() (bool, string)
	Close     func()
	// Now and PaneClock are a drill's scenario clock (drill.Env.Now, which
	// runs at --drill-speed) and the clock of the sources feeding its panes
	// (drill.Env.PaneClock); nil outside drills.
	Now       func() time.Time
	PaneClock live.Clock
	// DBServer and DBRegion name the database the PostgreSQL pane shows
	// (its address, and "primary"/"failover" when known).
	DBServer, DBRegion string
}

// environment builds the environment for a runbook. With --drill and no
// --context it is the simulator with the runbook's scenario injected.
func (a *app) environment(ctx context.Context, o *cmdOpts, cfg config.Config, rb *runbooks.Runbook) (*environment, error) {
	if o.drill && !explicitContext(o) {
		return drillEnvironment(ctx, cfg, rb)
	}
	targets := resolveTargets(o, cfg)
	if err := unresolved(o, targets); err != nil {
		return nil, err
	}
	cfg = targets.pin(cfg)
	env, err := liveEnvironment(cfg, kubeProvider(o.kube, cfg), targets)
	if err != nil {
		return nil, err
	}
	if o.drill {
		// A drill on a real (staging) context: the production guard makes
		// every mutation a server-side dry run unless the context is
		// allow-listed, and refuses data changes in a real database.
		env.Mode = incident.ModeDrill
		env.Target.Kube = drill.Guard(env.Target.Kube, cfg)
		env.Target.DB = drill.GuardDatabase(env.Target.DB, cfg.Drill.AllowDatabase)
		env.Target.ShowShellOnly(cfg.Drill.AllowShell, runbookID(rb))
	}
	return env, nil
}

func explicitContext(o *cmdOpts) bool { return o.kube.Context != nil && *o.kube.Context != "" }

// refuseUnresolved refuses a LIVE run (or a drill on a real context) whose
// kube context or database cannot be named; reads only the kubeconfig.
func refuseUnresolved(o *cmdOpts, cfg config.Config) error {
	if o.drill && !explicitContext(o) {
		return nil // the simulator
	}
	return unresolved(o, resolveTargets(o, cfg))
}

func unresolved(o *cmdOpts, targets liveTargets) error {
	if targets.Unresolved == "" {
		return nil
	}
	what := "LIVE refused"
	if o.drill {
		what = "drill on a real context refused"
	}
	return fmt.Errorf("%s: %s (choose a context with --context or primary_context)", what, targets.Unresolved)
}

func liveEnvironment(cfg config.Config, kube steps.KubeProvider, targets liveTargets) (*environment, error) {
	t := steps.BaseTarget(cfg)
	t.Kube = kube
	db, err := steps.NewDatabase(cfg.DSN)
	if err != nil {
		return nil, err
	}
	t.DB = db
	prober, err := live.NewPGProber(cfg.DSN, cfg.Database)
	if err != nil {
		return nil, err
	}
	env := &environment{
		Mode:         incident.ModeLive,
		Target:       t,
		ConfigValues: cfg.Values(),
		DBProber:     prober,
		Declared: incident.Declared{
			RTO: cfg.RTO.Duration, RPO: cfg.RPO.Duration,
			SSHClient: os.Getenv("SSH_CONNECTION"),
		},
		Close: func() {},
	}
	targets.declare(&env.Declared)
	env.ChoiceFacts = choiceFactsFor(t.Kube, cfg, cfg.Backup.Dir)
	env.Choices = func(ctx context.Context, source string) ([]string, error) {
		cs, err := env.ChoiceFacts(ctx, source)
		return live.Values(cs), err
	}
	return env, nil
}

func drillEnvironment(ctx context.Context, cfg config.Config, rb *runbooks.Runbook) (*environment, error) {
	sim := drill.New(drill.Options{Speed: cfg.Drill.Speed, Namespace: cfg.Namespace})
	if err := sim.Start(ctx); err != nil {
		return nil, fmt.Errorf("start drill simulator: %w", err)
	}
	if rb != nil && rb.Scenario != "" {
		if err := sim.Inject(rb.Scenario); err != nil {
			sim.Stop()
			return nil, fmt.Errorf("drill scenario %s: %w", rb.Scenario, err)
		}
	}
	values := cfg.Values()
	values["primary_context"] = "drill-primary"
	values["failover_context"] = "drill-failover"
	for k, v := range sim.ConfigOverrides() {
		values[k] = v
	}
	backup := cfg.Backup
	if d := values["backup_dir"]; d != "" {
		backup.Dir = d
	}
	t := steps.BaseTarget(cfg)
	t.Backup = backup
	t.Kube = sim.KubeProvider()
	t.DB = sim.Database()
	t.ShowShellOnly(cfg.Drill.AllowShell, runbookID(rb))
	env := &environment{
		Mode:         incident.ModeDrill,
		Target:       t,
		ConfigValues: values,
		DBProber:     sim.DBProber(),
		Declared: incident.Declared{
			RTO: cfg.RTO.Duration, RPO: cfg.RPO.Duration,
			KubeContext: "drill-primary (simulated)", Database: t.DB.Describe(cfg.Database),
			SSHClient: os.Getenv("SSH_CONNECTION"),
		},
		Close:     sim.Stop,
		Now:       sim.Now,
		PaneClock: sim.PaneClock(),
	}
	env.DBServer, env.DBRegion = sim.DBWhere()
	if rb != nil && rb.Scenario != "" {
		id := rb.Scenario
		env.Recovered = func() (bool, string) { return sim.Recovered(id) }
	}
	env.ChoiceFacts = choiceFactsFor(t.Kube, cfg, backup.Dir)
	env.Choices = func(ctx context.Context, source string) ([]string, error) {
		cs, err := env.ChoiceFacts(ctx, source)
		return live.Values(cs), err
	}
	return env, nil
}

// runbookID is the id of rb ("" for none).
func runbookID(rb *runbooks.Runbook) string {
	if rb == nil {
		return ""
	}
	return rb.ID
}

// contextChoices lists the kubeconfig's contexts, each with its API server
// and its role ("primary", "failover") when it has one: two contexts of one
// region are told apart by their server, not their name.
func contextChoices(d steps.KubeDescriber) ([]live.Choice, error) {
	names, err := d.Contexts()
	if err != nil {
		return nil, err
	}
	roles := map[string]string{}
	for _, r := range []string{"primary", "failover"} {
		if w, err := d.Where(r); err == nil {
			roles[w.Context] = r
		}
	}
	cs := make([]live.Choice, len(names))
	for i, n := range names {
		var facts []string
		if w, err := d.Where(n); err == nil && w.Server != "" {
			facts = append(facts, w.Server)
		} else if err != nil {
			facts = append(facts, "server unknown: "+err.Error())
		}
		if r := roles[n]; r != "" {
			facts = append(facts, r)
		}
		cs[i] = live.Choice{Value: n, Facts: strings.Join(facts, " · ")}
	}
	return cs, nil
}

// choicesFor lists a variable source's values from the primary context.
func choiceFactsFor(kube steps.KubeProvider, cfg config.Config, backupDir string) func(ctx context.Context, source string) ([]live.Choice, error) {
	return func(ctx context.Context, source string) ([]live.Choice, error) {
		q := live.ChoiceQuery{Namespace: cfg.Namespace, Selector: cfg.AppLabel, BackupDir: backupDir}
		if source == runbooks.SourceContexts {
			if d, ok := kube.(steps.KubeDescriber); ok {
				return contextChoices(d)
			}
			return nil, nil
		}
		if source != runbooks.SourceBackups {
			client, info, err := kube.Client("primary")
			if err != nil {
				return nil, err
			}
			q.Client = client
			if info.Namespace != "" && cfg.Namespace == "" {
				q.Namespace = info.Namespace
			}
		}
		return live.ChoiceFacts(ctx, q, source)
	}
}
