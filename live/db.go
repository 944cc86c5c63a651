package live

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drnav/drnav/internal/proc"
)

// RPOState grades backup freshness against the RPO.
type RPOState int

const (
	RPOUnknown RPOState = iota // no freshness source answered
	RPOOK                      // within 80% of the RPO
	RPOAmber                   // past 80% of the RPO
	RPORed                     // past the RPO
)

func (s RPOState) String() string {
	switch s {
	case RPOOK:
		return "ok"
	case RPOAmber:
		return "amber"
	case RPORed:
		return "red"
	}
	return "unknown"
}

// Freshness sources.
const (
	FreshnessWAL     = "WAL archive"
	FreshnessFolder  = "backup folder"
	FreshnessCommand = "command"
)

// DBOptions configures a DBSource.
type DBOptions struct {
	Interval         time.Duration // between probes when healthy (default 5s)
	RPO              time.Duration // default 15m
	BackupDir        string        // newest file here counts as a backup
	FreshnessCommand string        // bash command printing the newest backup's timestamp
	// CommandInterval is the least time between two runs of the freshness
	// command (default 1m); it may be slow (object storage).
	CommandInterval time.Duration
	// ProbeTimeout bounds one probe (default 10s).
	ProbeTimeout time.Duration
	Clock        Clock // nil: the real clock
	// Server and Region say which database the pane shows: its address
	// ("10.0.0.5:5432/app") and, when known, its region ("primary",
	// "failover"); copied into every snapshot.
	Server string
	Region string
}

// DBSnapshot is the database's health and the backups' freshness.
type DBSnapshot struct {
	Up     bool
	Health DBHealth // the last successful probe's figures (kept while down)
	// Err says why the database is not reachable; never holds a password.
	Err       string
	NextRetry time.Time
	// Freshness is the age of the newest backup evidence (archived WAL,
	// backup file, command's timestamp).
	Freshness       time.Duration
	FreshnessKnown  bool
	FreshnessSource string // FreshnessWAL, FreshnessFolder or FreshnessCommand
	FreshnessErr    string // a freshness source that failed (folder unreadable, command error)
	RPO             time.Duration
	RPOState        RPOState
	Updated         time.Time
	// Server and Region are DBOptions' (which database this is).
	Server string
	Region string
}

// AgeAt is the age at now of the newest backup evidence: the age measured
// at Updated plus the time since. The one data-age figure: the header's
// RPO and the PostgreSQL pane both read it.
func (s DBSnapshot) AgeAt(now time.Time) time.Duration {
	a := s.Freshness
	if !now.IsZero() && !s.Updated.IsZero() && now.After(s.Updated) {
		a += now.Sub(s.Updated)
	}
	return a
}

// DBSource probes the database on an interval and publishes snapshots.
type DBSource struct {
	prober  DBProber
	opts    DBOptions
	clock   Clock
	out     chan DBSnapshot
	started atomic.Bool

	mu     sync.Mutex
	latest DBSnapshot

	// Owned by the Run goroutine.
	lastHealth DBHealth
	haveHealth bool
	cmdTime    time.Time
	cmdErr     string
	cmdRan     time.Time
	failures   int
}

// NewDBSource returns a source around prober.
func NewDBSource(prober DBProber, opts DBOptions) *DBSource {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.RPO <= 0 {
		opts.RPO = 15 * time.Minute
	}
	if opts.CommandInterval <= 0 {
		opts.CommandInterval = time.Minute
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = 10 * time.Second
	}
	return &DBSource{prober: prober, opts: opts, clock: clockOr(opts.Clock), out: make(chan DBSnapshot, 1)}
}

// Snapshots delivers the latest snapshot (an unread one is replaced). It is
// closed when Run returns.
func (s *DBSource) Snapshots() <-chan DBSnapshot { return s.out }

// Latest returns the last published snapshot.
func (s *DBSource) Latest() DBSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// Run probes until ctx is done: every Interval while healthy, with capped
// exponential backoff (1s, 2s, 4s … 30s) while failing.
func (s *DBSource) Run(ctx context.Context) {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	defer close(s.out)
	for {
		snap := s.Step(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := s.opts.Interval
		if !snap.Up {
			wait = snap.NextRetry.Sub(snap.Updated)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(wait):
		}
	}
}

// Step runs one probe and publishes its snapshot. Run calls it; tests and
// the drill may call it directly instead of Run (not both).
func (s *DBSource) Step(ctx context.Context) DBSnapshot {
	pctx, cancel := context.WithTimeout(ctx, s.opts.ProbeTimeout)
	h, err := s.prober.Probe(pctx)
	cancel()
	now := s.clock.Now()
	snap := DBSnapshot{RPO: s.opts.RPO, Updated: now, Server: s.opts.Server, Region: s.opts.Region}
	if err != nil {
		s.failures++
		snap.Err = err.Error()
		snap.NextRetry = now.Add(Backoff(s.failures))
		snap.Health = s.lastHealth
	} else {
		s.failures = 0
		s.lastHealth, s.haveHealth = h, true
		snap.Up = true
		snap.Health = h
	}
	s.freshness(ctx, &snap, now)
	s.mu.Lock()
	s.latest = snap
	s.mu.Unlock()
	publishLatest(s.out, snap)
	return snap
}

// freshness fills the RPO fields: the newest of the last archived WAL
// (remembered while the database is down), the newest file in the backup
// folder and the freshness command's timestamp.
func (s *DBSource) freshness(ctx context.Context, snap *DBSnapshot, now time.Time) {
	var newest time.Time
	var source string
	var errs []string
	consider := func(t time.Time, src string) {
		if !t.IsZero() && t.After(newest) {
			newest, source = t, src
		}
	}
	if s.haveHealth {
		consider(s.lastHealth.LastArchived, FreshnessWAL)
	}
	if s.opts.BackupDir != "" {
		t, err := NewestFile(s.opts.BackupDir)
		if err != nil {
			errs = append(errs, err.Error())
		}
		consider(t, FreshnessFolder)
	}
	if s.opts.FreshnessCommand != "" {
		if s.cmdRan.IsZero() || now.Sub(s.cmdRan) >= s.opts.CommandInterval {
			s.cmdRan = now
			s.cmdTime, s.cmdErr = time.Time{}, ""
			t, err := runFreshnessCommand(ctx, s.opts.FreshnessCommand)
			if err != nil {
				s.cmdErr = err.Error()
			} else {
				s.cmdTime = t
			}
		}
		if s.cmdErr != "" {
			errs = append(errs, s.cmdErr)
		}
		consider(s.cmdTime, FreshnessCommand)
	}
	snap.FreshnessErr = strings.Join(errs, "; ")
	if newest.IsZero() {
		snap.RPOState = RPOUnknown
		return
	}
	age := max(now.Sub(newest), 0)
	snap.Freshness, snap.FreshnessKnown, snap.FreshnessSource = age, true, source
	snap.RPOState = GradeRPO(age, s.opts.RPO)
}

// GradeRPO grades an age against the RPO: amber past 80%, red past it.
func GradeRPO(age, rpo time.Duration) RPOState {
	switch {
	case rpo <= 0:
		return RPOUnknown
	case age > rpo:
		return RPORed
	case age*5 > rpo*4:
		return RPOAmber
	}
	return RPOOK
}

// NewestFile returns the modification time of the newest regular file in
// dir and its sub-folders (two levels deep). Zero time: none.
func NewestFile(dir string) (time.Time, error) {
	var newest time.Time
	base := strings.Count(filepath.Clean(dir), string(filepath.Separator))
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			return nil
		}
		if d.IsDir() {
			if path != dir && strings.Count(path, string(filepath.Separator))-base > 2 {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("backup folder: %w", err)
	}
	return newest, nil
}

// runFreshnessCommand runs the command with bash and parses the timestamp
// it prints (last non-empty line).
func runFreshnessCommand(ctx context.Context, command string) (time.Time, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ts, err := proc.Timestamp(cctx, command, nil, "")
	if err != nil {
		return time.Time{}, fmt.Errorf("freshness command: %w", err)
	}
	return ts, nil
}

// PGProber probes a real PostgreSQL server with pgx: one short-lived
// connection per probe, so a dead server costs at most the connect timeout.
type PGProber struct {
	cfg      *pgx.ConnConfig
	database string
	secrets  []string
}

// NewPGProber parses dsn as psql does (empty: the libpq environment and
// pgpass). database names the application's database whose size is shown
// (empty: the one connected to).
func NewPGProber(dsn string, database string) (DBProber, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database DSN: %s", ScrubSecrets(err.Error(), dsnPassword(dsn)))
	}
	if cfg.ConnectTimeout <= 0 || cfg.ConnectTimeout > 3*time.Second {
		cfg.ConnectTimeout = 3 * time.Second
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "drnav"
	}
	secrets := []string{cfg.Password, dsnPassword(dsn)}
	return &PGProber{cfg: cfg, database: database, secrets: secrets}, nil
}

const probeSQL = `SELECT
  current_setting('server_version'),
  pg_is_in_recovery(),
  (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
  current_setting('max_connections')::int,
  COALESCE((SELECT pg_database_size(oid) FROM pg_database WHERE datname = COALESCE(NULLIF($1, ''), current_database())), 0),
  (SELECT last_archived_time FROM pg_stat_archiver),
  COALESCE((SELECT failed_count FROM pg_stat_archiver), 0),
  CASE WHEN pg_is_in_recovery()
    THEN EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
    ELSE (SELECT EXTRACT(EPOCH FROM max(replay_lag))::float8 FROM pg_stat_replication)
  END`

// Probe connects, times a round trip and reads the health figures.
func (p *PGProber) Probe(ctx context.Context) (DBHealth, error) {
	var h DBHealth
	conn, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		return h, p.scrub("connect", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	start := time.Now()
	if _, err := conn.Exec(ctx, ";"); err != nil {
		return h, p.scrub("ping", err)
	}
	h.Latency = time.Since(start)
	var archived *time.Time
	var lag *float64
	var conns int64
	err = conn.QueryRow(ctx, probeSQL, p.database).Scan(&h.Version, &h.Standby, &conns, &h.MaxConnections,
		&h.SizeBytes, &archived, &h.ArchiveFailed, &lag)
	if err != nil {
		return h, p.scrub("health query", err)
	}
	h.Connections = int(conns)
	if archived != nil {
		h.LastArchived = *archived
	}
	if lag != nil {
		h.HasReplication = true
		h.ReplicationLag = time.Duration(*lag * float64(time.Second))
	}
	return h, nil
}

func (p *PGProber) scrub(what string, err error) error {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "no answer in time: " + msg
	}
	return fmt.Errorf("%s: %s", what, ScrubSecrets(msg, p.secrets...))
}

var (
	urlPasswordRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(://[^:/@\s]*:)([^@\s]*)@`) })
	kvPasswordRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`) })
)

// ScrubSecrets removes passwords from a message: DSN forms
// (postgres://u:PASS@h, password=PASS) and each literal secret given.
func ScrubSecrets(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	msg = urlPasswordRE().ReplaceAllString(msg, "${1}xxxxx@")
	return kvPasswordRE().ReplaceAllString(msg, "${1}xxxxx")
}

// dsnPassword extracts a password literally written in a DSN (best effort,
// for scrubbing a DSN that failed to parse).
func dsnPassword(dsn string) string {
	if m := urlPasswordRE().FindStringSubmatch(dsn); m != nil {
		return m[2]
	}
	if m := kvPasswordRE().FindStringSubmatch(dsn); m != nil {
		return strings.Trim(m[2], "'")
	}
	return ""
}
