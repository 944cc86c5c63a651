package environ

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/where"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// testConfig has a value for every part of the base target, and a
// database nobody listens on.
func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.WorkDir = t.TempDir()
	cfg.Namespace = "shop"
	cfg.Env = map[string]config.EnvValue{"REGION": {Value: "eu"}, "TOKEN": {Value: "s3cret", Secret: true}}
	cfg.Redact = []string{`tok-[a-z]+`}
	cfg.Backup.Dir = t.TempDir()
	cfg.RPO = config.Duration{Duration: 7 * time.Minute}
	cfg.RTO = config.Duration{Duration: 42 * time.Minute}
	cfg.DSN = "postgres://drnav@127.0.0.1:1/app?sslmode=disable"
	return cfg
}

const stagingKubeconfig = `apiVersion: v1
kind: Config
current-context: staging
clusters:
- name: staging
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: staging
  context: {cluster: staging, user: admin}
users:
- name: admin
  user: {token: x}
`

// checkBase fails unless target carries cfg's base target.
func checkBase(t *testing.T, what string, target *steps.Target, cfg config.Config, backupDir string) {
	t.Helper()
	if target == nil {
		t.Fatalf("%s: no target", what)
	}
	if target.Dir != cfg.WorkDir || target.Namespace != "shop" || target.RPO != 7*time.Minute ||
		target.Backup.Dir != backupDir || !slices.Equal(target.Env, []string{"REGION=eu", "TOKEN=s3cret"}) ||
		!slices.Equal(target.SecretEnv, []string{"TOKEN"}) || !slices.Equal(target.Redact, cfg.Redact) {
		t.Errorf("%s: base target %+v", what, *target)
	}
	if target.DB == nil {
		t.Errorf("%s: no database", what)
	}
}

// TestEveryConstructorSetsTheBaseTarget: LIVE with no kube context at all,
// a drill on a real context and a simulated drill each carry config's
// shell environment, folder, namespace, redaction, backup policy and RPO.
func TestEveryConstructorSetsTheBaseTarget(t *testing.T) {
	cfg := testConfig(t)
	rb := &runbooks.Runbook{ID: "db-restore"}
	spec := Spec{Config: cfg, Runbook: rb}

	e, err := Live(context.Background(), spec, nil, Targets{Unresolved: "no kubeconfig"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	checkBase(t, "live", e.Target, cfg, cfg.Backup.Dir)
	if e.Mode != incident.ModeLive || e.Target.ShellMode != steps.ShellRun || e.Target.Kube != nil {
		t.Errorf("live: mode %s, shell %s, kube %v", e.Mode, e.Target.ShellMode, e.Target.Kube)
	}
	d := e.Declared()
	if d.RTO != 42*time.Minute || d.RPO != 7*time.Minute || d.DB == nil || d.Database != e.Database {
		t.Errorf("live declaration %+v", d)
	}
	// Choices that need the cluster say so instead of panicking.
	if _, err := e.ChoiceFacts(context.Background(), runbooks.SourceUnreadyPods); err == nil {
		t.Error("pods listed without a kube provider")
	}

	primary := where.Kube{Context: "staging", Server: "https://127.0.0.1:1"}
	cfg.Drill.AllowShell = []string{"db-restore/check"}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(stagingKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := Guarded(context.Background(), Spec{Config: cfg, Runbook: rb}, steps.NewKubeProvider(kc, "staging", "", ""), Targets{Primary: primary})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	checkBase(t, "guarded", g.Target, cfg, cfg.Backup.Dir)
	if g.Mode != incident.ModeDrill || g.Target.ShellMode != steps.ShellShowOnly || !g.Target.AllowShell("check") || g.Target.AllowShell("other") {
		t.Errorf("guarded: mode %s, shell %s", g.Mode, g.Target.ShellMode)
	}
	if _, info, err := g.Target.Kube.Client("primary"); err != nil || !info.ForceDryRun {
		t.Errorf("guarded: the production guard is not in front of the cluster (%+v, %v)", info, err)
	}
	if g.Context != "staging" || g.KubeWhere == nil || g.KubeWhere.Server != primary.Server {
		t.Errorf("guarded: where %q %+v", g.Context, g.KubeWhere)
	}

	s, err := Drill(context.Background(), Spec{Config: cfg, Runbook: rb})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The simulator's own backup folder replaces config's.
	checkBase(t, "drill", s.Target, cfg, s.ConfigValues["backup_dir"])
	if s.Target.Backup.Dir == cfg.Backup.Dir || s.Target.Kube == nil || s.Target.DB.Real() || s.Now == nil {
		t.Errorf("drill: backup %q, kube %v, now set %v", s.Target.Backup.Dir, s.Target.Kube, s.Now != nil)
	}
}

// TestCloseStopsWhatItStarted: a simulated drill's Close stops the panes'
// sources (their channels close) and then the simulator (its contexts
// refuse every call, its sample folder is gone); LIVE's Close stops its
// sources too. Close may be called twice.
func TestCloseStopsWhatItStarted(t *testing.T) {
	cfg := testConfig(t)
	cfg.Drill.Speed = 20
	e, err := Drill(context.Background(), Spec{Config: cfg, Panes: true})
	if err != nil {
		t.Fatal(err)
	}
	if e.KubeSnapshots == nil || e.DBSnapshots == nil || e.FailoverSnapshots == nil {
		t.Fatal("a drill with panes has no sources")
	}
	// The sources run: each publishes a first snapshot.
	first(t, "kube", e.KubeSnapshots)
	first(t, "db", e.DBSnapshots)
	first(t, "failover", e.FailoverSnapshots)
	client, _, err := e.Target.Kube.Client("primary")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatalf("the running simulator refuses: %v", err)
	}
	samples := e.ConfigValues["backup_dir"]
	if _, err := os.Stat(samples); err != nil {
		t.Fatalf("sample backups: %v", err)
	}

	e.Close()
	e.Close()
	closed(t, "kube", e.KubeSnapshots)
	closed(t, "db", e.DBSnapshots)
	closed(t, "failover", e.FailoverSnapshots)
	if _, err := client.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{}); err == nil {
		t.Error("the simulator still answers after Close")
	}
	if _, err := os.Stat(samples); !os.IsNotExist(err) {
		t.Errorf("the simulator's sample folder survives Close: %v", err)
	}

	l, err := Live(context.Background(), Spec{Config: cfg, Panes: true}, nil, Targets{Unresolved: "no kubeconfig"})
	if err != nil {
		t.Fatal(err)
	}
	if l.FailoverSnapshots != nil {
		t.Error("LIVE without a failover context watches one")
	}
	first(t, "live kube", l.KubeSnapshots)
	l.Close()
	closed(t, "live kube", l.KubeSnapshots)
	closed(t, "live db", l.DBSnapshots)
}

// first waits for a source's first snapshot.
func first[T live.KubeSnapshot | live.DBSnapshot](t *testing.T, what string, ch <-chan T) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: source closed before its first snapshot", what)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: no snapshot in 60 s", what)
	}
}

// closed waits for a source's channel to close (its Run returned).
func closed[T live.KubeSnapshot | live.DBSnapshot](t *testing.T, what string, ch <-chan T) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("%s: source still running 60 s after Close", what)
		}
	}
}
