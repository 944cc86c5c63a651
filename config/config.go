// Package config loads drnav's TOML configuration. With no file at all drnav
// runs on the defaults below, which match the disaster-recovery plan.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/drnav/drnav/internal/safefile"
)

// Duration is a time.Duration written as "15m" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 15m, 4h)", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Contact is one role of the plan's contact list.
type Contact struct {
	Role   string `toml:"role"` // "Incident Commander", "Database Admin", …
	Name   string `toml:"name"`
	Handle string `toml:"handle"`
	Phone  string `toml:"phone"`
}

// Region is one copy location of the backups, checked by a command that
// prints the timestamp of the newest object there.
type Region struct {
	Name    string `toml:"name"`
	Command string `toml:"command"`
}

// Drill holds the settings of drill mode.
type Drill struct {
	// AllowContexts names real kube contexts a drill may mutate (e.g. staging).
	AllowContexts []string `toml:"allow_contexts"`
	// AllowDatabase lets a drill change data in the configured real database.
	AllowDatabase bool `toml:"allow_database"`
	// AllowShell lists step ids ("runbook/step") whose shell runs for real in a drill.
	AllowShell []string `toml:"allow_shell"`
	// Speed multiplies the simulator's clock (1 = realistic).
	Speed float64 `toml:"speed"`
}

// Mirror copies every incident's journal into Kubernetes and makes the
// driver lock a Lease there (off while Contexts is empty).
type Mirror struct {
	// Contexts are the kube contexts the journal is mirrored into, e.g.
	// ["primary", "failover"].
	Contexts  []string `toml:"contexts"`
	Namespace string   `toml:"namespace"` // "drnav" by default
	// LeaseContext holds the driver Lease (default: the first context).
	LeaseContext  string   `toml:"lease_context"`
	LeaseDuration Duration `toml:"lease_duration"` // 15s
	RenewDeadline Duration `toml:"renew_deadline"` // 10s
	RetryPeriod   Duration `toml:"retry_period"`   // 5s
}

// Enabled reports whether incidents are mirrored.
func (m Mirror) Enabled() bool { return len(m.Contexts) > 0 }

// check validates the mirror section.
func (m Mirror) check() error {
	if !m.Enabled() {
		return nil
	}
	seen := map[string]bool{}
	for _, c := range m.Contexts {
		if c == "" {
			return errors.New("field mirror.contexts: an empty context name")
		}
		if seen[c] {
			return fmt.Errorf("field mirror.contexts: %q twice", c)
		}
		seen[c] = true
	}
	if m.Namespace == "" {
		return errors.New("field mirror.namespace: empty")
	}
	if m.LeaseContext != "" && !seen[m.LeaseContext] {
		return fmt.Errorf("field mirror.lease_context: %q is not among mirror.contexts", m.LeaseContext)
	}
	d, r, p := m.LeaseDuration.Duration, m.RenewDeadline.Duration, m.RetryPeriod.Duration
	if d <= 0 || r <= 0 || p <= 0 {
		return errors.New("fields mirror.lease_duration, renew_deadline, retry_period: must be positive")
	}
	if r >= d || float64(p)*1.2 >= float64(r) {
		return fmt.Errorf("fields mirror.*: want lease_duration (%s) > renew_deadline (%s) > 1.2 × retry_period (%s)", d, r, p)
	}
	return nil
}

// Lease is the context holding the driver Lease.
func (m Mirror) Lease() string {
	if m.LeaseContext != "" {
		return m.LeaseContext
	}
	if len(m.Contexts) > 0 {
		return m.Contexts[0]
	}
	return ""
}

// Backup holds the backup policy and where freshness comes from.
type Backup struct {
	Dir              string   `toml:"dir"`               // local backup folder
	Latest           string   `toml:"latest"`            // latest plain dump
	FreshnessCommand string   `toml:"freshness_command"` // prints a timestamp
	Retention        Duration `toml:"retention"`         // 30 days by default
	Regions          []Region `toml:"regions"`
}

// Config is the whole configuration.
type Config struct {
	Namespace  string `toml:"namespace"`
	AppLabel   string `toml:"app_label"` // label selector of the application's pods
	Deployment string `toml:"deployment"`
	Database   string `toml:"database"` // the application's database name
	// DBDeployment is the deployment running PostgreSQL in the cluster
	// (the plan's `deployment/postgres`).
	DBDeployment string `toml:"db_deployment"`

	Kubeconfig      string `toml:"kubeconfig"`
	PrimaryContext  string `toml:"primary_context"`  // empty: kubeconfig's current context
	FailoverContext string `toml:"failover_context"` // empty: no failover region configured

	// DSN is a libpq connection string or URL; empty means the libpq
	// environment (PGHOST, PGUSER, …, PGPASSFILE) as psql uses it.
	DSN string `toml:"dsn"`

	FailoverManifests string `toml:"failover_manifests"`
	NetworkPolicy     string `toml:"network_policy"`
	DrillManifests    string `toml:"drill_manifests"`
	HealthURL         string `toml:"health_url"`
	FailoverHealthURL string `toml:"failover_health_url"`

	RTO Duration `toml:"rto"`
	RPO Duration `toml:"rpo"`

	JournalDir string `toml:"journal_dir"`
	// ShareGroup makes new incident folders readable by this Unix group
	// (folder 0750 + setgid, journal 0640) so its members can watch and
	// report from their own accounts; "" keeps everything 0700/0600.
	ShareGroup    string              `toml:"share_group"`
	NotifyCommand string              `toml:"notify_command"` // receives status text on stdin
	Env           map[string]EnvValue `toml:"env"`            // extra environment for shell steps
	WorkDir       string              `toml:"workdir"`        // working folder for shell steps
	Redact        []string            `toml:"redact"`         // extra regexps to mask in output

	OnCall        string    `toml:"on_call"`
	OnCallCommand string    `toml:"on_call_command"`
	Contacts      []Contact `toml:"contacts"`

	Backup Backup `toml:"backup"`
	Drill  Drill  `toml:"drill"`
	Mirror Mirror `toml:"mirror"`

	// Source is the file the config came from ("" for defaults only).
	Source string `toml:"-"`
}

// Default returns the configuration drnav uses when no file sets a value.
func Default() Config {
	return Config{
		Namespace:         "default",
		AppLabel:          "app=ci-failure-agent",
		Deployment:        "ci-failure-agent",
		Database:          "app",
		DBDeployment:      "postgres",
		FailoverManifests: "k8s/failover",
		NetworkPolicy:     "k8s/network-policy.yaml",
		DrillManifests:    "k8s/dr-test",
		HealthURL:         "http://ci-failure-agent/health",
		FailoverHealthURL: "http://failover-service/health",
		RTO:               Duration{4 * time.Hour},
		RPO:               Duration{15 * time.Minute},
		JournalDir:        defaultJournalDir(),
		Backup: Backup{
			Dir:       "/backups",
			Latest:    "/backups/latest.sql",
			Retention: Duration{30 * 24 * time.Hour},
		},
		Drill: Drill{Speed: 1},
		Mirror: Mirror{
			Namespace:     "drnav",
			LeaseDuration: Duration{15 * time.Second},
			RenewDeadline: Duration{10 * time.Second},
			RetryPeriod:   Duration{5 * time.Second},
		},
		Contacts: []Contact{
			{Role: "Incident Commander"},
			{Role: "Database Admin"},
			{Role: "Infrastructure Team"},
			{Role: "Executive Sponsor"},
		},
	}
}

// StateDir is drnav's state folder ($XDG_STATE_HOME/drnav, by default
// ~/.local/state/drnav). It is never a shared folder: without a usable home
// directory it is an error.
func StateDir() (string, error) {
	h, err := stateHome()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, "drnav"), nil
}

func defaultJournalDir() string {
	d, err := StateDir()
	if err != nil {
		return "" // Load reports why
	}
	return filepath.Join(d, "incidents")
}

// xdgDir is $name when set (it must be absolute), else home/fallback.
func xdgDir(name, fallback string) (string, error) {
	if v := os.Getenv(name); v != "" {
		if !filepath.IsAbs(v) {
			return "", fmt.Errorf("%s=%q is a relative path (the XDG spec requires an absolute one): set it to an absolute folder or unset it", name, v)
		}
		return v, nil
	}
	home, err := safefile.HomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, fallback), nil
}

func stateHome() (string, error) { return xdgDir("XDG_STATE_HOME", filepath.Join(".local", "state")) }

// DefaultPath is $XDG_CONFIG_HOME/drnav/config.toml.
func DefaultPath() (string, error) {
	base, err := xdgDir("XDG_CONFIG_HOME", ".config")
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "drnav", "config.toml"), nil
}

// MaxBytes is the largest config file read.
const MaxBytes = 256 << 10

// Load reads the config (a regular file of at most MaxBytes). An explicit path must exist; with path == "" the
// default path is read when present, else the defaults are returned.
func Load(path string) (Config, error) {
	explicit := path != ""
	cfg := Default()
	if !explicit {
		p, err := DefaultPath()
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		path = p
	}
	data, err := readTrusted(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return cfg, cfg.resolvePaths("defaults")
		}
		return cfg, fmt.Errorf("read config: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if err := safefile.TOMLDepth(data, safefile.MaxTOMLDepth); err != nil {
		return Default(), fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.decode(path, string(data)); err != nil {
		return Default(), err
	}
	if err := cfg.resolvePaths(path); err != nil {
		return Default(), err
	}
	cfg.Source = path
	return cfg, nil
}

// readTrusted reads a config file after checking that nobody but its owner
// (the user, or root for a system-wide file) can change it: the file and
// the folder holding it must not be writable by group or others (a sticky
// folder such as /tmp is fine for a file the user owns). A config sets
// notify_command, [env] and workdir, so whoever can write it runs code as
// the user.
func readTrusted(path string) ([]byte, error) {
	f, err := safefile.Open(path, os.O_RDONLY) // a FIFO or device is refused without blocking
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := safefile.CheckInfo("config file", path, fi, safefile.MeOrRoot); err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(real)
	di, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if di.Mode()&fs.ModeSticky == 0 {
		if err := safefile.CheckInfo("config folder", dir, di, safefile.MeOrRoot); err != nil {
			return nil, err
		}
	}
	return safefile.ReadAll(f, path, MaxBytes)
}

// resolvePaths expands ~ in the path settings and refuses a relative
// journal_dir or workdir (they would depend on the folder drnav is started
// from: `incidents` elsewhere would see nothing).
func (c *Config) resolvePaths(src string) error {
	if c.JournalDir == "" {
		if _, err := StateDir(); err != nil {
			return fmt.Errorf("journal folder: %w", err)
		}
		return fmt.Errorf("%s: journal_dir is empty", src)
	}
	fields := []struct {
		key      string
		p        *string
		absolute bool
	}{
		{"journal_dir", &c.JournalDir, true},
		{"workdir", &c.WorkDir, true},
		{"kubeconfig", &c.Kubeconfig, false},
		{"backup.dir", &c.Backup.Dir, false},
		{"backup.latest", &c.Backup.Latest, false},
		{"failover_manifests", &c.FailoverManifests, false},
		{"network_policy", &c.NetworkPolicy, false},
		{"drill_manifests", &c.DrillManifests, false},
	}
	for _, f := range fields {
		if *f.p == "" {
			continue
		}
		v, err := safefile.ExpandHome(*f.p)
		if err != nil {
			return fmt.Errorf("%s: field %s: %w", src, f.key, err)
		}
		if f.absolute && !filepath.IsAbs(v) {
			return fmt.Errorf("%s: field %s = %q is a relative path: write an absolute path or ~/…", src, f.key, *f.p)
		}
		*f.p = filepath.Clean(v)
	}
	return nil
}

func (c *Config) decode(path, data string) error {
	md, err := toml.Decode(data, c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d: %s", path, pe.Position.Line, pe.Message)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, 0, len(und))
		for _, k := range und {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		return fmt.Errorf("%s: unknown key %s", path, strings.Join(keys, ", "))
	}
	if c.RTO.Duration <= 0 {
		return fmt.Errorf("%s: field rto: must be positive", path)
	}
	if c.RPO.Duration <= 0 {
		return fmt.Errorf("%s: field rpo: must be positive", path)
	}
	if c.Drill.Speed <= 0 {
		return fmt.Errorf("%s: field drill.speed: must be positive", path)
	}
	if err := c.Mirror.check(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Values maps the config keys a runbook variable may name (Variable.Config)
// to their values.
func (c Config) Values() map[string]string {
	return map[string]string{
		"namespace":           c.Namespace,
		"app_label":           c.AppLabel,
		"deployment":          c.Deployment,
		"database":            c.Database,
		"db_deployment":       c.DBDeployment,
		"primary_context":     c.PrimaryContext,
		"failover_context":    c.FailoverContext,
		"backup_dir":          c.Backup.Dir,
		"latest_backup":       c.Backup.Latest,
		"failover_manifests":  c.FailoverManifests,
		"network_policy":      c.NetworkPolicy,
		"drill_manifests":     c.DrillManifests,
		"health_url":          c.HealthURL,
		"failover_health_url": c.FailoverHealthURL,
	}
}

// DrillAllowsContext reports whether a drill may mutate the named real context.
func (c Config) DrillAllowsContext(name string) bool {
	for _, n := range c.Drill.AllowContexts {
		if n == name {
			return true
		}
	}
	return false
}

// EnvValue is one [env] entry: a plain string, or a table
// `{ value = "…", secret = true }` whose value is masked in every output,
// journal and report like a secret variable.
type EnvValue struct {
	Value  string
	Secret bool
}

// UnmarshalTOML reads a string or a { value, secret } table.
func (e *EnvValue) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		e.Value = x
		return nil
	case map[string]any:
		for k, val := range x {
			switch k {
			case "value":
				s, ok := val.(string)
				if !ok {
					return fmt.Errorf("env value must be a string")
				}
				e.Value = s
			case "secret":
				b, ok := val.(bool)
				if !ok {
					return fmt.Errorf("env secret must be true or false")
				}
				e.Secret = b
			default:
				return fmt.Errorf("unknown env key %q (value, secret)", k)
			}
		}
		return nil
	}
	return fmt.Errorf("env entry must be a string or { value = \"…\", secret = true }")
}

// EnvList is the [env] entries as sorted KEY=VALUE strings.
func (c Config) EnvList() []string {
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+c.Env[k].Value)
	}
	return out
}

// SecretEnv names the [env] entries marked secret (sorted).
func (c Config) SecretEnv() []string {
	var out []string
	for k, v := range c.Env {
		if v.Secret {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
