package ui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
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

// ---- checklist screen ----

func (m Model) viewChecklist() string {
	if m.rb == nil {
		msg := "waiting for the incident journal…"
		if m.flash != "" {
			msg = m.flash
		}
		return m.viewHeader() + "\n\n  " + msg
	}
	d := m.dims()
	left := m.viewSteps(d.listW, d.bodyH)
	right := m.viewDetail(d.detailW, d.bodyH)
	sep := m.styles.Subtle.Render(strings.Repeat(m.styles.Glyphs.Sep+" \n", d.bodyH-1) + m.styles.Glyphs.Sep + " ")
	body := joinColumns(left, sep, right)
	parts := []string{m.viewHeader(), body}
	if d.panesH > 0 {
		parts = append(parts, m.viewPanes(m.width, d.panesH))
	}
	parts = append(parts, m.viewFooter())
	return strings.Join(parts, "\n")
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

func (m Model) viewSteps(w, h int) string {
	s := m.styles
	var lines []string
	title := "Steps"
	if m.focus == focusSteps {
		title = s.Accent.Render("Steps")
	}
	lines = append(lines, title)
	selLine := 0
	phase := "\x00"
	for i := range m.rb.Steps {
		st := &m.rb.Steps[i]
		if len(m.rb.Phases) > 0 && st.Phase != phase {
			phase = st.Phase
			name := phase
			if p, ok := m.rb.PhaseByID(phase); ok {
				name = p.Title
			}
			lines = append(lines, s.Subtle.Render(clip(name, w)))
		}
		status := m.stepStatus(i)
		dur := ""
		if ss := m.inc.Steps[m.rb.StepID(i)]; ss != nil {
			switch {
			case status == incident.StepRunning:
				dur = fmtDur(m.clock.Sub(ss.Started))
			case status == incident.StepShown:
				dur = "shown"
			case ss.ShownOnly && status == incident.StepDone:
				dur = "" // nothing ran: a duration would look like it did
			case ss.Duration > 0:
				dur = fmtDur(ss.Duration)
			}
		}
		num := fmt.Sprintf("%d ", i+1)
		text := num + st.Title
		// the selected row is marked with ">" as well as reverse video, so
		// it reads as text too (NO_COLOR, a captured screen)
		avail := w - 3 - len(dur) - 1
		row := " " + s.StatusGlyph(status) + " " + pad(text, avail) + " " + dur
		if i == m.sel {
			selLine = len(lines)
			row = ">" + s.StatusGlyph(status) + " " + s.Selected.Render(pad(text, avail)) + " " + dur
		}
		lines = append(lines, row)
	}
	// scroll so the selection stays visible
	if len(lines) > h {
		start := min(max(0, selLine-h/2), len(lines)-h)
		lines = lines[start : start+h]
	}
	for i := range lines {
		lines[i] = pad(lines[i], w)
	}
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", w))
	}
	return strings.Join(lines, "\n")
}

// detailHeight is the number of rows above the output viewport.
func (m *Model) detailHeight(_, bodyH int) int {
	out := max(3, bodyH*45/100)
	return bodyH - out
}

func (m Model) detailLines(w int) []string {
	s := m.styles
	step := m.selectedStep()
	if step == nil {
		return nil
	}
	id := m.selectedID()
	st := m.inc.Steps[id]
	status := m.stepStatus(m.sel)
	var lines []string
	head := fmt.Sprintf("%d %s", m.sel+1, step.Title)
	var badges []string
	if step.Critical {
		badges = append(badges, s.DangerBadge.Render("CRITICAL"))
	} else if step.Destructive {
		badges = append(badges, s.DangerBadge.Render("destructive"))
	}
	if step.Interactive {
		badges = append(badges, s.Badge.Render("interactive"))
	}
	badge := strings.Join(badges, " ")
	lines = append(lines, joinEnds(s.Bold.Render(head), badge, w))
	// every text is wrapped, never clipped, with its placeholders filled in
	wrap := func(prefix, text string) {
		if text == "" {
			return
		}
		for _, l := range strings.Split(lipgloss.Wrap(prefix+m.resolve(text), w, " "), "\n") {
			lines = append(lines, l)
		}
	}
	// wrapStyled wraps text (one or more lines) in a style; continuation
	// rows are indented so a wrapped command reads as one
	wrapStyled := func(st lipgloss.Style, prefix, text string) {
		pw := ansi.StringWidth(prefix)
		indent := strings.Repeat(" ", pw)
		p := prefix
		for _, l := range strings.Split(m.resolve(text), "\n") {
			for _, row := range wrapWords(l, w-pw) {
				lines = append(lines, st.Render(p+row))
				p = indent
			}
		}
	}
	wrap("Why: ", strings.TrimSpace(step.Why))
	if step.Kind() == runbooks.ActionManual {
		wrap("Do by hand: ", m.resolve(strings.TrimSpace(step.Manual)))
	}
	cmd, equiv := m.describeAction(step)
	if st != nil && st.Command != "" {
		cmd = st.Command
		if st.Equivalent != "" {
			equiv = st.Equivalent
		}
	}
	if cmd != "" {
		wrapStyled(s.Accent, "$ ", cmd)
	}
	if equiv != "" && equiv != cmd {
		wrapStyled(s.Subtle, "  ≈ ", equiv)
	}
	wrap("Expect: ", strings.TrimSpace(step.Expect))
	if step.Verify != nil {
		wrapStyled(s.Subtle, "Verify: ", describeVerify(step.Verify))
	}
	if st != nil {
		switch status {
		case incident.StepDone:
			if st.ShownOnly {
				wrap("", s.OK.Render("shown, not run · your expectation is recorded"))
			} else {
				lines = append(lines, s.OK.Render(clip(fmt.Sprintf("done in %s", fmtDur(st.Duration)), w)))
			}
		case incident.StepShown:
			wrap("", s.Warn.Render("shown, not run · enter: say what you expect it did"))
		case incident.StepFailed:
			msg := fmt.Sprintf("failed: exit %d", st.Exit)
			if st.Err != "" {
				msg += " — " + st.Err
			}
			if st.Verified != nil && !*st.Verified {
				msg += " (verification did not hold)"
			}
			wrapStyled(s.Fail, "", msg)
		case incident.StepSkipped:
			wrapStyled(s.Subtle, "skipped: ", st.SkipReason)
		case incident.StepInterrupted:
			where := ""
			if h := st.RanElsewhere(m.inc.DriverHost); h != "" {
				where = " on " + h
			}
			wrapStyled(s.Warn, "", "interrupted (started "+st.Started.Format("15:04:05")+where+"): v verify · r re-run · D mark done")
		case incident.StepRunning:
			lines = append(lines, s.Running.Render(clip("running "+fmtDur(m.clock.Sub(st.Started)), w)))
		}
		if n := len(st.Verifications); n > 0 && st.Verifications[n-1].Detail != "" {
			wrapStyled(s.Subtle, "verify: ", st.Verifications[n-1].Detail)
		}
		if m.mode == ModeDrill {
			for _, h := range shownHints(step, st) {
				wrap("Hint: ", h)
			}
		}
		for _, n := range st.Notes {
			if n.Text != "" {
				wrap("Note: ", n.Text)
			}
		}
	}
	if m.mode == ModeDrill && m.nextHint(step, st) >= 0 {
		lines = append(lines, s.Subtle.Render(clip("h: show a hint", w)))
	}
	return lines
}

// describeAction is the resolved command or the typed action's description
// with a kubectl/psql equivalent.
func (m Model) describeAction(step *runbooks.Step) (string, string) {
	ns := m.opts.Config.Namespace
	switch step.Kind() {
	case runbooks.ActionShell:
		return m.resolve(step.Run), ""
	case runbooks.ActionManual:
		return "", ""
	case runbooks.ActionK8s:
		a := step.K8s
		n := orDefault(m.resolve(a.Namespace), ns)
		ctx := ""
		if a.Context != "" && a.Context != "primary" {
			ctx = " --context " + a.Context
		}
		dep := m.resolve(a.Deployment)
		var eq string
		switch a.Action {
		case runbooks.K8sScale:
			r := 0
			if a.Replicas != nil {
				r = *a.Replicas
			}
			eq = fmt.Sprintf("kubectl%s -n %s scale deployment %s --replicas=%d", ctx, n, dep, r)
		case runbooks.K8sRestart:
			eq = fmt.Sprintf("kubectl%s -n %s rollout restart deployment %s", ctx, n, dep)
		case runbooks.K8sUndo:
			eq = fmt.Sprintf("kubectl%s -n %s rollout undo deployment %s", ctx, n, dep)
		case runbooks.K8sRolloutStatus:
			eq = fmt.Sprintf("kubectl%s -n %s rollout status deployment %s", ctx, n, dep)
		case runbooks.K8sDeletePod:
			eq = fmt.Sprintf("kubectl%s -n %s delete pod %s", ctx, n, m.resolve(a.Pod))
		case runbooks.K8sListPods:
			eq = fmt.Sprintf("kubectl%s -n %s get pods -l %s", ctx, n, orDefault(m.resolve(a.Selector), m.opts.Config.AppLabel))
		case runbooks.K8sApply:
			eq = fmt.Sprintf("kubectl%s -n %s apply -f %s", ctx, n, m.resolve(a.Path))
		case runbooks.K8sNetworkPolicies:
			eq = fmt.Sprintf("kubectl%s -n %s get networkpolicies", ctx, n)
		case runbooks.K8sDeleteNetPolicy:
			eq = fmt.Sprintf("kubectl%s -n %s delete networkpolicy %s", ctx, n, m.resolve(a.Policy))
		}
		return "k8s " + a.Action, eq
	case runbooks.ActionSQL:
		a := step.SQL
		db := orDefault(m.resolve(a.Database), m.opts.Config.Database)
		var eq string
		switch a.Action {
		case runbooks.SQLPing:
			eq = fmt.Sprintf("psql -d %s -c 'select 1'", db)
		case runbooks.SQLQuery, runbooks.SQLExec:
			eq = fmt.Sprintf("psql -d %s -c %q", db, m.resolve(a.Query))
		case runbooks.SQLAmcheck:
			eq = fmt.Sprintf("psql -d %s -c 'select bt_index_check(...)'", db)
		case runbooks.SQLReindex:
			eq = fmt.Sprintf("psql -d %s -c 'REINDEX DATABASE %s'", db, db)
			if a.Index != "" {
				eq = fmt.Sprintf("psql -d %s -c 'REINDEX INDEX %s'", db, m.resolve(a.Index))
			}
		case runbooks.SQLRestore:
			eq = fmt.Sprintf("psql -d %s < %s", db, m.resolve(a.File))
		}
		return "sql " + a.Action + " on " + db, eq
	case runbooks.ActionHTTP:
		return "GET " + m.resolve(step.HTTP.URL), "curl -fsS " + m.resolve(step.HTTP.URL)
	case runbooks.ActionWait:
		return "wait until " + describeVerify(step.Wait), ""
	}
	return "", ""
}

func describeVerify(v *runbooks.Verify) string {
	var p []string
	if v.Deployment != "" {
		p = append(p, "deployment "+v.Deployment)
	}
	if v.Replicas != nil {
		p = append(p, fmt.Sprintf("replicas=%d", *v.Replicas))
	}
	if v.Ready != nil {
		p = append(p, fmt.Sprintf("ready=%d", *v.Ready))
	}
	if v.Available != nil {
		p = append(p, fmt.Sprintf("available=%d", *v.Available))
	}
	if v.PodsReady != "" {
		p = append(p, "pods ready "+v.PodsReady)
	}
	if v.NoCrashLoop != "" {
		p = append(p, "no crashloop "+v.NoCrashLoop)
	}
	if v.SQL != "" {
		p = append(p, fmt.Sprintf("%s = %s", v.SQL, v.Equals))
	}
	if v.URL != "" {
		p = append(p, fmt.Sprintf("GET %s → %d", v.URL, v.Status))
	}
	if v.BackupMaxAge.Duration > 0 {
		p = append(p, "newest backup ≤ "+fmtDur(v.BackupMaxAge.Duration))
	}
	if v.Within.Duration > 0 {
		p = append(p, "within "+fmtDur(v.Within.Duration))
	}
	return strings.Join(p, ", ")
}

func (m Model) viewDetail(w, h int) string {
	s := m.styles
	top := m.detailHeight(w, h)
	lines := m.detailLines(w)
	// the detail takes rows from the output (which keeps 3) rather than
	// cut anything; what still does not fit is announced, not dropped
	if need := len(lines) + 1; need > top {
		top = max(top, min(need, h-4))
	}
	if len(lines) > top-1 {
		keep := max(0, top-2)
		more := len(lines) - keep
		lines = append(lines[:keep], s.Warn.Render(clip(fmt.Sprintf("… %d more lines of this step: enlarge the terminal", more), w)))
	}
	for len(lines) < top-1 {
		lines = append(lines, "")
	}
	label := "output"
	if id := m.outputID(); id != m.selectedID() {
		label = fmt.Sprintf("output of step %d", m.stepIndex(id)+1)
	}
	if m.focus == focusOutput {
		label = s.Accent.Render(label)
	}
	info := ""
	if n := len(m.outs[m.outputID()]); n > 0 {
		info = fmt.Sprintf(" %d lines", n)
		if !m.follow {
			info += " (paused: f follows)"
		}
	}
	rule := "── " + label + info + " "
	rule += strings.Repeat("─", max(0, w-ansi.StringWidth(rule)))
	if s.ASCII {
		rule = strings.ReplaceAll(rule, "─", "-")
	}
	lines = append(lines, s.Subtle.Render(clip(rule, w)))
	vp := m.output // a copy: the output gets the rows the detail left
	vp.SetHeight(max(1, h-top))
	if m.follow {
		vp.GotoBottom()
	}
	out := vp.View()
	if len(m.outs[m.outputID()]) == 0 {
		out = s.Subtle.Render("(no output yet)")
	}
	lines = append(lines, strings.Split(out, "\n")...)
	if len(lines) > h {
		lines = lines[:h]
	}
	for i := range lines {
		lines[i] = pad(lines[i], w)
	}
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", w))
	}
	return strings.Join(lines, "\n")
}

func (m Model) viewPanes(w, h int) string {
	s := m.styles
	widths := paneWidths(w)
	foci := []focusArea{focusPods, focusDeploy, focusDB}
	views := []string{m.panes.pods.View(), m.panes.dep.View(), m.panes.db.View()}
	var boxes []string
	for i := range views {
		st := s.Box
		if m.focus == foci[i] {
			st = s.FocusedBox
		}
		boxes = append(boxes, st.Width(widths[i]).Height(h).Render(views[i]))
	}
	return joinColumns(boxes...)
}

func (m Model) viewFooter() string {
	if m.flash != "" {
		return m.styles.Warn.Render(clip(m.flash, m.width))
	}
	prefix := ""
	if m.opts.ReadOnly {
		prefix = m.styles.Warn.Render("READ-ONLY") + " "
	}
	// the focused area by name: ↑/↓ act on it, tab moves on
	prefix += m.styles.Key.Render("["+m.focus.String()+"]") + " "
	// "? help" and "q quit" always show; the other keys give way on a
	// narrow terminal.
	keys := m.footerKeys()
	always := keys[len(keys)-2:]
	suffix := m.help.ShortHelpView(always)
	sep := m.help.Styles.ShortSeparator.Inline(true).Render(m.help.ShortSeparator)
	room := m.width - lipgloss.Width(prefix) - lipgloss.Width(suffix) - lipgloss.Width(sep)
	// whole bindings give way (help ends the list with "…"), never half a word
	h := m.help
	h.SetWidth(max(room, 1))
	rest := h.ShortHelpView(keys[:len(keys)-2])
	return clip(prefix+rest+sep+suffix, m.width)
}

// footerKeys are the keys that apply to the focused area and state.
func (m Model) footerKeys() []keyBinding {
	k := m.keys
	var b []keyBinding
	if m.opts.ReadOnly {
		return []keyBinding{k.Up, k.Down, k.Tab, k.Search, k.Follow, k.Contacts, k.Docs, k.Help, k.Quit}
	}
	if m.focus == focusOutput {
		b = append(b, k.Up, k.Down, k.PageUp, k.Search, k.Follow)
	} else {
		st := incident.StepPending
		if m.rb != nil {
			st = m.stepStatus(m.sel)
		}
		switch {
		case m.run != nil || st == incident.StepRunning:
			b = append(b, k.Cancel)
		case st == incident.StepInterrupted:
			b = append(b, k.Verify, k.Rerun, k.MarkDone)
		case settled(st):
			b = append(b, k.Rerun)
		default:
			b = append(b, k.Run)
		}
		b = append(b, k.Skip, k.Note)
		if m.mode == ModeDrill {
			b = append(b, k.Hint)
		}
	}
	b = append(b, k.Status, k.Tab, k.Help, k.Quit)
	return b
}
