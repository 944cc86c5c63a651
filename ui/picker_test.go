package ui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// TestPickerUpdate drives the picker widget alone: typing filters (best
// match first), backspace widens, arrows move within the items, esc clears
// a filter before it quits, and enter picks the selected item.
func TestPickerUpdate(t *testing.T) {
	t.Parallel()
	k := NewKeyMap(false).Picker
	open := []OpenIncident{{ID: "inc-7", Runbook: "db-corruption", Mode: ModeDrill, Detected: testNow.Add(-time.Hour)}}
	p := newPicker(open, twoRunbooks())
	press := func(keys ...string) (tea.Cmd, pickItem) {
		var cmd tea.Cmd
		var it pickItem
		for _, s := range keys {
			p, cmd, it = p.Update(keyMsg(s), k)
		}
		return cmd, it
	}
	if n := len(p.items()); n != 3 {
		t.Fatalf("%d items unfiltered, want 3 (one open incident, two runbooks)", n)
	}
	if _, it := press("down", "down", "down", "enter"); it.rb == nil || it.rb.ID != "other" {
		t.Fatalf("down×3 + enter picked %+v, want the last runbook (selection stops at the end)", it)
	}
	if _, it := press("up", "up", "up", "enter"); it.open == nil || it.open.ID != "inc-7" {
		t.Fatalf("up×3 + enter picked %+v, want the open incident", it)
	}
	press("O", "t", "h")
	if p.filter != "Oth" || p.sel != 0 {
		t.Fatalf("typed filter %q sel %d, want \"Oth\" 0", p.filter, p.sel)
	}
	if _, it := press("enter"); it.rb == nil || it.rb.ID != "other" {
		t.Fatalf("filtered enter picked %+v, want runbook other", it)
	}
	press("backspace")
	if p.filter != "Ot" {
		t.Fatalf("backspace left %q, want \"Ot\"", p.filter)
	}
	if cmd, it := press("esc"); cmd != nil || it != (pickItem{}) || p.filter != "" {
		t.Fatalf("esc with a filter: cmd %v item %+v filter %q, want the filter cleared only", cmd != nil, it, p.filter)
	}
	cmd, _ := press("esc")
	if cmd == nil {
		t.Fatal("esc without a filter did not quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("esc without a filter: the command is not tea.Quit")
	}
	if _, it := press("ctrl+p", "ctrl+n", "enter"); it.rb == nil || it.rb.ID != "db-corruption" {
		t.Fatalf("ctrl+p ctrl+n enter picked %+v, want the first runbook", it)
	}
}
