package ui

import (
	"fmt"
	"testing"
)

// TestOutputPaneUpdate drives the output pane alone: it follows new lines
// at the end; page up stops following and keeps the top line while lines
// arrive; line keys act only with the focus; bottom and f follow again.
func TestOutputPaneUpdate(t *testing.T) {
	t.Parallel()
	k := NewKeyMap(false)
	o := newOutputPane()
	o.vp.SetWidth(40)
	o.vp.SetHeight(5)
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprintf("line %02d", i))
	}
	o.show("s", lines)
	if !o.follow || !o.vp.AtBottom() {
		t.Fatal("a new pane does not follow the end")
	}
	press := func(key string, focused bool) bool {
		var handled bool
		o, handled = o.Update(keyMsg(key), &k, focused)
		return handled
	}
	if !press("pgup", false) || o.follow {
		t.Fatal("pgup (unfocused) did not scroll back and stop following")
	}
	top := o.vp.YOffset()
	o.show("s", append(lines, "line 50", "line 51"))
	if o.vp.YOffset() != top {
		t.Fatalf("scrolled back, new lines moved the top from row %d to %d", top, o.vp.YOffset())
	}
	if press("up", false) || o.vp.YOffset() != top {
		t.Fatal("up without the focus scrolled the output")
	}
	if !press("up", true) || o.vp.YOffset() != top-1 {
		t.Fatalf("up with the focus: row %d, want %d", o.vp.YOffset(), top-1)
	}
	if !press("G", true) || !o.follow || !o.vp.AtBottom() {
		t.Fatal("G with the focus did not go to the end and follow")
	}
	if !press("g", true) || o.follow || o.vp.YOffset() != 0 {
		t.Fatal("g with the focus did not go to the top and stop following")
	}
	if !press("f", false) || !o.follow || !o.vp.AtBottom() {
		t.Fatal("f did not follow the end again")
	}
	if press("x", true) {
		t.Fatal("x is not the output's key")
	}
}
