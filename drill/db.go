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
	simVersion     = "PostgreSQL 16.4 (simulated)"
	simDBAddr      = "10.0.0.5:5432"
	failoverDBAddr = "10.1.0.5:5432" // the failover region's database (data-center failure)
	healthyOrder   = 18342           // rows in orders on a healthy database
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
	main         *simData            // the application's database (DatabaseName)
	others       map[string]*simData // databases created by restores, and those kept by swaps
	lastArchived time.Time           // scenario time of the last archived WAL
}

// simData is the content of one simulated database.
type simData struct {
	tables  bool              // holds tables: a plain dump does not load into it
	ntables int               // how many (the sample dump has 2)
	orders  int64             // rows in orders
	corrupt map[string]string // index → amcheck detail
}

var (
	_ steps.Database = (*simDB)(nil)
	_ live.DBProber  = (*simDB)(nil)
)

func newSimDB(clk clock.WithTicker, speed float64, pgReady func() bool) *simDB {
	return &simDB{clk: clk, speed: speed, pgReady: pgReady, main: &simData{corrupt: map[string]string{}}, others: map[string]*simData{}}
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
	d.main = &simData{tables: orders > 0, orders: orders, corrupt: corrupt}
	if orders > 0 {
		d.main.ntables = 2
	}
	d.others = map[string]*simData{}
	// The data age is on the scenario clock, like the drill's RTO clock and
	// the header's RPO figure.
	d.lastArchived = d.clk.Now().Add(-archivedAgo)
}

// observe is called after each primary tick with what the cluster shows.
func (d *simDB) observe(now time.Time, appReady int32) {
	up := d.pgUpNow()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.appReady = appReady
	if (d.alwaysUp || up) && now.Sub(d.lastArchived) >= time.Minute {
		d.lastArchived = now // archive_timeout 60s (scenario clock): a WAL segment a minute while up
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
	kept     []string // databases other than the application's
}

func (d *simDB) state() dbState {
	up := d.pgUpNow()
	d.mu.Lock()
	defer d.mu.Unlock()
	s := dbState{up: d.alwaysUp || up, restored: d.restored}
	for k := range d.main.corrupt {
		s.corrupt = append(s.corrupt, k)
	}
	slices.Sort(s.corrupt)
	for k := range d.others {
		s.kept = append(s.kept, k)
	}
	slices.Sort(s.kept)
	return s
}

// Probe implements live.DBProber. LastArchived is on the wall clock (not
// sped up): the data age it gives agrees with the incident's clock at any
// drill speed.
func (d *simDB) Probe(ctx context.Context) (live.DBHealth, error) {
	if err := ctx.Err(); err != nil {
		return live.DBHealth{}, err
	}
	if err := d.check(); err != nil {
		return live.DBHealth{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return live.DBHealth{
		Latency:        2 * time.Millisecond,
		Version:        simVersion,
		ReplicationLag: 300 * time.Millisecond,
		HasReplication: true,
		Connections:    int(2 + 4*d.appReady),
		MaxConnections: 100,
		SizeBytes:      d.main.size(),
		Tables:         d.main.ntables,
		TablesKnown:    true,
		LastArchived:   d.lastArchived,
	}, nil
}

// size is what pg_database_size would say: an empty database's catalog,
// plus each table and its rows.
func (s *simData) size() int64 {
	return 7_500_000 + int64(s.ntables)*250_000 + s.orders*620
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
	data, err := d.lookup(database)
	if err != nil {
		return steps.Table{}, err
	}
	one := func(col, v string) steps.Table { return steps.Table{Columns: []string{col}, Rows: [][]string{{v}}} }
	q := normalizeSQL(sql)
	if strings.HasPrefix(q, "select count(*) from pg_class") { // user tables (restore's empty check)
		n := 0
		if data.tables {
			n = 2
		}
		return one("count", strconv.Itoa(n)), nil
	}
	switch strings.ReplaceAll(q, `"`, "") {
	case "select 1":
		return one("?column?", "1"), nil
	case "select count(*) from orders", "select count(*) from public.orders":
		if !data.tables {
			return steps.Table{}, fmt.Errorf(`ERROR: relation "orders" does not exist (SQLSTATE 42P01)`)
		}
		return one("count", strconv.FormatInt(data.orders, 10)), nil
	case "select count(*) from pg_stat_activity":
		return one("count", strconv.Itoa(int(2+4*d.appReady))), nil
	case "select version()":
		return one("version", simVersion), nil
	case "select pg_is_in_recovery()":
		return one("pg_is_in_recovery", "f"), nil
	}
	return steps.Table{}, fmt.Errorf("query not simulated in drills: %q (simulated: select 1; select count(*) from orders; select count(*) from pg_stat_activity; select version(); select pg_is_in_recovery())", sql)
}

// lookup returns the database of that name ("" is the application's).
// Caller holds d.mu.
func (d *simDB) lookup(database string) (*simData, error) {
	if database == "" || database == DatabaseName {
		return d.main, nil
	}
	if o, ok := d.others[database]; ok {
		return o, nil
	}
	return nil, fmt.Errorf("connect to database %s (simulated): FATAL: database %q does not exist (SQLSTATE 3D000)", database, database)
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
	data, err := d.lookup(database)
	if err != nil {
		return nil, err
	}
	var out []steps.Corruption
	for _, ix := range simIndexes {
		if detail, ok := data.corrupt[ix]; ok {
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
	data, err := d.lookup(database)
	if err != nil {
		return err
	}
	if index == "" {
		clear(data.corrupt)
	} else {
		delete(data.corrupt, index)
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

// Restore implements steps.Database like psql -1 -v ON_ERROR_STOP=1 with
// a plain SQL dump: it reads the dump, prints what psql would, reports
// progress over simulated seconds, then replaces the target's content. A
// dump whose CREATE TABLE meets a database that already holds tables fails
// as psql does ("relation … already exists") and changes nothing.
func (d *simDB) Restore(ctx context.Context, database, file string, progress func(done, total int64), out func(steps.Line)) error {
	if err := d.check(); err != nil {
		return err
	}
	d.mu.Lock()
	_, err := d.lookup(database)
	d.mu.Unlock()
	if err != nil {
		return fmt.Errorf("restore %s: %w", file, err)
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
	if fi.IsDir() {
		return fmt.Errorf("restore %s: the drill simulates plain SQL dumps only", file)
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
	tables := 0
	inCopy, copyRows, copyTable := false, int64(0), ""
	emit := func(st steps.Stream, s string) {
		if out != nil {
			out(steps.Line{Stream: st, Text: s})
		}
	}
	for i, ln := range lines {
		done += int64(len(ln)) + 1
		switch {
		case inCopy:
			if ln == `\.` {
				inCopy = false
				emit(steps.Stdout, fmt.Sprintf("COPY %d", copyRows))
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
			emit(steps.Stdout, "SET")
		case strings.HasPrefix(ln, "CREATE TABLE"):
			d.mu.Lock()
			target, lerr := d.lookup(database)
			occupied := lerr == nil && target.tables
			d.mu.Unlock()
			if occupied {
				name := "orders"
				if f := strings.Fields(ln); len(f) >= 3 {
					name = strings.TrimPrefix(strings.TrimSuffix(f[2], "("), "public.")
				}
				emit(steps.Stderr, fmt.Sprintf("psql:%s:%d: ERROR:  relation %q already exists", file, i+1, name))
				return fmt.Errorf("restore %s: psql exited with code 3; the transaction was rolled back, %s is unchanged: psql:%s:%d: ERROR:  relation %q already exists "+
					"(a dump without --clean loads only into an empty database: use method = \"swap\" to restore into a new database and swap it into place)",
					file, dbName(database), file, i+1, name)
			}
			tables++
			emit(steps.Stdout, "CREATE TABLE")
		case strings.HasPrefix(ln, "CREATE INDEX"), strings.HasPrefix(ln, "CREATE UNIQUE INDEX"):
			emit(steps.Stdout, "CREATE INDEX")
		case strings.HasPrefix(ln, "ALTER TABLE"):
			emit(steps.Stdout, "ALTER TABLE")
		case strings.HasPrefix(ln, "INSERT INTO"):
			emit(steps.Stdout, "INSERT 0 1")
		}
		if i%8 == 7 || i == len(lines)-1 {
			if progress != nil {
				progress(min(done, total), total)
			}
			if err := d.sleep(ctx, per*8); err != nil {
				return fmt.Errorf("restore %s: %w (the transaction was rolled back)", file, err)
			}
			if err := d.check(); err != nil {
				return fmt.Errorf("restore %s: %w (the transaction was rolled back)", file, err)
			}
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	target, err := d.lookup(database)
	if err != nil {
		return fmt.Errorf("restore %s: %w", file, err)
	}
	target.tables = target.tables || tables > 0
	target.ntables += tables
	target.orders = orders
	clear(target.corrupt)
	if target == d.main {
		d.restored = true
	}
	return nil
}

// CreateDatabase implements steps.Database.
func (d *simDB) CreateDatabase(ctx context.Context, name, like string) error {
	if err := d.check(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.lookup(like); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	if _, err := d.lookup(name); err == nil {
		return fmt.Errorf("create database %s: ERROR: database %q already exists (SQLSTATE 42P04)", name, name)
	}
	d.others[name] = &simData{corrupt: map[string]string{}}
	return nil
}

// DropDatabase implements steps.Database; the application's database
// cannot be dropped.
func (d *simDB) DropDatabase(ctx context.Context, name string) error {
	if err := d.check(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if name == "" || name == DatabaseName {
		return fmt.Errorf("drop database %s: refused (simulated): drnav drops only databases it created", dbName(name))
	}
	delete(d.others, name)
	return nil
}

// Swap implements steps.Database: the application's database is kept under
// keep and restored takes its place; the application's connections end.
func (d *simDB) Swap(ctx context.Context, database, restored, keep string) (int, error) {
	if err := d.check(); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if database != "" && database != DatabaseName {
		return 0, fmt.Errorf("swap: database %q does not exist (simulated)", database)
	}
	next, ok := d.others[restored]
	if !ok {
		return 0, fmt.Errorf("swap: database %q does not exist (simulated)", restored)
	}
	if _, taken := d.others[keep]; taken {
		return 0, fmt.Errorf("swap: ERROR: database %q already exists (SQLSTATE 42P04); nothing renamed", keep)
	}
	d.others[keep] = d.main
	d.main = next
	delete(d.others, restored)
	d.restored = true
	return int(4 * d.appReady), nil
}

// Describe implements steps.Database.
func (d *simDB) Describe(database string) string { return "psql (simulated) -d " + dbName(database) }

// Name implements steps.Database.
func (d *simDB) Name(database string) string { return dbName(database) }

// SwapPrivileges implements steps.Database: the simulated role is the
// superuser postgres, who may swap; a stopped server answers nothing.
func (d *simDB) SwapPrivileges(ctx context.Context, database string) (steps.SwapAccess, error) {
	if err := ctx.Err(); err != nil {
		return steps.SwapAccess{}, err
	}
	if err := d.check(); err != nil {
		return steps.SwapAccess{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.lookup(database); err != nil {
		return steps.SwapAccess{}, fmt.Errorf("swap privileges: %w", err)
	}
	return steps.SwapAccess{}, nil
}

// Real implements steps.Database.
func (d *simDB) Real() bool { return false }
