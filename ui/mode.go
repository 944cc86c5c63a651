package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

// modeChoice is what a key on the mode screen chose.
type modeChoice int

const (
	modeUnchosen modeChoice = iota // any other key: the screen asks again
	modeChoseDrill
	modeChoseLive
	modePickContext // choose LIVE's kube context (none resolved)
	modeBack
	modeQuit
)

func (c modeChoice) String() string {
	switch c {
	case modeUnchosen:
		return "unchosen"
	case modeChoseDrill:
		return "drill"
	case modeChoseLive:
		return "live"
	case modePickContext:
		return "pick context"
	case modeBack:
		return "back"
	case modeQuit:
		return "quit"
	}
	return "unknown mode choice"
}

// chooseMode reads a key on the mode screen. There is no default: a key
// that is none of these chooses nothing. canPick says whether LIVE's
// context may be chosen here (LIVE has none resolved).
func chooseMode(msg tea.KeyPressMsg, k ModeKeys, canPick bool) modeChoice {
	switch {
	case keyIs(msg, k.Drill):
		return modeChoseDrill
	case keyIs(msg, k.Live):
		return modeChoseLive
	case keyIs(msg, k.Context) && canPick:
		return modePickContext
	case keyIs(msg, k.Back):
		return modeBack
	case keyIs(msg, k.Quit):
		return modeQuit
	}
	return modeUnchosen
}

func (m Model) modeKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys.Mode
	switch chooseMode(msg, k, m.opts.Live != nil && m.opts.Live.Unresolved != "") {
	case modeChoseDrill:
		if m.opts.Drill == nil {
			m.flash = "drill mode is not available (no simulator configured)"
			return m, nil
		}
		m.mode = ModeDrill
	case modeChoseLive:
		if m.opts.Live == nil {
			m.flash = "live mode is not available (no cluster or database configured)"
			return m, nil
		}
		return m.chooseLive()
	case modePickContext:
		return m.openContextPick()
	case modeBack:
		m.screen = screenPicker
		m.origin++ // an environment on its way is for a choice withdrawn
		return m, nil
	case modeQuit:
		return m, tea.Quit
	default:
		m.flash = "choose explicitly: " + helpLine(k.Drill, k.Live, k.Back)
		return m, nil
	}
	m.setEnv()
	return m.chooseEnv()
}

func (m Model) viewMode() string {
	s := m.styles
	k := m.keys.Mode
	title := ""
	if m.rb != nil {
		title = m.rb.Title
	}
	var b []string
	b = append(b, s.Title.Render(title), "", "Choose the mode explicitly:", "")
	if m.opts.Drill != nil {
		b = append(b, "  "+s.Key.Render(k.Drill.Help().Key)+"  "+s.DrillBanner.Render("DRILL")+
			"  rehearse against the simulator; nothing real is touched")
	} else {
		b = append(b, s.Subtle.Render("  "+k.Drill.Help().Key+"  DRILL  (not available: no simulator configured)"))
	}
	if l := m.opts.Live; l != nil {
		b = append(b, m.modeLiveLines(l)...)
	} else {
		b = append(b, s.Subtle.Render("  "+k.Live.Help().Key+"  LIVE   (not available: no cluster or database configured)"))
	}
	b = append(b, "", s.Subtle.Render(helpLine(k.Back)+" · there is no default"))
	if m.flash != "" {
		b = append(b, "", s.Warn.Render(m.flash))
	}
	return s.Dialog.Render(strings.Join(b, "\n"))
}
