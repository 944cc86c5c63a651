package steps

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/drnav/drnav/internal/where"
)

// DescribeDSN names the database a libpq DSN (URL or keyword/value, or ""
// for the PG* environment) connects to, parsed by pgx exactly as psql
// would: host(s), port, database and user, never the password. A non-empty
// database overrides the DSN's (the config's `database`). It is the one
// describer of a DSN: the mode screen, the journal and the report use it.
func DescribeDSN(dsn, database string) (where.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return where.DB{}, fmt.Errorf("database DSN: %s", parseProblem(err, dsn))
	}
	d := dbWhere(&cfg.Config, database)
	for _, h := range d.Hosts {
		// libpq (and pgx) end the user info at the first '@': in
		// postgres://u:p@ss@host the password is "p" and the host "ss@host",
		// which shows part of what was meant as the password.
		if strings.Contains(h, "@") {
			return where.DB{}, errors.New("database DSN: the host part holds an '@': percent-encode '@' in the password as %40")
		}
	}
	// Belt and braces: no field may carry the password in any spelling.
	red, _ := NewRedactor([]string{cfg.Password, dsnPassword(dsn)}, nil)
	for i := range d.Hosts {
		d.Hosts[i] = red.String(d.Hosts[i])
	}
	d.Database, d.User = red.String(d.Database), red.String(d.User)
	return d, nil
}

// parseProblem is pgx's reason without the connection string, which a
// malformed DSN can make impossible to redact reliably.
func parseProblem(err error, dsn string) string {
	text := err.Error()
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		if i := strings.LastIndex(text, "`: "); i >= 0 {
			text = text[i+3:]
		}
		if i := strings.Index(text, " ("); i >= 0 {
			text = text[:i] // the wrapped error may quote the DSN
		}
		text = "cannot parse: " + text
	}
	red, _ := NewRedactor([]string{dsnPassword(dsn)}, nil)
	return red.String(text)
}

// dbWhere is the description of a parsed config.
func dbWhere(cfg *pgconn.Config, database string) where.DB {
	d := where.DB{Database: cfg.Database, User: cfg.User}
	if database != "" {
		d.Database = database
	}
	if cfg.Host != "" {
		d.Hosts = append(d.Hosts, where.HostPort(cfg.Host, cfg.Port))
	}
	for _, f := range cfg.Fallbacks {
		hp := where.HostPort(f.Host, f.Port)
		if f.Host != "" && !slices.Contains(d.Hosts, hp) {
			d.Hosts = append(d.Hosts, hp)
		}
	}
	return d
}

// KubeDescriber names the contexts a KubeProvider reaches (the kubeconfig
// provider implements it; the drill simulator does not).
type KubeDescriber interface {
	// Where resolves "primary", "failover" or a context name with
	// client-go's loading rules: the real context name, its cluster's
	// server, the namespace and the user.
	Where(name string) (where.Kube, error)
	// Contexts lists the kubeconfig's context names, sorted.
	Contexts() ([]string, error)
}

// Where implements KubeDescriber.
func (p *kubeProvider) Where(name string) (where.Kube, error) {
	resolved, err := p.resolve(name)
	if err != nil {
		return where.Kube{}, err
	}
	cc := p.opts.ClientConfig(resolved)
	raw, err := cc.RawConfig()
	if err != nil {
		return where.Kube{}, fmt.Errorf("load kubeconfig: %w", err)
	}
	k := where.Kube{Context: resolved}
	if kc := raw.Contexts[resolved]; kc != nil {
		k.Cluster, k.User = kc.Cluster, kc.AuthInfo
		if c := raw.Clusters[kc.Cluster]; c != nil {
			k.Server = c.Server
		}
	}
	// The REST config has the overrides applied (--server, --as).
	if rc, err := cc.ClientConfig(); err == nil {
		if rc.Host != "" {
			k.Server = rc.Host
		}
		if rc.Impersonate.UserName != "" {
			k.User = strings.TrimSpace(k.User + " as " + rc.Impersonate.UserName)
		}
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return where.Kube{}, fmt.Errorf("kube context %q: namespace: %w", resolved, err)
	}
	k.Namespace = ns
	return k, nil
}
