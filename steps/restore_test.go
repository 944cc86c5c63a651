package steps

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drnav/drnav/internal/pgtest"
	"github.com/drnav/drnav/runbooks"
)

func TestDumpFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.sql")
	writeFile(t, plain, "CREATE TABLE x(i int);\n")
	custom := filepath.Join(dir, "a.dump")
	writeFile(t, custom, "PGDMP\x01\x0e\x00rest")
	folder := filepath.Join(dir, "d")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := DumpFormat(folder); err == nil {
		t.Error("a folder without toc.dat was taken for a dump")
	}
	writeFile(t, filepath.Join(folder, "toc.dat"), "PGDMP")
	for path, want := range map[string]string{plain: FormatPlain, custom: FormatCustom, folder: FormatDirectory} {
		if got, err := DumpFormat(path); err != nil || got != want {
			t.Errorf("DumpFormat(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := DumpFormat(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file has a format")
	}
}

func TestNamesFor(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 21, 30, 59, 0, time.UTC)
	n := NamesFor("app", at, false)
	if n.Restored != "app_restore_202612012130" || n.Kept != "app_damaged_202612012130" {
		t.Errorf("%+v", n)
	}
	if s := NamesFor("app", at, true); s.Restored != "app_scratch_202612012130" {
		t.Errorf("scratch %+v", s)
	}
	long := strings.Repeat("x", 60)
	if n := NamesFor(long, at, false); len(n.Kept) != 63 || !strings.HasSuffix(n.Kept, "_damaged_202612012130") {
		t.Errorf("long name %q (%d bytes)", n.Kept, len(n.Kept))
	}
	plan := strings.Join(RestorePlan(&runbooks.SQLAction{Action: "restore", File: "/b/x.sql", Method: "swap"}, "app", at), "\n")
	for _, want := range []string{"/b/x.sql", "app_restore_202612012130", "app_damaged_202612012130", "never dropped"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
}

// databases lists the shared server's databases whose name starts with
// prefix.
func databases(t *testing.T, prefix string) []string {
	t.Helper()
	return pgtest.Shared(t).Databases(t, prefix)
}

func dropLater(t *testing.T, dsn, name string) {
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
}

// restoreTarget creates a database of rows orders to restore into and
// returns its name, the names a swap now gives its kept and restored copies
// (dropped when the test ends), a client that runs psql, and a target with
// that client whose clock stands at now.
func restoreTarget(t *testing.T, dsn string, rows int) (string, RestoreNames, Database, Target) {
	t.Helper()
	name := tempDB(t, dsn, rows)
	at := time.Now().UTC()
	n := NamesFor(name, at, false)
	dropLater(t, dsn, n.Kept)
	dropLater(t, dsn, n.Restored)
	db, err := NewDatabase(dsn, WithPsql(pgBin("psql")))
	if err != nil {
		t.Fatal(err)
	}
	return name, n, db, Target{DB: db, Now: func() time.Time { return at }}
}

func pgDump(t *testing.T, dsn, db, format, path string) {
	t.Helper()
	out, err := exec.Command(pgBin("pg_dump"), "-F", format, "-f", path, dsnFor(t, db)).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v %s", err, out)
	}
}

// TestRestoreIntoLiveDatabase restores a backup of a database that took
// writes since: a plain load fails and changes nothing; a dry run of the
// swap rehearses in a scratch database and changes nothing; the swap
// replaces the database with the backup and keeps the damaged one.
func TestRestoreIntoLiveDatabase(t *testing.T) {
	dsn := pgDSN(t)
	t.Parallel()
	ctx := context.Background()
	name, n, db, tg := restoreTarget(t, dsn, 500)
	dump := filepath.Join(t.TempDir(), "backup.sql")
	pgDump(t, dsn, name, "p", dump)
	if _, err := db.Exec(ctx, name, "INSERT INTO orders SELECT g, 'late ' || g FROM generate_series(501, 520) g", false); err != nil {
		t.Fatal(err)
	}
	count := func(database string) string {
		tab, err := db.Query(ctx, database, "SELECT count(*) FROM orders")
		if err != nil {
			return "error: " + err.Error()
		}
		return tab.Rows[0][0]
	}

	// load into the live database: psql's error, nothing changed
	evs := collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "restore", Database: name, File: dump}), tg))
	fin := finished(t, evs)
	if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "already exists") || !strings.Contains(fin.Err, `method = "swap"`) {
		t.Fatalf("load into a live database: %+v", fin)
	}
	if c := count(name); c != "520" {
		t.Fatalf("rows after the failed load: %s, want 520", c)
	}
	// its dry run says so too
	fin = finished(t, collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "restore", Database: name, File: dump}), Target{DB: db, DryRun: true, Now: tg.Now})))
	if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "not empty") {
		t.Fatalf("dry run of a load into a live database: %+v", fin)
	}

	swap := sqlStep(runbooks.SQLAction{Action: "restore", Database: name, File: dump, Method: "swap", Tables: []string{"orders"}})
	// dry run: restores into scratch, checks, drops; nothing else changes
	dry := Target{DB: db, DryRun: true, Now: tg.Now}
	evs = collect(t, Start(ctx, swap, dry))
	if fin := finished(t, evs); fin.ExitCode != 0 {
		t.Fatalf("dry run: %+v %v", fin, lines(evs))
	}
	text := joinLines(evs)
	for _, want := range []string{"amcheck: no corruption found in " + name + "_scratch_", "table orders: 500 rows", "dropped " + name + "_scratch_", "would rename " + name + " → " + n.Kept} {
		if !strings.Contains(text, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, text)
		}
	}
	if got := databases(t, name); len(got) != 1 {
		t.Fatalf("databases after the dry run: %v, want only %s", got, name)
	}
	if c := count(name); c != "520" {
		t.Fatalf("rows after the dry run: %s, want 520", c)
	}

	// a client connected to the damaged database does not block the swap
	held, err := pgx.Connect(ctx, dsnFor(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close(context.Background())

	evs = collect(t, Start(ctx, swap, tg))
	if fin := finished(t, evs); fin.ExitCode != 0 {
		t.Fatalf("swap: %+v\n%s", fin, joinLines(evs))
	}
	text = joinLines(evs)
	if !strings.Contains(text, "swapped: "+name+" → "+n.Kept) || !strings.Contains(text, "1 connection(s) ended") {
		t.Errorf("swap output:\n%s", text)
	}
	if c := count(name); c != "500" {
		t.Errorf("rows after the swap: %s, want the backup's 500", c)
	}
	if c := count(n.Kept); c != "520" {
		t.Errorf("rows of the kept database %s: %s, want 520", n.Kept, c)
	}
	if got := databases(t, name); strings.Join(got, ",") != name+","+n.Kept {
		t.Errorf("databases after the swap: %v", got)
	}
	if found, err := db.Amcheck(ctx, name); err != nil || len(found) != 0 {
		t.Errorf("amcheck after the swap: %v %v", found, err)
	}
	for _, e := range evs {
		if strings.Contains(e.Command+e.Equivalent, "drnav-test-secret") {
			t.Fatal("password in a restore event")
		}
	}
}

func joinLines(evs []Event) string {
	var b strings.Builder
	for _, l := range lines(evs) {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestRestoreArchiveFormats swaps in a custom-format dump, rehearses a
// directory-format one, and shows a broken archive fails without touching
// the database.
func TestRestoreArchiveFormats(t *testing.T) {
	dsn := pgDSN(t)
	t.Parallel()
	ctx := context.Background()
	name, _, db, tg := restoreTarget(t, dsn, 300)
	dir := t.TempDir()
	custom := filepath.Join(dir, "backup.dump")
	pgDump(t, dsn, name, "c", custom)
	folder := filepath.Join(dir, "backup.dir")
	pgDump(t, dsn, name, "d", folder)
	if _, err := db.Exec(ctx, name, "DELETE FROM orders WHERE id > 100", false); err != nil {
		t.Fatal(err)
	}

	// a truncated archive: pg_restore fails, the copy is dropped, nothing else changes
	data, err := os.ReadFile(custom)
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.dump")
	if err := os.WriteFile(broken, data[:len(data)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	evs := collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "restore", Database: name, File: broken, Method: "swap"}), tg))
	if fin := finished(t, evs); fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "pg_restore exited") || !strings.Contains(fin.Err, "was not touched") {
		t.Fatalf("broken archive: %+v\n%s", fin, joinLines(evs))
	}
	if got := databases(t, name); len(got) != 1 {
		t.Fatalf("databases after the failed restore: %v", got)
	}

	evs = collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "restore", Database: name, File: folder, Method: "scratch", Tables: []string{"public.orders"}}), tg))
	if fin := finished(t, evs); fin.ExitCode != 0 || !strings.Contains(joinLines(evs), "table public.orders: 300 rows") {
		t.Fatalf("directory format scratch: %+v\n%s", fin, joinLines(evs))
	}
	evs = collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "restore", Database: name, File: custom, Method: "swap"}), tg))
	if fin := finished(t, evs); fin.ExitCode != 0 {
		t.Fatalf("custom format swap: %+v\n%s", fin, joinLines(evs))
	}
	if ev := evs[0]; !strings.HasPrefix(ev.Equivalent, "psql ") || !strings.Contains(ev.Equivalent, "pg_restore --single-transaction --exit-on-error") {
		t.Errorf("equivalent %q", ev.Equivalent)
	}
	tab, err := db.Query(ctx, name, "SELECT count(*) FROM orders")
	if err != nil || tab.Rows[0][0] != "300" {
		t.Errorf("rows after the custom-format swap: %v %v", tab, err)
	}
}

// TestHungServer stops a PostgreSQL server of its own with SIGSTOP: a step
// connecting to it fails after the connect timeout, and a query on a
// connection made before fails at the step's timeout, each saying why.
func TestHungServer(t *testing.T) {
	pgDSN(t)
	t.Parallel()
	srv := pgtest.Start(t)
	dsn, pid := srv.DSN, srv.PID(t)

	db, err := NewDatabase(dsn + "&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.Ping(ctx, ""); err != nil {
		t.Fatalf("ping before the stop: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })

	st := sqlStep(runbooks.SQLAction{Action: "amcheck"})
	st.Timeout = runbooks.Duration{Duration: time.Minute}
	run := Start(ctx, st, Target{DB: db})
	select {
	case <-run.Done():
	case <-time.After(50 * time.Second):
		run.Cancel()
		t.Fatal("the step against a hung server did not end before its own timeout")
	}
	fin := run.Wait()
	if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "no answer within 2s") || !strings.Contains(fin.Err, "hung") {
		t.Fatalf("connect to a hung server: %+v", fin)
	}

	// a step timeout shorter than the connect timeout ends it first
	slow, err := NewDatabase(dsn + "&connect_timeout=30")
	if err != nil {
		t.Fatal(err)
	}
	st = sqlStep(runbooks.SQLAction{Action: "query", Query: "SELECT 1"})
	st.Timeout = runbooks.Duration{Duration: 2 * time.Second}
	fin = Start(ctx, st, Target{DB: slow}).Wait()
	if fin.ExitCode != ExitTimeout || !strings.Contains(fin.Err, "timed out") {
		t.Fatalf("step timeout against a hung server: %+v", fin)
	}
}

// TestStatementTimeoutFollowsTheStep: a SQL step's statements run with
// statement_timeout set to what is left of the step's timeout.
func TestStatementTimeoutFollowsTheStep(t *testing.T) {
	dsn := pgDSN(t)
	t.Parallel()
	db, err := NewDatabase(dsn)
	if err != nil {
		t.Fatal(err)
	}
	st := sqlStep(runbooks.SQLAction{Action: "query", Query: "SELECT current_setting('statement_timeout')"})
	st.Timeout = runbooks.Duration{Duration: time.Hour}
	evs := collect(t, Start(context.Background(), st, Target{DB: db}))
	if fin := finished(t, evs); fin.ExitCode != 0 {
		t.Fatal(fin.Err)
	}
	got := lines(evs)[2].Text // header, dashes, value
	ms, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(got), "ms"))
	if strings.HasSuffix(strings.TrimSpace(got), "min") {
		ms, err = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(got), "min"))
		ms *= 60000
	}
	if err != nil || ms <= 50*60*1000 || ms > 60*60*1000 {
		t.Errorf("statement_timeout %q, want just under the step's hour", got)
	}
	st.SQL.Query = "SELECT pg_sleep(30)"
	st.Timeout = runbooks.Duration{Duration: 2 * time.Second}
	fin := Start(context.Background(), st, Target{DB: db}).Wait()
	if fin.ExitCode == 0 {
		t.Errorf("a 30s statement in a 2s step: %+v", fin)
	}
}

// TestScratchRestoreOfAnEmptyDump: a dump with no tables restores without
// an error, but it is no backup: the check fails and nothing is left.
func TestScratchRestoreOfAnEmptyDump(t *testing.T) {
	dsn := pgDSN(t)
	t.Parallel()
	name := tempDB(t, dsn, 10)
	db, err := NewDatabase(dsn, WithPsql(pgBin("psql")))
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty.sql")
	writeFile(t, empty, "SET client_encoding = 'UTF8';\n")
	for _, method := range []string{"scratch", "swap"} {
		evs := collect(t, Start(context.Background(), sqlStep(runbooks.SQLAction{Action: "restore", Database: name, File: empty, Method: method}), Target{DB: db}))
		if fin := finished(t, evs); fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "holds no tables") {
			t.Errorf("%s of an empty dump: %+v", method, fin)
		}
	}
	if got := databases(t, name); len(got) != 1 {
		t.Errorf("databases left: %v", got)
	}
}

// orderDB records the order of what a restore asks of it; Ping fails, so
// the restore stops there.
type orderDB struct {
	Database
	calls *[]string
}

func (d orderDB) Name(database string) string { return "appdb" }
func (d orderDB) Describe(database string) string {
	return "psql -d " + d.Name(database)
}
func (d orderDB) Ping(context.Context, string) (DBInfo, error) {
	*d.calls = append(*d.calls, "ping")
	return DBInfo{}, errors.New("connect: connection refused")
}

// A restore's start is journalled (write-ahead) before it sends the server
// anything, for every method and in a dry run: the first request may be the
// one that hangs or changes something.
func TestRestoreWritesAheadBeforeConnecting(t *testing.T) {
	t.Parallel()
	dump := filepath.Join(t.TempDir(), "backup.sql")
	if err := os.WriteFile(dump, []byte("CREATE TABLE t (id int);\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{runbooks.RestoreLoad, runbooks.RestoreSwap, runbooks.RestoreScratch} {
		for _, dry := range []bool{false, true} {
			var calls []string
			tg := Target{DB: orderDB{calls: &calls}, DryRun: dry}
			tg.WriteAhead = func(ev Event) error {
				calls = append(calls, "started: "+ev.Command)
				return nil
			}
			fin := finished(t, collect(t, Start(context.Background(), sqlStep(runbooks.SQLAction{Action: "restore", File: dump, Method: method}), tg)))
			if fin.ExitCode == ExitOK {
				t.Errorf("%s dry=%v: succeeded against a server that refuses connections", method, dry)
			}
			if method == runbooks.RestoreLoad && !dry {
				continue // a real load connects through psql, not Ping
			}
			if len(calls) != 2 || !strings.HasPrefix(calls[0], "started: ") || calls[1] != "ping" {
				t.Errorf("%s dry=%v: calls %q, want the write-ahead start, then the ping", method, dry, calls)
			}
			if method == runbooks.RestoreSwap && !dry && !strings.Contains(calls[0], "appdb_damaged_") {
				t.Errorf("swap: journalled start %q does not name the databases", calls[0])
			}
		}
	}
}

// A swap by a role that may not do it stops before changing anything, in a
// dry run too, and says what the role lacks: CREATEDB, the ownership, the
// right to end other sessions, and (for a non-superuser, always) creating
// amcheck in the copy.
func TestSwapChecksPrivilegesFirst(t *testing.T) {
	dsn := pgDSN(t)
	t.Parallel()
	ctx := context.Background()
	name := tempDB(t, dsn, 50)
	role := fmt.Sprintf("drnav_weak_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD 'weak-pw' NOCREATEDB"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		rows, _ := c.Query(context.Background(), "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = $1", role)
		names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, n := range names {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
		}
		_, _ = c.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	u, err := url.Parse(dsnFor(t, name))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "weak-pw")
	db, err := NewDatabase(u.String(), WithPsql(pgBin("psql")))
	if err != nil {
		t.Fatal(err)
	}
	// --no-owner: the weak role could not load ALTER ... OWNER TO the
	// superuser (psql stops there, the copy is dropped)
	dump := filepath.Join(t.TempDir(), "backup.sql")
	if out, err := exec.Command(pgBin("pg_dump"), "--no-owner", "-f", dump, dsnFor(t, name)).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v %s", err, out)
	}
	at := time.Now().UTC()
	tg := Target{DB: db, Now: func() time.Time { return at }}
	swap := sqlStep(runbooks.SQLAction{Action: "restore", File: dump, Method: runbooks.RestoreSwap})
	before := databases(t, name)

	// neither CREATEDB nor the owner: refused up front, by a dry run too
	for _, dry := range []bool{true, false} {
		tg.DryRun = dry
		fin := finished(t, collect(t, Start(ctx, swap, tg)))
		if fin.ExitCode == ExitOK || !strings.Contains(fin.Err, "CREATEDB") || !strings.Contains(fin.Err, "ownership of database "+name) || !strings.Contains(fin.Err, role) {
			t.Errorf("dry=%v: %+v, want a refusal naming CREATEDB, the ownership and the role", dry, fin)
		}
		if got := databases(t, name); strings.Join(got, ",") != strings.Join(before, ",") {
			t.Errorf("dry=%v: databases %v after a refused swap, want %v", dry, got, before)
		}
	}

	// granted both, but a superuser's session it cannot end is connected
	if _, err := admin.Exec(ctx, "ALTER ROLE "+role+" CREATEDB"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+" OWNER TO "+role); err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(ctx, dsnFor(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tg.DryRun = false
	fin := finished(t, collect(t, Start(ctx, swap, tg)))
	if fin.ExitCode == ExitOK || !strings.Contains(fin.Err, "end the 1 other connection") || strings.Contains(fin.Err, "CREATEDB") || strings.Contains(fin.Err, "ownership") {
		t.Errorf("with a superuser connected: %+v, want a refusal naming the connection, not CREATEDB or ownership", fin)
	}
	// amcheck (which checks the copy) is not a trusted extension: only a
	// superuser can create it in the new database, and the refusal says so
	// rather than failing after the load.
	if !strings.Contains(fin.Err, "amcheck extension") {
		t.Errorf("refusal %q does not name the amcheck extension", fin.Err)
	}
	if got := databases(t, name); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Errorf("databases %v after a refused swap, want %v", got, before)
	}
}
