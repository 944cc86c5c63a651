package drill

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

//go:embed samples
var samplesFS embed.FS

// backupFiles are the files of the sample backup folder and their ages.
var backupFiles = []struct {
	name string
	age  time.Duration
}{
	{"latest.sql", 10 * time.Minute},
	{"backup-before-corruption.sql", 3 * time.Hour},
	{"app-daily-1.sql", 26 * time.Hour},
	{"app-weekly-1.sql", 8 * 24 * time.Hour},
	{"app-monthly-1.sql", 31 * 24 * time.Hour},
}

// samplesPrefix names a drill's own sample folder in the temp folder:
// drnav-drill-<pid>-<random>. The folder is removed by Stop; one left by a
// drnav that was killed is removed by the next drill (its pid is gone).
const samplesPrefix = "drnav-drill-"

// sweepStaleSamples removes the sample folders of drills whose process is
// gone (killed before Stop).
func sweepStaleSamples(tmp string) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), samplesPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			if fi, err := os.Stat(filepath.Join(tmp, e.Name())); err == nil && ownedByMe(fi) {
				_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
			}
		}
	}
}

// ownedByMe: only our own folders are swept.
func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}

// writeSamples writes the embedded manifests and backups into the drill's
// folder and records the config overrides pointing at them.
func (e *Simulator) writeSamples() error {
	dir := e.opts.Dir
	if dir == "" {
		sweepStaleSamples(os.TempDir())
		d, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", samplesPrefix, os.Getpid()))
		if err != nil {
			return fmt.Errorf("drill samples: %w", err)
		}
		dir, e.ownDir = d, true
	}
	e.dir = dir
	err := fs.WalkDir(samplesFS, "samples/k8s", func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("samples", path)
		dst := filepath.Join(dir, rel)
		if de.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := samplesFS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("drill samples: %w", err)
	}
	dump, err := samplesFS.ReadFile("samples/backups/latest.sql")
	if err != nil {
		return fmt.Errorf("drill samples: %w", err)
	}
	bdir := filepath.Join(dir, "backups")
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return fmt.Errorf("drill samples: %w", err)
	}
	now := e.clk.Now()
	for _, b := range backupFiles {
		p := filepath.Join(bdir, b.name)
		if err := os.WriteFile(p, dump, 0o644); err != nil {
			return fmt.Errorf("drill samples: %w", err)
		}
		t := now.Add(-b.age)
		if err := os.Chtimes(p, t, t); err != nil {
			return fmt.Errorf("drill samples: %w", err)
		}
	}
	e.overrides = map[string]string{
		"failover_manifests": filepath.Join(dir, "k8s", "failover"),
		"network_policy":     filepath.Join(dir, "k8s", "network-policy.yaml"),
		"drill_manifests":    filepath.Join(dir, "k8s", "dr-test"),
		"latest_backup":      filepath.Join(bdir, "latest.sql"),
		"backup_dir":         bdir,
		// the scenarios' fixed names win over a site config's own
		"namespace":     e.opts.Namespace,
		"deployment":    AppDeployment,
		"app_label":     AppLabel,
		"db_deployment": DBDeployment,
		"database":      DatabaseName,
	}
	return nil
}

// ConfigOverrides returns the config values (keys of config.Values) a drill
// replaces with its sample files: failover_manifests, network_policy,
// drill_manifests, latest_backup and backup_dir, plus the names the
// scenarios use (namespace, deployment, app_label, db_deployment, database).
func (e *Simulator) ConfigOverrides() map[string]string { return maps.Clone(e.overrides) }

// Dir is the folder holding the sample files.
func (e *Simulator) Dir() string { return e.dir }
