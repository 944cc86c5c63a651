package drill

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drnav/drnav/steps"
)

// TestGuardDatabaseOnTheRealServer: a drill pointed at a real PostgreSQL may
// read, and may run data changes only as rolled-back dry runs; REINDEX and
// restores are refused. The table's rows prove nothing changed.
func TestGuardDatabaseOnTheRealServer(t *testing.T) {
	dsn := os.Getenv("DRNAV_TEST_PG_DSN")
	if dsn == "" {
		if os.Getenv("DRNAV_REQUIRE_PG") == "1" {
			t.Fatal("DRNAV_TEST_PG_DSN is not set but DRNAV_REQUIRE_PG=1")
		}
		t.Skip("DRNAV_TEST_PG_DSN not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("drnav_guard_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") }()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE orders(id int primary key); INSERT INTO orders SELECT generate_series(1,5)"); err != nil {
		t.Fatal(err)
	}

	real, err := steps.NewDatabase(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := GuardDatabase(real, false)

	if _, err := db.Query(ctx, name, "SELECT count(*) FROM orders"); err != nil {
		t.Errorf("a read was refused: %v", err)
	}
	if n, err := db.Exec(ctx, name, "DELETE FROM orders", true); err != nil || n != 5 {
		t.Errorf("dry-run delete: %d rows, %v; want 5 rows rolled back", n, err)
	}
	if _, err := db.Exec(ctx, name, "DELETE FROM orders", false); err == nil || !strings.Contains(err.Error(), "drill mode may not change a real database") {
		t.Errorf("a real delete was not refused: %v", err)
	}
	if err := db.Reindex(ctx, name, ""); err == nil {
		t.Error("REINDEX was not refused")
	}
	dump := filepath.Join(t.TempDir(), "dump.sql")
	if err := os.WriteFile(dump, []byte("DROP TABLE orders;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Restore(ctx, name, dump, func(int64, int64) {}, func(steps.Line) {}); err == nil {
		t.Error("a restore was not refused")
	}
	var rows int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&rows); err != nil || rows != 5 {
		t.Errorf("orders has %d rows (%v) after the guarded drill; want 5", rows, err)
	}

	// Allowed explicitly, the same delete really happens.
	if _, err := GuardDatabase(real, true).Exec(ctx, name, "DELETE FROM orders WHERE id = 1", false); err != nil {
		t.Fatalf("allowed delete: %v", err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&rows); err != nil || rows != 4 {
		t.Errorf("orders has %d rows after the allowed delete; want 4", rows)
	}
}
