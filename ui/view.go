package ui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/ui/panes"
)

// View renders the screen from memory; it never does I/O.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	return v
}

func (m Model) render() string {
	if m.overlay != ovNone {
		if under, ok := m.bg.get(m); ok {
			return m.overlayCached(under, m.viewOverlay())
		}
	}
	var body string
	switch m.screen {
	case screenPicker:
		body = m.viewPicker()
	case screenMode:
		body = m.viewMode()
	case screenDeclare:
		body = m.viewDeclare()
	default:
		body = m.viewChecklist()
	}
	if m.overlay != ovNone {
		under := fitScreen(body, m.width, m.height)
		m.bg.put(m, under)
		body = m.placeOverlay(under, m.viewOverlay())
	}
	return m.finish(body)
}

// frame is what a widget's View reads from the root model: the size,
// styles and keys, the clock of the last tick and the footer's flash.
type frame struct {
	styles        *Styles
	keys          *KeyMap
	width, height int
	clock         time.Time
	flash         string
}

func (m *Model) frame() frame {
	return frame{styles: &m.styles, keys: &m.keys, width: m.width, height: m.height, clock: m.clock, flash: m.flash}
}

func (m Model) finish(body string) string {
	if m.styles.ASCII {
		body = asciiReplacer.Replace(body)
	}
	return fitScreen(body, m.width, m.height)
}

// asciiReplacer maps the single-cell symbols the views use to ASCII (it is
// never modified).
var asciiReplacer = strings.NewReplacer("…", "~", "≈", "~", "—", "-", "→", ">", "≤", "<", "─", "-",
	"▏", "_", "·", "-", "•", "-", "↑", "^", "↓", "v", "←", "<", "╭", "+", "╮", "+", "╰", "+", "╯", "+", "│", "|")

// fitScreen clips or pads to exactly width x height cells; a line cut
// short ends in "…".
func fitScreen(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if textWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "…")
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// placeOverlay draws a dialog centred over the screen beneath it. Each
// row of the box is spliced into its screen line (ansi.Cut keeps the styles
// on either side): far cheaper per keystroke than composing a cell canvas.
func (m Model) placeOverlay(under, box string) string {
	rows := strings.Split(box, "\n")
	bw := 0
	for _, r := range rows {
		bw = max(bw, ansi.StringWidth(r))
	}
	x, y := max(0, (m.width-bw)/2), max(0, (m.height-len(rows))/2)
	lines := strings.Split(under, "\n")
	for i, r := range rows {
		if y+i >= len(lines) {
			break
		}
		l := lines[y+i]
		lw := ansi.StringWidth(l)
		left := ansi.Cut(l, 0, x)
		if n := x - ansi.StringWidth(left); n > 0 {
			left += strings.Repeat(" ", n)
		}
		right := ""
		if end := x + ansi.StringWidth(r); end < lw {
			right = ansi.Cut(l, end, lw)
		}
		lines[y+i] = left + "\x1b[m" + r + "\x1b[m" + right
	}
	return strings.Join(lines, "\n")
}

// overlayCached is placeOverlay + finish over the cached screen beneath a
// typing dialog: that screen is already fitted and the pieces left and
// right of the dialog are cut once per dialog position (bgCache), so a key
// costs the dialog's own rendering and a join.
func (m Model) overlayCached(under, box string) string {
	rows := strings.Split(box, "\n")
	widths := make([]int, len(rows))
	bw := 0
	for i, r := range rows {
		widths[i] = ansi.StringWidth(r)
		bw = max(bw, widths[i])
	}
	x, y := max(0, (m.width-bw)/2), max(0, (m.height-len(rows))/2)
	if m.styles.ASCII || x+bw > m.width || y+len(rows) > m.height {
		return m.finish(m.placeOverlay(under, box))
	}
	lines := strings.Split(under, "\n")
	left, right := m.bg.cuts(lines, x, y, widths)
	for i, r := range rows {
		lines[y+i] = left[i] + "\x1b[m" + r + "\x1b[m" + right[i]
	}
	return strings.Join(lines, "\n")
}

// clip truncates a plain or styled line to w cells.
func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if textWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

func pad(s string, w int) string {
	s = clip(s, w)
	if n := w - textWidth(s); n > 0 {
		s += strings.Repeat(" ", n)
	}
	return s
}

// viewHeader is two lines: title, mode and RTO; phases and the next
// communication item.
func (m Model) viewHeader() string {
	s := m.styles
	w := m.width
	title := "drnav"
	if m.rb != nil {
		title += " " + s.Glyphs.Dot + " " + m.rb.Title
	}
	banner := ""
	switch m.mode {
	case ModeDrill:
		banner = s.DrillBanner.Render("DRILL")
	case ModeLive:
		ctx := ""
		if k := m.liveHeader(); k != "" {
			ctx = " " + k
		}
		banner = s.LiveBanner.Render("LIVE" + ctx)
	}
	// Read-only goes before the mode's details: when the line is cut, the
	// end of a long LIVE context goes first, never the read-only marker.
	if m.opts.ReadOnly {
		banner = s.Subtle.Render("(read-only)") + " " + banner
	} else if m.mirrorRO != nil {
		banner = s.Fail.Render("READ-ONLY") + " " + banner
	}
	left := s.Title.Render(title) + " " + s.Glyphs.Dot + " " + banner
	if ansi.StringWidth(left)+ansi.StringWidth(m.viewRTO(0))+1 > w {
		// Narrow: the mode and the cluster LIVE reaches matter more than
		// the title (the RTO clock at its narrowest keeps its place).
		left = s.Title.Render("drnav") + " " + s.Glyphs.Dot + " " + banner
	}
	right := m.viewRTO(max(20, min(60, w-ansi.StringWidth(left)-2)))
	line1 := joinEnds(left, right, w)
	right2 := m.viewCadence()
	if rpo := m.viewRPO(); rpo != "" {
		right2 = strings.TrimSpace(right2 + "  " + rpo)
	}
	if m.mirrorLine != "" {
		st := s.Subtle
		if strings.Contains(m.mirrorLine, "unreachable") || strings.Contains(m.mirrorLine, "diverged") || m.mirrorRO != nil {
			st = s.Warn
		}
		right2 = strings.TrimSpace(right2 + "  " + st.Render(m.mirrorLine))
	}
	line2 := joinEnds(m.viewPhases(w-24), right2, w)
	if m.mirrorRO != nil {
		// Why this driver may no longer write, in full.
		return line1 + "\n" + line2 + "\n" + s.Fail.Render(clip("read-only: "+m.mirrorRO.Error(), w))
	}
	return line1 + "\n" + line2
}

func joinEnds(left, right string, w int) string {
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if lw+rw+1 > w {
		left = clip(left, max(0, w-rw-1))
		lw = ansi.StringWidth(left)
	}
	gap := max(1, w-lw-rw)
	return clip(left+strings.Repeat(" ", gap)+right, w)
}

// clockNow is the incident measured at the last tick against the configured RTO.
// The RPO exposure comes from the PostgreSQL pane's freshness figure (last
// archived WAL or newest backup).
func (m Model) clockNow() incident.Clock {
	c := m.inc.Clock(m.rb, m.clock, m.opts.Config.RTO.Duration)
	return c.WithFreshness(m.freshness())
}

// dataAgeAt is the PostgreSQL pane's data-age figure at t (the one source:
// live.DBSnapshot.AgeAt).
func (m Model) dataAgeAt(t time.Time) (time.Duration, bool) {
	d := m.panes.dbs
	if d == nil || !d.FreshnessKnown {
		return 0, false
	}
	return d.AgeAt(t), true
}

// viewRPO is the data-loss exposure against the RPO ("" when unknown).
func (m Model) viewRPO() string {
	c := m.clockNow()
	if !c.FreshnessKnown || c.RPO <= 0 {
		return ""
	}
	// The pane's own format: the two figures read alike.
	txt := fmt.Sprintf("RPO: data %s old", panes.ShortDuration(c.DataAge))
	if c.RPOBreached {
		return m.styles.Fail.Render(txt + " > " + panes.ShortDuration(c.RPO))
	}
	return m.styles.Subtle.Render(txt)
}

func (m Model) viewRTO(w int) string {
	s := m.styles
	rto := m.opts.Config.RTO.Duration
	if rto <= 0 || m.inc.Detected.IsZero() {
		return ""
	}
	el := m.clockNow().Elapsed
	text := fmt.Sprintf(" %s used %s %s left", fmtDur(el), s.Glyphs.Dot, fmtDur(max(0, rto-el)))
	if el > rto {
		text = fmt.Sprintf(" %s used %s %s OVER", fmtDur(el), s.Glyphs.Dot, fmtDur(el-rto))
	}
	label := "RTO " + fmtDur(rto) + " "
	barW := max(4, min(12, w-len(label)-ansi.StringWidth(text)))
	filled := min(barW, int(float64(barW)*float64(el)/float64(rto)))
	st := s.OK
	switch {
	case el > rto:
		st = s.Fail
	case el*4 > rto*3:
		st = s.Warn
	}
	bar := st.Render(strings.Repeat(s.Glyphs.BarFull, filled)) + s.Subtle.Render(strings.Repeat(s.Glyphs.BarEmpty, barW-filled))
	return label + bar + text
}

// phaseGlyph marks a phase on the strip: over its budget, active, left, or
// not entered yet.
func (m Model) phaseGlyph(p incident.PhaseClock) string {
	switch {
	case p.Over:
		return m.styles.StatusGlyph(incident.StepFailed)
	case p.Status == incident.PhaseActive:
		return m.styles.StatusGlyph(incident.StepRunning)
	case p.Status == incident.PhaseDone:
		return m.styles.StatusGlyph(incident.StepDone)
	}
	return m.styles.StatusGlyph(incident.StepPending)
}

// viewPhases is the phase strip: each phase's time (incident.State.Clock:
// time spent in it since its first step started) against its budget.
func (m Model) viewPhases(w int) string {
	if m.rb == nil || len(m.rb.Phases) == 0 {
		return ""
	}
	s := m.styles
	var parts []string
	for _, p := range m.clockNow().Phases {
		name := p.Title
		if len([]rune(name)) > 12 {
			name = string([]rune(name)[:11]) + "…"
		}
		budget := "–"
		if p.Budget > 0 {
			budget = fmtDur(p.Budget)
		}
		used := "0"
		if p.Elapsed > 0 {
			used = fmtDur(p.Elapsed)
		}
		txt := fmt.Sprintf("%s %s %s/%s", name, m.phaseGlyph(p), used, budget)
		if p.Over {
			txt = s.Fail.Render(txt)
		}
		parts = append(parts, txt)
	}
	return clip(strings.Join(parts, "  "), w)
}

func (m Model) viewCadence() string {
	it, ok := m.inc.Next(m.clock)
	if !ok || m.inc.Resolved {
		return ""
	}
	label := strings.ToLower(it.Title)
	if it.Overdue() {
		hint := " · press u"
		if m.opts.ReadOnly {
			hint = ""
		}
		return m.styles.Warn.Render(fmt.Sprintf("%s DUE (%s late)%s", label, fmtDur(-it.Remaining), hint))
	}
	soon := ""
	if m.mode == ModeDrill && !m.opts.ReadOnly {
		// a short drill ends before the duty is due: say it can be done now
		soon = " · u posts it"
	}
	return m.styles.Subtle.Render(fmt.Sprintf("%s in %s%s", label, fmtDur(it.Remaining), soon))
}
