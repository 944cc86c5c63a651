package ui

import (
	"strings"

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

	// Mode holds the mode screen's keys.
	Mode ModeKeys
	// Picker holds the picker's keys (everything else typed filters).
	Picker PickerKeys
	// Declare holds the declare form's keys (everything else is typed
	// into the focused field).
	Declare DeclareKeys

	// Editor holds the status-update editor's keys.
	Editor EditorKeys

	// Dialog holds the keys of the dialogs; their footers are generated
	// from these bindings (helpLine).
	Dialog DialogKeys
}

// DialogKeys are the keys of the dialogs over the checklist.
type DialogKeys struct {
	// confirm
	Switch, Who, Select, Decline key.Binding
	// one-line prompt
	Save, Dismiss key.Binding
	// status update editor
	Send, Copy, CloseStatus key.Binding
	// contacts
	AssignIC, AssignScribe, CloseContacts key.Binding
	// related documents and the document pager
	Open, CopyDoc, CloseDocs, Scroll, ClosePager key.Binding
	// kube context picker
	Choose, Use, Back key.Binding
}

// PickerKeys are the keys of the picker screen. Filter only describes
// typing (it matches no key of its own).
type PickerKeys struct {
	Up, Down, Select, Open, Erase, Back, Quit, Filter key.Binding
}

// footer is the picker's footer line.
func (k PickerKeys) footer() string {
	f := k.Filter.Help()
	return f.Key + " " + f.Desc + " · " + helpLine(k.Select, k.Open, k.Back)
}

// DeclareKeys are the keys of the declare form. Field and Choices
// describe the moves and the choices in one help entry each.
type DeclareKeys struct {
	Prev, Next, Submit, NextChoice, PrevChoice, Erase, Back, Quit key.Binding
	Field, Choices                                                key.Binding
}

// ModeKeys are the keys of the mode screen.
type ModeKeys struct {
	Drill, Live, Context, Back, Quit key.Binding
}

// EditorKeys are the keys of the status-update editor (emacs-style
// alternatives as in readline). Edit lists the keys that only move or edit
// within a dialog's text, nothing beneath it (see typingIntoDialog).
type EditorKeys struct {
	Left, Right, WordLeft, WordRight, Up, Down, PageUp, PageDown key.Binding
	LineStart, LineEnd, TextStart, TextEnd, Newline, Space       key.Binding
	Backspace, Delete, DeleteWordLeft, DeleteWordRight           key.Binding
	DeleteToEnd, DeleteToStart                                   key.Binding
	Edit                                                         key.Binding
}

func newEditorKeys() EditorKeys {
	k := func(keys ...string) key.Binding { return key.NewBinding(key.WithKeys(keys...)) }
	return EditorKeys{
		Left: k("left", "ctrl+b"), Right: k("right", "ctrl+f"),
		WordLeft: k("alt+left", "alt+b"), WordRight: k("alt+right", "alt+f"),
		Up: k("up", "ctrl+p"), Down: k("down", "ctrl+n"), PageUp: k("pgup"), PageDown: k("pgdown"),
		LineStart: k("home", "ctrl+a"), LineEnd: k("end", "ctrl+e"),
		TextStart: k("ctrl+home", "alt+<"), TextEnd: k("ctrl+end", "alt+>"),
		Newline: k("enter", "ctrl+m"), Space: k("space"),
		Backspace: k("backspace", "ctrl+h"), Delete: k("delete", "ctrl+d"),
		DeleteWordLeft: k("alt+backspace", "ctrl+w"), DeleteWordRight: k("alt+delete", "alt+d"),
		DeleteToEnd: k("ctrl+k"), DeleteToStart: k("ctrl+u"),
		Edit: k("backspace", "delete", "left", "right", "up", "down", "home", "end", "space"),
	}
}

// keyString is a key already rendered by tea.KeyPressMsg.String, for
// key.Matches over many bindings.
type keyString string

func (k keyString) String() string { return string(k) }

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
		Mode: ModeKeys{
			Drill:   b([]string{"d"}, "d", "drill"),
			Live:    b([]string{"l"}, "l", "live"),
			Context: b([]string{"c"}, "c", "choose a context"),
			Back:    b([]string{"esc"}, "esc", "back"),
			Quit:    b([]string{"ctrl+c"}, "ctrl+c", "quit"),
		},
		Picker: PickerKeys{
			Up:     b([]string{"up", "ctrl+p"}, "↑", "up"),
			Down:   b([]string{"down", "ctrl+n"}, "↓", "down"),
			Select: b([]string{"up", "ctrl+p", "down", "ctrl+n"}, "↑/↓", "select"),
			Open:   b([]string{"enter"}, "enter", "open"),
			Erase:  b([]string{"backspace"}, "backspace", "erase"),
			Back:   b([]string{"esc"}, "esc", "clear/quit"),
			Quit:   b([]string{"ctrl+c"}, "ctrl+c", "quit"),
			Filter: key.NewBinding(key.WithHelp("type", "to filter")),
		},
		Declare: DeclareKeys{
			Prev:       b([]string{"up", "shift+tab"}, "↑", "previous field"),
			Next:       b([]string{"down", "tab"}, "↓", "next field"),
			Submit:     b([]string{"enter"}, "enter", "next/declare"),
			NextChoice: b([]string{"ctrl+n"}, "ctrl+n", "next live choice"),
			PrevChoice: b([]string{"ctrl+p"}, "ctrl+p", "previous live choice"),
			Erase:      b([]string{"backspace"}, "backspace", "erase"),
			Back:       b([]string{"esc"}, "esc", "back"),
			Quit:       b([]string{"ctrl+c"}, "ctrl+c", "quit"),
			Field:      b([]string{"up", "shift+tab", "down", "tab"}, "↑/↓", "field"),
			Choices:    b([]string{"ctrl+n", "ctrl+p"}, "ctrl+n/ctrl+p", "live choices"),
		},
		Editor: newEditorKeys(),
		Dialog: DialogKeys{
			Switch:        b([]string{"left", "right", "tab", "shift+tab"}, "←/→", "choose"),
			Who:           b([]string{"up", "k", "down", "j"}, "↑/↓", "who"),
			Select:        b([]string{"enter"}, "enter", "select"),
			Decline:       b([]string{"esc", "ctrl+c"}, "esc", "cancel"),
			Save:          b([]string{"enter"}, "enter", "save"),
			Dismiss:       b([]string{"esc", "ctrl+c"}, "esc", "cancel"),
			Send:          b([]string{"ctrl+s"}, "ctrl+s", "send"),
			Copy:          b([]string{"ctrl+y"}, "ctrl+y", "copy (OSC 52)"),
			CloseStatus:   b([]string{"esc"}, "esc", "close"),
			AssignIC:      b([]string{"i"}, "i", "assign Incident Commander"),
			AssignScribe:  b([]string{"w"}, "w", "assign Scribe"),
			CloseContacts: b([]string{"esc", "q", "c"}, "esc", "close"),
			Open:          b([]string{"enter"}, "enter", "open local file"),
			CopyDoc:       b([]string{"y"}, "y", "copy"),
			CloseDocs:     b([]string{"esc", "q", "d"}, "esc", "close"),
			Scroll:        b([]string{"up", "down", "pgup", "pgdown"}, "↑/↓ pgup/pgdn", "scroll"),
			ClosePager:    b([]string{"esc", "q"}, "esc", "back"),
			Choose:        b([]string{"up", "k", "down", "j"}, "↑/↓", "choose"),
			Use:           b([]string{"enter"}, "enter", "use"),
			Back:          b([]string{"esc", "ctrl+c"}, "esc", "back"),
		},
	}
	if readOnly {
		for _, bp := range km.mutating() {
			h := bp.Help()
			bp.SetHelp(h.Key, "disabled: read-only")
		}
	}
	return km
}

// helpLine is a dialog footer made from its bindings: "key desc · key desc".
func helpLine(bs ...key.Binding) string {
	parts := make([]string, 0, len(bs))
	for _, b := range bs {
		if h := b.Help(); b.Enabled() && h.Key != "" {
			parts = append(parts, h.Key+" "+h.Desc)
		}
	}
	return strings.Join(parts, " · ")
}

// withHelp is b described otherwise (the same keys).
func withHelp(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// dialogsHelp is the help screen's line on the dialogs' own keys.
func (k KeyMap) dialogsHelp() string {
	d := k.Dialog
	return "declare: " + helpLine(k.Declare.Choices) + " · confirm: " + d.Switch.Help().Key + " " + d.Select.Help().Key +
		" · status: " + helpLineComma(d.Send, withHelp(d.Copy, "copy")) +
		" · contacts: " + helpLineComma(withHelp(d.AssignIC, "commander"), withHelp(d.AssignScribe, "scribe")) +
		" · docs: " + helpLineComma(withHelp(d.Open, "open"), d.CopyDoc) + "\nany key closes"
}

// helpLineComma is helpLine joined with commas (one dialog's keys inside
// the help screen's line).
func helpLineComma(bs ...key.Binding) string {
	return strings.ReplaceAll(helpLine(bs...), " · ", ", ")
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
