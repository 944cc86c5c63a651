package main

import (
	"context"
	"fmt"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/where"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
	"github.com/drnav/drnav/ui"
)

// liveTargets is what LIVE reaches, resolved before anything is shown, with
// the loading rules the steps use (kubectl's flags, KUBECONFIG, config).
type liveTargets struct {
	Primary  where.Kube
	Failover *where.Kube
	DB       where.DB
	// Contexts are the kubeconfig's contexts (the picker's choices).
	Contexts []string
	// Unresolved says why LIVE cannot name what it would touch: no
	// kubeconfig, no current context, an unknown context, a bad DSN.
	Unresolved string
	// FailoverProblem says why the configured failover context did not
	// resolve (steps naming it fail; the primary is still usable).
	FailoverProblem string
}

// resolveTargets resolves the primary and failover contexts and describes
// the database.
func resolveTargets(o *cmdOpts, cfg config.Config) liveTargets {
	var t liveTargets
	d, ok := kubeProvider(o.kube, cfg).(steps.KubeDescriber)
	if !ok {
		t.Unresolved = "the kube provider cannot describe its contexts"
		return t
	}
	t.Contexts, _ = d.Contexts()
	k, err := d.Where("primary")
	if err != nil {
		t.Unresolved = err.Error()
	} else {
		t.Primary = k
	}
	if cfg.FailoverContext != "" {
		f, err := d.Where("failover")
		if err != nil {
			t.FailoverProblem = err.Error()
		} else {
			t.Failover = &f
		}
	}
	db, err := steps.DescribeDSN(cfg.DSN, cfg.Database)
	if err != nil && t.Unresolved == "" {
		t.Unresolved = err.Error()
	}
	t.DB = db
	return t
}

// pin makes the resolved primary the context every client of this run
// uses, so a `kubectl config use-context` in another terminal cannot move
// drnav to another cluster after it showed this one.
func (t liveTargets) pin(cfg config.Config) config.Config {
	if t.Primary.Context != "" {
		cfg.PrimaryContext = t.Primary.Context
	}
	return cfg
}

// sameServer reports whether primary and failover reach one API server.
func (t liveTargets) sameServer() bool {
	return t.Failover != nil && where.SameServer(t.Primary, *t.Failover)
}

// declare fills the declaration's record of the targets.
func (t liveTargets) declare(d *incident.Declared) {
	p, db := t.Primary, t.DB
	d.KubeContext, d.Kube = p.Context, &p
	if t.Failover != nil {
		f := *t.Failover
		d.FailoverKube = &f
	}
	d.Database, d.DB = db.String(), &db
}

// describe is the LIVE choice as the mode screen shows it.
func (t liveTargets) describe() *ui.Environment {
	db := t.DB
	env := &ui.Environment{Database: db.String(), DBWhere: &db, Contexts: t.Contexts,
		Unresolved: t.Unresolved, FailoverProblem: t.FailoverProblem}
	if t.Unresolved == "" {
		p := t.Primary
		env.Context, env.KubeWhere = p.Context, &p
		env.FailoverWhere = t.Failover
	}
	return env
}

// pickContext describes LIVE on a context chosen in the UI; its Make builds
// that environment.
func (a *app) pickContext(o *cmdOpts, cfg config.Config) func(ctx context.Context, name string) (*ui.Environment, error) {
	return func(_ context.Context, name string) (*ui.Environment, error) {
		c := cfg
		c.PrimaryContext = name
		t := resolveTargets(o, c)
		if t.Unresolved != "" {
			return nil, fmt.Errorf("%s", t.Unresolved)
		}
		env := t.describe()
		c = t.pin(c)
		env.Make = func(ctx context.Context, rb *runbooks.Runbook) (*ui.Environment, error) {
			return a.uiEnvironment(ctx, o, c, rb, ui.ModeLive)
		}
		return env, nil
	}
}

// checkContext is the headless guard: a run refuses a failover on the same
// server as the primary, and a resumed LIVE incident reaching another
// context than it was declared with, unless the flags accept them.
func checkContext(o *cmdOpts, cfg config.Config, t liveTargets) error {
	if t.sameServer() && !o.acceptSameServer {
		return fmt.Errorf("primary %s and failover %s are the same server (%s): fix failover_context, or pass --accept-same-server",
			t.Primary.Context, t.Failover.Context, t.Primary.Server)
	}
	if o.resumeID == "" {
		return nil
	}
	st, _, _, err := incident.Read(cfg.JournalDir, o.resumeID)
	if err != nil {
		return fmt.Errorf("read incident %s: %w", o.resumeID, err)
	}
	if st.Mode != incident.ModeLive {
		return nil
	}
	recorded := where.Kube{Context: st.KubeContext}
	if st.Kube != nil {
		recorded = *st.Kube
	}
	if recorded.Context == "" {
		return nil
	}
	if change := where.Change(recorded, t.Primary); change != "" && !o.acceptContextChange {
		return fmt.Errorf("incident %s was declared on %s, this run reaches %s (%s): resume with --context %s, or pass --accept-context-change",
			o.resumeID, recorded.String(), t.Primary.String(), change, recorded.Context)
	}
	return nil
}
