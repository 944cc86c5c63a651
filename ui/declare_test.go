package ui

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestDeclareFormUpdate drives the declare form alone: typing replaces the
// fresh "now", a bad detection time or pattern holds the focus with the
// field's error, ctrl+n/ctrl+p walk the live choices (wrapping), esc asks
// to go back and enter on the last valid field submits.
func TestDeclareFormUpdate(t *testing.T) {
	t.Parallel()
	k := NewKeyMap(false).Declare
	s := NewStyles(true, true, false)
	rb := testRunbook()
	d, _ := newDeclareForm(&s, rb, nil, nil, 1, 100)
	var out declareOutcome
	press := func(keys ...string) {
		for _, key := range keys {
			d, _, out = d.Update(keyMsg(key), k, testNow)
		}
	}
	if len(d.fields) != 3 || d.fields[0].input.Value() != "now" || !d.fields[0].fresh {
		t.Fatalf("new form: %d fields, detection %q fresh %v", len(d.fields), d.fields[0].input.Value(), d.fields[0].fresh)
	}
	press("x")
	if got := d.fields[0].input.Value(); got != "x" {
		t.Fatalf("typing into the fresh detection field gave %q, want it to replace now", got)
	}
	press("enter")
	if d.cur != 0 || d.fields[0].err == "" || out != declareEditing {
		t.Fatalf("enter on a bad detection time: field %d err %q outcome %v, want it held with an error", d.cur, d.fields[0].err, out)
	}
	press("backspace", "0", "3", ":", "1", "0", "tab")
	if d.cur != 1 || d.fields[0].err != "" {
		t.Fatalf("tab after 03:10: field %d err %q, want field 1", d.cur, d.fields[0].err)
	}
	d.setChoices(choicesMsg{field: 1, choices: []string{"web-1", "web-2", "web-3"}})
	for _, c := range []struct{ key, want string }{
		{"ctrl+n", "web-1"}, {"ctrl+n", "web-2"}, {"ctrl+p", "web-1"}, {"ctrl+p", "web-3"}, {"ctrl+n", "web-1"},
	} {
		press(c.key)
		if got := d.fields[1].input.Value(); got != c.want {
			t.Fatalf("%s gave %q, want %q", c.key, got, c.want)
		}
	}
	d.fields[1].input.SetValue("Bad Pod")
	press("enter")
	if d.cur != 1 || d.fields[1].err != "must match [a-z0-9-]+" {
		t.Fatalf("enter on a value against the pattern: field %d err %q", d.cur, d.fields[1].err)
	}
	d.fields[1].input.SetValue("web-2")
	press("enter")
	if d.cur != 2 || out != declareEditing {
		t.Fatalf("enter on a valid field: field %d outcome %v, want field 2 editing", d.cur, out)
	}
	press("up")
	if d.cur != 1 {
		t.Fatalf("up: field %d, want 1", d.cur)
	}
	press("down", "enter")
	if out != declareSubmit {
		t.Fatalf("enter on the last valid field: outcome %v, want submit", out)
	}
	press("esc")
	if out != declareBack {
		t.Fatalf("esc: outcome %v, want back", out)
	}
	var cmd tea.Cmd
	d, cmd, _ = d.Update(keyMsg("ctrl+c"), k, testNow)
	if cmd == nil {
		t.Fatal("ctrl+c did not quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("ctrl+c: the command is not tea.Quit")
	}
}
