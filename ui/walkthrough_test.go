package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// noColorModel is renderModel as NO_COLOR shows it: whatever distinguishes
// a choice must be in the text.
func noColorModel(width, height int) Model {
	m := renderModel(width, height, false)
	m.opts.NoColor = true
	m.styles = NewStyles(m.isDark, true, false)
	m.help.Styles = m.styles.HelpStyles()
	m.panes.restyle(m.isDark, true, false)
	return m
}

// pressStop opens the stop dialog of the running step ("stop" runs in
// renderModel's journal; here it also runs in this process).
func pressStop(m Model) Model {
	m.run = &activeRun{id: 1, step: "stop", started: testNow}
	mm, _ := m.checklistKey(keyMsg("x"))
	return mm.(Model)
}

// walkthroughWidgets are the screens of issue 16's first-week walkthrough.
var walkthroughWidgets = map[string]func(m Model) string{
	"stopconfirm": func(m Model) string {
		return pressStop(m).viewConfirm()
	},
	"stopconfirm_stop": func(m Model) string {
		mm, _ := pressStop(m).confirmKey(keyMsg("right"))
		return mm.(Model).viewConfirm()
	},
}

func TestGoldenWalkthrough(t *testing.T) {
	t.Parallel()
	for name, render := range walkthroughWidgets {
		for _, w := range []int{80, 120} {
			t.Run(fmt.Sprintf("%s_%d", name, w), func(t *testing.T) {
				t.Parallel()
				m := noColorModel(w, 40)
				raw := render(m)
				// (bubbles' text inputs keep their own default colours: not checked)
				if !strings.HasPrefix(name, "declare") && (strings.Contains(raw, "\x1b[3") || strings.Contains(raw, ";38;")) {
					t.Errorf("colour codes with NO_COLOR: %q", raw)
				}
				out := ansi.Strip(raw)
				for i, l := range strings.Split(out, "\n") {
					if lw := ansi.StringWidth(l); lw > w {
						t.Errorf("line %d is %d wide, terminal %d: %q", i, lw, w, l)
					}
				}
				golden.RequireEqual(t, out)
			})
		}
	}
}

// TestSelectionReadsAsText: with colour gone, the active button and the
// selected step are still marked in the text.
func TestSelectionReadsAsText(t *testing.T) {
	t.Parallel()
	m := pressStop(noColorModel(80, 40))
	if got := ansi.Strip(m.viewConfirm()); !strings.Contains(got, "[ Keep running ]   Stop the step") {
		t.Errorf("stop dialog, default choice, not readable as text:\n%s", got)
	}
	mm, _ := m.confirmKey(keyMsg("right"))
	m = mm.(Model)
	if got := ansi.Strip(m.viewConfirm()); !strings.Contains(got, "  Keep running   [ Stop the step ]") {
		t.Errorf("stop dialog, Stop chosen, not readable as text:\n%s", got)
	}
	mm, _ = m.confirmKey(keyMsg("esc"))
	if f := mm.(Model).flash; f != "the step keeps running" {
		t.Errorf("esc flash = %q", f)
	}

	m = noColorModel(80, 40)
	m.openConfirm(m.runConfirm(m.selectedStep(), "Run destructive step?"))
	screen := ansi.Strip(m.render())
	if !strings.Contains(screen, "[ Cancel ]   Run  ") {
		t.Errorf("run dialog's default not readable as text:\n%s", screen)
	}
	m.overlay = ovNone
	screen = ansi.Strip(m.render())
	if !strings.Contains(screen, ">▶ 4 Stop application") || strings.Contains(screen, ">✓") {
		t.Errorf("selected step not marked as text:\n%s", screen)
	}
}

func init() {
	walkthroughWidgets["footer_output"] = func(m Model) string {
		mm, _ := m.checklistKey(keyMsg("tab"))
		return mm.(Model).viewFooter()
	}
	// step 1 has just succeeded: the cursor is on the next open step and
	// step 1's output stays in view, labelled
	walkthroughWidgets["afterrun"] = func(m Model) string {
		m.outs["identify"] = []string{"hello", "world"}
		m.list.sel = 0
		m.advanceFrom("identify")
		mm, _ := m.Update(tea.WindowSizeMsg{Width: m.width, Height: 30})
		return mm.(Model).render()
	}
}

// TestCursorMovesOnAfterSuccess: a step that succeeds hands the cursor to
// the next open step; Enter on a done step says so instead of offering to
// run it again; r still re-runs it, after asking.
func TestCursorMovesOnAfterSuccess(t *testing.T) {
	t.Parallel()
	h, _ := declared(t, testOptions())
	h.press("enter")
	h.until("step 1 done", func(m Model) bool { return m.stepStatus(0) == incident.StepDone && m.run == nil })
	if h.m.list.sel != 1 {
		t.Fatalf("cursor on step %d after step 1 succeeded, want 2", h.m.list.sel+1)
	}
	scr := h.screen()
	if !strings.Contains(scr, "output of step 1") || !strings.Contains(scr, "world") || !strings.Contains(scr, ">✗ 2 A step") && !strings.Contains(scr, ">· 2 A step") {
		t.Errorf("after the run: want the cursor on step 2 and step 1's output in view:\n%s", scr)
	}
	h.press("up")
	if h.m.list.outOf != "" || !strings.Contains(h.screen(), "── output 4 lines") {
		t.Errorf("moving by hand: the output pane follows the selection:\n%s", h.screen())
	}
	h.press("enter")
	if h.m.overlay != ovNone || h.m.flash != "step 1 is done: r re-runs it (asks first)" {
		t.Errorf("enter on a done step: overlay %v flash %q", h.m.overlay, h.m.flash)
	}
	if !strings.Contains(h.screen(), "step 1 is done") {
		t.Errorf("flash not in the footer:\n%s", h.screen())
	}
	h.press("r")
	if h.m.overlay != ovConfirm || h.m.confirm.title != "Run this step again?" {
		t.Errorf("r on a done step: overlay %v title %q", h.m.overlay, h.m.confirm.title)
	}
	h.press("esc")
	h.m.flash = ""
	if keys := ansi.Strip(h.m.viewFooter()); !strings.Contains(keys, "r re-run") || strings.Contains(keys, "enter run step") {
		t.Errorf("footer on a done step offers %q, want r re-run", keys)
	}
}

// TestFooterNamesFocus: the footer names the area ↑/↓ act on.
func TestFooterNamesFocus(t *testing.T) {
	t.Parallel()
	for _, w := range []int{80, 120} {
		m := noColorModel(w, 40)
		var got []string
		for range focusCount {
			got = append(got, strings.Fields(ansi.Strip(m.viewFooter()))[0])
			mm, _ := m.checklistKey(keyMsg("tab"))
			m = mm.(Model)
		}
		want := "[steps] [output] [pods] [deployment] [postgresql]"
		if strings.Join(got, " ") != want {
			t.Errorf("width %d: footer focus names %v, want %s", w, got, want)
		}
	}
}

// TestStatusDraftKept: the status editor reopens on the edits of last
// time, until the update is posted.
func TestStatusDraftKept(t *testing.T) {
	t.Parallel()
	h, j := declared(t, testOptions())
	h.press("u")
	fresh := h.m.status.Value()
	h.press("ctrl+e") // textarea: end of line
	h.typeText(" -- EDITED BY ME")
	h.press("esc")
	h.press("u")
	if v := h.m.status.Value(); !strings.Contains(v, "EDITED BY ME") {
		t.Fatalf("reopened status editor lost the edits:\n%s", v)
	}
	h.press("ctrl+y")
	h.until("posted", func(m Model) bool { return len(m.inc.Updates) == 1 })
	if got := j.Events()[len(j.Events())-1].Text; !strings.Contains(got, "EDITED BY ME") {
		t.Errorf("posted text lacks the edits: %q", got)
	}
	h.press("u")
	if v := h.m.status.Value(); strings.Contains(v, "EDITED BY ME") || v == "" {
		t.Errorf("after posting, want a fresh draft, got:\n%s", v)
	}
	_ = fresh
}

// TestExportReport: e writes report.md into the incident folder (in a
// Cmd) and the footer shows its path.
func TestExportReport(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	opts := testOptions()
	opts.JournalRoot = root
	h := newHarness(t, opts)
	h.press("enter")
	h.until("declare form", func(m Model) bool { return m.screen == screenDeclare })
	h.press("enter", "enter", "enter")
	h.until("checklist", func(m Model) bool { return m.screen == screenChecklist && m.journal != nil })
	h.m.overlay = ovNone
	if mm, cmd := h.m.Update(keyMsg("y")); cmd != nil || !strings.Contains(mm.(Model).flash, "e exports it") {
		t.Errorf("y before any export: flash %q", mm.(Model).flash)
	}
	mm, cmd := h.m.Update(keyMsg("e"))
	h.m = mm.(Model)
	if cmd == nil {
		t.Fatalf("e gave no command; flash %q", h.m.flash)
	}
	if _, err := os.Stat(filepath.Join(root, h.m.inc.ID, "report.md")); err == nil {
		t.Fatalf("report written in Update, before the command ran")
	}
	h.exec(cmd)
	h.until("exported", func(m Model) bool { return strings.HasPrefix(m.flash, "report written: ") })
	path := strings.TrimSuffix(strings.TrimPrefix(h.m.flash, "report written: "), " · y copies the path")
	if path != filepath.Join(root, h.m.inc.ID, "report.md") {
		t.Errorf("report path %q, want it in the incident folder %s", path, filepath.Join(root, h.m.inc.ID))
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "Database corruption") {
		t.Errorf("report.md: %v\n%s", err, b)
	}
	if !strings.Contains(h.screen(), "report written: "+path) {
		t.Errorf("path not in the footer:\n%s", h.screen())
	}
	// y copies the path (OSC 52).
	mm, cmd = h.m.Update(keyMsg("y"))
	h.m = mm.(Model)
	if cmd == nil || fmt.Sprint(cmd()) != path || !strings.Contains(h.m.flash, "copied") {
		t.Errorf("y after the export: flash %q, clipboard command %v", h.m.flash, cmd)
	}
	if j, ok := h.m.journal.(*incident.Journal); ok {
		_ = j.Close()
	}

	mem, _ := declared(t, testOptions())
	mem.press("e")
	if !strings.Contains(mem.m.flash, "in memory only") {
		t.Errorf("export of an in-memory incident: flash %q", mem.m.flash)
	}
}

func declareModel(w int, typed ...string) Model {
	m := noColorModel(w, 40)
	mm, _ := m.startDeclare()
	m = mm.(Model)
	for _, k := range typed {
		mm, _ = m.declareKey(keyMsg(k))
		m = mm.(Model)
	}
	return m
}

func typedKeys(s string) []string {
	var k []string
	for _, r := range s {
		k = append(k, string(r))
	}
	return k
}

// TestDetectionField: "now" is the value (not a placeholder), the formats
// sit on their own dimmed line, and the resolved time shows as you type.
func TestDetectionField(t *testing.T) {
	t.Parallel()
	for _, w := range []int{80, 120} {
		m := declareModel(w)
		lines := strings.Split(ansi.Strip(m.viewDeclare()), "\n")
		if strings.TrimRight(lines[3], " ") != "  > now" || lines[4] != "  = 03:30 today, just now · typing replaces now" || !strings.HasPrefix(lines[5], "  formats: now · 15m") {
			t.Errorf("width %d: detection field:\n%s", w, strings.Join(lines[:6], "\n"))
		}
		if got := m.decl.fields[0].input.Value(); got != "now" {
			t.Errorf("value %q, want now", got)
		}
		m = declareModel(w, typedKeys("03:10")...)
		if got := ansi.Strip(m.viewDeclare()); !strings.Contains(got, "  > 03:10 ") || !strings.Contains(got, "  = 03:10 today, 20 min ago") {
			t.Errorf("width %d: 03:10 not resolved:\n%s", w, got)
		}
		m = declareModel(w, typedKeys("in a bit")...)
		if got := ansi.Strip(m.viewDeclare()); !strings.Contains(got, "  not a time yet") {
			t.Errorf("width %d: an unparsable value is not flagged:\n%s", w, got)
		}
	}
}

func init() {
	walkthroughWidgets["declare"] = func(m Model) string {
		mm, _ := m.startDeclare()
		return mm.(Model).viewDeclare()
	}
	walkthroughWidgets["declare_typed"] = func(m Model) string {
		mm, _ := m.startDeclare()
		m = mm.(Model)
		for _, k := range typedKeys("47 minutes ago") {
			mm, _ = m.declareKey(keyMsg(k))
			m = mm.(Model)
		}
		return m.viewDeclare()
	}
}

func TestWrapWords(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		w    int
		want string
	}{
		{"kubectl -n default scale deployment ci-failure-agent --replicas=0", 40, "kubectl -n default scale deployment|ci-failure-agent --replicas=0"},
		{"abcdefghij", 4, "abcd|efgh|ij"},
		{"a  b", 10, "a  b"},
		{"", 5, ""},
	} {
		if got := strings.Join(wrapWords(c.in, c.w), "|"); got != c.want {
			t.Errorf("wrapWords(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
	}
}

// longStepModel selects a step whose command is longer than the detail
// pane and whose texts carry placeholders with values.
func longStepModel(w int) Model {
	m := noColorModel(w, 40)
	m.rb.Steps = append(m.rb.Steps,
		runbooks.Step{ID: "logs", Title: "Read the failing pod's logs", Phase: "restore",
			Why:    "The last lines of {{pod}} say why it crashed.",
			Run:    "kubectl logs -l {{app_label}} -n {{namespace}} --since=5m --tail=50 --prefix --all-containers --max-log-requests=10 --previous",
			Expect: "a stack trace from {{pod}}"},
		runbooks.Step{ID: "wait", Title: "Wait for the pods", Phase: "restore",
			Wait: &runbooks.Verify{PodsReady: "{{app_label}}", NoCrashLoop: "{{app_label}}", Within: runbooks.Duration{Duration: 5 * time.Minute}}},
	)
	for _, v := range [][2]string{{"app_label", "app=ci-failure-agent"}, {"namespace", "ci"}} {
		m.apply(incident.Event{Type: incident.EventVariableSet, Time: testNow, Name: v[0], Value: v[1]})
	}
	m.list.sel = len(m.rb.Steps) - 2
	m.refreshOutput()
	return m
}

func init() {
	walkthroughWidgets["detail_long"] = func(m Model) string {
		m = longStepModel(m.width)
		d := m.dims()
		return m.viewDetail(d.detailW, 20)
	}
}

// TestDetailShowsEverythingResolved: a long command wraps (its last flag
// is on screen), and placeholders with a value are filled in before the
// step runs.
func TestDetailShowsEverythingResolved(t *testing.T) {
	t.Parallel()
	for _, w := range []int{80, 120} {
		m := longStepModel(w)
		scr := ansi.Strip(m.render())
		for _, want := range []string{"--previous", "app=ci-failure-agent -n ci", "Why: The last lines of agent-7d9f-abc", "a stack trace from agent-7d9f-abc"} {
			if !strings.Contains(scr, want) {
				t.Errorf("width %d: %q not on screen:\n%s", w, want, scr)
			}
		}
		m.list.sel++ // the wait step
		scr = ansi.Strip(m.render())
		if strings.Contains(scr, "{{") || !strings.Contains(scr, "wait until pods ready app=ci-failure-agent") {
			t.Errorf("width %d: wait step not resolved:\n%s", w, scr)
		}
		for i, l := range strings.Split(scr, "\n") {
			if lw := ansi.StringWidth(l); lw > w {
				t.Errorf("width %d: line %d is %d wide", w, i, lw)
			}
		}
	}
}

// TestShownStepIsNotDone: in a drill a shell step shown, not run, gets
// its own glyph and status until the trainee says what they expect; the
// scorecard counts it apart from the steps done.
func TestShownStepIsNotDone(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.Mode = ModeDrill
	opts.NoColor = true
	opts.Drill = &Environment{Context: "drill-sim", Database: "simulated",
		Target: &steps.Target{ShellMode: steps.ShellShowOnly}}
	h, _ := declared(t, opts)
	h.press("enter")
	h.until("expectation prompt", func(m Model) bool { return m.overlay == ovPrompt && m.prompt.kind == promptExpect })
	h.press("esc") // not answered yet
	if st := h.m.stepStatus(0); st != incident.StepShown {
		t.Fatalf("shown step without an expectation is %v, want shown", st)
	}
	if h.m.list.sel != 0 {
		t.Errorf("cursor moved on from a step still waiting for the expectation")
	}
	scr := h.screen()
	if !strings.Contains(scr, ">○ 1 Identify corruption") || !strings.Contains(scr, "shown│") || strings.Contains(scr, "✓ 1 Identify") {
		t.Errorf("shown step not marked as shown:\n%s", scr)
	}
	if !strings.Contains(scr, "shown, not run · enter: say what you expect it did") {
		t.Errorf("detail does not say the step is shown:\n%s", scr)
	}
	h.press("enter")
	if h.m.overlay != ovPrompt || h.m.prompt.kind != promptExpect {
		t.Fatalf("enter on a shown step does not ask the expectation again")
	}
	h.typeText("two lines")
	h.press("enter")
	h.until("settled", func(m Model) bool { return m.stepStatus(0) == incident.StepDone })
	if h.m.list.sel != 1 {
		t.Errorf("after the expectation the cursor is on step %d, want 2", h.m.list.sel+1)
	}
	if row := h.screen(); !strings.Contains(row, " ✓ 1 Identify corruption  ") || strings.Contains(row, "✓ 1 Identify corruption 0s") {
		t.Errorf("a shown step shows a duration as if it ran:\n%s", row)
	}
	h.m.overlay = ovScorecard
	card := h.screen()
	if !strings.Contains(card, "Steps: 0 done · 1 shown, not run") {
		t.Errorf("scorecard does not count the shown step apart:\n%s", card)
	}
}

// TestScreenBeneathTypingDialogStaysCurrent: typing into the status editor
// reuses the screen beneath it, but anything else (a step's events, a
// resize) renders it again.
func TestScreenBeneathTypingDialogStaysCurrent(t *testing.T) {
	t.Parallel()
	h, _ := declared(t, testOptions())
	h.press("u")
	h.typeText("abc")
	if !strings.Contains(h.screen(), "abc") {
		t.Fatalf("typed text not shown:\n%s", h.screen())
	}
	before := h.m.gen
	h.typeText("def")
	if h.m.gen != before {
		t.Errorf("typing into the editor counted as a change beneath it")
	}
	h.handle(journaledMsg{events: []incident.Event{{Type: incident.EventStepSkipped, Time: testNow, Step: "sleep", Reason: "x"}}})
	if scr := h.screen(); !strings.Contains(scr, "↷ 3 Slow step") || !strings.Contains(scr, "abcdef") {
		t.Errorf("a journaled event under the editor is not shown:\n%s", scr)
	}
	h.handle(tea.WindowSizeMsg{Width: 80, Height: 30})
	for i, l := range strings.Split(h.screen(), "\n") {
		if ansi.StringWidth(l) > 80 {
			t.Errorf("after a resize line %d is %d wide: the old screen was reused", i, ansi.StringWidth(l))
		}
	}
}
