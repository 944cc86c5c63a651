package ui

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
)

// envBuilder is a MakeEnv that counts the environments it built and closed.
type envBuilder struct {
	built, closed atomic.Int32
	mu            sync.Mutex
	// hold, when set for a runbook id, makes its build wait until closed.
	hold map[string]chan struct{}
}

func (b *envBuilder) make(_ context.Context, _ Mode, rb *runbooks.Runbook) (*Environment, error) {
	b.mu.Lock()
	hold := b.hold[rb.ID]
	b.mu.Unlock()
	if hold != nil {
		<-hold
	}
	b.built.Add(1)
	env := testEnvironment(testOptions().Config, ModeDrill)
	env.Context = "built for " + rb.ID
	env.Close = func() { b.closed.Add(1) }
	return env, nil
}

func twoRunbooks() []*runbooks.Runbook {
	a := testRunbook()
	b := testRunbook()
	b.ID, b.Title = "other", "Other runbook"
	return []*runbooks.Runbook{a, b}
}

// TestReplacedEnvironmentIsClosed: back to the picker and another choice
// builds a new environment and closes the old one; Close closes the last.
func TestReplacedEnvironmentIsClosed(t *testing.T) {
	t.Parallel()
	b := &envBuilder{}
	opts := testOptions()
	opts.Mode = ModeDrill
	opts.MakeEnv = b.make
	h := newHarness(t, opts)
	h.press("enter")
	h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
	h.press("esc")
	h.press("enter")
	h.until("second environment", func(m Model) bool { return b.built.Load() == 2 && m.screen == screenDeclare })
	h.until("first environment closed", func(Model) bool { return b.closed.Load() == 1 })
	if err := h.m.Close(); err != nil {
		t.Fatal(err)
	}
	if n := b.closed.Load(); n != 2 {
		t.Errorf("%d environments closed after Close, want 2", n)
	}
}

// TestStaleEnvironmentDropped: an environment for runbook A that arrives
// after B was chosen is dropped (and closed); B's declare form stays.
func TestStaleEnvironmentDropped(t *testing.T) {
	t.Parallel()
	slow := make(chan struct{})
	b := &envBuilder{hold: map[string]chan struct{}{"db-corruption": slow}}
	opts := testOptions()
	opts.Mode = ModeDrill
	opts.Runbooks = twoRunbooks()
	opts.MakeEnv = b.make
	h := newHarness(t, opts)
	h.press("enter") // A: its environment is slow
	h.press("esc")   // back to the picker
	h.press("down", "enter")
	h.until("B's declare form", func(m Model) bool { return m.screen == screenDeclare })
	if h.m.rb.ID != "other" || h.m.env.Context != "built for other" {
		t.Fatalf("declaring %s against %q, want other", h.m.rb.ID, h.m.env.Context)
	}
	close(slow)
	h.until("A's environment built and closed", func(Model) bool { return b.built.Load() == 2 && b.closed.Load() == 1 })
	h.settle()
	if h.m.screen != screenDeclare || h.m.rb.ID != "other" || h.m.env.Context != "built for other" {
		t.Errorf("after A's environment: screen %v, runbook %s, environment %q", h.m.screen, h.m.rb.ID, h.m.env.Context)
	}
}

// TestResumeDrawsBeforeTheEnvironment: a resumed incident shows its
// checklist before its environment is built (in a Cmd); steps wait for it.
func TestResumeDrawsBeforeTheEnvironment(t *testing.T) {
	t.Parallel()
	j := incident.NewMemJournal()
	decl := declaredEvent(testNow.Add(-time.Minute), testNow.Add(-5*time.Minute))
	decl.Declared.Mode = incident.ModeDrill
	if err := j.Append(decl); err != nil {
		t.Fatal(err)
	}
	slow := make(chan struct{})
	b := &envBuilder{hold: map[string]chan struct{}{"db-corruption": slow}}
	opts := testOptions()
	opts.Drill = &Environment{Context: "drill-primary (simulated)"} // a description: no target
	opts.MakeEnv = b.make
	opts.Resume = &Resume{ID: "inc-1", Journal: j}
	asked := make(chan struct{})
	opts.OnCall = func(context.Context) string { <-asked; return "ann" }
	h := newHarness(t, opts)
	h.exec(h.m.Init())
	if h.m.screen != screenChecklist || !strings.Contains(h.screen(), "Identify corruption") {
		t.Fatalf("first frame is not the checklist:\n%s", h.screen())
	}
	h.press("enter")
	if h.m.run != nil || !strings.Contains(h.m.flash, "not ready") {
		t.Errorf("a step started without its environment (flash %q)", h.m.flash)
	}
	if rows := h.m.contactRows(); rows[0][1] != "asking on_call_command…" {
		t.Errorf("on call %q while the command runs", rows[0][1])
	}
	close(slow)
	close(asked)
	h.until("the environment and the on-call answer", func(m Model) bool {
		return m.env != nil && m.env.Context == "built for db-corruption" && !m.askingOnCall
	})
	if rows := h.m.contactRows(); rows[0][1] != "ann" {
		t.Errorf("on call %q, want ann", rows[0][1])
	}
	h.press("enter")
	h.until("the step run", func(m Model) bool { return m.inc.Status("identify") != incident.StepPending })
}

// closeCounting is an in-memory journal that counts Close.
type closeCounting struct {
	*incident.MemJournal
	closed atomic.Int32
}

func (j *closeCounting) Close() error { j.closed.Add(1); return nil }

// TestStaleResumeReleasesItsJournal: an incident opened from the picker
// whose answer arrives after another choice is not shown, and its journal
// (and driver lock) is released.
func TestStaleResumeReleasesItsJournal(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	h := newHarness(t, opts)
	stale := h.m.origin
	h.press("enter") // a runbook chosen meanwhile: a new origin
	j := &closeCounting{MemJournal: incident.NewMemJournal()}
	decl := declaredEvent(testNow.Add(-time.Minute), testNow.Add(-5*time.Minute))
	if err := j.Append(decl); err != nil {
		t.Fatal(err)
	}
	h.handle(resumeMsg{origin: stale, r: &Resume{ID: "inc-1", Journal: j}})
	h.until("the stale journal closed", func(Model) bool { return j.closed.Load() == 1 })
	if h.m.journal != nil || h.m.screen == screenChecklist {
		t.Errorf("a stale resume was shown (screen %v)", h.m.screen)
	}
}
