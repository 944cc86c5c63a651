// Package live holds the read-only sources behind the panes: pods, deployments
// and ReplicaSets from informers per kube context, and PostgreSQL health with
// RPO freshness. Sources never import Bubble Tea; they publish snapshots.
package live

import (
	"context"
	"time"
)

// DBHealth is what one PostgreSQL probe measured.
type DBHealth struct {
	Latency        time.Duration
	Version        string
	Standby        bool          // pg_is_in_recovery()
	ReplicationLag time.Duration // primary: max replay lag of standbys; standby: now - last replay
	HasReplication bool          // a lag figure is known
	Connections    int
	MaxConnections int
	SizeBytes      int64 // size of the application's database
	// Tables is the number of user tables in the application's database,
	// when the prober knows it (TablesKnown).
	Tables      int
	TablesKnown bool
	// LastArchived is the time of the last archived WAL (zero: none known).
	LastArchived  time.Time
	ArchiveFailed int64
}

// DBProber measures database health. The real one uses pgx; the drill
// simulator provides its own.
type DBProber interface {
	Probe(ctx context.Context) (DBHealth, error)
}
