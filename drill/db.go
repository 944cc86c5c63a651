package drill

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/steps"
)

const (
	simVersion   = "PostgreSQL 16.4 (simulated)"
	simDBAddr    = "10.0.0.5:5432"
	healthyOrder = 18342 // rows in orders on a healthy database
)

// indexes the simulated database has (amcheck/reindex know them).
var simIndexes = []string{"customers_email_key", "customers_pkey", "orders_customer_id_idx", "orders_pkey"}

// simDB is the simulated PostgreSQL: it implements steps.Database and
// live.DBProber.
type simDB struct {
	clk   clock.WithTicker
	speed float64

	// pgReady reads, now, whether postgres in the primary context has a
	// ready pod (nil: never). It takes no lock of the database.
	pgReady func() bool

	mu           sync.Mutex
	alwaysUp     bool  // the scenario keeps it up without a postgres pod
	appReady     int32 // ready application pods (connections)
	restored     bool
	corrupt      map[string]string // index → amcheck detail
	lastArchived time.Time         // wall-clock time of the last archived WAL
	orders       int64
	sizeBytes    int64
}

var (
	_ steps.Database = (*simDB)(nil)
	_ live.DBProber  = (*simDB)(nil)
)

func newSimDB(clk clock.WithTicker, speed float64, pgReady func() bool) *simDB {
	return &simDB{clk: clk, speed: speed, pgReady: pgReady, corrupt: map[string]string{}}
}

func (d *simDB) scaled(t time.Duration) time.Duration { return time.Duration(float64(t) / d.speed) }

// resetState sets the database up for a scenario.
func (d *simDB) resetState(alwaysUp bool, orders int64, archivedAgo time.Duration, corrupt map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.alwaysUp = alwaysUp
	d.appReady = 3
	if !alwaysUp {
		d.appReady = 0
	}
	d.restored = false
	d.corrupt = corrupt
	d.orders = orders
	d.sizeBytes = 8_000_000 + orders*620
	d.lastArchived = d.clk.Now().Add(-d.scaled(archivedAgo))
}

// observe is called after each primary tick with what the cluster shows.
func (d *simDB) observe(now time.Time, appReady int32) {
	up := d.pgUpNow()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.appReady = appReady
	if (d.alwaysUp || up) && now.Sub(d.lastArchived) >= d.scaled(time.Minute) {
		d.lastArchived = now // archive_timeout 60s: a WAL segment a minute while up
	}
}

func (d *simDB) pgUpNow() bool { return d.pgReady != nil && d.pgReady() }

func (d *simDB) check() error {
	up := d.pgUpNow()
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.alwaysUp && !up {
		return fmt.Errorf("connect to %s (simulated): dial tcp %s: connect: connection refused (no ready postgres pod)", simDBAddr, simDBAddr)
	}
	return nil
}

// state is a snapshot for Recovered and tests.
type dbState struct {
	up       bool
	restored bool
	corrupt  []string
}

func (d *simDB) state() dbState {
	up := d.pgUpNow()
	d.mu.Lock()
	defer d.mu.Unlock()
	s := dbState{up: d.alwaysUp || up, restored: d.restored}
	for k := range d.corrupt {
		s.corrupt = append(s.corrupt, k)
	}
	slices.Sort(s.corrupt)
	return s
}

// Probe implements live.DBProber. LastArchived is reported on the simulated
// time scale: its age as seen now is the simulated age (Speed × wall age).
func (d *simDB) Probe(ctx context.Context) (live.DBHealth, error) {
	if err := ctx.Err(); err != nil {
		return live.DBHealth{}, err
	}
	if err := d.check(); err != nil {
		return live.DBHealth{}, err
	}
	now := d.clk.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	age := time.Duration(float64(now.Sub(d.lastArchived)) * d.speed)
	return live.DBHealth{
		Latency:        2 * time.Millisecond,
		Version:        simVersion,
		ReplicationLag: 300 * time.Millisecond,
		HasReplication: true,
		Connections:    int(2 + 4*d.appReady),
		MaxConnections: 100,
		SizeBytes:      d.sizeBytes,
		LastArchived:   now.Add(-age),
	}, nil
}

// Ping implements steps.Database.
func (d *simDB) Ping(ctx context.Context, database string) (steps.DBInfo, error) {
	if err := ctx.Err(); err != nil {
		return steps.DBInfo{}, err
	}
	if err := d.check(); err != nil {
		return steps.DBInfo{}, err
	}
	return steps.DBInfo{Latency: 2 * time.Millisecond, Version: simVersion, Database: dbName(database), User: "postgres"}, nil
}

func dbName(s string) string {
	if s == "" {
		return "app"
	}
	return s
}

// normalizeSQL lowercases, collapses spaces and drops a trailing semicolon.
func normalizeSQL(q string) string {
	q = strings.ToLower(strings.Join(strings.Fields(q), " "))
	return strings.TrimSpace(strings.TrimSuffix(q, ";"))
}

// Query implements steps.Database with a few canned statements.
func (d *simDB) Query(ctx context.Context, database, sql string) (steps.Table, error) {
	if err := ctx.Err(); err != nil {
		return steps.Table{}, err
	}
	if err := d.check(); err != nil {
		return steps.Table{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	one := func(col, v string) steps.Table { return steps.Table{Columns: []string{col}, Rows: [][]string{{v}}} }
	switch normalizeSQL(sql) {
	case "select 1":
		return one("?column?", "1"), nil
	case "select count(*) from orders", "select count(*) from public.orders":
		return one("count", strconv.FormatInt(d.orders, 10)), nil
	case "select count(*) from pg_stat_activity":
		return one("count", strconv.Itoa(int(2+4*d.appReady))), nil
	case "select version()":
		return one("version", simVersion), nil
	case "select pg_is_in_recovery()":
		return one("pg_is_in_recovery", "f"), nil
	}
	return steps.Table{}, fmt.Errorf("query not simulated in drills: %q (simulated: select 1; select count(*) from orders; select count(*) from pg_stat_activity; select version(); select pg_is_in_recovery())", sql)
}

// Exec implements steps.Database: a dry run succeeds, a real change is not simulated.
func (d *simDB) Exec(ctx context.Context, database, sql string, dryRun bool) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := d.check(); err != nil {
		return 0, err
	}
	if dryRun {
		return 0, nil
	}
	return 0, fmt.Errorf("exec not simulated in drills: %q (only dry runs are)", sql)
}

// Amcheck implements steps.Database: it reports each corrupt index.
func (d *simDB) Amcheck(ctx context.Context, database string) ([]steps.Corruption, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if err := d.sleep(ctx, 2*time.Second); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []steps.Corruption
	for _, ix := range simIndexes {
		if detail, ok := d.corrupt[ix]; ok {
			out = append(out, steps.Corruption{Relation: ix, Detail: detail})
		}
	}
	return out, nil
}

// Reindex implements steps.Database: index "" rebuilds every index.
func (d *simDB) Reindex(ctx context.Context, database, index string) error {
	if err := d.check(); err != nil {
		return err
	}
	if index != "" && !slices.Contains(simIndexes, index) {
		return fmt.Errorf("reindex %s: relation %q does not exist", index, index)
	}
	if err := d.sleep(ctx, 3*time.Second); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if index == "" {
		clear(d.corrupt)
	} else {
		delete(d.corrupt, index)
	}
	return nil
}

// sleep waits a realistic duration scaled by speed, or until ctx ends.
func (d *simDB) sleep(ctx context.Context, t time.Duration) error {
	if t = d.scaled(t); t <= 0 {
		return ctx.Err()
	}
	timer := d.clk.NewTimer(t)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C():
		return nil
	}
}

// Restore implements steps.Database: it reads the plain SQL dump, prints
// what psql would, reports progress over simulated seconds, then marks the
// database restored (which also clears corrupt indexes).
func (d *simDB) Restore(ctx context.Context, database, file string, progress func(done, total int64), out func(steps.Line)) error {
	if err := d.check(); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("restore %s: %w", file, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("restore %s: %w", file, err)
	}
	total := fi.Size()
	// a realistic restore of the sample takes ~8 s; spread it over the lines
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("restore %s: read: %w", file, err)
	}
	per := 8 * time.Second / time.Duration(max(1, len(lines)))
	var done, orders int64
	inCopy, copyRows, copyTable := false, int64(0), ""
	emit := func(s string) {
		if out != nil {
			out(steps.Line{Stream: steps.Stdout, Text: s})
		}
	}
	for i, ln := range lines {
		done += int64(len(ln)) + 1
		switch {
		case inCopy:
			if ln == `\.` {
				inCopy = false
				emit(fmt.Sprintf("COPY %d", copyRows))
				if copyTable == "orders" || copyTable == "public.orders" {
					orders = copyRows
				}
			} else {
				copyRows++
			}
		case strings.HasPrefix(ln, "COPY "):
			inCopy, copyRows = true, 0
			copyTable = strings.Fields(ln)[1]
		case strings.HasPrefix(ln, "SET "):
			emit("SET")
		case strings.HasPrefix(ln, "CREATE TABLE"):
			emit("CREATE TABLE")
		case strings.HasPrefix(ln, "CREATE INDEX"), strings.HasPrefix(ln, "CREATE UNIQUE INDEX"):
			emit("CREATE INDEX")
		case strings.HasPrefix(ln, "ALTER TABLE"):
			emit("ALTER TABLE")
		case strings.HasPrefix(ln, "INSERT INTO"):
			emit("INSERT 0 1")
		}
		if i%8 == 7 || i == len(lines)-1 {
			if progress != nil {
				progress(min(done, total), total)
			}
			if err := d.sleep(ctx, per*8); err != nil {
				return fmt.Errorf("restore %s: %w", file, err)
			}
			if err := d.check(); err != nil {
				return fmt.Errorf("restore %s: %w", file, err)
			}
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.restored = true
	clear(d.corrupt)
	if orders > 0 {
		d.orders = orders
	}
	return nil
}

// Describe implements steps.Database.
func (d *simDB) Describe(database string) string { return "psql (simulated) -d " + dbName(database) }

// Real implements steps.Database.
func (d *simDB) Real() bool { return false }
