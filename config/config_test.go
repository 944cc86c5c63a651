package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNoConfigUsesDefaults(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cfg, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source != "" {
		t.Errorf("Source = %q, want none", cfg.Source)
	}
	if cfg.RTO.Duration != 4*time.Hour || cfg.RPO.Duration != 15*time.Minute {
		t.Errorf("RTO/RPO = %v/%v, want 4h/15m", cfg.RTO, cfg.RPO)
	}
	if cfg.Deployment != "ci-failure-agent" || cfg.AppLabel != "app=ci-failure-agent" {
		t.Errorf("defaults = %q %q", cfg.Deployment, cfg.AppLabel)
	}
}

func TestPrecedence(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	write(t, xdg, "drnav/config.toml", "namespace = \"from-xdg\"\nrto = \"3h\"\n")
	explicit := write(t, t.TempDir(), "other.toml", "namespace = \"from-flag\"\n")

	cases := []struct {
		name      string
		path      string
		namespace string
		rto       time.Duration
	}{
		{"xdg file when no --config", "", "from-xdg", 3 * time.Hour},
		{"--config wins over xdg, unset keys keep defaults", explicit, "from-flag", 4 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Namespace != c.namespace || cfg.RTO.Duration != c.rto {
				t.Errorf("namespace %q rto %v, want %q %v", cfg.Namespace, cfg.RTO, c.namespace, c.rto)
			}
			if cfg.Deployment != "ci-failure-agent" {
				t.Errorf("unset key lost its default: %q", cfg.Deployment)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, body, want string
	}{
		{"unknown key", "namespce = \"x\"\n", "unknown key namespce"},
		{"unknown nested key", "[drill]\nspeeed = 2\n", "unknown key drill.speeed"},
		{"syntax", "namespace = \n", "bad.toml:1:"},
		{"bad duration", "rto = \"4 hours\"\n", `invalid duration "4 hours"`},
		{"zero rpo", "rpo = \"0s\"\n", "field rpo: must be positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(t, dir, "bad.toml", c.body)
			_, err := Load(p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil {
		t.Error("an explicit --config that does not exist must be an error")
	}
}

func TestPasswordNotInErrors(t *testing.T) {
	p := write(t, t.TempDir(), "c.toml", "dsn = \"postgres://u:hunter2@h/db\"\nbogus = 1\n")
	_, err := Load(p)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v: want an error without the password", err)
	}
}

func TestValuesAndDrillAllowList(t *testing.T) {
	cfg := Default()
	cfg.Drill.AllowContexts = []string{"staging"}
	v := cfg.Values()
	for _, k := range []string{"namespace", "deployment", "app_label", "database", "db_deployment", "latest_backup", "failover_manifests"} {
		if v[k] == "" {
			t.Errorf("Values()[%q] empty", k)
		}
	}
	if !cfg.DrillAllowsContext("staging") || cfg.DrillAllowsContext("prod") {
		t.Error("drill allow-list wrong")
	}
}

// TestNoSharedFallbackWithoutHOME: with HOME and XDG_STATE_HOME unset the
// journal folder is under the account's home from the account database,
// never in the shared temp folder.
func TestNoSharedFallbackWithoutHOME(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "")
	os.Unsetenv("HOME")
	os.Unsetenv("XDG_STATE_HOME")
	cfg, err := Load("")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if strings.HasPrefix(cfg.JournalDir, os.TempDir()) || !filepath.IsAbs(cfg.JournalDir) {
		t.Errorf("journal dir %q: in the shared temp folder or relative", cfg.JournalDir)
	}
	d, err := StateDir()
	if err != nil || strings.HasPrefix(d, os.TempDir()) {
		t.Errorf("StateDir() = %q, %v", d, err)
	}
}

func TestEnvEntriesCanBeSecret(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "c.toml", `
[env]
PLAIN = "one"
API = { value = "two", secret = true }
`)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.EnvList(), ","); got != "API=two,PLAIN=one" {
		t.Errorf("EnvList = %s", got)
	}
	if got := strings.Join(cfg.SecretEnv(), ","); got != "API" {
		t.Errorf("SecretEnv = %s", got)
	}
	write(t, dir, "bad.toml", "[env]\nX = { value = \"v\", secrte = true }\n")
	if _, err := Load(filepath.Join(dir, "bad.toml")); err == nil || !strings.Contains(err.Error(), "secrte") {
		t.Errorf("unknown env key: %v", err)
	}
}

func TestShareGroupAndPaths(t *testing.T) {
	t.Setenv("HOME", "/home/op")
	dir := t.TempDir()
	p := write(t, dir, "c.toml", "journal_dir = \"~/inc\"\nshare_group = \"oncall\"\nworkdir = \"~\"\n")
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JournalDir != "/home/op/inc" || cfg.WorkDir != "/home/op" || cfg.ShareGroup != "oncall" {
		t.Errorf("got %q %q %q", cfg.JournalDir, cfg.WorkDir, cfg.ShareGroup)
	}
	write(t, dir, "rel.toml", "workdir = \"scripts\"\n")
	if _, err := Load(filepath.Join(dir, "rel.toml")); err == nil || !strings.Contains(err.Error(), "relative") {
		t.Errorf("relative workdir: %v", err)
	}
}

func TestMirrorSection(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Load(write(t, dir, "on.toml", "[mirror]\ncontexts = [\"primary\", \"failover\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Mirror.Enabled() || cfg.Mirror.Namespace != "drnav" || cfg.Mirror.Lease() != "primary" || cfg.Mirror.LeaseDuration.Duration != 15*time.Second {
		t.Errorf("mirror = %+v", cfg.Mirror)
	}
	off, err := Load(write(t, dir, "off.toml", "rto = \"4h\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if off.Mirror.Enabled() {
		t.Error("mirror on without contexts")
	}
	for name, body := range map[string]string{
		"lease context":  "[mirror]\ncontexts = [\"a\"]\nlease_context = \"b\"\n",
		"twice":          "[mirror]\ncontexts = [\"a\", \"a\"]\n",
		"renew >= lease": "[mirror]\ncontexts = [\"a\"]\nlease_duration = \"5s\"\nrenew_deadline = \"5s\"\n",
		"empty ns":       "[mirror]\ncontexts = [\"a\"]\nnamespace = \"\"\n",
	} {
		if _, err := Load(write(t, dir, "bad.toml", body)); err == nil || !strings.Contains(err.Error(), "mirror") {
			t.Errorf("%s: err = %v; want one naming the mirror field", name, err)
		}
	}
}
