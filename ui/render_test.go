package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/drnav/drnav/live"

	"github.com/drnav/drnav/incident"
)

// renderModel is a checklist in a fixed state: a step done, one failed,
// one running, one skipped, output present, clock 72 minutes in.
func renderModel(width, height int, ascii bool) Model {
	opts := testOptions()
	opts.ASCII = ascii
	m := New(opts)
	m.rb = opts.Runbooks[0]
	m.mode = ModeLive
	m.setEnv()
	m.journal = incident.NewMemJournal()
	m.screen = screenChecklist
	det := testNow.Add(-72 * time.Minute)
	for _, ev := range []incident.Event{
		declaredEvent(det, det),
		{Type: incident.EventVariableSet, Time: det, Name: "pod", Value: "agent-7d9f-abc"},
		{Type: incident.EventStepStarted, Time: det.Add(time.Minute), Step: "identify", Phase: "assess", Command: "echo hello; echo world"},
		{Type: incident.EventStepFinished, Time: det.Add(3 * time.Minute), Step: "identify", Duration: 2 * time.Minute},
		{Type: incident.EventStepStarted, Time: det.Add(4 * time.Minute), Step: "fail", Phase: "assess", Command: "echo oops >&2; exit 3"},
		{Type: incident.EventStepFinished, Time: det.Add(5 * time.Minute), Step: "fail", Exit: 3, Duration: time.Minute},
		{Type: incident.EventStepSkipped, Time: det.Add(6 * time.Minute), Step: "sleep", Reason: "not needed"},
		{Type: incident.EventStepStarted, Time: testNow.Add(-90 * time.Second), Step: "stop", Phase: "restore", Command: "k8s scale", Equivalent: "kubectl -n default scale deployment ci-failure-agent --replicas=0"},
		{Type: incident.EventNote, Time: testNow, Step: "stop", Text: "app owners informed"},
	} {
		m.apply(ev)
	}
	m.list.sel = 3
	for i := range 30 {
		m.outs["stop"] = append(m.outs["stop"], fmt.Sprintf("line %02d of the scale output", i+1))
	}
	m.clock = testNow
	m.panes.setNow(testNow)
	m.panes.setKube(live.KubeSnapshot{
		Context: "prod-east", Namespace: "default", Selector: "app=ci-failure-agent", Synced: true, Updated: testNow,
		Pods: []live.Pod{
			{Name: "agent-7d9f-abc", Ready: 0, Total: 1, Status: "CrashLoopBackOff", State: "crashloop", Restarts: 7, Created: testNow.Add(-2 * time.Hour)},
			{Name: "agent-7d9f-def", Ready: 1, Total: 1, Status: "Running", State: "running", Created: testNow.Add(-3 * time.Hour)},
		},
		Deployments: []live.Deployment{{Name: "ci-failure-agent", Desired: 2, Updated: 2, Ready: 1, Available: 1, Generation: 3, Observed: 3}},
	})
	m.panes.setDB(live.DBSnapshot{Up: true, Health: live.DBHealth{Latency: 2 * time.Millisecond, Connections: 14, MaxConnections: 100},
		Freshness: 2 * time.Minute, FreshnessKnown: true, RPO: 15 * time.Minute, Updated: testNow})
	mm, _ := m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	m = mm.(Model)
	m.refreshOutput()
	return m
}

var widths = []int{80, 120, 200}

func TestGoldenWidgets(t *testing.T) {
	t.Parallel()
	widgets := map[string]func(m Model) string{
		"header": func(m Model) string { return m.viewHeader() },
		"steps": func(m Model) string {
			d := m.dims()
			return m.viewSteps(d.listW, 12)
		},
		"detail": func(m Model) string {
			d := m.dims()
			return m.viewDetail(d.detailW, 20)
		},
		"footer": func(m Model) string { return m.viewFooter() },
		"confirm": func(m Model) string {
			m.openConfirm(m.runConfirm(m.selectedStep(), "Run destructive step?"))
			return m.viewConfirm()
		},
		"critical": func(m Model) string {
			m.list.sel = 4
			m.openConfirm(m.runConfirm(m.selectedStep(), "Run destructive step?"))
			return m.viewConfirm()
		},
		"overlay": func(m Model) string {
			mm, _ := m.Update(tea.WindowSizeMsg{Width: m.width, Height: 30})
			m = mm.(Model)
			m.openConfirm(m.runConfirm(m.selectedStep(), "Run destructive step?"))
			return m.render()
		},
		"picker": func(m Model) string { m.screen = screenPicker; return m.viewPicker() },
		"mode":   func(m Model) string { m.screen = screenMode; return m.viewMode() },
		"help":   func(m Model) string { return m.viewHelp() },
		// the panes' own renderers are another package's goldens: the
		// screen golden is taken at a height that collapses them
		"screen": func(m Model) string {
			mm, _ := m.Update(tea.WindowSizeMsg{Width: m.width, Height: 30})
			return mm.(Model).render()
		},
	}
	for name, render := range widgets {
		for _, w := range widths {
			t.Run(fmt.Sprintf("%s_%d", name, w), func(t *testing.T) {
				t.Parallel()
				m := renderModel(w, 40, false)
				out := ansi.Strip(render(m))
				for i, l := range strings.Split(out, "\n") {
					if lw := ansi.StringWidth(l); lw > w {
						t.Errorf("line %d is %d wide, terminal %d: %q", i, lw, w, l)
					}
				}
				golden.RequireEqual(t, out)
			})
		}
	}
}

func TestPanesShowSnapshots(t *testing.T) {
	t.Parallel()
	for _, w := range widths {
		m := renderModel(w, 40, false)
		out := ansi.Strip(m.render())
		for _, want := range []string{"agen", "ci-failure-agent", "PostgreSQL", "╭"} {
			if !strings.Contains(out, want) {
				t.Errorf("width %d: panes lack %q:\n%s", w, want, out)
			}
		}
		if n := len(strings.Split(out, "\n")); n != 40 {
			t.Errorf("width %d: %d lines, want 40", w, n)
		}
	}
}

func TestGoldenASCII(t *testing.T) {
	t.Parallel()
	m := renderModel(80, 24, true)
	out := ansi.Strip(m.render())
	for _, r := range out {
		if r > 127 {
			t.Fatalf("non-ASCII %q in ASCII mode:\n%s", r, out)
		}
	}
	golden.RequireEqual(t, out)
}

func TestNoColorHasNoColourCodes(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.NoColor = true
	m := New(opts)
	m.rb = opts.Runbooks[0]
	m.screen = screenChecklist
	out := m.render()
	if strings.Contains(out, "\x1b[3") || strings.Contains(out, "\x1b[38") || strings.Contains(out, ";38;") {
		t.Errorf("colour codes with NO_COLOR: %q", out)
	}
}

func BenchmarkView120x40(b *testing.B) {
	m := renderModel(120, 40, false)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		_ = m.View()
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/view")
}
