package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/incident"
)

type keyBinding = key.Binding

// reviewOverdue returns the review date when it has passed.
func reviewOverdue(next string, now time.Time) (string, bool) {
	if next == "" {
		return "", false
	}
	t, err := time.ParseInLocation("2006-01-02", next, now.Location())
	if err != nil {
		return "", false
	}
	return next, now.After(t.AddDate(0, 0, 1))
}

func (m Model) viewPicker() string {
	s := m.styles
	w := m.width
	var b []string
	b = append(b, s.Title.Render("drnav")+s.Subtle.Render(" · pick the disaster at hand"))
	filter := "Filter: " + m.filter + "▏"
	if s.ASCII {
		filter = "Filter: " + m.filter + "_"
	}
	if m.filter == "" {
		filter += s.Subtle.Render("  type to filter")
	}
	b = append(b, filter, "")
	items := m.pickItems()
	if len(items) == 0 {
		b = append(b, s.Subtle.Render("  no runbook matches"))
	}
	var lines []string
	selLine := 0
	lastOpen := false
	for i, it := range items {
		if i == 0 && it.open != nil {
			lines = append(lines, s.Warn.Render("Open incidents (resume)"))
		}
		if it.open == nil && (i == 0 || lastOpen) {
			lines = append(lines, s.Subtle.Render("Runbooks"))
		}
		lastOpen = it.open != nil
		cursor := "  "
		if i == m.pickSel {
			cursor = s.Accent.Render("> ")
			selLine = len(lines)
		}
		if it.open != nil {
			o := it.open
			title := o.Runbook
			if rb := m.findRunbook(o.Runbook); rb != nil {
				title = rb.Title
			}
			line := fmt.Sprintf("%s%s  %s · %s · detected %s (%s ago)", cursor, s.Bold.Render(title), o.ID,
				strings.ToUpper(o.Mode.String()), o.Detected.Format("15:04"), fmtDur(m.clock.Sub(o.Detected)))
			lines = append(lines, clip(line, w))
			continue
		}
		rb := it.rb
		name := rb.Title
		if i == m.pickSel {
			name = s.Selected.Render(name)
		} else {
			name = s.Bold.Render(name)
		}
		line := cursor + name
		if since, over := reviewOverdue(rb.NextReview, m.clock); over {
			line += " " + s.Warn.Render("review overdue since "+since)
		}
		lines = append(lines, clip(line, w))
		if rb.Impact != "" {
			lines = append(lines, clip("    "+s.Subtle.Render(rb.Impact), w))
		}
	}
	avail := max(3, m.height-len(b)-4)
	if len(lines) > avail {
		start := min(max(0, selLine-avail/2), len(lines)-avail)
		lines = lines[start : start+avail]
	}
	b = append(b, lines...)
	// the selection's related documents and summary
	if m.pickSel < len(items) && items[m.pickSel].rb != nil {
		rb := items[m.pickSel].rb
		if len(rb.Related) > 0 {
			b = append(b, "", clip(s.Subtle.Render("Related: "+strings.Join(rb.Related, ", ")), w))
		}
	}
	content := strings.Join(b, "\n")
	footer := m.styles.Help.Render("type to filter · ↑/↓ select · enter open · esc clear/quit")
	if m.flash != "" {
		footer = s.Warn.Render(m.flash)
	}
	pad := max(0, m.height-lipgloss.Height(content)-1)
	return content + strings.Repeat("\n", pad+1) + clip(footer, w)
}

func (m Model) viewMode() string {
	s := m.styles
	title := ""
	if m.rb != nil {
		title = m.rb.Title
	}
	var b []string
	b = append(b, s.Title.Render(title), "", "Choose the mode explicitly:", "")
	if m.opts.Drill != nil {
		b = append(b, "  "+s.Key.Render("d")+"  "+s.DrillBanner.Render("DRILL")+
			"  rehearse against the simulator; nothing real is touched")
	} else {
		b = append(b, s.Subtle.Render("  d  DRILL  (not available: no simulator configured)"))
	}
	if l := m.opts.Live; l != nil {
		b = append(b, m.modeLiveLines(l)...)
	} else {
		b = append(b, s.Subtle.Render("  l  LIVE   (not available: no cluster or database configured)"))
	}
	b = append(b, "", s.Subtle.Render("esc back · there is no default"))
	if m.flash != "" {
		b = append(b, "", s.Warn.Render(m.flash))
	}
	return s.Dialog.Render(strings.Join(b, "\n"))
}

func (m Model) viewDeclare() string {
	s := m.styles
	w := m.width
	var b []string
	mode := s.DrillBanner.Render("DRILL")
	if m.mode == ModeLive {
		mode = s.LiveBanner.Render("LIVE " + m.env.KubeShort())
	}
	b = append(b, s.Title.Render("Declare: "+m.rb.Title)+" · "+mode, "")
	for i, f := range m.decl.fields {
		label := f.label
		if f.variable != nil && f.variable.Prompt != "" {
			label = f.variable.Prompt + " (" + f.variable.Name + ")"
		}
		if i == 0 {
			label = "Detection time"
		}
		mark := "  "
		if i == m.decl.cur {
			mark = s.Accent.Render("> ")
		}
		b = append(b, clip(mark+s.Bold.Render(label), w))
		b = append(b, clip("  "+f.input.View(), w))
		if i == 0 {
			// what the value means, as it is typed, then what may be typed
			if at, err := incident.ParseDetection(f.input.Value(), m.clock); err != nil {
				b = append(b, clip("  "+s.Warn.Render("not a time yet"), w))
			} else {
				resolved := incident.DescribeDetection(at, m.clock)
				if f.fresh {
					resolved += s.Subtle.Render(" · typing replaces now")
				}
				b = append(b, clip("  "+resolved, w))
			}
			b = append(b, clip("  "+s.Subtle.Render(incident.DetectionFormats), w))
		}
		if f.err != "" {
			b = append(b, clip("  "+s.Fail.Render(f.err), w))
		}
		if i == m.decl.cur && f.choiceErr != nil {
			b = append(b, clip("  "+s.Warn.Render(f.choiceErr.Error()), w))
		}
		if i == m.decl.cur && len(f.choices) > 0 {
			b = append(b, m.viewChoices(f, w)...)
		}
	}
	b = append(b, "", s.Help.Render("enter next/declare · ↑/↓ field · esc back"))
	if m.flash != "" {
		b = append(b, s.Warn.Render(m.flash))
	}
	return strings.Join(b, "\n")
}

// maxChoiceRows is how many live choices the declare form lists.
const maxChoiceRows = 5

// viewChoices lists a field's live choices, one a row with its facts; the
// one in the field is marked. A name too long for the row keeps its
// distinguishing end ("…/backups/latest.sql", "…-8tcpk").
func (m Model) viewChoices(f declareField, w int) []string {
	s := m.styles
	b := []string{clip("  "+s.Subtle.Render(fmt.Sprintf("ctrl+n/ctrl+p: %d live choices", len(f.choices))), w)}
	// Names take what the longest facts leave, and at least a third.
	nameW, factsW := 0, 0
	for i, c := range f.choices {
		nameW = max(nameW, ansi.StringWidth(c))
		if i < len(f.facts) {
			factsW = max(factsW, ansi.StringWidth(f.facts[i]))
		}
	}
	nameW = min(nameW, max(12, (w-6)/3, w-6-factsW))
	for i, c := range f.choices {
		if i == maxChoiceRows {
			b = append(b, clip("    "+s.Subtle.Render(fmt.Sprintf("%s %d more", "…", len(f.choices)-i)), w))
			break
		}
		mark := "  "
		if c == f.input.Value() {
			mark = "> "
		}
		name := c
		if ansi.StringWidth(name) > nameW {
			name = "…" + ansi.TruncateLeft(name, ansi.StringWidth(name)-nameW+ansi.StringWidth("…"), "")
		}
		row := "  " + mark + pad(name, nameW)
		if i < len(f.facts) && f.facts[i] != "" {
			row += "  " + s.Subtle.Render(f.facts[i])
		}
		b = append(b, clip(strings.TrimRight(row, " "), w))
	}
	return b
}

// ---- overlays ----

func (m Model) viewOverlay() string {
	switch m.overlay {
	case ovConfirm:
		return m.viewConfirm()
	case ovPrompt:
		return m.viewPrompt()
	case ovHelp:
		return m.viewHelp()
	case ovStatus:
		return m.viewStatus()
	case ovContacts:
		return m.viewContacts()
	case ovDocs:
		return m.viewDocs()
	case ovPager:
		return m.styles.Dialog.Render(m.styles.Title.Render(m.pagerOf) + "\n" + m.pager.View() + "\n" + m.styles.Help.Render(helpLine(m.keys.Dialog.Scroll, m.keys.Dialog.ClosePager)))
	case ovScorecard:
		return m.viewScorecard()
	case ovBriefing:
		return m.viewBriefing()
	case ovContexts:
		return m.viewContextPick()
	}
	return ""
}

func (m Model) dialogWidth() int { return max(30, min(76, m.width-4)) }

func (m Model) viewConfirm() string {
	s := m.styles
	c := m.confirm
	w := m.dialogWidth() - 4
	var b []string
	b = append(b, s.Bold.Render(c.title), "")
	for _, l := range c.lines {
		b = append(b, clip(l, w))
	}
	if len(c.choices) > 0 {
		b = append(b, "")
		for i, ch := range c.choices {
			mark := "  "
			if i == c.choice {
				mark = "> "
			}
			b = append(b, clip(mark+ch, w))
		}
	}
	if c.requireName != "" {
		b = append(b, "", clip(fmt.Sprintf("Type %s to confirm:", s.Warn.Render(c.requireName)), w), c.input.View())
	}
	d := m.keys.Dialog
	keys := helpLine(d.Switch, d.Select, withHelp(d.Decline, strings.ToLower(c.noLabel)))
	if len(c.choices) > 0 {
		keys = helpLine(d.Who) + " · " + keys
	}
	b = append(b, "", s.button(c.noLabel, !c.yes)+" "+s.button(c.yesLabel, c.yes), s.Help.Render(keys))
	st := s.Dialog
	if c.danger {
		st = s.DangerDialog
	}
	return st.Width(m.dialogWidth()).Render(strings.Join(b, "\n"))
}

func (m Model) viewPrompt() string {
	s := m.styles
	p := m.prompt
	b := []string{s.Bold.Render(clip(p.title, m.dialogWidth()-4)), p.input.View()}
	if p.err != "" {
		b = append(b, s.Fail.Render(p.err))
	}
	b = append(b, s.Help.Render(helpLine(m.keys.Dialog.Save, m.keys.Dialog.Dismiss)))
	return s.Dialog.Width(m.dialogWidth()).Render(strings.Join(b, "\n"))
}

func (m Model) viewHelp() string {
	s := m.styles
	h := m.help
	h.ShowAll = true
	h.SetWidth(m.dialogWidth() - 4)
	title := "Keys"
	if m.opts.ReadOnly {
		title += " — read-only: observer view, nothing can be run or changed"
	}
	groups := m.keys.fullHelp()
	if m.opts.Seat != nil {
		groups = append(groups, []key.Binding{m.keys.Handover})
	}
	keys := h.FullHelpView(groups)
	if m.dialogWidth() < 100 {
		keys = h.FullHelpView(groups[:2]) + "\n\n" + h.FullHelpView(groups[2:])
	}
	body := s.Bold.Render(lipgloss.Wrap(title, m.dialogWidth()-4, " ")) + "\n\n" + keys + "\n\n" +
		s.Help.Render(m.keys.dialogsHelp())
	return s.Dialog.Width(m.dialogWidth()).Render(body)
}

func (m Model) viewStatus() string {
	s := m.styles
	title := "Status update"
	if it, ok := m.inc.Next(m.clock); ok {
		title += " · " + strings.ToLower(it.Title) + " due " + it.Due.Format("15:04")
	}
	d := m.keys.Dialog
	send := d.Send
	switch {
	case m.opts.Notify == nil && m.mode == ModeDrill:
		send = withHelp(send, "post (drill: recorded, sent nowhere)")
	case m.opts.Notify == nil:
		send.SetHelp(send.Help().Key+":", "no notify_command configured")
	}
	return s.Dialog.Render(s.Bold.Render(title) + "\n" + m.status.View() + "\n" +
		s.Help.Render(helpLine(send, d.Copy, d.CloseStatus)))
}

func (m Model) viewContacts() string {
	s := m.styles
	var b []string
	b = append(b, s.Bold.Render("Contacts"), "")
	if m.mode == ModeDrill && len(m.opts.DrillRoster) > 0 {
		b = append(b, clip(s.Warn.Render("DRILL: a simulated roster, nobody is paged"), m.dialogWidth()-4), "")
	}
	for i, r := range m.contactRows() {
		who := r[1]
		if who == "missing" {
			who = s.Fail.Render("missing")
		}
		cur := "  "
		if i == m.contact {
			cur = s.Accent.Render("> ")
		}
		b = append(b, clip(fmt.Sprintf("%s%-22s %s", cur, r[0], who), m.dialogWidth()-4))
	}
	if len(m.inc.Roles) > 0 {
		b = append(b, "", s.Subtle.Render("Assigned:"))
		for _, role := range []string{"Incident Commander", "Scribe"} {
			if p, _ := m.inc.RoleHolder(role); p != "" {
				b = append(b, fmt.Sprintf("  %s: %s", role, p))
			}
		}
	}
	d := m.keys.Dialog
	help := helpLine(d.AssignIC, d.AssignScribe, d.CloseContacts)
	if m.opts.ReadOnly {
		help = "read-only · " + helpLine(d.CloseContacts)
	}
	b = append(b, "", s.Help.Render(help))
	return s.Dialog.Width(m.dialogWidth()).Render(strings.Join(b, "\n"))
}

func (m Model) viewDocs() string {
	s := m.styles
	var b []string
	b = append(b, s.Bold.Render("Related documents"), "")
	var docs []string
	if m.rb != nil {
		docs = m.rb.Related
	}
	if len(docs) == 0 {
		b = append(b, s.Subtle.Render("  this runbook lists none"))
	}
	for i, d := range docs {
		cur := "  "
		if i == m.docSel {
			cur = s.Accent.Render("> ")
		}
		kind := "file"
		if isURL(d) {
			kind = "url (copy, not opened)"
		}
		b = append(b, clip(cur+d+"  "+s.Subtle.Render(kind), m.dialogWidth()-4))
	}
	b = append(b, "", s.Help.Render(helpLine(m.keys.Dialog.Open, m.keys.Dialog.CopyDoc, m.keys.Dialog.CloseDocs)))
	return s.Dialog.Width(m.dialogWidth()).Render(strings.Join(b, "\n"))
}

func (m Model) viewBriefing() string {
	s := m.styles
	text := ""
	if m.opts.Briefing != nil && m.rb != nil {
		text = m.opts.Briefing(m.rb, m.inc.Detected)
	}
	if text == "" && m.rb != nil {
		text = strings.TrimSpace(m.rb.Summary)
		if m.rb.Impact != "" {
			text = strings.TrimSpace(text + "\n\nImpact: " + m.rb.Impact)
		}
	}
	body := s.DrillBanner.Render("DRILL") + " " + s.Bold.Render("scenario briefing") + "\n\n" +
		lipgloss.Wrap(text, m.dialogWidth()-4, " ") + "\n\n" +
		s.Help.Render("Nothing real is touched. h shows hints (recorded). Any key starts.")
	return s.Dialog.Width(m.dialogWidth()).Render(body)
}

func (m Model) viewScorecard() string {
	s := m.styles
	var b []string
	title := "Incident summary"
	if m.mode == ModeDrill {
		title = "Drill scorecard"
	}
	b = append(b, s.Bold.Render(title), "")
	rep := incident.Report(m.inc, m.rb, m.opts.Config.RTO.Duration, m.opts.Config.RPO.Duration, m.clock)
	verdict := s.OK.Render("within RTO")
	if !rep.RTOMet {
		verdict = s.Fail.Render("RTO missed by " + fmtDur(-rep.RTOMargin))
	}
	b = append(b, fmt.Sprintf("Time since detection: %s of %s  %s", fmtDur(rep.Elapsed), fmtDur(rep.RTO), verdict))
	counts := map[incident.StepStatus]int{}
	shown := 0 // shown, not run: counted apart from the steps done
	for i := range m.rb.Steps {
		st := m.stepStatus(i)
		if st == incident.StepDone && m.inc.Step(m.rb.StepID(i)).ShownOnly {
			shown++
			continue
		}
		counts[st]++
	}
	line := fmt.Sprintf("Steps: %d done", counts[incident.StepDone])
	if shown+counts[incident.StepShown] > 0 {
		line += fmt.Sprintf(" · %d shown, not run", shown+counts[incident.StepShown])
		if n := counts[incident.StepShown]; n > 0 {
			line += fmt.Sprintf(" (%d without your expectation)", n)
		}
	}
	line += fmt.Sprintf(" · %d skipped · %d failed · %d interrupted · %d open",
		counts[incident.StepSkipped], counts[incident.StepFailed], counts[incident.StepInterrupted],
		counts[incident.StepPending]+counts[incident.StepRunning]+counts[incident.StepShown])
	b = append(b, lipgloss.Wrap(line, m.dialogWidth()-4, " "))
	if sc := rep.Scorecard; sc != nil {
		b = append(b, fmt.Sprintf("Hints used: %d · verifications passed %d/%d", sc.HintsUsed, sc.VerificationsPassed, sc.VerificationsTotal))
	}
	for _, p := range rep.Phases {
		mark := s.OK.Render(s.Glyphs.Done)
		if p.Over {
			mark = s.Fail.Render(s.Glyphs.Failed)
		}
		b = append(b, fmt.Sprintf("  %s %-24s %6s / %s", mark, clip(p.Title, 24), fmtDur(p.Actual), fmtDur(p.Budget)))
	}
	b = append(b, fmt.Sprintf("Status updates posted: %d", len(m.inc.Updates)))
	if m.recovered != "" {
		b = append(b, "Scenario: "+m.recovered)
	}
	b = append(b, "", s.Help.Render("q quit · any other key back to the checklist"))
	return s.Dialog.Width(m.dialogWidth()).Render(strings.Join(b, "\n"))
}
