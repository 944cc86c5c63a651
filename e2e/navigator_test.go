package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drnav/drnav/internal/tmuxtest"
)

// TestWalkShellRunbook walks the shell test runbook in live mode: a step
// that succeeds, one that fails, one that prints 5000 lines (scrolled back
// with page up), a skip with a reason, a note and a manual step; then the
// report shows them.
func TestWalkShellRunbook(t *testing.T) {
	t.Parallel()
	tm := newTerm(t, 120, 40)
	tm.start("drv", "--runbooks", shellRunbooks(t))
	tm.declareShell("drv", "")

	// 1: succeeds.
	tm.Keys("drv", "Enter")
	s := tm.WaitStep("drv", 1, "✓")
	if !strings.Contains(s, "greeting-hello-done") {
		t.Errorf("step 1 output lacks the substituted greeting:\n%s", s)
	}
	tm.WaitFor("drv", "── exit 0")

	// 2: fails with exit 3.
	tm.Keys("drv", "Enter") // step 1 succeeded: the cursor moved on to 2
	tm.WaitStep("drv", 2, "✗")
	tm.WaitFor("drv", "about-to-fail", "exit 3")

	// 3: 5000 lines; follow shows the end, page up scrolls back.
	tm.Keys("drv", "j", "Enter")
	tm.WaitStep("drv", 3, "✓")
	s = tm.WaitFor("drv", "output of step 3 5000 lines", "\n", "5000") // the cursor moved on; 3's output stays
	if !regexp.MustCompile(`│ 5000\s*\n`).MatchString(s) {
		t.Fatalf("follow mode does not show the last line 5000:\n%s", s)
	}
	tm.Keys("drv", "PageUp")
	s = tm.WaitFor("drv", "paused")
	if regexp.MustCompile(`│ 5000\s*\n`).MatchString(s) {
		t.Errorf("after page up the last line is still shown:\n%s", s)
	}
	if !regexp.MustCompile(`│ 49[0-9][0-9]\s*\n`).MatchString(s) {
		t.Errorf("after page up the output does not show earlier lines:\n%s", s)
	}
	tm.Keys("drv", "PageUp", "PageUp")
	tm.WaitUntil("drv", "two more pages up", func(s string) bool {
		return !regexp.MustCompile(`│ 49[89][0-9]\s*\n`).MatchString(s) && regexp.MustCompile(`│ 49[0-9][0-9]\s*\n`).MatchString(s)
	})

	// 5: skip with a reason (4, the long sleep, is left alone).
	tm.Keys("drv", "j", "s") // step 3 succeeded: the cursor is on 4
	tm.WaitFor("drv", "Skip: Step to skip", "reason (required)")
	tm.Type("drv", "not needed in e2e")
	tm.Keys("drv", "Enter")
	tm.WaitStep("drv", 5, "↷")
	tm.Keys("drv", "k") // the cursor moved on to 6: back to 5
	tm.WaitFor("drv", "skipped: not needed in e2e")

	// A note on step 5.
	tm.Keys("drv", "n")
	tm.WaitFor("drv", "Note on: Step to skip")
	tm.Type("drv", "operator note e2e-42")
	tm.Keys("drv", "Enter")
	tm.WaitFor("drv", "Note: operator note e2e-42")

	// 6: manual, marked done with enter.
	tm.Keys("drv", "j", "Enter")
	tm.WaitFor("drv", "Done: Tell the team")
	tm.Type("drv", "posted in channel")
	tm.Keys("drv", "Enter")
	tm.WaitStep("drv", 6, "✓")
	if got := tmuxtest.StepLine(tm.Screen("drv"), 4); !strings.HasPrefix(got, "· ") {
		t.Errorf("step 4 was never run but shows %q", got)
	}

	id := tm.quit("drv")
	rep := tm.drnav("report", "--runbooks", shellRunbooks(t), id)
	for _, want := range []string{
		"Skipped: not needed in e2e",
		"operator note e2e-42",
		"posted in channel",
		"| 1 | Echo a greeting | done |",
		"| 2 | Fail with exit 3 | failed |",
		"| 3 | Print five thousand lines | done |",
		"| 4 | Sleep thirty seconds | pending |",
		"| 5 | Step to skip | skipped |",
		"| 6 | Tell the team | done |",
		"command exited with code 3",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
}

// TestKillAndResume SIGKILLs drnav while a step runs, resumes, and checks
// the step is marked interrupted, is not run again by itself, and the RTO
// clock still counts from the detection time.
func TestKillAndResume(t *testing.T) {
	t.Parallel()
	tm := newTerm(t, 120, 40)
	rb := shellRunbooks(t)
	pidFile := tm.start("first", "--runbooks", rb)
	tm.declareShell("first", "15m")
	s := tm.Screen("first")
	if d := rtoUsed(t, s); d < 15*time.Minute {
		t.Fatalf("declared 15m ago but the header shows %s used:\n%s", d, s)
	}

	tm.Keys("first", "j", "j", "j", "Enter")
	tm.WaitStep("first", 4, "▶")
	tm.WaitFor("first", "sleeping-now")
	pid := tm.PID(pidFile)
	var stepPids []int
	tm.WaitUntil("first", "the step's process to start", func(string) bool {
		stepPids = children(t, pid)
		return len(stepPids) > 0
	})
	for _, p := range stepPids {
		killGroupAtCleanup(t, p)
	}
	if err := syscallKill(pid); err != nil {
		t.Fatalf("SIGKILL drnav %d: %v", pid, err)
	}
	tm.WaitFor("first", "[exited 137]")

	list := tm.drnav("incidents")
	if !strings.Contains(list, "shell-walk") || !strings.Contains(list, "open") {
		t.Fatalf("incidents does not list the open incident:\n%s", list)
	}

	pidFile2 := tm.start("resumed", "resume", "--runbooks", rb)
	s = tm.WaitStep("resumed", 4, "?")
	if d := rtoUsed(t, s); d < 15*time.Minute {
		t.Errorf("after resume the RTO clock shows %s used, want ≥ 15m (from the detection time):\n%s", d, s)
	}
	tm.Keys("resumed", "j", "j", "j")
	s = tm.WaitFor("resumed", "4 Sleep thirty seconds", "interrupted (started")
	if !strings.Contains(s, "r re-run") {
		t.Errorf("the interrupted step does not offer a re-run:\n%s", s)
	}

	// Not re-run by itself: over a few clock ticks, no process is started
	// and the step stays interrupted.
	pid2 := tm.PID(pidFile2)
	deadline := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		s = tm.Screen("resumed")
		if l := tmuxtest.StepLine(s, 4); !strings.HasPrefix(l, "? ") {
			t.Fatalf("interrupted step changed by itself to %q:\n%s", l, s)
		}
		if kids := children(t, pid2); len(kids) > 0 {
			t.Fatalf("resumed drnav started processes %v by itself", kids)
		}
		time.Sleep(pollInterval)
	}

	id := tm.quit("resumed")
	rep := tm.drnav("report", "--runbooks", rb, id)
	if !strings.Contains(rep, "| 4 | Sleep thirty seconds | interrupted |") {
		t.Errorf("report does not show the long step interrupted:\n%s", rep)
	}
}

// TestWatchReadOnly follows a driven incident from a second window: the
// observer sees progress, and its mutating keys do nothing but say
// read-only.
func TestWatchReadOnly(t *testing.T) {
	t.Parallel()
	tm := newTerm(t, 120, 40)
	rb := shellRunbooks(t)
	tm.start("drv", "--runbooks", rb)
	tm.declareShell("drv", "")
	tm.start("obs", "watch", "--runbooks", rb)
	s := tm.WaitFor("obs", "read-only", "READ-ONLY", "1 Echo a greeting")
	if got := tmuxtest.StepLine(s, 1); !strings.HasPrefix(got, "· ") {
		t.Fatalf("observer shows step 1 as %q before it ran", got)
	}

	tm.Keys("drv", "Enter")
	tm.WaitStep("drv", 1, "✓")
	tm.WaitStep("obs", 1, "✓")
	tm.Keys("drv", "Enter")
	tm.WaitStep("drv", 2, "✗")
	tm.WaitStep("obs", 2, "✗")

	// The observer tries to run, skip and note step 3.
	tm.Keys("obs", "g", "j", "j")
	tm.WaitFor("obs", "3 Print five thousand lines", "$ seq 1 5000")
	for _, k := range []struct{ key, what string }{
		{"Enter", "run"}, {"s", "skip"}, {"n", "note"}, {"R", "resolve"}, {"D", "mark done"},
	} {
		tm.Keys("obs", k.key)
		tm.WaitFor("obs", "read-only: "+k.what+" is disabled")
	}
	s = tm.Screen("obs")
	for _, bad := range []string{"Skip:", "Note on:", "reason (required)"} {
		if strings.Contains(s, bad) {
			t.Errorf("observer opened a prompt %q:\n%s", bad, s)
		}
	}
	if got := tmuxtest.StepLine(s, 3); !strings.HasPrefix(got, "· ") {
		t.Errorf("observer's keys changed step 3 to %q", got)
	}

	// The driver goes on; the observer still follows, and step 3 was
	// never run or skipped by the observer's keys.
	tm.Keys("drv", "G", "Enter")
	tm.WaitFor("drv", "Done: Tell the team")
	tm.Keys("drv", "Enter")
	tm.WaitStep("drv", 6, "✓")
	tm.WaitStep("obs", 6, "✓")
	s = tm.Screen("drv")
	if got := tmuxtest.StepLine(s, 3); !strings.HasPrefix(got, "· ") {
		t.Errorf("after the observer's keys the driver shows step 3 as %q:\n%s", got, s)
	}
	id := tm.quit("drv")
	rep := tm.drnav("report", "--runbooks", rb, id)
	if !strings.Contains(rep, "| 3 | Print five thousand lines | pending |") {
		t.Errorf("the observer's keys touched step 3 (big):\n%s", rep)
	}
}

// TestDrillDatabaseCorruption walks the database-corruption drill to the
// end (issue 7): every step run, destructive ones confirmed, the critical
// restore confirmed by typing the database name, the manual step marked
// done; the scorecard appears; resolve.
func TestDrillDatabaseCorruption(t *testing.T) {
	t.Parallel()
	tm := newTerm(t, 120, 40)
	tm.start("drill", "--drill", "--drill-speed", "20")
	tm.WaitFor("drill", "pick the disaster", "Database corruption")
	tm.Type("drill", "corrupt")
	tm.WaitUntil("drill", "filter to database corruption only", func(s string) bool {
		return strings.Contains(s, "> Database corruption") && !strings.Contains(s, "Network failure")
	})
	tm.Keys("drill", "Enter")
	tm.WaitFor("drill", "Declare: Database corruption", "DRILL", "Detection time", "(backup)")
	// Detection time and five variables: enter through them all.
	for i := 0; i < 6; i++ {
		tm.Keys("drill", "Enter")
	}
	tm.WaitFor("drill", "DRILL scenario briefing", "Any key starts")
	tm.Keys("drill", "Space")
	tm.WaitUntil("drill", "the briefing closed", func(s string) bool {
		return !strings.Contains(s, "scenario briefing") && strings.Contains(s, "8 Check the application")
	})

	// 1 amcheck (report only): finds the corrupt index.
	tm.Keys("drill", "Enter")
	tm.WaitStep("drill", 1, "✓")
	tm.WaitFor("drill", "corrupt", "orders_pkey")
	// 2 shell: shown, not run; the trainee says what they expect it did.
	tm.Keys("drill", "Enter")
	tm.WaitStep("drill", 2, "○") // shown, not done until the expectation
	tm.WaitFor("drill", "Shown, not run. What do you expect it to have done?")
	tm.Type("drill", "no corruption messages in the last 6h")
	tm.Keys("drill", "Enter")
	tm.WaitFor("drill", "the runbook expects:")
	// 3 manual: enter asks what was done.
	tm.WaitStep("drill", 2, "✓")
	tm.Keys("drill", "Enter")
	tm.WaitFor("drill", "Done: Confirm the backup predates")
	tm.Type("drill", "latest.sql predates the first checksum error")
	tm.Keys("drill", "Enter")
	tm.WaitStep("drill", 3, "✓")

	// 4 scale to 0: destructive; the default (enter) cancels.
	tm.Keys("drill", "Enter")
	tm.WaitFor("drill", "Run destructive step?", "deployment/ci-failure-agent", "[ Cancel ]   Run")
	tm.Keys("drill", "Enter")
	tm.WaitUntil("drill", "the dialog closed", func(s string) bool { return !strings.Contains(s, "Run destructive step?") })
	if got := tmuxtest.StepLine(tm.Screen("drill"), 4); !strings.HasPrefix(got, "· ") {
		t.Fatalf("enter on the confirmation's default ran the step: %q", got)
	}
	tm.Keys("drill", "Enter")
	tm.WaitFor("drill", "Run destructive step?")
	tm.Keys("drill", "Right", "Enter")
	tm.WaitStep("drill", 4, "✓")
	tm.WaitFor("drill", "replicas 0/0")

	// 5 restore: critical, the database name must be typed.
	tm.Keys("drill", "Enter")
	tm.WaitFor("drill", "Run destructive step?", "Type app to confirm")
	tm.Type("drill", "app")
	tm.WaitFor("drill", "> app ")
	tm.Keys("drill", "Tab")
	tm.WaitFor("drill", "[ Run ]") // the selection reads as text
	tm.Keys("drill", "Enter")
	tm.WaitStep("drill", 5, "✓")
	tm.WaitFor("drill", "restore: swapped") // into a new database, then swapped in

	// 6 amcheck: now clean.
	tm.Keys("drill", "Enter")
	tm.WaitStep("drill", 6, "✓")
	// 7 scale back to 3: destructive, verified ready 3/3.
	tm.Keys("drill", "Enter")
	tm.WaitFor("drill", "Run destructive step?")
	tm.Keys("drill", "Right", "Enter")
	tm.WaitStep("drill", 7, "✓")
	tm.WaitFor("drill", "ready 3/3")
	// 8 shell: shown, not run. Once the expectation is given every step is
	// settled: the scorecard opens.
	tm.Keys("drill", "Enter")
	tm.WaitFor("drill", "Shown, not run. What do you expect it to have done?")
	tm.Type("drill", "few application errors")
	tm.Keys("drill", "Enter")
	s := tm.WaitFor("drill", "Drill scorecard", "Scenario: recovered")
	for _, want := range []string{"within RTO", "Steps: 6 done · 2 shown, not run · 0 skipped · 0 failed", "Hints used: 0"} {
		if !strings.Contains(s, want) {
			t.Errorf("scorecard lacks %q:\n%s", want, s)
		}
	}

	tm.Keys("drill", "Space")
	tm.WaitUntil("drill", "the scorecard closed", func(s string) bool { return !strings.Contains(s, "Drill scorecard") })
	tm.Keys("drill", "R")
	tm.WaitFor("drill", "Resolve the incident?")
	tm.Keys("drill", "Right", "Enter")
	tm.WaitFor("drill", "incident resolved")
	id := tm.quit("drill")

	rep := tm.drnav("report", id)
	for _, want := range []string{"## Scorecard", "| Steps done | 6/8 |", "| Steps shown, not run | 2 |", "| RTO 4h | met", "Resolved"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	if list := tm.drnav("incidents"); !regexp.MustCompile(id + `\s+database-corruption\s+drill\s+resolved`).MatchString(list) {
		t.Errorf("incidents does not list %s as a resolved drill:\n%s", id, list)
	}
}

// TestSmallTerminal checks the checklist at 80x24, and after a resize from
// 120x40, shows header, steps and footer with no line wider than 80 and no
// stray escape bytes, also with a dialog and the help open.
func TestSmallTerminal(t *testing.T) {
	t.Parallel()
	tm := newTerm(t, 80, 24)
	tm.start("small", "--drill", "--drill-speed", "20")
	tm.WaitFor("small", "pick the disaster")
	checkLines(t, "picker", tm.Screen("small"), 80, 24)
	tm.Type("small", "corrupt")
	tm.WaitFor("small", "> Database corruption")
	tm.Keys("small", "Enter")
	tm.WaitFor("small", "Declare: Database corruption")
	checkLines(t, "declare", tm.Screen("small"), 80, 24)
	for i := 0; i < 6; i++ {
		tm.Keys("small", "Enter")
	}
	tm.WaitFor("small", "Any key starts")
	checkLines(t, "briefing", tm.Screen("small"), 80, 24)
	tm.Keys("small", "Space")
	s := tm.WaitUntil("small", "the checklist", func(s string) bool {
		return !strings.Contains(s, "Any key starts") && strings.Contains(s, "8 Check the applicat")
	})
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if !strings.Contains(lines[0], "Database corruption") || !strings.Contains(lines[0], "DRILL") || !strings.Contains(lines[0], "RTO") {
		t.Errorf("first line is not the header: %q", lines[0])
	}
	if !strings.Contains(lines[len(lines)-1], "enter run step") {
		t.Errorf("last line is not the footer: %q", lines[len(lines)-1])
	}
	for n := 1; n <= 8; n++ {
		if tmuxtest.StepLine(s, n) == "" {
			t.Errorf("step %d not on the 80x24 checklist", n)
		}
	}
	checkLines(t, "checklist", s, 80, 24)

	tm.Keys("small", "j", "j", "j", "Enter")
	checkLines(t, "confirm dialog", tm.WaitFor("small", "Run destructive step?"), 80, 24)
	tm.Keys("small", "Enter")
	tm.WaitUntil("small", "the dialog closed", func(s string) bool { return !strings.Contains(s, "Run destructive step?") })
	tm.Keys("small", "?")
	checkLines(t, "help", tm.WaitFor("small", "Keys", "any key closes"), 80, 24)
	tm.Keys("small", "Space")
	tm.WaitUntil("small", "the help closed", func(s string) bool { return !strings.Contains(s, "any key closes") })

	// Grow, then shrink back: the checklist redraws at each size.
	tm.Resize("small", 120, 40)
	big := tm.WaitUntil("small", "the 120x40 redraw", func(s string) bool {
		return strings.Count(s, "\n") == 40 && strings.Contains(s, "Confirm the backup predates the co")
	})
	checkLines(t, "120x40", big, 120, 40)
	tm.Resize("small", 80, 24)
	s = tm.WaitUntil("small", "the 80x24 redraw", func(s string) bool {
		return strings.Count(s, "\n") == 24 && strings.Contains(s, "enter run step") && !strings.Contains(s, "Confirm the backup predates the co")
	})
	checkLines(t, "80x24 after resize", s, 80, 24)
}
