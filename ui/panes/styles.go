// Package panes renders the live panes (pods, deployments, PostgreSQL) from
// live snapshots. Renderers are plain structs with SetSize and View: no I/O,
// no clock (the caller sets Now), no Bubble Tea.
package panes

import (
	"charm.land/lipgloss/v2"
)

// Glyphs are the symbols the panes draw; ASCII has a fallback for each.
type Glyphs struct {
	OK, Warn, Fail, Running string
	Sep                     string // between title parts
	Selected                string // row marker, two cells wide
	Ellipsis                string
	VBar                    string // between side-by-side columns
}

// Styles is the panes' palette: semantic styles built for a dark or light
// background, colourless under NO_COLOR.
type Styles struct {
	NoColor bool
	ASCII   bool

	Title    lipgloss.Style
	Header   lipgloss.Style
	OK       lipgloss.Style
	Warn     lipgloss.Style
	Fail     lipgloss.Style
	Running  lipgloss.Style
	Subtle   lipgloss.Style
	Accent   lipgloss.Style
	Selected lipgloss.Style

	Glyphs Glyphs
}

// NewStyles builds the palette. noColor drops every colour (bold and
// reverse remain, so selection and titles stay visible).
func NewStyles(isDark bool, noColor bool) Styles {
	base := lipgloss.NewStyle()
	s := Styles{
		NoColor:  noColor,
		Title:    base.Bold(true),
		Header:   base.Bold(true),
		OK:       base,
		Warn:     base,
		Fail:     base.Bold(true),
		Running:  base,
		Subtle:   base,
		Accent:   base.Bold(true),
		Selected: base.Reverse(true),
		Glyphs:   unicodeGlyphs(),
	}
	if noColor {
		return s
	}
	ld := lipgloss.LightDark(isDark)
	s.OK = base.Foreground(ld(lipgloss.Color("#1a7f37"), lipgloss.Color("#3fb950")))
	s.Warn = base.Foreground(ld(lipgloss.Color("#9a6700"), lipgloss.Color("#d29922")))
	s.Fail = base.Bold(true).Foreground(ld(lipgloss.Color("#cf222e"), lipgloss.Color("#f85149")))
	s.Running = base.Foreground(ld(lipgloss.Color("#0969da"), lipgloss.Color("#58a6ff")))
	s.Subtle = base.Foreground(ld(lipgloss.Color("#6e7781"), lipgloss.Color("#8b949e")))
	s.Accent = base.Bold(true).Foreground(ld(lipgloss.Color("#8250df"), lipgloss.Color("#bc8cff")))
	s.Header = base.Bold(true).Foreground(ld(lipgloss.Color("#57606a"), lipgloss.Color("#adbac7")))
	s.Selected = base.Reverse(true)
	return s
}

// WithASCII returns the styles with ASCII glyphs (no box drawing, no
// Unicode symbols) when on.
func (s Styles) WithASCII(on bool) Styles {
	s.ASCII = on
	if on {
		s.Glyphs = Glyphs{OK: "+", Warn: "!", Fail: "x", Running: ">", Sep: " - ", Selected: "> ", Ellipsis: "...", VBar: " | "}
	} else {
		s.Glyphs = unicodeGlyphs()
	}
	return s
}

func unicodeGlyphs() Glyphs {
	return Glyphs{OK: "✓", Warn: "!", Fail: "✗", Running: "▶", Sep: " · ", Selected: "▶ ", Ellipsis: "…", VBar: " │ "}
}

// severity returns the style of a live.Severity* value.
func (s Styles) severity(sev int) lipgloss.Style {
	switch sev {
	case 0:
		return s.OK
	case 1:
		return s.Warn
	}
	return s.Fail
}
