package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// KeyMap is every binding of the UI, in one place. Mutating bindings are
// tagged: in read-only mode they stay listed with "disabled: read-only".
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Enter, Back, Quit, Help, Tab            key.Binding

	// checklist
	Run, Cancel, CancelCtrl, Skip, Note, Verify, Hint, Status, Contacts key.Binding
	Docs, Resolve, MarkDone, Rerun, Search, Follow, Export, CopyReport  key.Binding
	Handover                                                            key.Binding

	// picker
	Drill, Live key.Binding
}

// mutating lists the bindings refused in read-only mode.
func (k *KeyMap) mutating() []*key.Binding {
	return []*key.Binding{&k.Run, &k.Cancel, &k.CancelCtrl, &k.Skip, &k.Note, &k.Verify,
		&k.Hint, &k.Status, &k.Resolve, &k.MarkDone, &k.Rerun}
}

// isMutating reports whether msg is one of the mutating bindings.
func isMutating(k KeyMap, msg tea.KeyPressMsg) bool {
	for _, b := range k.mutating() {
		if keyIs(msg, *b) {
			return true
		}
	}
	return false
}

// NewKeyMap builds the keymap; readOnly keeps mutating keys listed but
// disabled with the reason as their help text.
func NewKeyMap(readOnly bool) KeyMap {
	b := func(keys []string, k, h string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, h))
	}
	km := KeyMap{
		Up:         b([]string{"up", "k"}, "↑/k", "up"),
		Down:       b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:     b([]string{"pgup"}, "pgup", "output up"),
		PageDown:   b([]string{"pgdown"}, "pgdn", "output down"),
		Top:        b([]string{"home", "g"}, "g", "top"),
		Bottom:     b([]string{"end", "G"}, "G", "bottom"),
		Enter:      b([]string{"enter"}, "enter", "select"),
		Back:       b([]string{"esc"}, "esc", "back"),
		Quit:       b([]string{"q"}, "q", "quit"),
		Help:       b([]string{"?"}, "?", "help"),
		Tab:        b([]string{"tab"}, "tab", "focus"),
		Run:        b([]string{"enter"}, "enter", "run step"),
		Cancel:     b([]string{"x"}, "x", "cancel step"),
		CancelCtrl: b([]string{"ctrl+c"}, "ctrl+c", "cancel step"),
		Skip:       b([]string{"s"}, "s", "skip"),
		Note:       b([]string{"n"}, "n", "note"),
		Verify:     b([]string{"v"}, "v", "verify"),
		Hint:       b([]string{"h"}, "h", "hint"),
		Status:     b([]string{"u"}, "u", "status update"),
		Contacts:   b([]string{"c"}, "c", "contacts"),
		Docs:       b([]string{"d"}, "d", "documents"),
		Resolve:    b([]string{"R"}, "R", "resolve"),
		MarkDone:   b([]string{"D"}, "D", "mark done"),
		Rerun:      b([]string{"r"}, "r", "re-run"),
		Search:     b([]string{"/"}, "/", "search output"),
		Follow:     b([]string{"f"}, "f", "follow output"),
		Export:     b([]string{"e"}, "e", "export report"),
		Handover:   b([]string{"H"}, "H", "hand over (serve)"),
		CopyReport: b([]string{"y"}, "y", "copy report path"),
		Drill:      b([]string{"d"}, "d", "drill mode"),
		Live:       b([]string{"l"}, "l", "live mode"),
	}
	if readOnly {
		for _, bp := range km.mutating() {
			h := bp.Help()
			bp.SetHelp(h.Key, "disabled: read-only")
		}
	}
	return km
}

// helpKeys implements help.KeyMap over a fixed set of bindings.
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding { return h.full }

// fullHelp groups every binding for the help screen.
func (k KeyMap) fullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown, k.Tab},
		{k.Run, k.Cancel, k.CancelCtrl, k.Skip, k.Note, k.Verify},
		{k.Rerun, k.MarkDone, k.Hint, k.Status, k.Resolve},
		{k.Search, k.Follow, k.Export, k.CopyReport, k.Contacts, k.Docs, k.Help, k.Quit},
	}
}
