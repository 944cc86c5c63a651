package incident

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func stateOf(evs ...Event) State {
	d := outageDeclared(ModeLive)
	all := append([]Event{{Seq: 1, Time: d.At, Type: EventDeclared, Declared: &d}}, evs...)
	for i := range all {
		all[i].Seq = i + 1
	}
	return Replay(all)
}

func start(step, phase string, t time.Duration) Event {
	return Event{Type: EventStepStarted, Time: at(t), Step: step, Phase: phase}
}

func finish(step string, t, d time.Duration) Event {
	return Event{Type: EventStepFinished, Time: at(t), Step: step, Duration: d}
}

func TestClock(t *testing.T) {
	t.Parallel()
	rb := outageRunbook()
	tests := []struct {
		name          string
		evs           []Event
		now           time.Duration
		wantElapsed   time.Duration
		wantProjected time.Duration
		wantMargin    time.Duration
		wantCurrent   string
		wantStatus    []PhaseStatus
		wantOver      []bool
		wantPace      time.Duration // 0: pace unknown
	}{
		{
			name: "declared, nothing started", now: 5 * minute,
			wantElapsed: 5 * minute, wantProjected: 5*minute + 3*hour + 45*minute, wantMargin: 10 * minute,
			wantStatus: []PhaseStatus{PhasePending, PhasePending, PhasePending, PhasePending, PhasePending},
			wantOver:   []bool{false, false, false, false, false},
		},
		{
			name: "in assess, inside its budget", evs: []Event{start("list-pods", "assess", 0)}, now: 10 * minute,
			wantElapsed: 10 * minute, wantProjected: 10*minute + 5*minute + 3*hour + 30*minute, wantMargin: 15 * minute,
			wantCurrent: "assess",
			wantStatus:  []PhaseStatus{PhaseActive, PhasePending, PhasePending, PhasePending, PhasePending},
			wantOver:    []bool{false, false, false, false, false},
		},
		{
			name: "assess over budget", evs: []Event{start("list-pods", "assess", 0)}, now: 20 * minute,
			wantElapsed: 20 * minute, wantProjected: 20*minute + 3*hour + 30*minute, wantMargin: 10 * minute,
			wantCurrent: "assess",
			wantStatus:  []PhaseStatus{PhaseActive, PhasePending, PhasePending, PhasePending, PhasePending},
			wantOver:    []bool{true, false, false, false, false},
		},
		{
			name: "restore after a slow failover, pace known",
			evs: []Event{
				start("list-pods", "assess", 0), finish("list-pods", 10*minute, 10*minute),
				start("scale-db", "failover", 10*minute), finish("scale-db", 30*minute, 20*minute),
				Event{Type: EventPhaseEntered, Time: at(hour), Phase: "restore"},
			},
			now:         90 * minute,
			wantElapsed: 90 * minute, wantProjected: 90*minute + 90*minute + hour, wantMargin: 0,
			wantCurrent: "restore",
			wantStatus:  []PhaseStatus{PhaseDone, PhaseDone, PhaseActive, PhasePending, PhasePending},
			wantOver:    []bool{false, true, false, false, false},
			// 2 done (avg 15m), 8 left.
			wantPace: 90*minute + 8*15*minute,
		},
		{
			name: "resolved: the clock stops",
			evs: []Event{
				start("list-pods", "assess", 0), finish("list-pods", 10*minute, 10*minute),
				Event{Type: EventResolved, Time: at(3 * hour)},
			},
			now:         5 * hour,
			wantElapsed: 3 * hour, wantProjected: 3 * hour, wantMargin: hour,
			wantStatus: []PhaseStatus{PhaseDone, PhasePending, PhasePending, PhasePending, PhasePending},
			wantOver:   []bool{true, false, false, false, false},
			wantPace:   3 * hour,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := stateOf(tc.evs...)
			c := s.Clock(rb, at(tc.now), 4*hour)
			if c.Elapsed != tc.wantElapsed || c.Projected != tc.wantProjected || c.Margin != tc.wantMargin {
				t.Errorf("elapsed %s projected %s margin %s; want %s %s %s", c.Elapsed, c.Projected, c.Margin, tc.wantElapsed, tc.wantProjected, tc.wantMargin)
			}
			if c.Remaining != 4*hour-tc.wantElapsed {
				t.Errorf("remaining %s", c.Remaining)
			}
			cur, ok := c.CurrentPhase()
			if (tc.wantCurrent == "") == ok || cur.ID != tc.wantCurrent {
				t.Errorf("current = %q (%v), want %q", cur.ID, ok, tc.wantCurrent)
			}
			for i, p := range c.Phases {
				if p.Status != tc.wantStatus[i] || p.Over != tc.wantOver[i] {
					t.Errorf("phase %s: %s over=%v (elapsed %s), want %s over=%v", p.ID, p.Status, p.Over, p.Elapsed, tc.wantStatus[i], tc.wantOver[i])
				}
			}
			if (tc.wantPace != 0) != c.PaceKnown || (c.PaceKnown && c.PaceProjected != tc.wantPace) {
				t.Errorf("pace = %s known=%v, want %s", c.PaceProjected, c.PaceKnown, tc.wantPace)
			}
		})
	}
}

func TestFreshness(t *testing.T) {
	t.Parallel()
	c := stateOf().Clock(nil, at(time.Hour), 0)
	tests := []struct {
		age      time.Duration
		known    bool
		breached bool
		margin   time.Duration
	}{
		{age: 5 * minute, known: true, margin: 10 * minute},
		{age: 20 * minute, known: true, breached: true, margin: -5 * minute},
		{age: 20 * minute, known: false},
	}
	for _, tc := range tests {
		f := c.WithFreshness(tc.age, tc.known)
		if f.RPO != 15*minute || f.FreshnessKnown != tc.known || f.RPOBreached != tc.breached || f.RPOMargin != tc.margin {
			t.Errorf("%+v: got known=%v breached=%v margin=%s", tc, f.FreshnessKnown, f.RPOBreached, f.RPOMargin)
		}
	}
}

func TestCadence(t *testing.T) {
	t.Parallel()
	posted := func(kind string, d time.Duration) Event {
		return Event{Type: EventStatusPosted, Time: at(d), Kind: kind, How: HowSent}
	}
	type item struct {
		kind      string
		due       time.Duration // after detection
		remaining time.Duration
		done      bool
	}
	tests := []struct {
		name     string
		evs      []Event
		now      time.Duration
		want     []item
		wantNext string
	}{
		{
			name: "fresh", now: 10 * minute,
			want:     []item{{DueNotification, 15 * minute, 5 * minute, false}, {DueUpdate, 30 * minute, 20 * minute, false}},
			wantNext: DueNotification,
		},
		{
			name: "notification overdue", now: 20 * minute,
			want:     []item{{DueNotification, 15 * minute, -5 * minute, false}, {DueUpdate, 30 * minute, 10 * minute, false}},
			wantNext: DueNotification,
		},
		{
			name: "notified, update posted early moves the next", evs: []Event{posted(KindNotification, 5*minute), posted(KindUpdate, 25*minute)},
			now:      40 * minute,
			want:     []item{{DueNotification, 15 * minute, -25 * minute, true}, {DueUpdate, 55 * minute, 15 * minute, false}},
			wantNext: DueUpdate,
		},
		{
			name: "update overdue", evs: []Event{posted(KindNotification, 5*minute), posted("", 30*minute)},
			now:      70 * minute,
			want:     []item{{DueNotification, 15 * minute, -55 * minute, true}, {DueUpdate, 60 * minute, -10 * minute, false}},
			wantNext: DueUpdate,
		},
		{
			name: "resolved: review due within 24h", evs: []Event{posted(KindNotification, 5*minute), {Type: EventResolved, Time: at(2 * hour)}},
			now: 3 * hour,
			want: []item{
				{DueNotification, 15 * minute, -165 * minute, true}, {DueUpdate, 30 * minute, -150 * minute, true},
				{DueReview, 26 * hour, 23 * hour, false},
			},
			wantNext: DueReview,
		},
		{
			name: "review held", evs: []Event{posted(KindNotification, 5*minute), {Type: EventResolved, Time: at(2 * hour)}, posted(KindReview, 20*hour)},
			now: 21 * hour,
			want: []item{
				{DueNotification, 15 * minute, 15*minute - 21*hour, true}, {DueUpdate, 30 * minute, 30*minute - 21*hour, true},
				{DueReview, 26 * hour, 5 * hour, true},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := stateOf(tc.evs...)
			got := s.Cadence(at(tc.now))
			if len(got) != len(tc.want) {
				t.Fatalf("got %d items: %+v", len(got), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Kind != w.kind || !g.Due.Equal(at(w.due)) || g.Remaining != w.remaining || g.Done != w.done {
					t.Errorf("item %d = %s due %s rem %s done %v; want %s due %s rem %s done %v",
						i, g.Kind, g.Due.Sub(t0), g.Remaining, g.Done, w.kind, w.due, w.remaining, w.done)
				}
			}
			next, ok := s.Next(at(tc.now))
			if (tc.wantNext != "") != ok || next.Kind != tc.wantNext {
				t.Errorf("next = %q (%v), want %q", next.Kind, ok, tc.wantNext)
			}
			if got[0].Kind == DueNotification && len(got[0].Whom) != 3 {
				t.Errorf("notification whom = %v", got[0].Whom)
			}
		})
	}
}

func TestStatusText(t *testing.T) {
	t.Parallel()
	rb := outageRunbook()
	s := stateOf(
		start("list-pods", "assess", 0), finish("list-pods", 5*minute, 5*minute),
		Event{Type: EventStatusPosted, Time: at(6 * minute), Kind: KindUpdate, How: HowSent},
		start("scope", "assess", 7*minute), finish("scope", 9*minute, 2*minute),
		start("scale-db", "failover", 10*minute), Event{Type: EventStepFinished, Time: at(12 * minute), Step: "scale-db", Exit: 1, Err: "deployments.apps \"postgres\" not found"},
		start("check-db", "failover", 13*minute), Event{Type: EventResumed, Time: at(14 * minute)},
	)
	got := s.StatusText(rb, at(20*minute))
	for _, want := range []string{
		"Conditions:", "Phase 2/5 Activate failover: 10m of 30m budget.", "20m elapsed of RTO 4h (3h40m left).",
		"Actions since the last update (20:09):", "- Done: Assess the scope (2m).",
		"Needs:", "- Failed: Start the database (deployments.apps \"postgres\" not found).",
		"- Interrupted, outcome unknown: Check the database answers.", "- Incident notification overdue by 5m.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status text lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "List the pods") {
		t.Errorf("status text repeats a step done before the last update:\n%s", got)
	}
}

func TestNotify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "posted.txt")
	if err := Notify(context.Background(), "cat > "+out, "status: all good\n"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "status: all good\n" {
		t.Errorf("posted %q, %v", b, err)
	}
	err := Notify(context.Background(), "echo 'webhook refused: 403' >&2; exit 3", "x")
	if err == nil || !strings.Contains(err.Error(), "webhook refused: 403") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("failure = %v", err)
	}
	if err := Notify(context.Background(), " ", "x"); err == nil {
		t.Error("empty command accepted")
	}
}
