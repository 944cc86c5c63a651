package steps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drnav/drnav/internal/proc"
	"github.com/drnav/drnav/runbooks"
)

// Verify defaults.
const (
	DefaultVerifyWithin   = 2 * time.Minute
	DefaultVerifyInterval = 2 * time.Second
	// BackupCommandTimeout bounds a freshness or region command.
	BackupCommandTimeout = 30 * time.Second
	defaultRPO           = 15 * time.Minute
	// pollTimeout bounds one verify poll that starts near the deadline.
	pollTimeout = 10 * time.Second
)

// permanentError is a verify failure polling cannot fix (missing config).
type permanentError struct{ msg string }

func (e permanentError) Error() string { return e.msg }

// check is one evaluated condition.
type check struct {
	ok     bool
	detail string
	err    error
}

// runVerify polls the condition until it holds, Within passes or ctx ends.
func runVerify(ctx context.Context, r *Run, st runbooks.Step, v *runbooks.Verify, t Target) Event {
	within := v.Within.Duration
	if within <= 0 {
		within = DefaultVerifyWithin
	}
	interval := v.Interval.Duration
	if interval <= 0 {
		interval = DefaultVerifyInterval
	}
	deadline := time.Now().Add(within)
	vctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	for attempt := 1; ; attempt++ {
		// A poll started before the deadline may finish after it.
		pctx, pcancel := context.WithTimeout(ctx, max(time.Until(deadline), pollTimeout))
		ok, detail, perm := evalVerify(pctx, st, v, t)
		pcancel()
		final := ok || perm || vctx.Err() != nil || !time.Now().Add(interval).Before(deadline)
		r.emit(Event{Kind: EventVerify, Verify: VerifyPoll{Attempt: attempt, OK: ok, Detail: detail, Final: final}})
		if ok {
			return Event{ExitCode: ExitOK, Verified: boolPtr(true)}
		}
		if ctx.Err() != nil {
			code, msg := ctxExit(ctx, "verify")
			return Event{ExitCode: code, Err: msg + ": " + detail, Verified: boolPtr(false)}
		}
		if perm {
			return Event{ExitCode: ExitFailed, Err: "verify: " + detail, Verified: boolPtr(false)}
		}
		if final {
			return Event{ExitCode: ExitFailed, Err: fmt.Sprintf("verify: not met within %s: %s", within, detail), Verified: boolPtr(false)}
		}
		tm := time.NewTimer(interval)
		select {
		case <-vctx.Done():
		case <-tm.C:
		}
		tm.Stop()
	}
}

// evalVerify evaluates every condition set; all must hold.
func evalVerify(ctx context.Context, st runbooks.Step, v *runbooks.Verify, t Target) (ok bool, detail string, permanent bool) {
	var checks []check
	dep := v.Deployment
	if dep == "" && st.K8s != nil {
		dep = st.K8s.Deployment
	}
	ctxName, ns := v.Context, v.Namespace
	if ctxName == "" && st.K8s != nil {
		ctxName = st.K8s.Context
	}
	if ns == "" && st.K8s != nil {
		ns = st.K8s.Namespace
	}
	if v.Replicas != nil || v.Ready != nil || v.Available != nil {
		checks = append(checks, checkDeployment(ctx, t, ctxName, ns, dep, v))
	}
	if v.PodsReady != "" || v.NoCrashLoop != "" {
		checks = append(checks, checkPods(ctx, t, ctxName, ns, v)...)
	}
	if v.SQL != "" {
		checks = append(checks, checkSQL(ctx, t, v))
	}
	if v.URL != "" {
		checks = append(checks, checkURL(ctx, v))
	}
	if v.BackupMaxAge.Duration > 0 {
		checks = append(checks, checkBackupMaxAge(ctx, t, v.BackupMaxAge.Duration))
	}
	if v.BackupRetention.Duration > 0 {
		checks = append(checks, checkBackupRetention(t, v.BackupRetention.Duration))
	}
	if v.BackupRegions {
		checks = append(checks, checkBackupRegions(ctx, t, v.BackupMaxAge.Duration))
	}
	if len(checks) == 0 {
		return false, "verify sets no condition", true
	}
	ok = true
	var parts []string
	for _, c := range checks {
		d := c.detail
		if c.err != nil {
			ok = false
			d = c.err.Error()
			var pe permanentError
			if errors.As(c.err, &pe) {
				permanent = true
			}
		} else if !c.ok {
			ok = false
		}
		parts = append(parts, d)
	}
	return ok, strings.Join(parts, "; "), permanent
}

func checkDeployment(ctx context.Context, t Target, ctxName, ns, dep string, v *runbooks.Verify) check {
	if dep == "" {
		return check{err: permanentError{"verify: deployment is required for replicas/ready/available"}}
	}
	k, err := resolveKube(t, ctxName, ns)
	if err != nil {
		return check{err: err}
	}
	d, err := k.cs.AppsV1().Deployments(k.ns).Get(ctx, dep, metav1.GetOptions{})
	if err != nil {
		return check{err: fmt.Errorf("deployment %s: %w", dep, err)}
	}
	spec := int32(1)
	if d.Spec.Replicas != nil {
		spec = *d.Spec.Replicas
	}
	ok := true
	var parts []string
	if v.Replicas != nil {
		n := int32(*v.Replicas)
		good := spec == n && d.Status.Replicas == n
		ok = ok && good
		parts = append(parts, fmt.Sprintf("replicas %d/%d (want %d)", d.Status.Replicas, spec, n))
	}
	if v.Ready != nil {
		n := int32(*v.Ready)
		ok = ok && d.Status.ReadyReplicas == n
		parts = append(parts, fmt.Sprintf("ready %d/%d", d.Status.ReadyReplicas, n))
	}
	if v.Available != nil {
		n := int32(*v.Available)
		ok = ok && d.Status.AvailableReplicas == n
		parts = append(parts, fmt.Sprintf("available %d/%d", d.Status.AvailableReplicas, n))
	}
	return check{ok: ok, detail: "deployment " + dep + " " + strings.Join(parts, ", ")}
}

func checkPods(ctx context.Context, t Target, ctxName, ns string, v *runbooks.Verify) []check {
	k, err := resolveKube(t, ctxName, ns)
	if err != nil {
		return []check{{err: err}}
	}
	var out []check
	list := func(sel string) ([]podView, error) {
		pl, err := k.cs.CoreV1().Pods(k.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("list pods %s: %w", sel, err)
		}
		var ps []podView
		for i := range pl.Items {
			p := &pl.Items[i]
			if p.DeletionTimestamp != nil || p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" {
				continue
			}
			ps = append(ps, podView{name: p.Name, ready: podReady(p), crash: podCrashLooping(p)})
		}
		return ps, nil
	}
	if v.PodsReady != "" {
		ps, err := list(v.PodsReady)
		if err != nil {
			out = append(out, check{err: err})
		} else {
			ready := 0
			for _, p := range ps {
				if p.ready {
					ready++
				}
			}
			out = append(out, check{ok: len(ps) > 0 && ready == len(ps), detail: fmt.Sprintf("pods ready %d/%d (%s)", ready, len(ps), v.PodsReady)})
		}
	}
	if v.NoCrashLoop != "" {
		ps, err := list(v.NoCrashLoop)
		if err != nil {
			out = append(out, check{err: err})
		} else {
			var bad []string
			for _, p := range ps {
				if p.crash {
					bad = append(bad, p.name)
				}
			}
			d := fmt.Sprintf("crash-looping %d/%d", len(bad), len(ps))
			if len(bad) > 0 {
				d += " (" + strings.Join(bad, ", ") + ")"
			}
			out = append(out, check{ok: len(bad) == 0, detail: d})
		}
	}
	return out
}

type podView struct {
	name         string
	ready, crash bool
}

func checkSQL(ctx context.Context, t Target, v *runbooks.Verify) check {
	if t.DB == nil {
		return check{err: permanentError{"verify sql: no database configured"}}
	}
	tab, err := t.DB.Query(ctx, v.Database, v.SQL)
	if err != nil {
		return check{err: fmt.Errorf("verify sql: %w", err)}
	}
	got := ""
	if len(tab.Rows) > 0 && len(tab.Rows[0]) > 0 {
		got = tab.Rows[0][0]
	} else {
		return check{detail: fmt.Sprintf("sql returned no rows (want %q)", v.Equals)}
	}
	return check{ok: got == v.Equals, detail: fmt.Sprintf("sql got %q (want %q)", got, v.Equals)}
}

func checkURL(ctx context.Context, v *runbooks.Verify) check {
	want := v.Status
	if want == 0 {
		want = http.StatusOK
	}
	code, err := httpGet(ctx, v.URL)
	if err != nil {
		return check{err: fmt.Errorf("GET %s: %w", v.URL, err)}
	}
	return check{ok: code == want, detail: fmt.Sprintf("GET %s → %d (want %d)", v.URL, code, want)}
}

// ---- backup policy checks ----

func (t Target) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// newestBackup returns the time of the newest backup: from the freshness
// command when configured, else the newest file in the backup folder.
func newestBackup(ctx context.Context, t Target) (time.Time, string, error) {
	if t.Backup.FreshnessCommand != "" {
		ts, err := commandTimestamp(ctx, t, t.Backup.FreshnessCommand)
		if err != nil {
			return time.Time{}, "", fmt.Errorf("freshness command: %w", err)
		}
		return ts, "freshness command", nil
	}
	files, err := backupFiles(t)
	if err != nil {
		return time.Time{}, "", err
	}
	if len(files) == 0 {
		return time.Time{}, "", nil
	}
	newest := files[0]
	for _, f := range files[1:] {
		if f.mod.After(newest.mod) {
			newest = f
		}
	}
	return newest.mod, newest.name, nil
}

type backupFile struct {
	name string
	mod  time.Time
}

func backupFiles(t Target) ([]backupFile, error) {
	if t.Backup.Dir == "" {
		return nil, permanentError{"no backup folder configured ([backup] dir)"}
	}
	ents, err := os.ReadDir(t.Backup.Dir)
	if err != nil {
		return nil, fmt.Errorf("backup folder: %w", err)
	}
	var out []backupFile
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, backupFile{name: filepath.Join(t.Backup.Dir, e.Name()), mod: fi.ModTime()})
	}
	return out, nil
}

func checkBackupMaxAge(ctx context.Context, t Target, limit time.Duration) check {
	ts, src, err := newestBackup(ctx, t)
	if err != nil {
		return check{err: err}
	}
	if ts.IsZero() {
		return check{detail: fmt.Sprintf("no backup found in %s (limit %s)", t.Backup.Dir, limit)}
	}
	a := t.now().Sub(ts)
	return check{ok: a <= limit, detail: fmt.Sprintf("newest backup %s old (limit %s, %s)", fmtDur(a), limit, filepath.Base(src))}
}

func checkBackupRetention(t Target, keep time.Duration) check {
	files, err := backupFiles(t)
	if err != nil {
		return check{err: err}
	}
	if len(files) == 0 {
		return check{detail: fmt.Sprintf("no backup kept in %s (retention %s)", t.Backup.Dir, fmtDur(keep))}
	}
	oldest := files[0]
	for _, f := range files[1:] {
		if f.mod.Before(oldest.mod) {
			oldest = f
		}
	}
	a := t.now().Sub(oldest.mod)
	return check{ok: a >= keep, detail: fmt.Sprintf("oldest kept backup %s old (retention %s, %s)", fmtDur(a), fmtDur(keep), filepath.Base(oldest.name))}
}

func checkBackupRegions(ctx context.Context, t Target, limit time.Duration) check {
	if len(t.Backup.Regions) == 0 {
		return check{err: permanentError{"no backup regions configured ([[backup.regions]] with name and command)"}}
	}
	if limit <= 0 {
		limit = t.RPO
	}
	if limit <= 0 {
		limit = defaultRPO
	}
	ok := true
	var parts []string
	for _, reg := range t.Backup.Regions {
		ts, err := commandTimestamp(ctx, t, reg.Command)
		if err != nil {
			ok = false
			parts = append(parts, fmt.Sprintf("region %s: %v", reg.Name, err))
			continue
		}
		a := t.now().Sub(ts)
		mark := "ok"
		if a > limit {
			ok = false
			mark = "too old"
		}
		parts = append(parts, fmt.Sprintf("region %s %s old (%s)", reg.Name, fmtDur(a), mark))
	}
	return check{ok: ok, detail: strings.Join(parts, ", ") + fmt.Sprintf(" (limit %s)", limit)}
}

// commandTimestamp runs a shell command and parses the last non-empty line
// of its output as a timestamp.
func commandTimestamp(ctx context.Context, t Target, script string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, BackupCommandTimeout)
	defer cancel()
	return proc.Timestamp(ctx, shellPrelude+script, shellEnv(t), t.Dir)
}

// describeVerify says in words what a verify waits for.
func describeVerify(v *runbooks.Verify) string {
	if v == nil {
		return ""
	}
	var p []string
	dep := v.Deployment
	if dep == "" {
		dep = "the deployment"
	}
	if v.Replicas != nil {
		p = append(p, fmt.Sprintf("%s has %d replicas", dep, *v.Replicas))
	}
	if v.Ready != nil {
		p = append(p, fmt.Sprintf("%s has %d ready", dep, *v.Ready))
	}
	if v.Available != nil {
		p = append(p, fmt.Sprintf("%s has %d available", dep, *v.Available))
	}
	if v.PodsReady != "" {
		p = append(p, "all pods "+v.PodsReady+" are ready")
	}
	if v.NoCrashLoop != "" {
		p = append(p, "no pod "+v.NoCrashLoop+" crash-loops")
	}
	if v.SQL != "" {
		p = append(p, fmt.Sprintf("%q returns %q", v.SQL, v.Equals))
	}
	if v.URL != "" {
		st := v.Status
		if st == 0 {
			st = 200
		}
		p = append(p, fmt.Sprintf("GET %s returns %d", v.URL, st))
	}
	if v.BackupMaxAge.Duration > 0 {
		p = append(p, "the newest backup is at most "+v.BackupMaxAge.String()+" old")
	}
	if v.BackupRetention.Duration > 0 {
		p = append(p, "the oldest kept backup is at least "+fmtDur(v.BackupRetention.Duration)+" old")
	}
	if v.BackupRegions {
		p = append(p, "every region holds a fresh copy")
	}
	return strings.Join(p, " and ")
}

// verifyEquivalent is a command a person could type to check the condition.
func verifyEquivalent(v *runbooks.Verify, st runbooks.Step, t Target) string {
	if v == nil {
		return ""
	}
	// The same context and namespace the check reads (the failover region's
	// for context = "failover"), so the line a person copies asks the same
	// cluster.
	kubectl := func(args ...string) string {
		k, err := resolveKube(t, v.Context, v.Namespace)
		if err != nil {
			ns := v.Namespace
			if ns == "" {
				ns = t.Namespace
			}
			k = kubeTarget{ns: cmp.Or(ns, "default")}
		}
		k.dryRun = false
		return k.kubectl(args...)
	}
	switch {
	case v.Deployment != "":
		return kubectl("get", "deployment", v.Deployment)
	case v.PodsReady != "":
		return kubectl("get", "pods", "-l", v.PodsReady)
	case v.NoCrashLoop != "":
		return kubectl("get", "pods", "-l", v.NoCrashLoop)
	case v.SQL != "" && t.DB != nil:
		return t.DB.Describe(v.Database) + " -c " + shq(v.SQL)
	case v.URL != "":
		return "curl -sS -o /dev/null -w '%{http_code}\\n' " + shq(v.URL)
	case v.BackupMaxAge.Duration > 0 || v.BackupRetention.Duration > 0:
		if t.Backup.FreshnessCommand != "" && v.BackupRetention.Duration == 0 {
			return t.Backup.FreshnessCommand
		}
		return "ls -lt " + shq(t.Backup.Dir)
	}
	return ""
}
