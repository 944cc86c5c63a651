package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drnav/drnav/headless"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// parityRunbook has one shell step printing more than a journal tail holds,
// on both streams, with a verify condition that holds on the third poll.
// The two streams are read by two readers, so their lines can interleave
// either way: the stderr line comes a second before the 70 stdout lines, so
// it is never among the last ones (the tail) in one run and not the other.
func parityRunbook(url string) *runbooks.Runbook {
	return &runbooks.Runbook{
		ID: "parity", Title: "Parity", Impact: "none",
		Phases: []runbooks.Phase{{ID: "one", Title: "One", Budget: runbooks.Duration{Duration: 15 * time.Minute}}},
		Steps: []runbooks.Step{{ID: "check", Title: "Check", Phase: "one",
			Run: "echo first; echo oops >&2; sleep 1; seq 1 70",
			Verify: &runbooks.Verify{URL: url, Status: http.StatusOK,
				Within: runbooks.Duration{Duration: 60 * time.Second}, Interval: runbooks.Duration{Duration: 20 * time.Millisecond}}}},
	}
}

// healthAfter serves 503 until its third request (since the last reset),
// then 200.
func healthAfter(t *testing.T) (url string, reset func()) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() { n.Store(0) }
}

// stepRecord is what the journal holds of step "check": times, sequence
// numbers and durations left out, and output events run together (how a
// run's output is cut into events depends on timing).
func stepRecord(evs []incident.Event) []string {
	var out []string
	var lines []string
	flush := func() {
		if lines != nil {
			if n := len(lines); n > incident.MaxTailLines {
				lines = lines[n-incident.MaxTailLines:]
			}
			out = append(out, "output "+strings.Join(lines, "|"))
			lines = nil
		}
	}
	for _, ev := range evs {
		if ev.Step != "check" {
			continue
		}
		if ev.Type == incident.EventOutput {
			lines = append(lines, ev.Lines...)
			continue
		}
		flush()
		ev.Time, ev.Seq, ev.Duration, ev.Prev = time.Time{}, 0, 0, "" // the hash chain: only the file journal links events
		verified := "nil"
		if ev.Verified != nil {
			verified = fmt.Sprint(*ev.Verified)
		}
		ev.Verified = nil
		out = append(out, fmt.Sprintf("%+v verified=%s", ev, verified))
	}
	flush()
	return out
}

// TestUIAndHeadlessJournalAlike: one step run by the navigator and by a
// headless run leaves the same record: one verification (the final poll,
// with the number of polls), the same output tail and the same totals.
func TestUIAndHeadlessJournalAlike(t *testing.T) {
	t.Parallel()

	// the navigator
	url, reset := healthAfter(t)
	rb := parityRunbook(url)
	opts := testOptions()
	opts.Runbooks = []*runbooks.Runbook{rb}
	j := incident.NewMemJournal()
	opts.NewJournal = func(d incident.Event) (Journal, error) { return j, j.Append(d) }
	h := newHarness(t, opts)
	h.press("enter")
	h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
	h.press("enter")
	h.until("checklist", func(m Model) bool { return m.screen == screenChecklist && m.journal != nil })
	h.m.overlay = ovNone
	h.press("enter")
	h.until("step finished", func(m Model) bool { return m.run == nil && m.inc.Status("check") == incident.StepDone })
	ui := stepRecord(j.Events())

	// headless
	reset()
	root := t.TempDir()
	res, err := headless.Run(context.Background(), headless.Options{Runbook: rb, JournalRoot: root, Mode: incident.ModeLive,
		Vars: map[string]string{}, Target: steps.Target{}})
	if err != nil {
		t.Fatal(err)
	}
	_, evs, _, err := incident.Read(root, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	hl := stepRecord(evs)

	if strings.Join(ui, "\n") != strings.Join(hl, "\n") {
		t.Errorf("journals differ\nnavigator:\n%s\nheadless:\n%s", strings.Join(ui, "\n"), strings.Join(hl, "\n"))
	}
	var verifications int
	for _, ev := range j.Events() {
		if ev.Type == incident.EventVerification {
			verifications++
			if !ev.OK || ev.Polls != 3 {
				t.Errorf("verification %+v, want ok after 3 polls", ev)
			}
		}
	}
	if verifications != 1 {
		t.Errorf("%d verification events, want 1 (the final poll)", verifications)
	}
	state := j.State()
	st := state.Step("check")
	if st.TotalLines != 72 || len(st.Tail) != incident.MaxTailLines || st.Tail[len(st.Tail)-1] != "70" {
		t.Errorf("total lines %d, tail %d lines ending %q", st.TotalLines, len(st.Tail), st.Tail[len(st.Tail)-1])
	}
}
