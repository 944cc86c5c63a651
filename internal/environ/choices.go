package environ

import (
	"context"
	"fmt"
	"strings"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// ContextChoices lists the kubeconfig's contexts, each with its API server
// and its role ("primary", "failover") when it has one: two contexts of one
// region are told apart by their server, not their name.
func ContextChoices(d steps.KubeDescriber) ([]live.Choice, error) {
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

// choiceFactsFor lists a variable source's values from the primary context.
func choiceFactsFor(kube steps.KubeProvider, cfg config.Config, backupDir string) func(ctx context.Context, source string) ([]live.Choice, error) {
	return func(ctx context.Context, source string) ([]live.Choice, error) {
		q := live.ChoiceQuery{Namespace: cfg.Namespace, Selector: cfg.AppLabel, BackupDir: backupDir}
		if source == runbooks.SourceContexts {
			if d, ok := kube.(steps.KubeDescriber); ok {
				return ContextChoices(d)
			}
			return nil, nil
		}
		if source != runbooks.SourceBackups {
			if kube == nil {
				return nil, fmt.Errorf("no kube provider to list %s from", source)
			}
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
