package panes

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/drnav/drnav/live"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func pods() []live.Pod {
	return []live.Pod{
		{Name: "ci-failure-agent-7d9f8b6c4-x2k9p", Ready: 0, Total: 1, Status: "CrashLoopBackOff", State: "crashloop", Restarts: 7, Created: now.Add(-26 * time.Minute), Node: "ip-10-0-1-17.eu-west-1.compute.internal", Severity: live.SeverityFail},
		{Name: "ci-failure-agent-7d9f8b6c4-pq4zt", Ready: 0, Total: 1, Status: "Unschedulable", State: "pending", Created: now.Add(-3 * time.Minute), Severity: live.SeverityWarn},
		{Name: "ci-failure-agent-5c6d7e8f9-abcde", Ready: 1, Total: 1, Status: "Running", State: "running", Restarts: 1, Created: now.Add(-50 * time.Hour), Node: "node-a", Severity: live.SeverityOK},
		{Name: "ci-failure-agent-5c6d7e8f9-fghij", Ready: 1, Total: 1, Status: "Running", State: "running", Created: now.Add(-50 * time.Hour), Node: "node-b", Severity: live.SeverityOK},
	}
}

func deployments() []live.Deployment {
	return []live.Deployment{
		{Name: "ci-failure-agent", Desired: 3, Updated: 2, Ready: 2, Available: 2, Generation: 5, Observed: 5, NewRS: "ci-failure-agent-7d9f8b6c4", NewReplicas: 2, NewReady: 2, OldReplicas: 1, RollingOut: true, Revision: "4"},
		{Name: "postgres", Desired: 1, Updated: 1, Ready: 1, Available: 1, Generation: 1, Observed: 1, Revision: "1"},
	}
}

func kubeSnaps() map[string]live.KubeSnapshot {
	ok := live.KubeSnapshot{Context: "prod", Namespace: "default", Selector: "app=ci-failure-agent", Pods: pods(),
		Deployments: deployments(), Synced: true, Updated: now,
		Counts: []live.StateCount{{State: "running", N: 2}, {State: "crashloop", N: 1, Severity: 2}, {State: "pending", N: 1, Severity: 1}}}
	forbidden := live.KubeSnapshot{Context: "prod", Selector: "app=ci-failure-agent", Updated: now,
		Err: `forbidden: cannot list pods in namespace "default" (user "bob")`, Forbidden: `cannot list pods in namespace "default" (user "bob")`,
		NextRetry: now.Add(3500 * time.Millisecond)}
	stale := ok
	stale.Err = `API server unreachable: Get "https://10.0.0.1:6443/api/v1/namespaces/default/pods": dial tcp 10.0.0.1:6443: connect: connection refused`
	stale.NextRetry = now.Add(16 * time.Second)
	syncing := live.KubeSnapshot{Context: "prod", Selector: "app=ci-failure-agent", Updated: now}
	empty := live.KubeSnapshot{Context: "dr", Selector: "app=ci-failure-agent", Updated: now, Synced: true}
	return map[string]live.KubeSnapshot{"ok": ok, "forbidden": forbidden, "stale": stale, "syncing": syncing, "empty": empty}
}

func dbSnaps() map[string]live.DBSnapshot {
	health := live.DBHealth{Latency: 2100 * time.Microsecond, Version: "16.4", Connections: 14, MaxConnections: 100,
		SizeBytes: 1288490188, LastArchived: now.Add(-2 * time.Minute)}
	up := live.DBSnapshot{Up: true, Health: health, Freshness: 2 * time.Minute, FreshnessKnown: true,
		FreshnessSource: live.FreshnessWAL, RPO: 15 * time.Minute, RPOState: live.RPOOK, Updated: now}
	standby := up
	standby.Health.Standby, standby.Health.HasReplication, standby.Health.ReplicationLag = true, true, 3*time.Second
	standby.Health.Connections, standby.Health.ArchiveFailed = 95, 3
	amber := up
	amber.Freshness, amber.FreshnessSource, amber.FreshnessErr = 13*time.Minute, live.FreshnessFolder, "freshness command: exit status 1: AccessDenied"
	down := live.DBSnapshot{Up: false, Health: health, Err: "connect: failed to connect to `user=drnav database=postgres`: 127.0.0.1:5432 (127.0.0.1): dial error: dial tcp 127.0.0.1:5432: connect: connection refused",
		NextRetry: now.Add(4 * time.Second), Freshness: 20 * time.Minute, FreshnessKnown: true, FreshnessSource: live.FreshnessWAL,
		RPO: 15 * time.Minute, RPOState: live.RPORed, Updated: now}
	unknown := live.DBSnapshot{Up: false, Err: "connect: no answer in time", NextRetry: now.Add(30 * time.Second), RPO: 15 * time.Minute, Updated: now}
	// the failover region's database after a restore, named by region and address
	failover := up
	failover.Server, failover.Region = "10.1.0.5:5432/app", "failover"
	failover.Health.SizeBytes, failover.Health.Tables, failover.Health.TablesKnown = 8_000_000, 2, true
	failoverDown := down
	failoverDown.Server, failoverDown.Region = "10.1.0.5:5432/app", "failover"
	return map[string]live.DBSnapshot{"up": up, "standby": standby, "amber": amber, "down": down, "unknown": unknown,
		"failover": failover, "failover-down": failoverDown}
}

type viewer interface {
	SetSize(w, h int)
	View() string
}

// allPanes builds every pane in every state.
func allPanes(st Styles) map[string]viewer {
	out := map[string]viewer{}
	for name, s := range kubeSnaps() {
		p := NewPodsPane(st)
		p.Now = now
		p.SetSnapshot(s)
		out["pods-"+name] = p
		d := NewDeploymentPane(st)
		d.Now = now
		d.SetSnapshots(s)
		out["deploy-"+name] = d
	}
	two := NewDeploymentPane(st)
	two.Now = now
	k := kubeSnaps()
	failover := k["ok"]
	failover.Context = "dr-west"
	failover.Deployments = []live.Deployment{{Name: "ci-failure-agent", Desired: 3, Updated: 3, Ready: 3, Available: 3}}
	two.Names = []string{"ci-failure-agent", "postgres"}
	two.SetSnapshots(k["ok"], failover)
	out["deploy-two"] = two
	twoErr := NewDeploymentPane(st)
	twoErr.Now = now
	twoErr.SetSnapshots(k["stale"], failover)
	out["deploy-two-err"] = twoErr
	for name, s := range dbSnaps() {
		d := NewDBPane(st)
		d.Now = now
		d.SetSnapshot(s)
		out["db-"+name] = d
	}
	out["pods-nodata"] = NewPodsPane(st)
	out["db-nodata"] = NewDBPane(st)
	return out
}

func TestGolden(t *testing.T) {
	t.Parallel()
	variants := map[string]Styles{
		"color": NewStyles(true, false),
		"ascii": NewStyles(false, true).WithASCII(true),
	}
	for vname, st := range variants {
		for name, p := range allPanes(st) {
			if vname == "ascii" && !strings.HasSuffix(name, "-ok") && !strings.HasSuffix(name, "-down") && name != "deploy-two" {
				continue
			}
			for _, w := range []int{40, 80, 120} {
				for _, h := range []int{2, 8} {
					t.Run(fmt.Sprintf("%s/%s/%dx%d", vname, name, w, h), func(t *testing.T) {
						p.SetSize(w, h)
						golden.RequireEqual(t, ansi.Strip(p.View())+"\n")
					})
				}
			}
		}
	}
}

// TestSizes checks every pane in every state fills exactly w x h at widths
// 26..120 and heights 0..10, and that ASCII mode draws no Unicode.
func TestSizes(t *testing.T) {
	t.Parallel()
	var widths []int
	for w := 26; w <= 120; w++ {
		if w <= 45 || w%10 == 0 || w == 79 || w == 81 || w == 119 {
			widths = append(widths, w)
		}
	}
	for _, st := range []Styles{NewStyles(true, false), NewStyles(true, true).WithASCII(true)} {
		for name, p := range allPanes(st) {
			for _, w := range widths {
				for _, h := range []int{0, 1, 2, 3, 4, 6, 10} {
					p.SetSize(w, h)
					v := p.View()
					if h == 0 {
						if v != "" {
							t.Fatalf("%s %dx%d: %q, want empty", name, w, h, v)
						}
						continue
					}
					lines := strings.Split(v, "\n")
					if len(lines) != h {
						t.Fatalf("%s %dx%d: %d lines:\n%s", name, w, h, len(lines), ansi.Strip(v))
					}
					for i, l := range lines {
						if got := ansi.StringWidth(l); got != w {
							t.Fatalf("%s %dx%d: line %d is %d wide: %q", name, w, h, i, got, ansi.Strip(l))
						}
						if st.ASCII {
							for _, r := range ansi.Strip(l) {
								if r > 126 {
									t.Fatalf("%s %dx%d: non-ASCII %q in %q", name, w, h, r, ansi.Strip(l))
								}
							}
						}
					}
					if st.NoColor && strings.Contains(v, "\x1b[38") {
						t.Fatalf("%s: colour under NO_COLOR: %q", name, v)
					}
				}
			}
		}
	}
}

func manyPods(n int) live.KubeSnapshot {
	ps := make([]live.Pod, n)
	for i := range ps {
		ps[i] = live.Pod{Name: fmt.Sprintf("agent-%05d", i), Ready: 1, Total: 1, Status: "Running", State: "running",
			Created: now.Add(-time.Hour), Node: "node-1"}
	}
	return live.KubeSnapshot{Context: "prod", Selector: "app=x", Pods: ps, Synced: true,
		Counts: []live.StateCount{{State: "running", N: n}}}
}

func TestPodsScrollAndSelect(t *testing.T) {
	t.Parallel()
	p := NewPodsPane(NewStyles(true, true))
	p.Now = now
	if _, ok := p.Selected(); ok {
		t.Fatal("selection in an empty pane")
	}
	p.SetSize(60, 7) // title, header, 5 rows
	p.SetSnapshot(manyPods(100))
	for range 7 {
		p.Down()
	}
	if name, ok := p.Selected(); !ok || name != "agent-00007" {
		t.Fatalf("selected %q %v", name, ok)
	}
	v := ansi.Strip(p.View())
	if !strings.Contains(v, "▶ agent-00007") || strings.Contains(v, "agent-00002") || !strings.Contains(v, "agent-00003") || !strings.Contains(v, "8/100") {
		t.Fatalf("window wrong:\n%s", v)
	}
	// A new snapshot with the selected pod moved keeps it selected.
	s := manyPods(100)
	s.Pods = append([]live.Pod{{Name: "agent-bad", Status: "CrashLoopBackOff", Severity: live.SeverityFail}}, s.Pods...)
	p.SetSnapshot(s)
	if name, _ := p.Selected(); name != "agent-00007" {
		t.Fatalf("selection lost: %q", name)
	}
	p.Bottom()
	p.Down()
	if name, _ := p.Selected(); name != "agent-00099" {
		t.Fatalf("bottom = %q", name)
	}
	p.Top()
	p.Up()
	if name, _ := p.Selected(); name != "agent-bad" {
		t.Fatalf("top = %q", name)
	}
	p.PageDown()
	if p.Index() != 5 {
		t.Fatalf("page down index = %d", p.Index())
	}
	// The selected pod vanishes: the selection stays in range.
	p.SetSnapshot(manyPods(3))
	if name, ok := p.Selected(); !ok || name != "agent-00002" {
		t.Fatalf("after shrink %q %v", name, ok)
	}
}

func TestRetryText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{3500 * time.Millisecond, "retry in 4s"}, {4 * time.Second, "retry in 4s"}, {0, "retrying…"}, {-time.Second, "retrying…"},
		{90 * time.Second, "retry in 90s"}, {150 * time.Second, "retry in 2m30s"},
	}
	for _, tt := range tests {
		if got := retryText(NewStyles(true, false), now, now.Add(tt.d)); got != tt.want {
			t.Errorf("retryText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func BenchmarkPodsPaneRender(b *testing.B) {
	p := NewPodsPane(NewStyles(true, false))
	p.Now = now
	p.SetSize(120, 15)
	p.SetSnapshot(manyPods(10000))
	for range 5000 {
		p.Down()
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.View()
	}
}
