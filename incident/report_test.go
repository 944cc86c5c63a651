package incident

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// outageEvents is a complete outage: every kind of event, an interrupted
// step resolved by hand, a failed verification re-run, a skipped step, one
// status update late.
func outageEvents() []Event {
	var evs []Event
	add := func(e ...Event) { evs = append(evs, e...) }
	add(
		Event{Type: EventVariableSet, Time: at(5 * minute), Name: "backup", Value: "/backups/latest.sql"},
		Event{Type: EventVariableSet, Time: at(5 * minute), Name: "db_password", Value: "s3cr3t-never-shown", Secret: true},
		Event{Type: EventRoleAssigned, Time: at(6 * minute), Role: "Incident Commander", Person: "carol"},
		Event{Type: EventRoleAssigned, Time: at(6 * minute), Role: "Scribe", Person: "dave"},
		Event{Type: EventStatusPosted, Time: at(10 * minute), Kind: KindNotification, How: HowSent, Channel: "#inc-outage", Text: "Complete outage declared"},
	)
	add(stepRun("list-pods", "assess", 7*minute, minute, 0, nil)...)
	add(
		Event{Type: EventStepStarted, Time: at(9 * minute), Step: "scope", Phase: "assess", Command: "Find what is down"},
		Event{Type: EventStepFinished, Time: at(17 * minute), Step: "scope", Duration: 8 * minute},
		Event{Type: EventNote, Time: at(17 * minute), Step: "scope", Text: "Both deployments at 0 replicas; node pool intact"},
	)
	add(stepRun("scale-db", "failover", 18*minute, 4*minute, 0, boolPtr(true))...)
	add(Event{Type: EventVerification, Time: at(22 * minute), Step: "scale-db", OK: true, Detail: "ready 1/1"})
	add(Event{Type: EventStepSkipped, Time: at(23 * minute), Step: "check-db", Reason: "scale-db verification already proved it answers"})
	add(Event{Type: EventStatusPosted, Time: at(35 * minute), Kind: KindUpdate, How: HowCopied, Channel: "#inc-outage", Text: "DB up, restoring"})
	// Restore: the driver's SSH session drops mid-restore.
	add(
		Event{Type: EventStepStarted, Time: at(40 * minute), Step: "restore", Phase: "restore", Command: "sql restore /backups/latest.sql", Equivalent: "psql -d app -f /backups/latest.sql"},
		Event{Type: EventOutput, Time: at(50 * minute), Step: "restore", Lines: []string{"CREATE TABLE", "COPY 120000"}},
		Event{Type: EventResumed, Time: at(75 * minute), Operator: "bob", SSHClient: "10.0.0.9 40022", PID: 4242},
		Event{Type: EventVerification, Time: at(78 * minute), Step: "restore", OK: true, Detail: "orders: 120000 rows"},
		Event{Type: EventStepMarkedDone, Time: at(80 * minute), Step: "restore", Text: "Row counts match the backup manifest"},
	)
	add(stepRun("amcheck", "restore", 81*minute, 3*minute, 1, boolPtr(false))...)
	add(Event{Type: EventHintUsed, Time: at(85 * minute), Step: "amcheck", N: 1})
	add(stepRun("amcheck", "restore", 86*minute, 2*minute, 0, boolPtr(true))...)
	add(Event{Type: EventStatusPosted, Time: at(110 * minute), Kind: KindUpdate, How: HowSent, Channel: "#inc-outage", Text: "Restore verified"})
	add(stepRun("scale-app", "service", 112*minute, 6*minute, 0, boolPtr(true))...)
	add(stepRun("rollout", "service", 118*minute, 2*minute, 0, nil)...)
	add(
		Event{Type: EventPhaseEntered, Time: at(125 * minute), Phase: "normal"},
		Event{Type: EventStepStarted, Time: at(126 * minute), Step: "monitor", Phase: "normal", Command: "Watch dashboards"},
		Event{Type: EventStepFinished, Time: at(146 * minute), Step: "monitor", Duration: 20 * minute},
		Event{Type: EventStepSkipped, Time: at(147 * minute), Step: "document", Reason: "done in the post-mortem"},
		Event{Type: EventNote, Time: at(148 * minute), Text: "Error rate back to baseline"},
		Event{Type: EventResolved, Time: at(150 * minute), Text: "Service restored from the 19:55 backup; no data loss beyond the RPO"},
	)
	return evs
}

func buildState(t *testing.T, mode string, evs []Event) State {
	t.Helper()
	d := outageDeclared(mode)
	all := append([]Event{{Type: EventDeclared, Time: d.At, Declared: &d}}, evs...)
	for i := range all {
		all[i].Seq = i + 1
	}
	// Through JSON, as a journal would hand them back.
	var back []Event
	for _, ev := range all {
		if ev.Secret {
			ev.Value = SecretMask
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		back = append(back, e)
	}
	s := Replay(back)
	s.ID = "20261125-2007-complete-outage"
	return s
}

func TestReportOutageGolden(t *testing.T) {
	t.Parallel()
	s := buildState(t, ModeLive, outageEvents())
	r := Report(s, outageRunbook(), 4*hour, 15*minute, at(3*hour)).WithFreshness(8*minute, true)
	md := RenderMarkdown(r)
	golden(t, "outage.md.golden", []byte(md))
	js, err := RenderJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "outage.json.golden", js)
	if strings.Contains(md+string(js), "s3cr3t") {
		t.Fatal("a secret reached the report")
	}
	if !r.RTOMet || r.RTOMargin != 4*hour-150*minute || r.Scorecard != nil {
		t.Errorf("rto met=%v margin=%s scorecard=%v", r.RTOMet, r.RTOMargin, r.Scorecard)
	}
	if len(r.Updates) != 2 || r.Updates[0].Late != 5*minute || r.Updates[1].Late != 45*minute {
		t.Errorf("updates = %+v", r.Updates)
	}
	for _, want := range []string{"```mermaid\ngantt", "dateFormat YYYY-MM-DD HH:mm", "axisFormat %H:%M", "section Restore data", "Marked done by hand"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestReportDrillScorecardGolden(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// Two earlier drills of the same runbook, one of another runbook, one live incident.
	for i, spec := range []struct {
		mode, runbook string
		took          time.Duration
		skip          bool
	}{
		{ModeDrill, "complete-outage", 5 * hour, true},
		{ModeDrill, "complete-outage", 3 * hour, false},
		{ModeDrill, "database-corruption", hour, false},
		{ModeLive, "complete-outage", 2 * hour, false},
	} {
		d := outageDeclared(spec.mode)
		d.RunbookID = spec.runbook
		d.Detected = t0.AddDate(0, -3+i, 0)
		d.At = d.Detected.Add(minute)
		j, err := Create(root, d)
		if err != nil {
			t.Fatal(err)
		}
		appendAll(t, j, stepRun("scale-db", "failover", d.Detected.Sub(t0)+10*minute, 5*minute, 0, boolPtr(!spec.skip))...)
		if spec.skip {
			appendAll(t, j, Event{Type: EventStepSkipped, Time: d.Detected.Add(20 * minute), Step: "restore", Reason: "ran out of time"})
		}
		appendAll(t, j, Event{Type: EventResolved, Time: d.Detected.Add(spec.took)})
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	trend, err := Trend(root, "complete-outage")
	if err != nil {
		t.Fatal(err)
	}
	if len(trend) != 2 || trend[0].RTOMet || !trend[1].RTOMet || trend[0].StepsSkipped != 1 || trend[0].PassRate != 0 || trend[1].PassRate != 1 {
		t.Fatalf("trend = %+v", trend)
	}

	evs := outageEvents()
	// The drill ran over: resolved at 4h20m.
	evs[len(evs)-1].Time = at(4*hour + 20*minute)
	evs = append(evs, Event{Type: EventHintUsed, Time: at(30 * minute), Step: "scale-db", N: 1})
	s := buildState(t, ModeDrill, evs)
	r := Report(s, outageRunbook(), 4*hour, 15*minute, at(5*hour))
	r.Trend = trend
	sc := r.Scorecard
	if sc == nil {
		t.Fatal("drill without scorecard")
	}
	if sc.RTOMet || sc.RTOMargin != -20*minute || sc.HintsUsed != 2 || sc.StepsSkipped != 2 || sc.VerificationsPassed != 4 || sc.VerificationsTotal != 4 {
		t.Errorf("scorecard = %+v", sc)
	}
	md := RenderMarkdown(r)
	golden(t, "drill.md.golden", []byte(md))
	for _, want := range []string{"## Scorecard", "| RTO 4h | MISSED by 20m |", "## Trend"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestKeyOutput(t *testing.T) {
	t.Parallel()
	tail := []string{
		"restore 1/4: create database app_restore_202612012130",
		"SET", " set_config ",
		"! corrupt: public.builds_pkey: index \"builds_pkey\" contains unexpected zero page at block 1", // stderr
		"amcheck: no corruption found in app_restore_202612012130",
		"table orders: 500 rows",
		"restore: swapped: app → app_damaged_202612012130 (kept for forensics, never dropped by drnav); app_restore_202612012130 → app; 2 connection(s) ended; took 1m4s",
	}
	got := KeyOutput(tail, false)
	if len(got) != 4 || !strings.HasPrefix(got[0], "corrupt: public.builds_pkey") || !strings.Contains(got[3], "took 1m4s") {
		t.Errorf("key output %q", got)
	}
	failed := KeyOutput([]string{"psql:/b.sql:9: ERROR:  relation \"builds\" already exists", "", "done?"}, true)
	if len(failed) != 2 || !strings.Contains(failed[0], "already exists") {
		t.Errorf("failed step's key output %q", failed)
	}
	var many []string
	for i := range 30 {
		many = append(many, fmt.Sprintf("corrupt: idx%d: bad", i))
	}
	if got := KeyOutput(many, false); len(got) != maxKeyLines || !strings.Contains(got[len(got)-1], "19 more") {
		t.Errorf("many findings: %d lines, last %q", len(got), got[len(got)-1])
	}
}
