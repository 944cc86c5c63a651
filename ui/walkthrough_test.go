package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
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
				if strings.Contains(raw, "\x1b[3") || strings.Contains(raw, "\x1b[9") || strings.Contains(raw, ";38;") {
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
