package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/where"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// harness is a tiny program loop: commands run in goroutines and their
// messages come back through Update on the test goroutine.
type harness struct {
	t    *testing.T
	m    Model
	msgs chan tea.Msg
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, m: New(opts), msgs: make(chan tea.Msg, 1024)}
	h.handle(tea.WindowSizeMsg{Width: 120, Height: 40})
	return h
}

func (h *harness) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() { h.msgs <- cmd() }()
}

func (h *harness) handle(msg tea.Msg) {
	switch msg := msg.(type) {
	case nil, tickMsg:
		return
	case tea.BatchMsg:
		for _, c := range msg {
			h.exec(c)
		}
		return
	}
	m, cmd := h.m.Update(msg)
	h.m = m.(Model)
	h.exec(cmd)
}

// until processes messages until cond holds, failing after a deadline.
func (h *harness) until(what string, cond func(m Model) bool) {
	h.t.Helper()
	deadline := time.After(90 * time.Second)
	for !cond(h.m) {
		select {
		case msg := <-h.msgs:
			h.handle(msg)
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s; screen:\n%s", what, h.screen())
		}
	}
}

// settle processes the messages that are ready now plus those that arrive
// within a short quiet period (for asserting that nothing happens).
func (h *harness) settle() {
	for {
		select {
		case msg := <-h.msgs:
			h.handle(msg)
		case <-time.After(150 * time.Millisecond):
			return
		}
	}
}

func (h *harness) press(keys ...string) {
	for _, k := range keys {
		h.handle(keyMsg(k))
	}
}

func (h *harness) typeText(s string) {
	for _, r := range s {
		h.handle(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func (h *harness) screen() string { return ansi.Strip(h.m.View().Content) }

func keyMsg(k string) tea.KeyPressMsg {
	special := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "tab": tea.KeyTab, "up": tea.KeyUp,
		"down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight, "pgup": tea.KeyPgUp,
		"pgdown": tea.KeyPgDown, "backspace": tea.KeyBackspace, "home": tea.KeyHome, "end": tea.KeyEnd,
	}
	if c, ok := special[k]; ok {
		return tea.KeyPressMsg{Code: c}
	}
	if rest, ok := strings.CutPrefix(k, "ctrl+"); ok {
		return tea.KeyPressMsg{Code: []rune(rest)[0], Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	msg := tea.KeyPressMsg{Code: r, Text: k}
	if r >= 'A' && r <= 'Z' {
		msg.Code = r + ('a' - 'A')
		msg.ShiftedCode = r
		msg.Mod = tea.ModShift
	}
	return msg
}

var testNow = time.Date(2026, 11, 25, 3, 30, 0, 0, time.UTC)

func intp(n int) *int { return &n }

// testRunbook has shell steps that succeed, fail, print a lot and sleep, a
// destructive and a critical step, and phases.
func testRunbook() *runbooks.Runbook {
	return &runbooks.Runbook{
		ID: "db-corruption", Title: "Database corruption", Impact: "Data integrity issues, application errors",
		NextReview: "2026-01-01", Related: []string{"docs/restore.md", "https://wiki.example/dr"},
		Variables: []runbooks.Variable{
			{Name: "pod", Prompt: "Failing pod", Default: "agent-7d9f-abc", Pattern: `[a-z0-9-]+`},
			{Name: "token", Prompt: "API token", Default: "s3cret", Secret: true},
		},
		Phases: []runbooks.Phase{
			{ID: "assess", Title: "Assess", Budget: runbooks.Duration{Duration: 15 * time.Minute}},
			{ID: "restore", Title: "Restore", Budget: runbooks.Duration{Duration: 2 * time.Hour}},
		},
		Steps: []runbooks.Step{
			{ID: "identify", Title: "Identify corruption", Phase: "assess", Why: "Know what is broken before touching it.",
				Expect: "two lines", Run: "echo hello; echo world", Hints: []runbooks.Hint{{Text: "look at the logs"}, {Text: "run amcheck"}}},
			{ID: "fail", Title: "A step that fails", Phase: "assess", Run: "echo oops >&2; exit 3"},
			{ID: "sleep", Title: "Slow step", Phase: "assess", Run: "sleep 30"},
			{ID: "stop", Title: "Stop application writes", Phase: "restore", Destructive: true,
				Why: "Restoring while the app writes would lose data.",
				K8s: &runbooks.K8sAction{Action: runbooks.K8sScale, Deployment: "ci-failure-agent", Replicas: intp(0)}},
			{ID: "delete", Title: "Delete the failing pod", Phase: "restore", Critical: true, Destructive: true,
				K8s: &runbooks.K8sAction{Action: runbooks.K8sDeletePod, Pod: "{{pod}}"}},
			{ID: "many", Title: "Print a lot", Phase: "restore", Run: "seq 1 400"},
		},
	}
}

// The resolved LIVE targets of the test environment: kubeconfig context
// lab, its failover dr-west, and the database.
var (
	testKube     = where.Kube{Context: "lab", Cluster: "lab-cluster", Server: "https://10.1.0.1:6443", Namespace: "default", User: "lab-admin"}
	testFailover = where.Kube{Context: "dr-west", Cluster: "dr-cluster", Server: "https://10.2.0.1:6443", Namespace: "default", User: "dr-admin"}
	testDB       = where.DB{Hosts: []string{"db1:5432"}, Database: "app", User: "dr"}
)

func testOptions() Options {
	cfg := config.Default()
	live := testEnvironment(cfg, ModeLive)
	live.Context, live.Database = "lab", testDB.String()
	live.KubeWhere, live.FailoverWhere, live.DBWhere = &testKube, &testFailover, &testDB
	drill := testEnvironment(cfg, ModeDrill)
	drill.Context, drill.Database = "drill-sim", "simulated"
	return Options{
		Runbooks: []*runbooks.Runbook{testRunbook()},
		Config:   cfg,
		Mode:     ModeLive,
		Live:     live,
		Drill:    drill,
		Now:      func() time.Time { return testNow },
	}
}

// testEnvironment is an environment built as main builds one (the target
// from config, a drill's shell shown only), without cluster or database.
func testEnvironment(cfg config.Config, mode Mode) *Environment {
	t := steps.BaseTarget(cfg)
	if mode == ModeDrill {
		t.ShowShellOnly(cfg.Drill.AllowShell, "")
	}
	return &Environment{Target: &t}
}

// declared returns a harness on the checklist of a declared live incident
// with its in-memory journal.
func declared(t *testing.T, opts Options) (*harness, *incident.MemJournal) {
	t.Helper()
	j := incident.NewMemJournal()
	opts.NewJournal = func(d incident.Event) (Journal, error) { return j, j.Append(d) }
	h := newHarness(t, opts)
	h.press("enter") // picker: the only runbook
	h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
	h.press("enter", "enter", "enter")
	h.until("checklist", func(m Model) bool { return m.screen == screenChecklist && m.journal != nil })
	h.m.overlay = ovNone // drill briefing
	return h, j
}

func kinds(evs []incident.Event) []string {
	var k []string
	for _, e := range evs {
		k = append(k, e.Type)
	}
	return k
}

// holder is the person last assigned to a role ("" when none).
func holder(s incident.State, role string) string {
	p, _ := s.RoleHolder(role)
	return p
}

// declaredEvent is the declared event of a live db-corruption incident of the
// test runbook, as the UI records it.
func declaredEvent(at, detected time.Time) incident.Event {
	rb := testRunbook()
	return incident.Event{Type: incident.EventDeclared, Time: at, Declared: &incident.Declared{
		RunbookID: rb.ID, RunbookTitle: rb.Title, Mode: incident.ModeLive, Detected: detected,
		RTO: testOptions().Config.RTO.Duration, Phases: incident.PhasesOf(rb), At: at,
	}}
}
