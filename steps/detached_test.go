package steps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drnav/drnav/internal/proctest"
	"github.com/drnav/drnav/internal/supervisor"
)

// The write-ahead hook runs before the step's process: the side effect is
// not there yet when it is called, and a failing hook starts nothing.
func TestWriteAheadBeforeProcess(t *testing.T) {
	t.Parallel()
	for _, detached := range []bool{false, true} {
		counter := filepath.Join(t.TempDir(), "counter")
		tg := Target{}
		if detached {
			tg.Supervisor = testSupervisor(t)
		}
		calls := 0
		tg.WriteAhead = func(ev Event) error {
			calls++
			if _, err := os.Stat(counter); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("detached=%v: the side effect happened before the write-ahead (%v)", detached, err)
			}
			if ev.Kind != EventStarted || !strings.Contains(ev.Command, "counter") {
				t.Errorf("write-ahead got %+v", ev)
			}
			if detached && ev.Detached == "" {
				t.Error("detached start names no run folder")
			}
			return nil
		}
		evs := collect(t, Start(context.Background(), shellStep("echo x >> "+counter), tg))
		fin := finished(t, evs)
		if fin.ExitCode != 0 || calls != 1 {
			t.Fatalf("detached=%v: %+v, %d write-ahead calls", detached, fin, calls)
		}
		if !evs[0].WrittenAhead {
			t.Error("started event not marked written ahead")
		}
		if b, _ := os.ReadFile(counter); string(b) != "x\n" {
			t.Errorf("counter %q", b)
		}

		// A failing write-ahead: nothing runs.
		tg.WriteAhead = func(Event) error { return errors.New("disk full") }
		fin = finished(t, collect(t, Start(context.Background(), shellStep("echo y >> "+counter), tg)))
		if !fin.NotStarted || !strings.Contains(fin.Err, "disk full") {
			t.Errorf("detached=%v: failing write-ahead: %+v", detached, fin)
		}
		if b, _ := os.ReadFile(counter); string(b) != "x\n" {
			t.Errorf("detached=%v: ran although its start was not journalled: %q", detached, b)
		}
	}
}

// A detached step streams its output and reports bash's exit code; the run
// folder holds the output and the status.
func TestDetachedStep(t *testing.T) {
	t.Parallel()
	tg := Target{Supervisor: testSupervisor(t)}
	evs := collect(t, Start(context.Background(), shellStep("echo out; echo err >&2; exit 3"), tg))
	fin := finished(t, evs)
	if fin.ExitCode != 3 || fin.Detached == "" {
		t.Fatalf("finished %+v", fin)
	}
	var got []string
	for _, l := range lines(evs) {
		got = append(got, strconv.Itoa(int(l.Stream))+l.Text)
	}
	if strings.Join(got, ",") != "0out,1err" && strings.Join(got, ",") != "1err,0out" {
		t.Errorf("lines %v", got)
	}
	st, ok, err := supervisor.ReadStatus(fin.Detached)
	if err != nil || !ok || st.Exit != 3 || st.Finished.Before(st.Started) {
		t.Errorf("status %+v %v %v", st, ok, err)
	}
	if tail := DetachedTail(fin.Detached, 10); strings.Join(tail, "|") != "out|! err" {
		t.Errorf("tail %q", tail)
	}
}

// Abandoned (drnav goes away), the step runs to its end and its outcome is
// recorded; Reattach then follows it to the real exit code.
func TestDetachedOutlivesDrnav(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "marker")
	gate := marker + ".gate"
	tg := Target{Supervisor: testSupervisor(t)}
	r := Start(context.Background(), shellStep("echo begun; while [ ! -e "+gate+" ]; do sleep 0.05; done; echo done > "+marker+"; echo bye; exit 4"), tg)
	var dir string
	for ev := range r.Events() {
		if ev.Kind == EventStarted {
			dir = ev.Detached
		}
		if ev.Kind == EventOutput {
			r.Abandon()
		}
		if ev.Kind == EventFinished && !ev.OutcomeUnknown {
			t.Fatalf("abandoned run finished with a known outcome: %+v", ev)
		}
	}
	if _, ok, _ := supervisor.ReadStatus(dir); ok {
		t.Fatal("status written before the step ended")
	}
	if !supervisor.Alive(dir) {
		t.Fatal("supervisor not alive after drnav stopped following")
	}
	re := Reattach(context.Background(), dir, Target{})
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	evs := collect(t, re)
	fin := finished(t, evs)
	if fin.ExitCode != 4 || fin.OutcomeUnknown {
		t.Fatalf("reattached finish %+v", fin)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the step did not run to its end")
	}
	var texts []string
	for _, l := range lines(evs) {
		texts = append(texts, l.Text)
	}
	if !strings.Contains(strings.Join(texts, ","), "bye") {
		t.Errorf("reattached output %v lacks the end", texts)
	}
}

// Cancel still kills the step's whole process group.
func TestDetachedCancelKillsGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	tg := Target{Supervisor: testSupervisor(t)}
	r := Start(context.Background(), shellStep("sleep 60 & echo $! > "+pidFile+"; wait"), tg)
	pid := proctest.PIDFile(t, pidFile, 30*time.Second)
	r.Cancel()
	fin := finished(t, collect(t, r))
	if fin.ExitCode != ExitCancelled {
		t.Errorf("cancelled: %+v", fin)
	}
	proctest.WaitGone(t, pid, 30*time.Second, "the grandchild, after cancel,")
}

// A run folder whose supervisor is gone without a status: outcome unknown.
func TestReattachGone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fin := finished(t, collect(t, Reattach(context.Background(), dir, Target{})))
	if !fin.OutcomeUnknown {
		t.Errorf("%+v", fin)
	}
}
