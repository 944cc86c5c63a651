package steps

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// databases lists the databases whose name starts with prefix.
func databases(t *testing.T, dsn, prefix string) []string {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", prefix)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
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

func pgDump(t *testing.T, dsn, db, format, path string) {
	t.Helper()
	out, err := exec.Command(pgBin("pg_dump"), "-F", format, "-f", path, dsnFor(t, dsn, db)).CombinedOutput()
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
	name := tempDB(t, dsn, 500)
	at := time.Now().UTC()
	n := NamesFor(name, at, false)
	dropLater(t, dsn, n.Kept)
	dropLater(t, dsn, n.Restored)
	db, err := NewDatabase(dsn, WithPsql(pgBin("psql")))
	if err != nil {
		t.Fatal(err)
	}
	tg := Target{DB: db, Now: func() time.Time { return at }}
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
	if got := databases(t, dsn, name); len(got) != 1 {
		t.Fatalf("databases after the dry run: %v, want only %s", got, name)
	}
	if c := count(name); c != "520" {
		t.Fatalf("rows after the dry run: %s, want 520", c)
	}

	// a client connected to the damaged database does not block the swap
	held, err := pgx.Connect(ctx, dsnFor(t, dsn, name))
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
	if got := databases(t, dsn, name); strings.Join(got, ",") != name+","+n.Kept {
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
	name := tempDB(t, dsn, 300)
	at := time.Now().UTC()
	n := NamesFor(name, at, false)
	dropLater(t, dsn, n.Kept)
	dropLater(t, dsn, n.Restored)
	db, err := NewDatabase(dsn, WithPsql(pgBin("psql")))
	if err != nil {
		t.Fatal(err)
	}
	tg := Target{DB: db, Now: func() time.Time { return at }}
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
	if got := databases(t, dsn, name); len(got) != 1 {
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
	script, err := filepath.Abs("../scripts/pg.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "drnav-hung-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pgdir := filepath.Join(dir, "pg")
	out, err := exec.Command("bash", script, "start", pgdir).Output()
	t.Cleanup(func() { _ = exec.Command("bash", script, "stop", pgdir).Run() })
	if err != nil {
		t.Fatalf("start a server: %v", err)
	}
	var dsn string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "export DRNAV_TEST_PG_DSN="); ok {
			dsn = strings.Trim(v, "'")
		}
	}
	if dsn == "" {
		t.Fatalf("no DSN in %q", out)
	}
	pid := postmasterPID(t, filepath.Join(pgdir, "data", "postmaster.pid"))

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

func postmasterPID(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatalf("empty %s", path)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
	if err != nil {
		t.Fatal(err)
	}
	return pid
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
	if got := databases(t, dsn, name); len(got) != 1 {
		t.Errorf("databases left: %v", got)
	}
}
