package environ

import (
	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/internal/where"
	"github.com/drnav/drnav/steps"
)

// Targets is what LIVE reaches, resolved before anything is shown, with
// the loading rules the steps use (kubectl's flags, KUBECONFIG, config).
type Targets struct {
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

// Resolve resolves kube's primary and failover contexts and describes the
// config's database.
func Resolve(kube steps.KubeProvider, cfg config.Config) Targets {
	var t Targets
	d, ok := kube.(steps.KubeDescriber)
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

// Pin makes the resolved primary the context every client of this run
// uses, so a `kubectl config use-context` in another terminal cannot move
// drnav to another cluster after it showed this one.
func (t Targets) Pin(cfg config.Config) config.Config {
	if t.Primary.Context != "" {
		cfg.PrimaryContext = t.Primary.Context
	}
	return cfg
}

// SameServer reports whether primary and failover reach one API server.
func (t Targets) SameServer() bool {
	return t.Failover != nil && where.SameServer(t.Primary, *t.Failover)
}
