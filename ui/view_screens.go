package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"

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

func (m Model) viewPicker() string { return m.pick.View(m.frame()) }

func (m Model) viewDeclare() string { return m.decl.View(m.frame(), m.rb, m.mode, m.env) }

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
		s.Help.Render("Nothing real is touched. "+m.keys.Hint.Help().Key+" shows hints (recorded). Any key starts.")
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
	b = append(b, "", s.Help.Render(helpLine(m.keys.Quit)+" · any other key back to the checklist"))
	return s.Dialog.Width(m.dialogWidth()).Render(strings.Join(b, "\n"))
}
