package ui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"

	"github.com/drnav/drnav/incident"
)

// Palette is the small semantic colour set every style is built from.
type Palette struct {
	OK, Warn, Fail, Running, Subtle, Accent, Text, Border color.Color
}

// NewPalette returns the palette for a dark or light background; with noColor
// every colour is lipgloss.NoColor (NO_COLOR).
func NewPalette(isDark, noColor bool) Palette {
	if noColor {
		n := lipgloss.NoColor{}
		return Palette{n, n, n, n, n, n, n, n}
	}
	ld := lipgloss.LightDark(isDark)
	return Palette{
		OK:      ld(lipgloss.Color("#1a7f37"), lipgloss.Color("#3fb950")),
		Warn:    ld(lipgloss.Color("#9a6700"), lipgloss.Color("#d29922")),
		Fail:    ld(lipgloss.Color("#cf222e"), lipgloss.Color("#f85149")),
		Running: ld(lipgloss.Color("#0969da"), lipgloss.Color("#58a6ff")),
		Subtle:  ld(lipgloss.Color("#6e7781"), lipgloss.Color("#8b949e")),
		Accent:  ld(lipgloss.Color("#8250df"), lipgloss.Color("#bc8cff")),
		Text:    ld(lipgloss.Color("#1f2328"), lipgloss.Color("#e6edf3")),
		Border:  ld(lipgloss.Color("#d0d7de"), lipgloss.Color("#30363d")),
	}
}

// Glyphs are the status symbols, with an ASCII fallback.
type Glyphs struct {
	Pending, Running, Done, Failed, Skipped, Interrupted, Shown string
	BarFull, BarEmpty, Sep, Dot, Arrow                          string
}

// NewGlyphs returns Unicode glyphs, or ASCII ones when ascii is set.
func NewGlyphs(ascii bool) Glyphs {
	if ascii {
		return Glyphs{
			Pending: ".", Running: "*", Done: "+", Failed: "x", Skipped: "-", Interrupted: "?", Shown: "o",
			BarFull: "#", BarEmpty: "-", Sep: "|", Dot: "-", Arrow: "->",
		}
	}
	return Glyphs{
		Pending: "·", Running: "▶", Done: "✓", Failed: "✗", Skipped: "↷", Interrupted: "?", Shown: "○",
		BarFull: "█", BarEmpty: "░", Sep: "│", Dot: "·", Arrow: "→",
	}
}

// Styles is every lipgloss style the UI uses, built in one place.
type Styles struct {
	Palette Palette
	Glyphs  Glyphs
	ASCII   bool
	NoColor bool

	Title, Subtle, Accent, OK, Warn, Fail, Running, Bold  lipgloss.Style
	Selected, Badge, DangerBadge, DrillBanner, LiveBanner lipgloss.Style
	Box, FocusedBox, Dialog, DangerDialog                 lipgloss.Style
	ButtonActive, Button, Key, Help                       lipgloss.Style
}

// NewStyles builds the styles for a background and the terminal's abilities.
func NewStyles(isDark, noColor, ascii bool) Styles {
	p := NewPalette(isDark, noColor)
	border := lipgloss.RoundedBorder()
	if ascii {
		border = lipgloss.ASCIIBorder()
	}
	base := lipgloss.NewStyle()
	s := Styles{Palette: p, Glyphs: NewGlyphs(ascii), ASCII: ascii, NoColor: noColor}
	s.Title = base.Bold(true).Foreground(p.Accent)
	s.Subtle = base.Foreground(p.Subtle)
	s.Accent = base.Foreground(p.Accent)
	s.OK = base.Foreground(p.OK)
	s.Warn = base.Foreground(p.Warn)
	s.Fail = base.Foreground(p.Fail)
	s.Running = base.Foreground(p.Running)
	s.Bold = base.Bold(true)
	s.Selected = base.Bold(true).Reverse(true)
	s.Badge = base.Bold(true).Foreground(p.Warn)
	s.DangerBadge = base.Bold(true).Foreground(p.Fail)
	s.DrillBanner = base.Bold(true).Foreground(p.Running)
	s.LiveBanner = base.Bold(true).Foreground(p.Warn)
	s.Box = base.Border(border).BorderForeground(p.Border)
	s.FocusedBox = base.Border(border).BorderForeground(p.Accent)
	s.Dialog = base.Border(border).BorderForeground(p.Accent).Padding(0, 1)
	s.DangerDialog = base.Border(border).BorderForeground(p.Fail).Padding(0, 1)
	s.ButtonActive = base.Bold(true).Reverse(true)
	s.Button = base
	s.Key = base.Bold(true)
	s.Help = base.Foreground(p.Subtle)
	return s
}

// StatusGlyph returns the styled glyph of a step status.
func (s Styles) StatusGlyph(st incident.StepStatus) string {
	g := s.Glyphs
	switch st {
	case incident.StepRunning:
		return s.Running.Render(g.Running)
	case incident.StepDone:
		return s.OK.Render(g.Done)
	case incident.StepFailed:
		return s.Fail.Render(g.Failed)
	case incident.StepSkipped:
		return s.Subtle.Render(g.Skipped)
	case incident.StepInterrupted:
		return s.Warn.Render(g.Interrupted)
	case incident.StepShown:
		return s.Warn.Render(g.Shown)
	}
	return s.Subtle.Render(g.Pending)
}

// button renders a dialog button. The active one carries brackets as well
// as reverse video, so the choice reads as text too (NO_COLOR, a screen
// reader, a captured screen): "[ Cancel ]   Run  ".
func (s Styles) button(label string, active bool) string {
	if active {
		return s.ButtonActive.Render("[ " + label + " ]")
	}
	return s.Button.Render("  " + label + "  ")
}

// HelpStyles are the help widget's styles from the same palette.
func (s Styles) HelpStyles() help.Styles {
	key := lipgloss.NewStyle().Bold(true).Foreground(s.Palette.Text)
	desc := lipgloss.NewStyle().Foreground(s.Palette.Subtle)
	return help.Styles{
		ShortKey: key, ShortDesc: desc, ShortSeparator: desc, Ellipsis: desc,
		FullKey: key, FullDesc: desc, FullSeparator: desc,
	}
}

// NewTextInput is a bubbles text input in these styles: the library's own
// colours, or under NO_COLOR none (the placeholder faint, the cursor
// reversed).
func (s Styles) NewTextInput() textinput.Model {
	in := textinput.New()
	if s.NoColor {
		st := textinput.DefaultStyles(true)
		plain := textinput.StyleState{Text: lipgloss.NewStyle(), Placeholder: lipgloss.NewStyle().Faint(true),
			Suggestion: lipgloss.NewStyle().Faint(true), Prompt: lipgloss.NewStyle()}
		st.Focused, st.Blurred = plain, plain
		st.Cursor.Color = nil
		in.SetStyles(st)
	}
	return in
}

// NewTextArea is a bubbles text area in these styles (see NewTextInput).
func (s Styles) NewTextArea() textarea.Model {
	ta := textarea.New()
	if s.NoColor {
		st := textarea.DefaultStyles(true)
		plain := textarea.StyleState{Base: lipgloss.NewStyle(), Text: lipgloss.NewStyle(), LineNumber: lipgloss.NewStyle(),
			CursorLineNumber: lipgloss.NewStyle(), CursorLine: lipgloss.NewStyle(), EndOfBuffer: lipgloss.NewStyle(),
			Placeholder: lipgloss.NewStyle().Faint(true), Prompt: lipgloss.NewStyle(), Selection: lipgloss.NewStyle().Reverse(true)}
		st.Focused, st.Blurred = plain, plain
		st.Cursor.Color = nil
		ta.SetStyles(st)
	}
	return ta
}
