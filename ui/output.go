package ui

import (
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
)

// outputPane is the checklist's output of one step: a viewport over the
// step's lines wrapped to its width, following the end unless scrolled
// back. It owns its scrolling; the root model hands it the lines to show.
type outputPane struct {
	vp viewport.Model
	// rowOf maps the output's lines to the viewport's rows (see
	// wrapOutput), for the step rowsOf.
	rowOf  []int
	rowsOf string
	follow bool
}

func newOutputPane() outputPane {
	return outputPane{vp: newOutputViewport(), follow: true}
}

// show puts the lines of step id into the viewport, wrapped to its width.
// Scrolled back, the line at the top stays at the top.
func (o *outputPane) show(id string, lines []string) {
	top := -1
	if !o.follow && id == o.rowsOf && len(o.rowOf) > 0 {
		top = sourceLine(o.rowOf, o.vp.YOffset())
	}
	rows, rowOf := wrapOutput(lines, o.vp.Width())
	o.rowOf, o.rowsOf = rowOf, id
	o.vp.SetContentLines(rows)
	switch {
	case o.follow:
		o.vp.GotoBottom()
	case top >= 0 && top < len(rowOf):
		o.vp.SetYOffset(rowOf[top])
	}
}

// Update scrolls for a key: follow and the page keys always, the line
// keys when the output has the focus. handled says whether the key was
// the pane's.
func (o outputPane) Update(msg tea.KeyPressMsg, k *KeyMap, focused bool) (outputPane, bool) {
	switch {
	case keyIs(msg, k.Follow):
		o.follow = !o.follow
		if o.follow {
			o.vp.GotoBottom()
		}
	case keyIs(msg, k.PageUp):
		o.vp.PageUp()
		o.follow = false
	case keyIs(msg, k.PageDown):
		o.vp.PageDown()
		o.follow = o.vp.AtBottom()
	case !focused:
		return o, false
	case keyIs(msg, k.Up):
		o.vp.ScrollUp(1)
		o.follow = false
	case keyIs(msg, k.Down):
		o.vp.ScrollDown(1)
		o.follow = o.vp.AtBottom()
	case keyIs(msg, k.Top):
		o.vp.GotoTop()
		o.follow = false
	case keyIs(msg, k.Bottom):
		o.vp.GotoBottom()
		o.follow = true
	default:
		return o, false
	}
	return o, true
}
