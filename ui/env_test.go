package ui

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

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
