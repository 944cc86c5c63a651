package ui

// The checklist screen: the steps, the selected step's detail and output,
// the live panes and the footer; its keys (checklistKey) dispatch the
// mutating ones as typed actions (mutate).

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// focusArea is the part of the checklist screen the line keys act on.
type focusArea int

const (
	focusSteps focusArea = iota
	focusOutput
	focusPods
	focusDeploy
	focusDB
	focusCount
)

func (f focusArea) String() string {
	return [...]string{"steps", "output", "pods", "deployment", "postgresql"}[f]
}

// checklist is the checklist screen's own state: the selected step, the
// focused area, the output pane and the step whose output stays in view
// after the cursor moved on. The runbook, the incident, the running step,
// the output lines and the environment are the root model's; the methods
// are handed what they read.
type checklist struct {
	sel   int
	focus focusArea
	// outOf is the step whose output shows when it is not the selected one
	// (see advanceFrom); "" when the output follows the selection.
	outOf string
	out   outputPane // the output of the step outputID names
}

func newChecklist() checklist {
	return checklist{out: newOutputPane()}
}

// checklistOutcome is what a key did on the checklist, for the root.
type checklistOutcome struct {
	// used: the key was the checklist's (nothing else acts on it).
	used bool
	// moved: the selection was moved by hand; the output now shows it.
	moved bool
	// act is the mutating action the key asks for (0: none). The root runs
	// it: it needs the journal, the running step and the environment.
	act stepAction
}

// Update handles the checklist's own keys: tab moves the focus, the output
// pane's keys scroll it (the line keys when it has the focus), the line
// keys move the selection (unless the pods pane has the focus: the root
// scrolls it), and a mutating key comes back as its action.
// n is the number of steps (0: no runbook yet, the selection stays);
// panesShown says whether the live panes take the focus too.
func (c checklist) Update(msg tea.KeyPressMsg, k *KeyMap, n int, panesShown bool) (checklist, checklistOutcome) {
	if keyIs(msg, k.Tab) {
		c.focus = c.nextFocus(panesShown)
		return c, checklistOutcome{used: true}
	}
	var scrolled bool
	if c.out, scrolled = c.out.Update(msg, k, c.focus == focusOutput); scrolled {
		return c, checklistOutcome{used: true}
	}
	if n > 0 && c.focus != focusOutput && c.focus != focusPods {
		moved := true
		switch {
		case keyIs(msg, k.Up):
			c.moveTo(max(0, c.sel-1))
		case keyIs(msg, k.Down):
			c.moveTo(min(n-1, c.sel+1))
		case keyIs(msg, k.Top):
			c.moveTo(0)
		case keyIs(msg, k.Bottom):
			c.moveTo(n - 1)
		default:
			moved = false
		}
		if moved {
			return c, checklistOutcome{used: true, moved: true}
		}
	}
	for _, mk := range []struct {
		b    keyBinding
		what stepAction
	}{
		{k.Run, actStepRun}, {k.Skip, actStepSkip}, {k.Note, actStepNote}, {k.Verify, actStepVerify}, {k.Hint, actStepHint},
		{k.Status, actStatusUpdate}, {k.Resolve, actIncidentResolve}, {k.MarkDone, actStepMarkDone}, {k.Rerun, actStepReRun},
	} {
		if keyIs(msg, mk.b) {
			return c, checklistOutcome{used: true, act: mk.what}
		}
	}
	return c, checklistOutcome{}
}

// nextFocus is the area tab moves the focus to (the live panes only when
// they are shown).
func (c checklist) nextFocus(panesShown bool) focusArea {
	f := c.focus + 1
	if f >= focusCount || (!panesShown && f > focusOutput) {
		f = focusSteps
	}
	return f
}

// moveTo selects step i by hand: the output follows the selection.
func (c *checklist) moveTo(i int) {
	c.sel, c.outOf = i, ""
}

// selectStep selects the step with this id (nothing when rb has none).
func (c *checklist) selectStep(rb *runbooks.Runbook, id string) {
	if i := stepIndexIn(rb, id); i >= 0 {
		c.sel, c.outOf = i, ""
	}
}

// selectFirstOpen selects the first step not done or skipped.
func (c *checklist) selectFirstOpen(rb *runbooks.Runbook, status func(id string) incident.StepStatus) {
	if rb == nil {
		return
	}
	for i := range rb.Steps {
		if st := status(rb.StepID(i)); st != incident.StepDone && st != incident.StepSkipped {
			c.sel = i
			return
		}
	}
}

// advanceFrom moves the cursor from a step that has just settled to the
// next open step (wrapping to an earlier one left open); the output of the
// step just run stays in view (labelled) until the cursor is moved by
// hand. It does nothing, and says so, when the cursor has already left
// that step or the step is not settled.
func (c *checklist) advanceFrom(rb *runbooks.Runbook, id string, status func(id string) incident.StepStatus) bool {
	if rb == nil || id == "" || c.selectedID(rb) != id || !settled(status(id)) {
		return false
	}
	n := len(rb.Steps)
	for k := 1; k < n; k++ {
		i := (c.sel + k) % n
		if !settled(status(rb.StepID(i))) {
			c.sel, c.outOf = i, id
			return true
		}
	}
	return false
}

// selectedID is the id of the selected step ("" without a runbook).
func (c checklist) selectedID(rb *runbooks.Runbook) string {
	if rb == nil {
		return ""
	}
	return rb.StepID(c.sel)
}

// selectedStep is the selected step (nil without one).
func (c checklist) selectedStep(rb *runbooks.Runbook) *runbooks.Step {
	if rb == nil || c.sel < 0 || c.sel >= len(rb.Steps) {
		return nil
	}
	return &rb.Steps[c.sel]
}

// outputID is the step whose output the output pane shows.
func (c checklist) outputID(rb *runbooks.Runbook) string {
	if c.outOf != "" {
		return c.outOf
	}
	return c.selectedID(rb)
}

// stepIndexIn is the index of step id in rb (-1 when it has none).
func stepIndexIn(rb *runbooks.Runbook, id string) int {
	if rb == nil {
		return -1
	}
	for i := range rb.Steps {
		if rb.StepID(i) == id {
			return i
		}
	}
	return -1
}

func (m Model) checklistKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	ro := m.opts.ReadOnly
	m.flash = ""
	switch {
	case keyIs(msg, k.Quit):
		if m.run != nil {
			m.flash = "a step is running: cancel it first (x)"
			return m, nil
		}
		return m, tea.Quit
	case keyIs(msg, k.CancelCtrl), keyIs(msg, k.Cancel):
		if ro {
			return m.refuse("cancel")
		}
		if m.run == nil {
			if keyIs(msg, k.CancelCtrl) {
				return m, tea.Quit
			}
			m.flash = "no step is running"
			return m, nil
		}
		m.openConfirm(confirmState{action: actCancel, title: "Stop the running step?",
			lines:    []string{"The step's process is signalled and stops (exit 130)."},
			noLabel:  "Keep running",
			yesLabel: "Stop the step"})
		return m, nil
	case keyIs(msg, k.Help):
		m.overlay = ovHelp
		return m, nil
	case m.opts.Seat != nil && keyIs(msg, k.Handover):
		return m.openHandover()
	case m.handing != nil && isMutating(k, msg):
		m.flash = "the seat is being handed to " + m.handing.To + ": wait for the answer"
		return m, nil
	case keyIs(msg, k.Contacts):
		m.overlay = ovContacts
		return m, nil
	case keyIs(msg, k.Docs):
		m.overlay = ovDocs
		m.docSel = 0
		return m, nil
	case keyIs(msg, k.Export):
		if m.rb == nil {
			return m, nil
		}
		return m.exportCmd()
	case keyIs(msg, k.CopyReport):
		if m.reportPath == "" {
			m.flash = "no report yet: e exports it"
			return m, nil
		}
		m.flash = "report path copied (OSC 52): " + m.reportPath
		return m, tea.SetClipboard(m.reportPath)
	case keyIs(msg, k.Search):
		m.openPrompt(promptSearch, "Search output", "text to find", m.search)
		return m, nil
	}
	if m.list.focus == focusPods {
		switch {
		case keyIs(msg, k.Up):
			m.panes.pods.Up()
			return m, nil
		case keyIs(msg, k.Down):
			m.panes.pods.Down()
			return m, nil
		case keyIs(msg, k.Top):
			m.panes.pods.Top()
			return m, nil
		case keyIs(msg, k.Bottom):
			m.panes.pods.Bottom()
			return m, nil
		}
	}
	var out checklistOutcome
	m.list, out = m.list.Update(msg, &m.keys, m.stepCount(), m.panesShown())
	if out.moved {
		m.refreshOutput()
	}
	what := out.act
	if m.rb == nil || what == 0 {
		return m, nil
	}
	if ro {
		return m.refuse(what.String())
	}
	if m.journal == nil {
		m.flash = "no incident journal"
		return m, nil
	}
	return m.mutate(what)
}

func (m Model) mutate(what stepAction) (tea.Model, tea.Cmd) {
	step := m.selectedStep()
	id := m.selectedID()
	st := m.inc.Steps[id]
	status := m.inc.Status(id)
	busy := m.run != nil
	switch what {
	case actStepRun, actStepReRun:
		if busy {
			m.flash = "a step is running; wait for it or cancel it (x)"
			return m, nil
		}
		if step == nil {
			return m, nil
		}
		if status == incident.StepInterrupted && what == actStepRun {
			m.flash = "interrupted step: v verify · r re-run (confirmed) · D mark done with a note"
			return m, nil
		}
		if what == actStepRun && settled(status) {
			m.flash = m.settledFlash(status)
			return m, nil
		}
		if status == incident.StepShown && what == actStepRun {
			m.askExpectation(id)
			return m, nil
		}
		if status != incident.StepPending || what == actStepReRun {
			m.openConfirm(m.runConfirm(step, "Run this step again?"))
			return m, nil
		}
		if step.Kind() == runbooks.ActionManual {
			m.openPrompt(promptMarkDone, "Done: "+step.Title, "what was done (optional)", "")
			return m, nil
		}
		if step.Destructive || step.Critical {
			m.openConfirm(m.runConfirm(step, "Run destructive step?"))
			return m, nil
		}
		return m.startStep(false)
	case actStepSkip:
		if busy && m.run.step == id {
			m.flash = "cancel the running step before skipping it"
			return m, nil
		}
		m.openPrompt(promptSkip, "Skip: "+step.Title, "reason (required)", "")
		return m, nil
	case actStepNote:
		m.openPrompt(promptNote, "Note on: "+step.Title, "note", "")
		return m, nil
	case actStepMarkDone:
		m.openPrompt(promptMarkDone, "Mark done: "+step.Title, "note: how you know it is done (required)", "")
		m.prompt.required = true
		return m, nil
	case actStepVerify:
		if busy {
			m.flash = "a step is running"
			return m, nil
		}
		if step.Verify == nil && step.Wait == nil {
			m.flash = "this step has no verify condition"
			return m, nil
		}
		return m.startStep(true)
	case actStepHint:
		if m.mode != ModeDrill {
			m.flash = "hints are for drills"
			return m, nil
		}
		n := m.nextHint(step, st)
		if n < 0 {
			m.flash = "no more hints for this step"
			if len(step.Hints) > len(shownHints(step, st)) {
				m.flash = "no more hints fit what the panes show now"
			}
			return m, nil
		}
		text := m.resolve(step.Hints[n].Text)
		return m, appendCmd(m.journal, "hint: "+text, incident.Event{Type: incident.EventHintUsed, Time: m.now(), Step: id, Text: text, N: n + 1})
	case actStatusUpdate:
		m.openStatus()
		return m, nil
	case actIncidentResolve:
		m.openConfirm(confirmState{action: actResolve, title: "Resolve the incident?", yesLabel: "Resolve",
			lines: []string{"Records the incident as resolved and shows the summary."}})
		return m, nil
	}
	return m, nil
}

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

func (m Model) viewSteps(w, h int) string {
	s := m.styles
	var lines []string
	title := "Steps"
	if m.list.focus == focusSteps {
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
		if i == m.list.sel {
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
	status := m.stepStatus(m.list.sel)
	var lines []string
	head := fmt.Sprintf("%d %s", m.list.sel+1, step.Title)
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
		// the run's own wording (steps.KubePreview), placeholders filled in
		a := *step.K8s
		a.Namespace, a.Deployment, a.Pod = m.resolve(a.Namespace), m.resolve(a.Deployment), m.resolve(a.Pod)
		a.Selector, a.Path, a.Policy = m.resolve(a.Selector), m.resolve(a.Path), m.resolve(a.Policy)
		ctx := ""
		if a.Context != "primary" {
			ctx = a.Context
		}
		_, eq := steps.KubePreview(a, ctx, orDefault(a.Namespace, ns), false)
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
	if m.list.focus == focusOutput {
		label = s.Accent.Render(label)
	}
	info := ""
	if n := len(m.outs[m.outputID()]); n > 0 {
		info = fmt.Sprintf(" %d lines", n)
		if !m.list.out.follow {
			info += " (paused: f follows)"
		}
	}
	rule := "── " + label + info + " "
	rule += strings.Repeat("─", max(0, w-ansi.StringWidth(rule)))
	if s.ASCII {
		rule = strings.ReplaceAll(rule, "─", "-")
	}
	lines = append(lines, s.Subtle.Render(clip(rule, w)))
	vp := m.list.out.vp // a copy: the output gets the rows the detail left
	vp.SetHeight(max(1, h-top))
	if m.list.out.follow {
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
		if m.list.focus == foci[i] {
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
	prefix += m.styles.Key.Render("["+m.list.focus.String()+"]") + " "
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
	if m.list.focus == focusOutput {
		b = append(b, k.Up, k.Down, k.PageUp, k.Search, k.Follow)
	} else {
		st := incident.StepPending
		if m.rb != nil {
			st = m.stepStatus(m.list.sel)
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
