package drill

import (
	"context"
	"testing"
	"time"
)

// TestFailoverDatabaseReflectsARestore: in the data-center failure the
// PostgreSQL pane shows the failover region's database, empty at first;
// after the backup is loaded into it, its size and table count are the
// restored data's.
func TestFailoverDatabaseReflectsARestore(t *testing.T) {
	t.Parallel()
	e := New(Options{Speed: 200, Seed: 1, Dir: t.TempDir()})
	defer e.Stop()
	if err := e.Inject(ScenarioDataCenter); err != nil {
		t.Fatal(err)
	}
	if server, region := e.DBWhere(); region != "failover" || server != "10.1.0.5:5432/app" {
		t.Errorf("data-center failure: the pane shows %s in region %q, want the failover's", server, region)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	before, err := e.DBProber().Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !before.TablesKnown || before.Tables != 0 {
		t.Errorf("the empty failover database has %d tables (known %v)", before.Tables, before.TablesKnown)
	}
	if err := e.Database().Restore(ctx, DatabaseName, e.ConfigOverrides()["latest_backup"], nil, nil); err != nil {
		t.Fatal(err)
	}
	after, err := e.DBProber().Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Tables != 2 || after.SizeBytes <= before.SizeBytes {
		t.Errorf("after the restore: %d tables, %d bytes (before %d bytes): the pane does not reflect it", after.Tables, after.SizeBytes, before.SizeBytes)
	}

	if err := e.Inject(ScenarioCorruption); err != nil {
		t.Fatal(err)
	}
	if _, region := e.DBWhere(); region != "primary" {
		t.Errorf("database corruption: region %q, want primary", region)
	}
}
