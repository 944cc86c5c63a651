package incident

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drnav/drnav/runbooks"
)

var update = flag.Bool("update", false, "rewrite golden files")

// t0 is the detection time of the test incidents.
var t0 = time.Date(2026, 11, 25, 20, 3, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

const (
	minute = time.Minute
	hour   = time.Hour
)

func dur(d time.Duration) runbooks.Duration { return runbooks.Duration{Duration: d} }

// outageRunbook is a small complete-outage runbook: five phases of
// 15m, 30m, 2h, 30m and 30m, two steps each.
func outageRunbook() *runbooks.Runbook {
	return &runbooks.Runbook{
		ID: "complete-outage", Title: "Complete system outage", File: "testdata/complete-outage.toml",
		Phases: []runbooks.Phase{
			{ID: "assess", Title: "Assess situation", Budget: dur(15 * minute)},
			{ID: "failover", Title: "Activate failover", Budget: dur(30 * minute)},
			{ID: "restore", Title: "Restore data", Budget: dur(2 * hour)},
			{ID: "service", Title: "Restore service", Budget: dur(30 * minute)},
			{ID: "normal", Title: "Return to normal", Budget: dur(30 * minute)},
		},
		Steps: []runbooks.Step{
			{ID: "list-pods", Title: "List the pods", Phase: "assess"},
			{ID: "scope", Title: "Assess the scope", Phase: "assess", Manual: "Find what is down"},
			{ID: "scale-db", Title: "Start the database", Phase: "failover"},
			{ID: "check-db", Title: "Check the database answers", Phase: "failover"},
			{ID: "restore", Title: "Restore the latest backup", Phase: "restore"},
			{ID: "amcheck", Title: "Check indexes", Phase: "restore"},
			{ID: "scale-app", Title: "Start the application", Phase: "service"},
			{ID: "rollout", Title: "Wait for the rollout", Phase: "service"},
			{ID: "monitor", Title: "Monitor", Phase: "normal", Manual: "Watch dashboards"},
			{ID: "document", Title: "Document the incident", Phase: "normal", Manual: "Write it up"},
		},
	}
}

func outageDeclared(mode string) Declared {
	rb := outageRunbook()
	return Declared{
		RunbookID: rb.ID, RunbookTitle: rb.Title, RunbookFile: rb.File, Mode: mode,
		Operator: "alice", SSHClient: "10.0.0.7 51234", Detected: t0, At: at(4 * minute),
		RTO: 4 * hour, RPO: 15 * minute, Phases: PhasesOf(rb),
		KubeContext: "prod-eu", Database: "postgres@db.internal:5432/app",
	}
}

// stepRun returns the events of one step that ran from start for d.
func stepRun(step, phase string, start, d time.Duration, exit int, verified *bool) []Event {
	return []Event{
		{Type: EventStepStarted, Time: at(start), Step: step, Phase: phase, Command: "run " + step, Equivalent: "kubectl " + step},
		{Type: EventOutput, Time: at(start + d/2), Step: step, Lines: []string{step + ": working", step + ": ok"}},
		{Type: EventStepFinished, Time: at(start + d), Step: step, Exit: exit, Duration: d, Verified: verified, TotalLines: 2},
	}
}

func appendAll(t *testing.T, j *Journal, evs ...Event) {
	t.Helper()
	for _, ev := range evs {
		if err := j.Append(ev); err != nil {
			t.Fatalf("append %s: %v", ev.Type, err)
		}
	}
}

func mustCreate(t *testing.T, root string, d Declared) *Journal {
	t.Helper()
	j, err := Create(root, d)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from golden (run with -update to accept):\n--- got ---\n%s", name, got)
	}
}
