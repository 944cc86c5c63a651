package steps

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drnav/drnav/internal/pgtest"
	"github.com/drnav/drnav/runbooks"
)

// pgDSN is the DSN of the PostgreSQL server the test run shares.
func pgDSN(t *testing.T) string {
	t.Helper()
	return pgtest.Shared(t).DSN
}

func pgBin(name string) string {
	if d := os.Getenv("DRNAV_TEST_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name)
		}
	}
	return name
}

// tempDB creates a database with a table of n rows and drops it at cleanup.
func tempDB(t *testing.T, dsn string, rows int) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("drnav_steps_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	c, err := pgx.Connect(ctx, dsnFor(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, fmt.Sprintf(`CREATE TABLE orders (id int PRIMARY KEY, note text);
		INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, %d) g;
		CREATE INDEX orders_note ON orders(note)`, rows)); err != nil {
		t.Fatal(err)
	}
	return name
}

// dsnFor is the shared server's DSN for database db.
func dsnFor(t *testing.T, db string) string {
	t.Helper()
	return pgtest.Shared(t).DSNFor(t, db)
}

func sqlStep(a runbooks.SQLAction) runbooks.Step { return runbooks.Step{ID: "q", SQL: &a} }

func TestPGRealServer(t *testing.T) {
	dsn := pgDSN(t)
	t.Parallel()
	ctx := context.Background()
	name := tempDB(t, dsn, 500)
	db, err := NewDatabase(dsn, WithPsql(pgBin("psql")))
	if err != nil {
		t.Fatal(err)
	}
	tg := Target{DB: db}
	count := func() string {
		tab, err := db.Query(ctx, name, "SELECT count(*) FROM orders")
		if err != nil {
			return "error: " + err.Error()
		}
		return tab.Rows[0][0]
	}

	t.Run("ping and describe", func(t *testing.T) {
		info, err := db.Ping(ctx, name)
		if err != nil || info.Database != name || info.InRecover || info.Version == "" {
			t.Fatalf("%+v %v", info, err)
		}
		d := db.Describe(name)
		if !strings.HasPrefix(d, "psql -h ") || !strings.HasSuffix(d, "-d "+name) || strings.Contains(d, "drnav-test-secret") {
			t.Fatalf("describe %q", d)
		}
	})

	t.Run("query renders a table", func(t *testing.T) {
		evs := collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "query", Database: name, Query: "SELECT id, note FROM orders WHERE id <= 2 ORDER BY id"}), tg))
		if fin := finished(t, evs); fin.ExitCode != 0 {
			t.Fatal(fin.Err)
		}
		var text []string
		for _, l := range lines(evs) {
			text = append(text, l.Text)
		}
		want := "id   note\n--   -------\n1    order 1\n2    order 2\n(2 rows)"
		if strings.Join(text, "\n") != want {
			t.Fatalf("got\n%s", strings.Join(text, "\n"))
		}
	})

	t.Run("dry-run exec leaves data unchanged", func(t *testing.T) {
		st := sqlStep(runbooks.SQLAction{Action: "exec", Database: name, Query: "DELETE FROM orders WHERE id > 100"})
		evs := collect(t, Start(ctx, st, Target{DB: db, DryRun: true}))
		if fin := finished(t, evs); fin.ExitCode != 0 || !strings.Contains(lines(evs)[0].Text, "400 rows would be affected") {
			t.Fatalf("%+v %+v", fin, lines(evs))
		}
		if c := count(); c != "500" {
			t.Fatalf("count after dry run %s", c)
		}
		if _, err := db.Exec(ctx, name, "DELETE FROM orders; COMMIT", true); err == nil {
			t.Fatal("dry run with COMMIT accepted")
		}
	})

	t.Run("amcheck healthy and reindex", func(t *testing.T) {
		found, err := db.Amcheck(ctx, name)
		if err != nil || len(found) != 0 {
			t.Fatalf("%v %v", found, err)
		}
		fin := finished(t, collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "amcheck", Database: name}), tg)))
		if fin.ExitCode != 0 {
			t.Fatal(fin.Err)
		}
		for _, a := range []runbooks.SQLAction{{Action: "reindex", Database: name}, {Action: "reindex", Database: name, Index: "public.orders_note"}} {
			if fin := finished(t, collect(t, Start(ctx, sqlStep(a), tg))); fin.ExitCode != 0 {
				t.Fatalf("%+v: %s", a, fin.Err)
			}
		}
		evs := collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "reindex", Database: name}), Target{DB: db, DryRun: true}))
		if fin := finished(t, evs); fin.ExitCode != 0 || !strings.Contains(lines(evs)[0].Text, "not run") {
			t.Fatalf("dry-run reindex: %+v", lines(evs))
		}
	})

	t.Run("dump, drop, restore", func(t *testing.T) {
		dump := filepath.Join(t.TempDir(), "dump.sql")
		out, err := exec.Command(pgBin("pg_dump"), "--no-owner", "-f", dump, dsnFor(t, name)).CombinedOutput()
		if err != nil {
			t.Fatalf("pg_dump: %v %s", err, out)
		}
		if _, err := db.Exec(ctx, name, "DROP TABLE orders", false); err != nil {
			t.Fatal(err)
		}
		evs := collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "restore", Database: name, File: dump}), tg))
		fin := finished(t, evs)
		if fin.ExitCode != 0 {
			t.Fatalf("%s %+v", fin.Err, lines(evs))
		}
		fi, _ := os.Stat(dump)
		var last Event
		for _, e := range evs {
			if e.Kind == EventProgress {
				last = e
			}
		}
		if last.Done != fi.Size() || last.Total != fi.Size() {
			t.Fatalf("progress %d/%d, file %d", last.Done, last.Total, fi.Size())
		}
		if c := count(); c != "500" {
			t.Fatalf("rows after restore %s", c)
		}
		for _, e := range evs {
			if strings.Contains(e.Equivalent+e.Command, "drnav-test-secret") {
				t.Fatal("password in a restore event")
			}
		}
		// A failing restore stops at the first error.
		bad := filepath.Join(t.TempDir(), "bad.sql")
		writeFile(t, bad, "SELECT 1;\nSELECT * FROM no_such_table;\nCREATE TABLE after_error(x int);\n")
		fin = finished(t, collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "restore", Database: name, File: bad}), tg)))
		if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "psql exited") {
			t.Fatalf("%+v", fin)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		u, _ := url.Parse(dsn)
		const wrong = "Wr0ng-Pa55-xyzzy"
		u.User = url.UserPassword(u.User.Username(), wrong)
		bad, err := NewDatabase(u.String())
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Ping(ctx, name)
		if err == nil || strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "password authentication failed") {
			t.Fatalf("error %v", err)
		}
		evs := collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "ping", Database: name}), Target{DB: bad}))
		for _, e := range evs {
			if strings.Contains(fmt.Sprintf("%+v", e), wrong) {
				t.Fatalf("password leaked in %+v", e)
			}
		}
	})
}
