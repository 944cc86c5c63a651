package main

import (
	"context"
	"fmt"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/environ"
	"github.com/drnav/drnav/internal/where"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/ui"
)

// resolveTargets resolves what LIVE reaches with kubectl's flags.
func resolveTargets(o *cmdOpts, cfg config.Config) environ.Targets {
	return environ.Resolve(kubeProvider(o.kube, cfg), cfg)
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
		env := environ.Description(t)
		c = t.Pin(c)
		oo := *o
		oo.drill = false
		env.Make = func(ctx context.Context, rb *runbooks.Runbook) (*ui.Environment, error) {
			return a.environment(ctx, &oo, c, rb, true)
		}
		return env, nil
	}
}

// checkContext is the headless guard: a run refuses a failover on the same
// server as the primary, and a resumed LIVE incident reaching another
// context than it was declared with, unless the flags accept them.
func checkContext(o *cmdOpts, cfg config.Config, t environ.Targets) error {
	if t.SameServer() && !o.acceptSameServer {
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
