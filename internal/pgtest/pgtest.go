// Package pgtest gives reality tests a throw-away PostgreSQL server of
// their own (one they may stop, damage on disk and start again) and a
// database whose btree index is corrupt on disk after its last backup.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a PostgreSQL server started by scripts/pg.sh for one test.
type Server struct {
	DSN  string // superuser DSN on the postgres database (password inside)
	Dir  string // pg.sh's folder; the cluster is Dir/data
	Bin  string // the PostgreSQL binaries
	user string // the account the server runs as
}

// Require skips the test without a PostgreSQL installation
// (DRNAV_TEST_PG_DSN unset), or fails it when DRNAV_REQUIRE_PG=1.
func Require(tb testing.TB) {
	tb.Helper()
	if os.Getenv("DRNAV_TEST_PG_DSN") == "" {
		if os.Getenv("DRNAV_REQUIRE_PG") == "1" {
			tb.Fatal("DRNAV_TEST_PG_DSN is unset and DRNAV_REQUIRE_PG=1")
		}
		tb.Skip("DRNAV_TEST_PG_DSN unset: no PostgreSQL for this test")
	}
}

func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "pg.sh")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("scripts/pg.sh not found above the test's folder")
		}
		dir = parent
	}
}

// Shared is the server the whole test run shares (scripts/pg.sh's
// DRNAV_TEST_PG_DSN and DRNAV_TEST_PG_BIN): tests create and drop
// databases of their own on it, and never stop it. Without one the test is
// skipped (see Require).
func Shared(tb testing.TB) *Server {
	tb.Helper()
	Require(tb)
	return &Server{DSN: os.Getenv("DRNAV_TEST_PG_DSN"), Bin: os.Getenv("DRNAV_TEST_PG_BIN")}
}

// Start starts a server of the test's own, stopped (and its folder
// removed) when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	Require(tb)
	script := filepath.Join(repoRoot(tb), "scripts", "pg.sh")
	parent, err := os.MkdirTemp("", "drnav-pgtest-")
	if err != nil {
		tb.Fatal(err)
	}
	// The server may run as another account: it must reach its folder.
	if err := os.Chmod(parent, 0o755); err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(parent, "pg")
	out, err := exec.Command("bash", script, "start", dir).Output()
	tb.Cleanup(func() {
		_ = exec.Command("bash", script, "stop", dir).Run()
		_ = os.RemoveAll(parent)
	})
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		tb.Fatalf("start PostgreSQL: %v\n%s", err, stderr)
	}
	s := &Server{Dir: dir}
	for _, l := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, "'")
		switch k {
		case "DRNAV_TEST_PG_DSN":
			s.DSN = v
		case "DRNAV_TEST_PG_BIN":
			s.Bin = v
		case "DRNAV_TEST_PG_USER":
			s.user = v
		}
	}
	if s.DSN == "" || s.Bin == "" {
		tb.Fatalf("pg.sh printed no DSN or bin folder: %q", out)
	}
	return s
}

// pgCtl runs pg_ctl as the server's account.
func (s *Server) pgCtl(args ...string) error {
	full := append([]string{filepath.Join(s.Bin, "pg_ctl"), "-D", filepath.Join(s.Dir, "data")}, args...)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 && s.user != "" && s.user != "root" {
		cmd = exec.Command("runuser", append([]string{"-u", s.user, "--"}, full...)...)
	} else {
		cmd = exec.Command(full[0], full[1:]...)
	}
	cmd.Dir = "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Stop stops the server (fast shutdown: a checkpoint writes every page).
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	if err := s.pgCtl("-m", "fast", "-w", "stop"); err != nil {
		tb.Fatal(err)
	}
}

// Restart starts the stopped server again.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if err := s.pgCtl("-l", filepath.Join(s.Dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		tb.Fatal(err)
	}
}

// DSNFor points the server's DSN at database.
func (s *Server) DSNFor(tb testing.TB, database string) string {
	tb.Helper()
	u, err := url.Parse(s.DSN)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + database
	return u.String()
}

// connect opens a connection to database ("" for the DSN's own) with a
// minute's deadline; the caller closes it and calls cancel.
func (s *Server) connect(tb testing.TB, database string) (*pgx.Conn, context.Context, context.CancelFunc) {
	tb.Helper()
	dsn := s.DSN
	if database != "" {
		dsn = s.DSNFor(tb, database)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	return c, ctx, cancel
}

// Exec runs SQL on database.
func (s *Server) Exec(tb testing.TB, database, sql string) {
	tb.Helper()
	c, ctx, cancel := s.connect(tb, database)
	defer cancel()
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// Query returns the first column of the first row of sql on database.
func (s *Server) Query(tb testing.TB, database, sql string) string {
	tb.Helper()
	c, ctx, cancel := s.connect(tb, database)
	defer cancel()
	defer c.Close(context.Background())
	var v string
	if err := c.QueryRow(ctx, sql).Scan(&v); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return v
}

// Databases lists the server's databases whose name starts with prefix.
func (s *Server) Databases(tb testing.TB, prefix string) []string {
	tb.Helper()
	c, ctx, cancel := s.connect(tb, "")
	defer cancel()
	defer c.Close(context.Background())
	rows, err := c.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", prefix)
	if err != nil {
		tb.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

// PID is the postmaster's process id (the first line of postmaster.pid), of
// a server Start started.
func (s *Server) PID(tb testing.TB) int {
	tb.Helper()
	path := filepath.Join(s.Dir, "data", "postmaster.pid")
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return pid
}

// Corrupted is a database that took writes after its backup and whose
// btree index is then damaged on disk.
type Corrupted struct {
	Database string // its name
	Backup   string // a plain pg_dump taken before the late writes
	Index    string // the damaged index
	// Checksum is a digest of the backup's data (BackupChecksum's query).
	Checksum string
}

// LateRowsSQL counts the rows a Corrupted database took after its backup.
const LateRowsSQL = "SELECT count(*)::text FROM builds WHERE id > 3000"

// CheckSwapped fails the test unless a restore swapped bad's backup in:
// the database holds the backup's data again, and its damaged self is kept
// as the one <database>_damaged_… copy, with the late rows (late: what
// LateRowsSQL counted before the restore).
func (s *Server) CheckSwapped(tb testing.TB, bad Corrupted, late string) {
	tb.Helper()
	if got := s.Query(tb, bad.Database, ChecksumSQL); got != bad.Checksum {
		tb.Errorf("data of %s after the restore %s, want the backup's %s", bad.Database, got, bad.Checksum)
	}
	kept := s.Databases(tb, bad.Database+"_damaged_")
	if len(kept) != 1 {
		tb.Fatalf("kept damaged databases: %v, want one", kept)
	}
	if got := s.Query(tb, kept[0], LateRowsSQL); got != late {
		tb.Errorf("late rows in the kept %s: %s, want %s", kept[0], got, late)
	}
}

// ChecksumSQL digests the builds table: equal digests, equal data.
const ChecksumSQL = "SELECT count(*)::text || ':' || md5(string_agg(id::text || '/' || name, ',' ORDER BY id)) FROM builds"

// Corrupt creates database name with 3000 builds, dumps it to a plain SQL
// backup in dir, writes 25 more rows, then stops the server, overwrites
// block 1 (a leaf page) of the primary key index with zeros inside its
// relation file (found with pg_relation_filepath), and starts it again.
func (s *Server) Corrupt(tb testing.TB, name, dir string) Corrupted {
	tb.Helper()
	s.Exec(tb, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	s.Exec(tb, name, `CREATE TABLE builds (id int PRIMARY KEY, name text NOT NULL);
		INSERT INTO builds SELECT g, 'build-' || g FROM generate_series(1, 3000) g;
		CREATE INDEX builds_name_idx ON builds (name)`)
	c := Corrupted{Database: name, Backup: filepath.Join(dir, "backup-before-corruption.sql"), Index: "builds_pkey"}
	if out, err := exec.Command(filepath.Join(s.Bin, "pg_dump"), "-f", c.Backup, s.DSNFor(tb, name)).CombinedOutput(); err != nil {
		tb.Fatalf("pg_dump: %v %s", err, out)
	}
	c.Checksum = s.Query(tb, name, ChecksumSQL)
	// the bad writes after the backup
	s.Exec(tb, name, "INSERT INTO builds SELECT g, 'late-' || g FROM generate_series(3001, 3025) g")
	rel := s.Query(tb, name, "SELECT pg_relation_filepath('builds_pkey')")
	if pages, _ := strconv.Atoi(s.Query(tb, name, "SELECT (pg_relation_size('builds_pkey') / 8192)::text")); pages < 3 {
		tb.Fatalf("index builds_pkey has only %d pages", pages)
	}
	s.Stop(tb)
	file := filepath.Join(s.Dir, "data", rel)
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatalf("open the index file: %v", err)
	}
	if _, err := f.WriteAt(make([]byte, 8192), 8192); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	s.Restart(tb)
	return c
}
