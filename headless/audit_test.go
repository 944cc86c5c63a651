package headless

// The shipped Annual DR audit runbook, unmodified, run headless against a
// real PostgreSQL: its restore of the oldest backup is a scratch restore,
// so the dry run rehearses it for real and both runs leave the server as
// they found it.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/pgtest"
	"github.com/drnav/drnav/steps"
)

func TestAnnualAuditOnRealPostgres(t *testing.T) {
	pgtest.Require(t)
	t.Parallel()
	srv := pgtest.Start(t)
	const name = "ci_builds"
	work := t.TempDir()
	bad := srv.Corrupt(t, name, work) // its backup is the audit's oldest
	backups := filepath.Join(work, "backups")
	if err := os.Mkdir(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	oldest := filepath.Join(backups, "ci_builds-oldest.sql")
	data, err := os.ReadFile(bad.Backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldest, data, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-40 * 24 * time.Hour)
	if err := os.Chtimes(oldest, old, old); err != nil {
		t.Fatal(err)
	}
	db, err := steps.NewDatabase(srv.DSNFor(t, name), steps.WithPsql(filepath.Join(srv.Bin, "psql")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rb := embeddedRunbook(t, "annual-audit")
	vars, err := ResolveVars(ctx, rb, map[string]string{"backup_dir": backups, "oldest_backup": oldest}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Backup.Dir = backups
	target := steps.Target{DB: db, Dir: work, Backup: cfg.Backup}
	before := srv.Query(t, name, "SELECT count(*)::text FROM builds")
	for _, dry := range []bool{true, false} {
		tg := target
		tg.DryRun = dry
		var out bytes.Buffer
		res, err := Run(ctx, Options{
			Runbook: rb, JournalRoot: filepath.Join(work, "journals"), Mode: incident.ModeLive,
			Vars: vars, Target: tg, SkipManual: true, Out: &out,
		})
		t.Logf("drnav run annual-audit (dry run %v):\n%s", dry, out.String())
		if err != nil {
			t.Fatalf("dry run %v: %v (failed %q, refused %q)", dry, err, res.Failed, res.Refused)
		}
		state, _, _, err := incident.Read(filepath.Join(work, "journals"), res.ID)
		if err != nil {
			t.Fatal(err)
		}
		tail := strings.Join(state.Step("restore-oldest").Tail, "\n")
		if state.Status("restore-oldest") != incident.StepDone || !strings.Contains(tail, "amcheck: no corruption found in "+name+"_scratch_") ||
			!strings.Contains(tail, "dropped "+name+"_scratch_") {
			t.Errorf("dry run %v: restore-oldest %s, want done with a checked and dropped scratch copy:\n%s", dry, state.Status("restore-oldest"), tail)
		}
		if got := srv.Databases(t, name); len(got) != 1 {
			t.Errorf("dry run %v: databases %v, want %s only (scratch copy dropped)", dry, got, name)
		}
		if got := srv.Query(t, name, "SELECT count(*)::text FROM builds"); got != before {
			t.Errorf("dry run %v: %s builds, want %s (production untouched)", dry, got, before)
		}
	}
}
