package steps

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drnav/drnav/runbooks"
)

// TestRestoreKeepsThePasswordOffPsqlsCommandLine: psql, the one child the
// SQL actions start, gets the database password through PGPASSWORD, never
// in its argv (every account reads /proc/PID/cmdline). A wrapper records
// the command line psql really gets.
func TestRestoreKeepsThePasswordOffPsqlsCommandLine(t *testing.T) {
	dsn := pgDSN(t)
	t.Parallel()
	ctx := context.Background()
	name := tempDB(t, dsn, 10)
	real, err := exec.LookPath(pgBin("psql"))
	if err != nil {
		t.Skipf("psql not found: %v", err)
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "cmdline")
	wrapper := filepath.Join(dir, "psql")
	writeFile(t, wrapper, "#!/bin/bash\ncat /proc/$$/cmdline > "+record+"\n[ -n \"$PGPASSWORD\" ] || exit 99\nexec "+real+" \"$@\"\n")
	if err := os.Chmod(wrapper, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := NewDatabase(dsn, WithPsql(wrapper))
	if err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(dir, "dump.sql")
	writeFile(t, dump, "CREATE TABLE restored(x int);\n")
	fin := finished(t, collect(t, Start(ctx, sqlStep(runbooks.SQLAction{Action: "restore", Database: name, File: dump}), Target{DB: db})))
	if fin.ExitCode != 0 {
		t.Fatalf("restore: %d %s", fin.ExitCode, fin.Err)
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	pw := dsnPassword(dsn)
	if pw == "" {
		t.Fatalf("test DSN has no password: %s", dsn)
	}
	if strings.Contains(string(b), pw) || !strings.Contains(string(b), name) {
		t.Errorf("psql command line %q: holds the password or lacks the database", strings.ReplaceAll(string(b), "\x00", " "))
	}
}
