// Package where names what a LIVE change reaches: the resolved kube context
// (its real name, cluster server, namespace and user) and the database
// (host, port, database and user; never a password). It holds plain data
// only, so the journal, the report, the steps engine and the UI can share
// one spelling of it without importing each other.
package where

import (
	"strconv"
	"strings"
)

// Kube is a kubeconfig context as resolved by client-go's loading rules.
type Kube struct {
	Context   string `json:"context"`
	Cluster   string `json:"cluster,omitempty"`
	Server    string `json:"server,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	User      string `json:"user,omitempty"`
}

// IsZero reports whether nothing was resolved.
func (k Kube) IsZero() bool { return k == Kube{} }

// Short is the header form: "lab · https://10.0.0.1:6443 · ns perf".
func (k Kube) Short() string {
	parts := []string{k.Context}
	if k.Server != "" {
		parts = append(parts, k.Server)
	}
	if k.Namespace != "" {
		parts = append(parts, "ns "+k.Namespace)
	}
	return strings.Join(parts, " · ")
}

// String is the full form: Short plus the user.
func (k Kube) String() string {
	s := k.Short()
	if k.User != "" {
		s += " · user " + k.User
	}
	return s
}

// SameServer reports whether two resolved contexts reach the same API
// server (a failover that is no failover at all).
func SameServer(a, b Kube) bool {
	if a.Server == "" || b.Server == "" {
		return false
	}
	return normServer(a.Server) == normServer(b.Server)
}

func normServer(s string) string {
	s = strings.ToLower(strings.TrimRight(strings.TrimSpace(s), "/"))
	if strings.HasPrefix(s, "https://") && strings.Count(s[len("https://"):], ":") == 0 {
		s += ":443"
	}
	return s
}

// DB is a PostgreSQL connection target. It has no password field, so
// nothing built from it can show one.
type DB struct {
	// Hosts are host:port pairs (several with libpq fallback hosts); a
	// Unix socket folder shows as the folder and port.
	Hosts    []string `json:"hosts"`
	Database string   `json:"database,omitempty"`
	User     string   `json:"user,omitempty"`
}

// HostPort joins a host and a port as libpq users read them.
func HostPort(host string, port uint16) string {
	if port == 0 {
		return host
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "/") {
		host = "[" + host + "]" // IPv6
	}
	return host + ":" + strconv.Itoa(int(port))
}

// IsZero reports whether nothing was described.
func (d DB) IsZero() bool { return len(d.Hosts) == 0 && d.Database == "" && d.User == "" }

// String is "database app on db1:5432 as user dr".
func (d DB) String() string {
	if d.IsZero() {
		return ""
	}
	s := "database " + orDash(d.Database) + " on " + orDash(strings.Join(d.Hosts, ","))
	if d.User != "" {
		s += " as user " + d.User
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Change says how the context a change would reach now differs from the
// one recorded ("" when it is the same): another context name, API server
// or namespace. A different user on the same server is not a change of
// target.
func Change(recorded, now Kube) string {
	var diffs []string
	if recorded.Context != now.Context {
		diffs = append(diffs, "context "+orDash(recorded.Context)+" → "+orDash(now.Context))
	}
	if recorded.Server != "" && now.Server != "" && normServer(recorded.Server) != normServer(now.Server) {
		diffs = append(diffs, "server "+recorded.Server+" → "+now.Server)
	}
	if recorded.Namespace != "" && now.Namespace != "" && recorded.Namespace != now.Namespace {
		diffs = append(diffs, "namespace "+recorded.Namespace+" → "+now.Namespace)
	}
	return strings.Join(diffs, ", ")
}
