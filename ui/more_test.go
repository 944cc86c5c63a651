package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

func TestVerifyRerunsVerificationOnly(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	opts := testOptions()
	rb := opts.Runbooks[0]
	rb.Steps[0].Verify = &runbooks.Verify{URL: srv.URL, Status: 200,
		Within: runbooks.Duration{Duration: 5 * time.Second}, Interval: runbooks.Duration{Duration: 50 * time.Millisecond}}
	h, j := declared(t, opts)
	before := len(j.Events())
	h.press("v")
	h.until("verified", func(m Model) bool {
		st := m.inc.Steps["identify"]
		return m.run == nil && st != nil && len(st.Verifications) > 0
	})
	if st := h.m.inc.Steps["identify"]; !st.Verifications[len(st.Verifications)-1].OK || st.Status != incident.StepPending {
		t.Errorf("verify: verified %v status %v (want true, still pending)", st.Verifications[len(st.Verifications)-1].OK, st.Status)
	}
	for _, e := range j.Events()[before:] {
		if e.Type == incident.EventStepStarted || e.Type == incident.EventStepFinished {
			t.Errorf("verification recorded as a run: %+v", e)
		}
	}
	h.press("down", "v")
	if !strings.Contains(h.m.flash, "no verify condition") {
		t.Errorf("flash = %q", h.m.flash)
	}
}

func TestDocumentsPagerAndURLs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	doc := filepath.Join(dir, "restore.md")
	if err := os.WriteFile(doc, []byte("# Restore\n\nStep one: breathe.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Runbooks[0].Related = []string{doc, "https://wiki.example/dr"}
	h, _ := declared(t, opts)
	h.press("d")
	if !strings.Contains(h.screen(), "https://wiki.example/dr") {
		t.Fatalf("docs list:\n%s", h.screen())
	}
	h.press("enter")
	h.until("pager", func(m Model) bool { return m.overlay == ovPager })
	if !strings.Contains(h.screen(), "Step one: breathe.") {
		t.Errorf("pager:\n%s", h.screen())
	}
	h.press("esc", "down", "enter")
	if h.m.overlay != ovDocs || !strings.Contains(h.m.flash, "not opened") {
		t.Errorf("URL handling: overlay %v flash %q", h.m.overlay, h.m.flash)
	}
}

func TestDeclareChoicesFromLiveState(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Runbooks[0].Variables[0].Source = runbooks.SourceUnreadyPods
	opts.Live.Choices = func(_ context.Context, src string) ([]string, error) {
		if src != runbooks.SourceUnreadyPods {
			t.Errorf("source = %q", src)
		}
		return []string{"web-1", "web-2"}, nil
	}
	h := newHarness(t, opts)
	h.press("enter")
	h.until("choices", func(m Model) bool { return len(m.decl.fields) > 1 && len(m.decl.fields[1].choices) == 2 })
	h.press("enter")
	// From the empty field ctrl+n takes the first choice, then the next;
	// ctrl+p goes back.
	for _, c := range []struct{ key, want string }{{"ctrl+n", "web-1"}, {"ctrl+n", "web-2"}, {"ctrl+n", "web-1"}, {"ctrl+p", "web-2"}} {
		h.press(c.key)
		if got := h.m.decl.fields[1].input.Value(); got != c.want {
			t.Fatalf("%s: choice = %q, want %s", c.key, got, c.want)
		}
	}
	h.m.decl.fields[1].input.SetValue("typed")
	h.press("ctrl+p")
	if got := h.m.decl.fields[1].input.Value(); got != "web-2" {
		t.Errorf("ctrl+p from a typed value: %q, want the last choice web-2", got)
	}
	if !strings.Contains(h.screen(), "2 live choices") {
		t.Errorf("choices not shown:\n%s", h.screen())
	}
}

func TestBackgroundColourRestyles(t *testing.T) {
	t.Parallel()
	h, _ := declared(t, testOptions())
	h.handle(tea.BackgroundColorMsg{Color: lipgloss.Color("#ffffff")})
	if h.m.isDark {
		t.Errorf("white background read as dark")
	}
	h.handle(tea.BackgroundColorMsg{Color: lipgloss.Color("#000000")})
	if !h.m.isDark {
		t.Errorf("black background read as light")
	}
}

func TestStaleRunEventsDropped(t *testing.T) {
	t.Parallel()
	h, _ := declared(t, testOptions())
	// A run is active, so the message reaches the id comparison itself.
	h.press("down", "down", "enter") // "Slow step": sleep 30
	h.until("slow step running", func(m Model) bool { return m.run != nil && m.run.handle != nil })
	stale := h.m.run.id - 1
	h.handle(runEventsMsg{id: stale, events: []incident.Event{{Type: incident.EventStepFinished, Step: "identify"}}, done: true})
	if h.m.stepStatus(0) != incident.StepPending {
		t.Errorf("stale event applied: identify is %v", h.m.stepStatus(0))
	}
	if h.m.run == nil || h.m.run.id != stale+1 {
		t.Fatalf("a stale message ended the active run: %+v", h.m.run)
	}
	h.m.run.handle.Cancel()
}

func TestMakeEnvBuildsEnvironmentAfterChoice(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Mode = ModeAsk
	opts.Runbooks[0].Variables[0].Config = "deployment"
	var gotMode Mode
	closed := false
	opts.MakeEnv = func(_ context.Context, mode Mode, rb *runbooks.Runbook) (*Environment, error) {
		gotMode = mode
		base := steps.Target{Dir: "/tmp", Namespace: "sim"}
		return &Environment{Context: "drill-primary", Target: &base,
			ConfigValues: map[string]string{"deployment": "sim-app"}, Close: func() { closed = true }}, nil
	}
	h := newHarness(t, opts)
	h.press("enter", "d")
	h.until("declare", func(m Model) bool { return m.screen == screenDeclare })
	if gotMode != ModeDrill {
		t.Errorf("mode = %v", gotMode)
	}
	if v := h.m.decl.fields[1].input.Value(); v != "sim-app" {
		t.Errorf("config default = %q, want the environment's", v)
	}
	h.press("enter", "enter", "enter")
	h.until("checklist", func(m Model) bool { return m.screen == screenChecklist && m.journal != nil })
	if tg := h.m.target(); tg.Namespace != "sim" || tg.Vars["pod"] != "sim-app" {
		t.Errorf("target = %+v", tg)
	}
	if err := h.m.Close(); err != nil || !closed {
		t.Errorf("Close: %v, env closed %v", err, closed)
	}
}

func TestStatusUpdateSendUsesNotifyThenRecords(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	opts := testOptions()
	opts.Notify = func(_ context.Context, text string) error { got <- text; return nil }
	h, j := declared(t, opts)
	h.press("u")
	h.typeText(" EXTRA")
	h.press("ctrl+s")
	h.until("sent", func(m Model) bool { return len(m.inc.Updates) == 1 })
	text := <-got
	if !strings.Contains(text, "Conditions") || !strings.Contains(text, "EXTRA") {
		t.Errorf("sent %q", text)
	}
	last := j.Events()[len(j.Events())-1]
	if last.Type != incident.EventStatusPosted || last.How != "sent" || last.Text != text {
		t.Errorf("event %+v", last)
	}
}

func TestDrillShownStepAsksWhatTheTraineeExpects(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Mode = ModeDrill
	opts.Drill = &Environment{Context: "drill-sim", Database: "simulated",
		Target: &steps.Target{ShellMode: steps.ShellShowOnly}}
	h, j := declared(t, opts)
	h.press("enter") // run "identify": a shell step, shown not run in a drill
	h.until("expectation prompt", func(m Model) bool { return m.overlay == ovPrompt && m.prompt.kind == promptExpect })
	h.press("enter") // empty: required
	if h.m.overlay != ovPrompt {
		t.Fatal("an empty expectation was accepted")
	}
	h.typeText("it prints two lines")
	h.press("enter")
	h.until("note", func(m Model) bool {
		st := m.inc.Steps["identify"]
		return st != nil && len(st.Notes) == 1
	})
	if got := h.m.inc.Steps["identify"].Notes[0].Text; got != "expected: it prints two lines" {
		t.Errorf("note %q", got)
	}
	if !strings.Contains(h.m.flash, "the runbook expects: two lines") {
		t.Errorf("flash %q", h.m.flash)
	}
	for _, ev := range j.Events() {
		if ev.Type == incident.EventStepStarted && ev.Step == "identify" && !ev.ShownOnly {
			t.Errorf("identify ran for real in a drill: %+v", ev)
		}
	}
}

func TestHeaderShowsRPOExposureFromTheDatabasePane(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	ch := make(chan live.DBSnapshot, 1)
	opts.Live.DBSnapshots = ch
	h, _ := declared(t, opts)
	h.handle(tea.WindowSizeMsg{Width: 120, Height: 40})
	if strings.Contains(h.screen(), "RPO: data") {
		t.Fatalf("RPO shown before any freshness is known:\n%s", h.screen())
	}
	h.handle(dbSnapMsg{ch: ch, snap: live.DBSnapshot{Up: true, Freshness: 20 * time.Minute, FreshnessKnown: true}})
	if !strings.Contains(h.screen(), "RPO: data 20m old > 15m") {
		t.Errorf("header lacks the RPO breach:\n%s", h.screen())
	}
	h.handle(dbSnapMsg{ch: ch, snap: live.DBSnapshot{Up: true, Freshness: 3 * time.Minute, FreshnessKnown: true}})
	if s := h.screen(); !strings.Contains(s, "RPO: data 3m old") || strings.Contains(s, "> 15m") {
		t.Errorf("header after fresh data:\n%s", s)
	}
}

func TestFailoverDeploymentsBesideThePrimary(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	prim, fail := make(chan live.KubeSnapshot, 1), make(chan live.KubeSnapshot, 1)
	opts.Live.KubeSnapshots, opts.Live.FailoverSnapshots = prim, fail
	h, _ := declared(t, opts)
	h.handle(tea.WindowSizeMsg{Width: 200, Height: 50})
	h.handle(kubeSnapMsg{ch: prim, snap: live.KubeSnapshot{Context: "east", Synced: true,
		Deployments: []live.Deployment{{Name: "ci-failure-agent", Desired: 3, Ready: 0}}}})
	h.handle(failoverSnapMsg{ch: fail, snap: live.KubeSnapshot{Context: "west", Synced: true,
		Deployments: []live.Deployment{{Name: "ci-failure-agent", Desired: 3, Updated: 3, Ready: 3, Available: 3}}}})
	s := h.screen()
	for _, want := range []string{"east", "west"} {
		if !strings.Contains(s, want) {
			t.Errorf("deployment pane lacks context %q:\n%s", want, s)
		}
	}
	// A snapshot from a channel that is not this environment's is dropped.
	h.handle(failoverSnapMsg{ch: make(chan live.KubeSnapshot), snap: live.KubeSnapshot{Context: "stale-ctx"}})
	if strings.Contains(h.screen(), "stale-ctx") {
		t.Error("stale failover snapshot shown")
	}
}

func TestResumeFromPickerBuildsTheIncidentsEnvironment(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Mode = ModeAsk
	j := incident.NewMemJournal()
	decl := declaredEvent(testNow.Add(-time.Minute), testNow.Add(-5*time.Minute))
	decl.Declared.Mode = incident.ModeDrill
	if err := j.Append(decl); err != nil {
		t.Fatal(err)
	}
	opts.Open = []OpenIncident{{ID: "inc-1", Runbook: "db-corruption", Mode: ModeDrill,
		Open: func() (*Resume, error) { return &Resume{ID: "inc-1", Journal: j}, nil }}}
	var built []Mode
	opts.MakeEnv = func(_ context.Context, mode Mode, _ *runbooks.Runbook) (*Environment, error) {
		built = append(built, mode)
		base := steps.Target{Namespace: "sim"}
		return &Environment{Context: "drill-primary", Target: &base}, nil
	}
	h := newHarness(t, opts)
	h.press("enter") // the open incident is listed first
	h.until("checklist with its environment", func(m Model) bool {
		return m.screen == screenChecklist && m.env != nil && m.env.Context == "drill-primary"
	})
	if len(built) != 1 || built[0] != ModeDrill {
		t.Errorf("MakeEnv calls %v, want one for the drill", built)
	}
	if tg := h.m.target(); tg.Namespace != "sim" {
		t.Errorf("steps would run against %+v", tg)
	}
}

func TestReadOnlyPickerDoesNotOpenAnIncident(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Mode = ModeAsk
	opts.ReadOnly = true
	opened := make(chan struct{}, 1)
	opts.Open = []OpenIncident{{ID: "inc-1", Runbook: "db-corruption", Mode: ModeDrill,
		Open: func() (*Resume, error) { opened <- struct{}{}; return nil, errors.New("must not be called") }}}
	h := newHarness(t, opts)
	h.m.screen = screenPicker // reached with esc from the mode choice
	h.press("enter")          // the open incident is listed first
	h.until("the refusal", func(m Model) bool { return strings.Contains(m.flash, "drnav watch inc-1") })
	select {
	case <-opened:
		t.Fatal("a read-only picker resumed the incident (and would have taken its driver lock)")
	default:
	}
}

// TestRPODataAgeCountsUpAndStopsAtResolution: the header's data age and the
// PostgreSQL pane's are one figure, counting up with the clock between
// probes, and the header's stops when the incident is resolved (the pane,
// a live view, goes on).
func TestRPODataAgeCountsUpAndStopsAtResolution(t *testing.T) {
	t.Parallel()
	clk := newMovingClock(testNow)
	opts := testOptions()
	opts.Now = clk.now
	ch := make(chan live.DBSnapshot, 1)
	opts.Live.DBSnapshots = ch
	h, _ := declared(t, opts)
	snap := func(age time.Duration) live.DBSnapshot {
		return live.DBSnapshot{Up: true, Freshness: age, FreshnessKnown: true, FreshnessSource: live.FreshnessWAL,
			RPO: 15 * time.Minute, Updated: clk.now()}
	}
	tick := func(d time.Duration) {
		clk.advance(d)
		h.m = must(h.m.Update(tickMsg(clk.now())))
	}
	ages := func() (header, pane string) {
		s := h.screen()
		if m := regexp.MustCompile(`RPO: data (\S+) old`).FindStringSubmatch(s); m != nil {
			header = m[1]
		}
		if m := regexp.MustCompile(`WAL archived (\S+) ago`).FindStringSubmatch(s); m != nil {
			pane = m[1]
		}
		return header, pane
	}
	h.handle(dbSnapMsg{ch: ch, snap: snap(40 * time.Second)})
	for _, want := range []string{"45s", "50s", "55s"} {
		tick(5 * time.Second)
		if hd, pn := ages(); hd != want || pn != want {
			t.Fatalf("data age: header %q, pane %q, want %s both:\n%s", hd, pn, want, h.screen())
		}
	}
	h.press("R")
	h.until("the resolve dialog", func(m Model) bool { return m.overlay == ovConfirm })
	h.press("right", "enter")
	h.until("resolved", func(m Model) bool { return m.inc.Resolved })
	tick(30 * time.Second)
	h.handle(dbSnapMsg{ch: ch, snap: snap(2 * time.Second)})
	tick(5 * time.Second)
	if hd, pn := ages(); hd != "55s" || pn != "7s" {
		t.Errorf("after resolution: header %q (want 55s, stopped), pane %q (want 7s, live):\n%s", hd, pn, h.screen())
	}
}

// TestOutputWrapsAtWordsAndSearchLandsOnTheLine: output lines wider than the
// pane wrap at spaces with an indented continuation (no word split when a
// space fits), and a search scrolls so the matching line is the top row —
// not the row of its index, which wrapping pushes further down.
func TestOutputWrapsAtWordsAndSearchLandsOnTheLine(t *testing.T) {
	t.Parallel()
	h, _ := declared(t, testOptions())
	var lines []string
	for i := range 300 {
		lines = append(lines, fmt.Sprintf("line-%03d %s", i, strings.Repeat("lorem ipsum dolor ", 12)))
	}
	h.m.outs["identify"] = lines
	h.m.refreshOutput()
	h.press("tab", "/")
	h.typeText("line-150")
	h.press("enter")
	top := strings.SplitN(ansi.Strip(h.m.list.out.vp.View()), "\n", 2)[0]
	if !strings.HasPrefix(strings.TrimSpace(top), "line-150 ") {
		t.Errorf("search for line-150: the top row is %q", top)
	}
	if !strings.Contains(h.m.flash, "at line 151") {
		t.Errorf("flash %q", h.m.flash)
	}
	w := h.m.list.out.vp.Width()
	for _, r := range strings.Split(ansi.Strip(h.m.list.out.vp.View()), "\n") {
		r = strings.TrimRight(r, " ")
		if ansi.StringWidth(r) > w {
			t.Errorf("row wider than %d: %q", w, r)
		}
		if f := strings.Fields(r); len(f) > 0 {
			if last := f[len(f)-1]; last != "lorem" && last != "ipsum" && last != "dolor" && !strings.HasPrefix(last, "line-") {
				t.Errorf("a word is split at the row's end: %q", r)
			}
		}
	}
}

func TestWrapOutput(t *testing.T) {
	t.Parallel()
	rows, rowOf := wrapOutput([]string{"short", "aaa bbb ccc ddd", "x", "0123456789abc"}, 8)
	want := []string{"short", "aaa bbb", "  ccc", "  ddd", "x", "01234567", "  89abc"}
	if !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if !slices.Equal(rowOf, []int{0, 1, 4, 5}) {
		t.Errorf("rowOf %v", rowOf)
	}
	for row, line := range map[int]int{0: 0, 1: 1, 3: 1, 4: 2, 6: 3} {
		if got := sourceLine(rowOf, row); got != line {
			t.Errorf("sourceLine(%d) = %d, want %d", row, got, line)
		}
	}
}

// TestStatusSendWithoutNotifyCommand: with no notify command, ctrl+s in a
// drill records the update as posted (sent nowhere, said so) and it counts;
// in an incident it sends nothing, records nothing and says how to post it
// (ctrl+y). The dialog's key help says which.
func TestStatusSendWithoutNotifyCommand(t *testing.T) {
	t.Parallel()
	for _, mode := range []Mode{ModeDrill, ModeLive} {
		opts := testOptions()
		opts.Mode = mode
		opts.Notify = nil
		opts.Config.NotifyCommand = ""
		h, j := declared(t, opts)
		h.press("u")
		help := "ctrl+s: no notify_command configured"
		if mode == ModeDrill {
			help = "ctrl+s post (drill: recorded, sent nowhere)"
		}
		if !strings.Contains(h.screen(), help) {
			t.Errorf("%v: the status dialog does not say %q:\n%s", mode, help, h.screen())
		}
		h.press("ctrl+s")
		if mode == ModeDrill {
			h.until("posted", func(m Model) bool { return len(m.inc.Updates) == 1 })
			last := j.Events()[len(j.Events())-1]
			if last.How != incident.HowShown || !strings.Contains(h.m.flash, "sent nowhere") {
				t.Errorf("drill: event %+v, flash %q", last, h.m.flash)
			}
			continue
		}
		h.settle()
		if len(h.m.inc.Updates) != 0 || h.m.overlay != ovStatus || !strings.Contains(h.m.flash, "ctrl+y copies it") {
			t.Errorf("live: updates %d, overlay %v, flash %q", len(h.m.inc.Updates), h.m.overlay, h.m.flash)
		}
	}
}

// TestPanesFollowTheFailover: once a step acting on the failover context has
// started, the pods pane shows the failover region's pods and its
// deployments come first; before, the primary's. In a narrow deployments
// pane each column keeps its context's distinguishing end.
//
// The failover is recognised by role: "failover", the failover context's
// own name, or a variable that resolves to it; a step on another context
// (or on the primary by name) does not move the panes.
func TestPanesFollowTheFailover(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, context string
		follows       bool
	}{
		{"role", "failover", true},
		{"context name", "dr-west", true},
		{"variable", "{{target}}", true},
		{"primary by name", "lab", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			panesFollowTheFailover(t, c.context, c.follows)
		})
	}
}

func panesFollowTheFailover(t *testing.T, context string, follows bool) {
	opts := testOptions()
	rb := testRunbook()
	rb.Variables = append(rb.Variables, runbooks.Variable{Name: "target", Prompt: "Region to act on", Default: "dr-west"})
	rb.Steps[3].K8s = &runbooks.K8sAction{Action: runbooks.K8sScale, Context: context, Deployment: "ci-failure-agent"}
	opts.Runbooks = []*runbooks.Runbook{rb}
	prim, fail := make(chan live.KubeSnapshot, 1), make(chan live.KubeSnapshot, 1)
	opts.Live.KubeSnapshots, opts.Live.FailoverSnapshots = prim, fail
	j := incident.NewMemJournal()
	opts.NewJournal = func(d incident.Event) (Journal, error) { return j, j.Append(d) }
	h := newHarness(t, opts)
	h.press("enter")
	h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
	h.press("enter", "enter", "enter", "enter")
	h.until("checklist", func(m Model) bool { return m.screen == screenChecklist && m.journal != nil })
	h.m.overlay = ovNone
	if v, _ := h.m.inc.Variable("target"); v.Value != "dr-west" {
		t.Fatalf("target = %q", v.Value)
	}
	h.handle(kubeSnapMsg{ch: prim, snap: live.KubeSnapshot{Context: "drill-primary", Synced: true, Err: "API server unreachable",
		Deployments: []live.Deployment{{Name: "ci-failure-agent", Desired: 3}}}})
	h.handle(failoverSnapMsg{ch: fail, snap: live.KubeSnapshot{Context: "drill-failover", Synced: true,
		Pods:        []live.Pod{{Name: "agent-west-1", Ready: 1, Total: 1, Status: "Running", State: "running", Created: testNow}},
		Deployments: []live.Deployment{{Name: "ci-failure-agent", Desired: 3, Updated: 3, Ready: 3, Available: 3}}}})
	panesOf := func() string {
		lines := strings.Split(h.screen(), "\n")
		return strings.Join(lines[len(lines)-9:], "\n")
	}
	s := panesOf()
	if strings.Contains(s, "agent-west-1") || !strings.Contains(s, "API server unreachable") {
		t.Fatalf("before the failover the pods pane should show the primary:\n%s", s)
	}
	for _, want := range []string{"primary", "failover"} {
		if !strings.Contains(s, want) {
			t.Errorf("the deployments pane's titles lack %q:\n%s", want, s)
		}
	}
	h.m.apply(incident.Event{Type: incident.EventStepStarted, Time: testNow, Step: rb.Steps[3].ID})
	s = panesOf()
	if !follows {
		if strings.Contains(s, "agent-west-1") {
			t.Errorf("a step on the primary (%s) moved the panes to the failover:\n%s", context, s)
		}
		return
	}
	if !strings.Contains(s, "agent-west-1") {
		t.Errorf("after a failover step the pods pane does not show the failover's pods:\n%s", s)
	}
	if i, j := strings.Index(s, "failover"), strings.Index(s, "primary"); i < 0 || j < 0 || i > j {
		t.Errorf("after a failover step the failover's deployments do not come first:\n%s", s)
	}
}

// TestNoColorInputs: under NO_COLOR the text inputs (declare form, a
// prompt) and the status editor emit no colour codes; with colour they do
// (the check sees them).
func TestNoColorInputs(t *testing.T) {
	t.Parallel()
	colour := regexp.MustCompile(`\x1b\[[0-9;:]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])[;:m]`)
	for _, noColor := range []bool{true, false} {
		opts := testOptions()
		opts.NoColor = noColor
		h := newHarness(t, opts)
		h.press("enter")
		h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
		screens := map[string]string{"declare": h.m.View().Content}
		h.press("enter", "enter", "enter")
		h.until("checklist", func(m Model) bool { return m.screen == screenChecklist && m.journal != nil })
		h.m.overlay = ovNone
		h.press("n")
		screens["note prompt"] = h.m.View().Content
		h.press("esc", "u")
		screens["status editor"] = h.m.View().Content
		for what, out := range screens {
			if got := colour.FindString(out); noColor && got != "" {
				t.Errorf("NO_COLOR: %s has colour code %q", what, got)
			} else if !noColor && what == "declare" && got == "" {
				t.Errorf("with colour, the %s shows none: the check is blind", what)
			}
		}
	}
}

// TestDeclareChoicesWithFacts: the live choices are listed one a row with
// their facts, the chosen one marked; a long name keeps its distinguishing
// end behind …, and no row is wider than the screen.
func TestDeclareChoicesWithFacts(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Runbooks[0].Variables[0].Source = runbooks.SourceUnreadyPods
	long := "/var/backups/postgres/cluster-east/nightly/" + strings.Repeat("x", 60) + "-latest.sql"
	opts.Live.ChoiceFacts = func(context.Context, string) ([]live.Choice, error) {
		return []live.Choice{{Value: "web-1", Facts: "0/1 CrashLoopBackOff · 7 restarts · 12m"}, {Value: long, Facts: "2026-03-04 19:17 · 10m ago"}}, nil
	}
	h := newHarness(t, opts)
	h.handle(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.press("enter")
	h.until("choices", func(m Model) bool { return len(m.decl.fields) > 1 && len(m.decl.fields[1].choices) == 2 })
	h.press("enter", "ctrl+n")
	s := h.screen()
	if !regexp.MustCompile(`(?m)^  > web-1 +0/1 CrashLoopBackOff · 7 restarts · 12m$`).MatchString(s) {
		t.Errorf("the chosen pod is not listed, marked, with its facts:\n%s", s)
	}
	if !regexp.MustCompile(`(?m)^    …x+-latest\.sql +2026-03-04 19:17`).MatchString(s) {
		t.Errorf("the long backup name does not keep its end (or lacks its time):\n%s", s)
	}
	for _, l := range strings.Split(s, "\n") {
		if ansi.StringWidth(l) > 80 {
			t.Errorf("row wider than 80: %q", l)
		}
	}
}

// TestDeclareFormReadsTheAdoptedClock: a drill's environment brings its own
// (scenario) clock, which may already run ahead of the wall clock. The
// declare form it opens must show that clock's time at once, not the last
// tick's wall time (on a loaded machine the next tick can be seconds away,
// minutes of scenario time at --drill-speed).
func TestDeclareFormReadsTheAdoptedClock(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Mode = ModeAsk
	scenario := testNow.Add(7 * time.Minute)
	opts.MakeEnv = func(_ context.Context, mode Mode, rb *runbooks.Runbook) (*Environment, error) {
		base := steps.Target{Dir: "/tmp"}
		return &Environment{Context: "drill-primary", Target: &base,
			Now: func() time.Time { return scenario }}, nil
	}
	h := newHarness(t, opts)
	h.press("enter", "d")
	h.until("declare", func(m Model) bool { return m.screen == screenDeclare })
	want := scenario.Format("15:04")
	if v := h.m.View().Content; !strings.Contains(v, want) {
		t.Errorf("the declare form does not show the environment's clock %s:\n%s", want, v)
	}
	// Back to the picker and LIVE: the wall clock again, although it is
	// behind the drill's.
	h.press("esc")
	h.until("picker", func(m Model) bool { return m.screen != screenDeclare })
	h.m.useEnv(nil)
	if !h.m.clock.Equal(testNow) {
		t.Errorf("clock after leaving the drill = %v, want the wall clock %v", h.m.clock, testNow)
	}
}
