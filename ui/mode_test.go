package ui

import "testing"

// TestChooseMode: the mode screen's keys choose drill, live, a context
// (only while LIVE has none), back or quit; any other key chooses nothing.
func TestChooseMode(t *testing.T) {
	t.Parallel()
	k := NewKeyMap(false).Mode
	for _, c := range []struct {
		key     string
		canPick bool
		want    modeChoice
	}{
		{"d", false, modeChoseDrill}, {"l", false, modeChoseLive}, {"c", true, modePickContext},
		{"c", false, modeUnchosen}, {"esc", false, modeBack}, {"ctrl+c", false, modeQuit},
		{"enter", true, modeUnchosen}, {"x", true, modeUnchosen},
	} {
		if got := chooseMode(keyMsg(c.key), k, c.canPick); got != c.want {
			t.Errorf("%s (can pick %v) chose %v, want %v", c.key, c.canPick, got, c.want)
		}
	}
}
