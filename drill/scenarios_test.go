package drill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

func TestScenariosStartBroken(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		ScenarioDataCenter:  "failover deployment ci-failure-agent does not exist; database not restored from backup",
		ScenarioCorruption:  "index orders_pkey corrupt",
		ScenarioApplication: "template image is still ci-failure-agent:bad; 0/3 app pods ready; 3 pod(s) in CrashLoopBackOff",
		ScenarioNetwork:     "network policy deny-all-ingress still blocks ingress; network policy allow-ci-failure-agent missing",
		ScenarioOutage:      "postgres has no ready pod; database not restored from backup; deployment ci-failure-agent ready 0/0 (want 3)",
	}
	if len(Scenarios()) != len(want) {
		t.Fatalf("%d scenarios, want %d", len(Scenarios()), len(want))
	}
	for _, sc := range Scenarios() {
		t.Run(sc.ID, func(t *testing.T) {
			t.Parallel()
			det := time.Date(2026, 3, 4, 19, 27, 0, 0, time.Local)
			if b := sc.Briefing(det); sc.Title == "" || !strings.Contains(b, "PAGER 19:27 — ") {
				t.Errorf("scenario without title, or a briefing not paged at the detection time 19:27: %q", b)
			}
			e := New(Options{Speed: testSpeed, Dir: t.TempDir()})
			t.Cleanup(e.Stop)
			if err := e.Inject(sc.ID); err != nil {
				t.Fatal(err)
			}
			ok, why := e.Recovered(sc.ID)
			if ok {
				t.Fatalf("recovered right after injection: %s", why)
			}
			if !strings.Contains(why, want[sc.ID]) {
				t.Errorf("explanation %q, want it to contain %q", why, want[sc.ID])
			}
		})
	}
	e := New(Options{Dir: t.TempDir()})
	t.Cleanup(e.Stop)
	if err := e.Inject("no-such"); !errors.Is(err, errUnknownScenario) {
		t.Errorf("inject unknown: %v", err)
	}
}

func TestDataCenterPrimaryUnreachable(t *testing.T) {
	t.Parallel()
	e := startEnv(t, ScenarioDataCenter)
	cs := client(t, e, "primary")
	_, err := cs.CoreV1().Pods("default").List(context.Background(), metaListAll())
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("primary list: %v, want connection refused", err)
	}
	if _, err := cs.CoreV1().Pods("default").Watch(context.Background(), metaListAll()); err == nil {
		t.Error("primary watch succeeded")
	}
	fo := client(t, e, "failover")
	if _, err := fo.CoreV1().Namespaces().Get(context.Background(), "default", metaGet()); err != nil {
		t.Errorf("failover namespace: %v", err)
	}
	if _, err := e.Database().Ping(context.Background(), "app"); err != nil {
		t.Errorf("database should be up: %v", err)
	}
}

func TestDatabaseFollowsPostgresPods(t *testing.T) {
	t.Parallel()
	e := startEnv(t, ScenarioOutage)
	ctx := context.Background()
	if _, err := e.DBProber().Probe(ctx); err == nil {
		t.Fatal("database up with postgres scaled to 0")
	}
	h0 := time.Now()
	scale(t, client(t, e, "primary"), DBDeployment, 1)
	eventually(t, waitLong, func() string {
		if _, err := e.DBProber().Probe(ctx); err != nil {
			return err.Error()
		}
		return ""
	})
	h, _ := e.DBProber().Probe(ctx)
	// the last archive was 12 simulated minutes ago when injected; once up it
	// archives within a simulated minute
	eventually(t, waitLong, func() string {
		h, _ = e.DBProber().Probe(ctx)
		if age := time.Since(h.LastArchived); age > 2*time.Minute {
			return fmt.Sprintf("WAL age %s", age)
		}
		return ""
	})
	_ = h0
	if err := e.Database().Restore(ctx, "app", "/nonexistent.sql", nil, nil); err == nil {
		t.Error("restore of a missing file succeeded")
	}
	db := e.Database()
	backup := e.ConfigOverrides()["latest_backup"]
	// Like psql: a plain dump does not load into a database full of data,
	// and the failed transaction leaves it as it was.
	err := db.Restore(ctx, "app", backup, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("restore into the non-empty database: %v, want psql's \"already exists\"", err)
	}
	if tab, err := db.Query(ctx, "app", "SELECT count(*) FROM orders"); err != nil || tab.Rows[0][0] != "212" {
		t.Errorf("orders after the failed restore: %v %v, want 212 (unchanged)", tab, err)
	}
	// Into a new database, then swapped into place.
	if err := db.CreateDatabase(ctx, "app_restore_1", "app"); err != nil {
		t.Fatal(err)
	}
	var lines []string
	var done, total int64
	err = db.Restore(ctx, "app_restore_1", backup, func(d, tt int64) { done, total = d, tt }, func(l steps.Line) { lines = append(lines, l.Text) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Swap(ctx, "app", "app_restore_1", "app_damaged_1"); err != nil {
		t.Fatal(err)
	}
	if tab, err := db.Query(ctx, "app_damaged_1", "SELECT count(*) FROM orders"); err != nil || tab.Rows[0][0] != "212" {
		t.Errorf("kept database after the swap: %v %v, want 212 orders", tab, err)
	}
	if err := db.DropDatabase(ctx, "app"); err == nil {
		t.Error("the simulator dropped the application's database")
	}
	if done != total || total == 0 {
		t.Errorf("progress %d/%d", done, total)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "COPY 200") {
		t.Errorf("restore output lacks COPY 200: %v", lines)
	}
	tab, err := e.Database().Query(ctx, "app", "SELECT count(*) FROM orders;")
	if err != nil || tab.Rows[0][0] != "200" {
		t.Errorf("orders after restore: %v %v", tab, err)
	}
	if _, err := e.Database().Query(ctx, "app", "select * from customers"); err == nil || !strings.Contains(err.Error(), "not simulated") {
		t.Errorf("unsimulated query: %v", err)
	}
}

// ---- running the shipped runbooks against the scenarios ----

// resolveVars gives each variable its config value (with the drill's
// overrides), else its default, else the first live choice.
func resolveVars(t *testing.T, e *Simulator, rb *runbooks.Runbook) map[string]string {
	t.Helper()
	vals := config.Default().Values()
	for k, v := range e.ConfigOverrides() {
		vals[k] = v
	}
	cs, _ := e.Clientset("primary")
	vars := map[string]string{}
	for _, v := range rb.Variables {
		val := ""
		if v.Config != "" {
			val = vals[v.Config]
		}
		if val == "" {
			val = v.Default
		}
		if val == "" && v.Source != runbooks.SourceText && v.Source != runbooks.SourceConfig {
			choices, err := live.Choices(context.Background(), live.ChoiceQuery{Client: cs, Namespace: "default", Selector: AppLabel, BackupDir: vals["backup_dir"]}, v.Source)
			if err == nil && len(choices) > 0 {
				val = choices[0]
			}
		}
		vars[v.Name] = val
	}
	return vars
}

// runRunbook runs the runbook's typed steps in order (manual, interactive
// and shell steps are skipped, as a drill with --skip-manual shows shell
// steps only), skipping the listed step ids. It stops at the first failure
// and returns it.
func runRunbook(t *testing.T, e *Simulator, rb *runbooks.Runbook, skip map[string]bool, within time.Duration) error {
	t.Helper()
	target := steps.Target{
		Kube: e.KubeProvider(), DB: e.Database(),
		Vars: resolveVars(t, e, rb), Namespace: "default",
		ShellMode: steps.ShellShowOnly,
	}
	for _, st := range rb.Steps {
		if skip[st.ID] || st.Interactive {
			continue
		}
		switch st.Kind() {
		case runbooks.ActionManual, runbooks.ActionShell, runbooks.ActionHTTP:
			continue
		}
		// copy the verify conditions: the runbook is shared by parallel subtests
		if st.Verify != nil {
			v := *st.Verify
			st.Verify = &v
		}
		if st.Wait != nil {
			v := *st.Wait
			st.Wait = &v
		}
		for _, v := range []*runbooks.Verify{st.Verify, st.Wait} {
			if v != nil {
				v.Within.Duration = min(v.Within.Duration, within)
				if v.Within.Duration == 0 {
					v.Within.Duration = within
				}
				v.Interval.Duration = 50 * time.Millisecond
			}
		}
		if st.Timeout.Duration == 0 || st.Timeout.Duration > within {
			st.Timeout.Duration = within
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*within)
		fin := steps.Start(ctx, st, target).Wait()
		cancel()
		if fin.ExitCode != 0 || fin.Err != "" {
			return fmt.Errorf("step %s: exit %d: %s", st.ID, fin.ExitCode, fin.Err)
		}
	}
	return nil
}

func scenarioRunbook(t *testing.T, id string) *runbooks.Runbook {
	t.Helper()
	rbs, err := runbooks.Embedded()
	if err != nil {
		t.Fatalf("shipped runbooks do not load: %v", err)
	}
	for _, rb := range rbs {
		if rb.Scenario == id {
			return rb
		}
	}
	t.Fatalf("no shipped runbook for scenario %s", id)
	return nil
}

// keySteps are the steps whose omission must leave a scenario unrecovered.
var keySteps = map[string][]string{
	ScenarioDataCenter:  {"restore"},
	ScenarioCorruption:  {"restore"},
	ScenarioApplication: {"rollback"},
	ScenarioNetwork:     {"delete-policy"},
	ScenarioOutage:      {"restore"},
}

func TestRunbooksRecoverScenarios(t *testing.T) {
	t.Parallel()
	for _, sc := range Scenarios() {
		t.Run(sc.ID, func(t *testing.T) {
			t.Parallel()
			rb := scenarioRunbook(t, sc.ID)
			for _, k := range keySteps[sc.ID] {
				if rb.StepByID(k) < 0 {
					t.Fatalf("runbook %s has no step %q", rb.ID, k)
				}
			}
			t.Run("all-steps", func(t *testing.T) {
				t.Parallel()
				e := startEnv(t, sc.ID)
				err := runRunbook(t, e, rb, nil, 20*time.Second)
				ok, why := e.Recovered(sc.ID)
				if err == nil {
					deadline := time.Now().Add(20 * time.Second)
					for ; !ok && time.Now().Before(deadline); ok, why = e.Recovered(sc.ID) {
						time.Sleep(20 * time.Millisecond)
					}
				}
				if !ok {
					t.Fatalf("not recovered: run error %v; state: %s", err, why)
				}
			})
			t.Run("skip-key-steps", func(t *testing.T) {
				t.Parallel()
				e := startEnv(t, sc.ID)
				skip := map[string]bool{}
				for _, k := range keySteps[sc.ID] {
					skip[k] = true
				}
				err := runRunbook(t, e, rb, skip, 2*time.Second)
				if ok, why := e.Recovered(sc.ID); ok {
					t.Fatalf("recovered without %v: %s (run: %v)", keySteps[sc.ID], why, err)
				}
			})
		})
	}
}
