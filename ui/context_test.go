package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/where"
	"github.com/drnav/drnav/runbooks"
)

func TestLiveIsRefusedUntilAContextIsChosen(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Mode = ModeAsk
	opts.Live = &Environment{Unresolved: "kubeconfig has no current context and no primary_context is configured",
		Contexts: []string{"dr-west", "lab"}, DBWhere: &testDB}
	opts.MakeEnv = func(context.Context, Mode, *runbooks.Runbook) (*Environment, error) {
		return nil, errors.New("MakeEnv must not build LIVE for a picked context")
	}
	var made []string
	opts.PickContext = func(_ context.Context, name string) (*Environment, error) {
		if name != "lab" {
			t.Errorf("picked %q, want lab", name)
		}
		k := testKube
		return &Environment{Context: k.Context, KubeWhere: &k, DBWhere: &testDB,
			Make: func(context.Context, *runbooks.Runbook) (*Environment, error) {
				made = append(made, name)
				return &Environment{Context: k.Context, KubeWhere: &k, DBWhere: &testDB}, nil
			}}, nil
	}
	h := newHarness(t, opts)
	h.press("enter")
	scr := h.screen()
	for _, want := range []string{"refused: no kube context resolved", "kubeconfig has no current context", "c  choose one of the kubeconfig's 2 contexts"} {
		if !strings.Contains(scr, want) {
			t.Errorf("mode screen lacks %q:\n%s", want, scr)
		}
	}
	h.press("l")
	h.settle()
	if h.m.screen != screenMode || h.m.mode == ModeLive || !strings.Contains(h.screen(), "LIVE refused") {
		t.Fatalf("LIVE was not refused: screen %v mode %v\n%s", h.m.screen, h.m.mode, h.screen())
	}
	h.press("c")
	if h.m.overlay != ovContexts || !strings.Contains(h.screen(), "Kube context for LIVE") {
		t.Fatalf("no context picker:\n%s", h.screen())
	}
	h.press("down", "enter")
	h.until("picked context", func(m Model) bool { return m.opts.Live.KubeWhere != nil })
	scr = h.screen()
	for _, want := range []string{"kube context: lab", "server:       https://10.1.0.1:6443", "LIVE now reaches lab · https://10.1.0.1:6443"} {
		if !strings.Contains(scr, want) {
			t.Errorf("after picking, mode screen lacks %q:\n%s", want, scr)
		}
	}
	h.press("l")
	h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
	if len(made) != 1 || !strings.Contains(h.screen(), "LIVE lab · https://10.1.0.1:6443 · ns default") {
		t.Errorf("picked environment built %v times; declare screen:\n%s", made, h.screen())
	}
}

func TestSameServerAsksBeforeLive(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Mode = ModeAsk
	same := testFailover
	same.Server = testKube.Server + "/" // the same server, spelled differently
	opts.Live.FailoverWhere = &same
	h := newHarness(t, opts)
	h.press("enter")
	if !strings.Contains(h.screen(), "WARNING: primary and failover are the same server (https://10.1.0.1:6443)") {
		t.Errorf("mode screen does not warn:\n%s", h.screen())
	}
	h.press("l")
	if h.m.overlay != ovConfirm || h.m.confirm.action != actSameServer {
		t.Fatalf("LIVE chosen without asking:\n%s", h.screen())
	}
	scr := h.screen()
	for _, want := range []string{"Primary and failover are the same server", "Primary:   lab · https://10.1.0.1:6443", "Failover:  dr-west · https://10.1.0.1:6443/"} {
		if !strings.Contains(scr, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, scr)
		}
	}
	h.press("enter") // Cancel is the default
	if h.m.screen != screenMode || h.m.mode == ModeLive {
		t.Fatalf("cancel went on LIVE")
	}
	h.press("l", "tab", "enter")
	h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
}

// labIncident is a journal of a LIVE incident declared on lab age ago.
func labIncident(t *testing.T, age time.Duration) *incident.MemJournal {
	t.Helper()
	j := incident.NewMemJournal()
	ev := declaredEvent(testNow.Add(-age), testNow.Add(-age))
	k := testKube
	ev.Declared.KubeContext, ev.Declared.Kube = k.Context, &k
	if err := j.Append(ev); err != nil {
		t.Fatal(err)
	}
	return j
}

// resumeAt is a harness resuming a LIVE incident declared on lab while
// this process reaches now.
func resumeAt(t *testing.T, now where.Kube) (*harness, *incident.MemJournal) {
	t.Helper()
	j := labIncident(t, time.Hour)
	opts := testOptions()
	opts.Live.Context, opts.Live.KubeWhere = now.Context, &now
	opts.Resume = &Resume{ID: "inc-ctx", Journal: j}
	return newHarness(t, opts), j
}

func TestResumeOnAnotherContextHoldsSteps(t *testing.T) {
	t.Parallel()
	prod := where.Kube{Context: "prod", Server: "https://10.9.0.1:6443", Namespace: "default", User: "admin"}
	h, j := resumeAt(t, prod)
	if h.m.overlay != ovConfirm || h.m.confirm.action != actContextChange {
		t.Fatalf("resumed on another context without asking:\n%s", h.screen())
	}
	scr := h.screen()
	for _, want := range []string{
		"The kube context changed since this incident was declared",
		"Declared:  lab · https://10.1.0.1:6443 · ns default · user lab-admin",
		"Now:       prod · https://10.9.0.1:6443 · ns default · user admin",
		"Change:    context lab → prod",
		"           server https://10.1.0.1:6443 → https://10.9.0.1:6443",
	} {
		if !strings.Contains(scr, want) {
			t.Errorf("warning lacks %q:\n%s", want, scr)
		}
	}
	h.press("esc") // cancel: every step is held
	h.press("enter")
	h.settle()
	if h.m.run != nil || len(j.Events()) != 1 || !strings.Contains(h.screen(), "steps held") {
		t.Fatalf("a step ran on the changed context: events %v\n%s", kinds(j.Events()), h.screen())
	}
}

func TestResumeOnAnotherContextGoesOnWhenConfirmed(t *testing.T) {
	t.Parallel()
	moved := testKube
	moved.Server = "https://10.9.0.1:6443"
	h, j := resumeAt(t, moved)
	h.press("tab", "enter")
	h.until("acceptance journaled", func(m Model) bool { return len(j.Events()) == 2 })
	if ev := j.Events()[1]; ev.Type != incident.EventNote || !strings.Contains(ev.Text, "server https://10.1.0.1:6443 → https://10.9.0.1:6443") {
		t.Errorf("journaled %+v", ev)
	}
	h.press("enter")
	h.until("step ran", func(m Model) bool { return m.stepStatus(0) == incident.StepDone })
}

func TestResumeOnTheSameContextAsksNothing(t *testing.T) {
	t.Parallel()
	h, _ := resumeAt(t, testKube)
	if h.m.overlay != ovNone || h.m.ctxHeld != "" {
		t.Fatalf("same context warned:\n%s", h.screen())
	}
}

// TestObserverHeaderNamesTheDeclaredContext: a read-only observer's header
// names the context the incident was declared with, not its own.
func TestObserverHeaderNamesTheDeclaredContext(t *testing.T) {
	t.Parallel()
	j := labIncident(t, time.Hour)
	opts := testOptions()
	opts.ReadOnly = true
	opts.Live.Context, opts.Live.KubeWhere = "observer-laptop", &where.Kube{Context: "observer-laptop", Server: "https://192.0.2.1"}
	opts.Resume = &Resume{ID: "inc-obs", Journal: j}
	h := newHarness(t, opts)
	if h.m.overlay != ovNone {
		t.Fatalf("an observer was asked about the context:\n%s", h.screen())
	}
	if hd := h.m.viewHeader(); !strings.Contains(hd, "LIVE lab · https://10.1.0.1:6443 · ns default") || strings.Contains(hd, "observer-laptop") {
		t.Errorf("observer header: %s", hd)
	}
}

// A read-only view of a LIVE incident with a long context keeps its
// "(read-only)" marker whatever the clock's text: the title goes first, then
// the end of the context (TestProgramEndToEnd lost it once, at "11s used").
func TestReadOnlyMarkerSurvivesALongHeader(t *testing.T) {
	t.Parallel()
	for _, width := range []int{80, 100, 120} {
		for _, age := range []time.Duration{9 * time.Second, 11 * time.Second, 65 * time.Minute, 5 * time.Hour} {
			j := labIncident(t, age)
			opts := testOptions()
			opts.ReadOnly = true
			opts.Resume = &Resume{ID: "inc-ro", Journal: j}
			h := newHarness(t, opts)
			h.handle(tea.WindowSizeMsg{Width: width, Height: 40})
			line := strings.SplitN(h.screen(), "\n", 2)[0]
			if !strings.Contains(line, "(read-only)") || !strings.Contains(line, "used") {
				t.Errorf("width %d, %s after declaring: header %q", width, age, line)
			}
		}
	}
}
