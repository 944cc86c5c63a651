package main

import (
	"context"
	"fmt"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/internal/environ"
	"github.com/drnav/drnav/runbooks"
)

// environment builds the environment of a run, for the headless runner
// and the navigator alike (panes: with the sources feeding the navigator's
// panes). With --drill and no --context it is the simulator with the
// runbook's scenario injected; with --drill and a context, that real
// context behind the production guard; otherwise LIVE.
func (a *app) environment(ctx context.Context, o *cmdOpts, cfg config.Config, rb *runbooks.Runbook, panes bool) (*environ.Environment, error) {
	spec := environ.Spec{Config: cfg, Runbook: rb, Panes: panes}
	if o.drill && !explicitContext(o) {
		return environ.Drill(ctx, spec)
	}
	targets := resolveTargets(o, cfg)
	if err := unresolved(o, targets); err != nil {
		return nil, err
	}
	spec.Config = targets.Pin(cfg)
	kube := kubeProvider(o.kube, spec.Config)
	if o.drill {
		return environ.Guarded(ctx, spec, kube, targets)
	}
	return environ.Live(ctx, spec, kube, targets)
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

func unresolved(o *cmdOpts, targets environ.Targets) error {
	if targets.Unresolved == "" {
		return nil
	}
	what := "LIVE refused"
	if o.drill {
		what = "drill on a real context refused"
	}
	return fmt.Errorf("%s: %s (choose a context with --context or primary_context)", what, targets.Unresolved)
}
