package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

type confirmAction int

const (
	actRun confirmAction = iota
	actCancel
	actResolve
	actSameServer    // LIVE with primary and failover on one server
	actContextChange // resume on another kube context than declared
	actHandover      // hand the driver's seat to choices[choice] (serve)
)

// confirmState is a yes/no dialog whose default (and initial) choice is Cancel.
type confirmState struct {
	action      confirmAction
	title       string
	lines       []string // what it touches
	danger      bool
	requireName string // critical: the object's name must be typed
	input       textinput.Model
	yes         bool // the highlighted choice; false = Cancel
	yesLabel    string
	noLabel     string   // the safe choice ("Cancel" unless set)
	choices     []string // one to pick with ↑/↓ (actHandover)
	choice      int
}

type promptKind int

const (
	promptSkip promptKind = iota
	promptNote
	promptMarkDone
	promptSearch
	promptSecret
	promptExpect // drill: what the trainee expects a shown-only step did
)

type promptState struct {
	kind     promptKind
	title    string
	input    textinput.Model
	required bool
	step     string
	name     string // promptSecret: the variable
	hint     string // promptExpect: the runbook's expectation, shown once answered
	err      string
}

func (m *Model) openConfirm(c confirmState) {
	c.yes = false
	if c.yesLabel == "" {
		c.yesLabel = "Confirm"
	}
	if c.noLabel == "" {
		c.noLabel = "Cancel"
	}
	if c.requireName != "" {
		c.input = m.styles.NewTextInput()
		c.input.Prompt = "> "
		c.input.Placeholder = "type the name"
		c.input.SetWidth(40)
		c.input.Focus()
	}
	m.confirm = c
	m.overlay = ovConfirm
}

// runConfirm describes what running the step will touch.
func (m *Model) runConfirm(step *runbooks.Step, title string) confirmState {
	c := confirmState{action: actRun, title: title, danger: step.Destructive || step.Critical, yesLabel: "Run"}
	c.lines = append(c.lines, "Step:      "+step.Title)
	c.lines = append(c.lines, "Mode:      "+strings.ToUpper(m.mode.String()))
	object := ""
	switch step.Kind() {
	case runbooks.ActionK8s:
		a := step.K8s
		k := m.kubeFor(m.resolve(a.Context))
		ns := orDefault(m.resolve(a.Namespace), orDefault(m.opts.Config.Namespace, orDefault(k.Namespace, "default")))
		server := orDefault(k.Server, "(not resolved)")
		if m.mode == ModeDrill && k.Server == "" {
			server = "(simulated)"
		}
		c.lines = append(c.lines, "Context:   "+k.Context, "Server:    "+server, "Namespace: "+ns)
		switch {
		case a.Deployment != "":
			object = "deployment/" + m.resolve(a.Deployment)
		case a.Pod != "":
			object = "pod/" + m.resolve(a.Pod)
		case a.Policy != "":
			object = "networkpolicy/" + m.resolve(a.Policy)
		case a.Path != "":
			object = m.resolve(a.Path)
		}
		c.lines = append(c.lines, "Action:    "+a.Action)
	case runbooks.ActionSQL:
		db := orDefault(m.resolve(step.SQL.Database), m.opts.Config.Database)
		c.lines = append(c.lines, "Database:  "+m.dbFor(db), "Action:    "+step.SQL.Action)
		object = db
		if step.SQL.Index != "" {
			object = m.resolve(step.SQL.Index)
		}
		if step.SQL.Action == runbooks.SQLRestore {
			a := *step.SQL
			a.File = m.resolve(a.File)
			c.lines = append(c.lines, steps.RestorePlan(&a, orDefault(db, "<db>"), m.now())...)
		}
	case runbooks.ActionShell:
		c.lines = append(c.lines, "Context:   "+m.kubeFor("").Short(),
			"Command:   "+m.resolve(step.Run))
		object = firstPodLike(m.resolve(step.Run))
	default:
		c.lines = append(c.lines, "Action:    "+step.Kind().String())
	}
	if object != "" {
		c.lines = append(c.lines, "Object:    "+object)
	}
	if step.Critical {
		name := object
		if i := strings.LastIndex(name, "/"); i >= 0 && !strings.HasPrefix(name, "/") {
			name = name[i+1:]
		}
		if name == "" {
			name = step.ID
		}
		c.requireName = name
	}
	return c
}

// firstPodLike picks the last word of a shell command as the object shown
// (e.g. the pod of `kubectl delete pod X -n ns` is not guessed reliably, so
// this only names the command's last non-flag argument).
func firstPodLike(cmd string) string {
	f := strings.Fields(cmd)
	for i := len(f) - 1; i >= 0; i-- {
		if !strings.HasPrefix(f[i], "-") && (i == 0 || !strings.HasPrefix(f[i-1], "-")) {
			return strings.Trim(f[i], "'\"")
		}
	}
	return ""
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func (m Model) confirmKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	c := &m.confirm
	d := m.keys.Dialog
	switch {
	case keyIs(msg, d.Decline):
		m.overlay = ovNone
		m.flash = c.declined()
		return m, nil
	case keyIs(msg, d.Switch):
		c.yes = !c.yes
		return m, nil
	case keyIs(msg, m.keys.Up):
		if c.choice > 0 {
			c.choice--
		}
		return m, nil
	case keyIs(msg, m.keys.Down):
		if c.choice < len(c.choices)-1 {
			c.choice++
		}
		return m, nil
	case keyIs(msg, d.Select):
		if !c.yes {
			m.overlay = ovNone
			m.flash = c.declined()
			return m, nil
		}
		if c.requireName != "" && strings.TrimSpace(c.input.Value()) != c.requireName {
			m.flash = fmt.Sprintf("type %q to confirm", c.requireName)
			return m, nil
		}
		m.overlay = ovNone
		return m.confirmed(c.action)
	}
	if c.requireName != "" {
		var cmd tea.Cmd
		c.input, cmd = c.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// declined is the footer message once the safe choice was taken.
func (c *confirmState) declined() string {
	if c.action == actCancel {
		return "the step keeps running"
	}
	return "cancelled"
}

func (m Model) confirmed(a confirmAction) (tea.Model, tea.Cmd) {
	switch a {
	case actRun:
		return m.startStep(false)
	case actCancel:
		if m.run == nil || m.run.handle == nil {
			m.flash = "the step already finished"
			return m, nil
		}
		m.run.stopping = true
		h := m.run.handle
		m.flash = "cancelling…"
		return m, func() tea.Msg { h.Cancel(); return nil }
	case actSameServer:
		return m.goLive()
	case actContextChange:
		return m.acceptContextChange()
	case actHandover:
		if c := m.confirm; c.choice < len(c.choices) {
			return m.handOver(c.choices[c.choice])
		}
	case actResolve:
		m.ended = false // the summary is shown again once resolved
		return m, appendCmd(m.journal, "incident resolved", incident.Event{Type: incident.EventResolved, Time: m.now()})
	}
	return m, nil
}

func (m *Model) openPrompt(kind promptKind, title, placeholder, value string) {
	in := m.styles.NewTextInput()
	in.Prompt = "> "
	in.Placeholder = placeholder
	in.SetWidth(max(20, min(70, m.width-10)))
	in.SetValue(value)
	in.Focus()
	m.prompt = promptState{kind: kind, title: title, input: in, step: m.selectedID(),
		required: kind == promptSkip}
	m.overlay = ovPrompt
}

func (m Model) promptKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	p := &m.prompt
	switch {
	case keyIs(msg, m.keys.Dialog.Dismiss):
		m.overlay = ovNone
		return m, nil
	case keyIs(msg, m.keys.Dialog.Save):
		text := strings.TrimSpace(p.input.Value())
		if p.required && text == "" {
			p.err = "required"
			return m, nil
		}
		m.overlay = ovNone
		now := m.now()
		switch p.kind {
		case promptSkip:
			return m, appendCmd(m.journal, "skipped", incident.Event{Type: incident.EventStepSkipped, Time: now, Step: p.step, Reason: text})
		case promptNote:
			return m, appendCmd(m.journal, "note added", incident.Event{Type: incident.EventNote, Time: now, Step: p.step, Text: text})
		case promptExpect:
			ev := incident.ExpectationNote(now, p.step, text)
			flash := "recorded"
			if p.hint != "" {
				flash = "recorded · the runbook expects: " + p.hint
			}
			return m, appendCmd(m.journal, flash, ev)
		case promptMarkDone:
			return m, appendCmd(m.journal, "marked done", incident.Event{Type: incident.EventStepMarkedDone, Time: now, Step: p.step, Text: text})
		case promptSearch:
			m.search = text
			m.findNext()
			return m, nil
		case promptSecret:
			m.secrets[p.name] = p.input.Value()
			m.flash = p.name + " set for this session: press enter again to run"
			return m, nil
		}
		return m, nil
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	p.err = ""
	return m, cmd
}

// findNext scrolls the output to the next line containing the search text.
func (m *Model) findNext() {
	if m.search == "" {
		return
	}
	lines := m.outs[m.outputID()]
	needle := strings.ToLower(m.search)
	from := 0
	if len(m.list.out.rowOf) == len(lines) {
		from = sourceLine(m.list.out.rowOf, m.list.out.vp.YOffset()) + 1
	}
	for k := range lines {
		i := (from + k) % len(lines)
		if strings.Contains(strings.ToLower(lines[i]), needle) {
			m.list.out.follow = false
			row := i
			if i < len(m.list.out.rowOf) {
				row = m.list.out.rowOf[i]
			}
			m.list.out.vp.SetYOffset(row)
			m.flash = fmt.Sprintf("%q at line %d", m.search, i+1)
			return
		}
	}
	m.flash = fmt.Sprintf("%q not found", m.search)
}

// ---- status update ----

func (m *Model) openStatus() {
	if draft, ok := m.drafts[m.inc.ID]; ok {
		m.status.SetValue(draft) // the edits of last time, not a fresh draft
	} else {
		m.status.SetValue(m.inc.StatusText(m.rb, m.clock))
	}
	m.status.SetWidth(max(30, min(90, m.width-8)))
	m.status.SetHeight(max(4, min(10, m.height-12)))
	m.status.Focus()
	m.overlay = ovStatus
}

func (m Model) statusKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	kind := incident.KindUpdate
	if it, ok := m.inc.Next(m.clock); ok && it.Kind != "" {
		kind = it.Kind
	}
	switch {
	case keyIs(msg, m.keys.Dialog.CloseStatus):
		m.saveDraft()
		m.overlay = ovNone
		return m, nil
	case keyIs(msg, m.keys.Dialog.Send):
		m.saveDraft() // until it is posted: a failed send keeps the text
		text := m.status.Value()
		m.overlay = ovNone
		notify, j, now := m.opts.Notify, m.journal, m.now()
		switch {
		case notify == nil && m.mode == ModeDrill:
			// A drill rehearses posting: recorded, counted, sent nowhere.
			ev := incident.Event{Type: incident.EventStatusPosted, Time: now, Text: text, Kind: kind, How: incident.HowShown}
			return m, appendCmd(j, "drill: status update recorded as posted, sent nowhere (no notify_command in the config; in an incident ctrl+y copies it for the channel)", ev)
		case notify == nil:
			m.flash = "not sent: no notify_command in the config — ctrl+y copies it to paste into the incident channel (and records it as posted)"
			m.overlay = ovStatus
			return m, nil
		}
		return m, func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := notify(ctx, text); err != nil {
				return journaledMsg{err: fmt.Errorf("notify: %w", err)}
			}
			ev := incident.Event{Type: incident.EventStatusPosted, Time: now, Text: text, Kind: kind, How: incident.HowSent}
			return appendCmd(j, "status update sent", ev)()
		}
	case keyIs(msg, m.keys.Dialog.Copy):
		m.saveDraft()
		text := m.status.Value()
		m.overlay = ovNone
		ev := incident.Event{Type: incident.EventStatusPosted, Time: m.now(), Text: text, Kind: kind, How: incident.HowCopied}
		return m, tea.Batch(tea.SetClipboard(text), appendCmd(m.journal, "copied to clipboard (OSC 52) and recorded", ev))
	}
	var cmd tea.Cmd
	m.status, cmd = m.status.Update(msg)
	return m, cmd
}

// ---- contacts ----

// contactRows is every contact of the plan plus the on-call person.
func (m *Model) contactRows() [][2]string {
	var rows [][2]string
	oncall, contacts := m.opts.Config.OnCall, m.opts.Config.Contacts
	drillRoster := m.mode == ModeDrill && len(m.opts.DrillRoster) > 0
	if drillRoster {
		oncall, contacts = m.opts.DrillOnCall, m.opts.DrillRoster
	}
	who := orDefault(oncall, "missing")
	if m.askingOnCall && oncall == "" && !drillRoster {
		who = "asking on_call_command…"
	}
	rows = append(rows, [2]string{"On-call", who})
	for _, c := range contacts {
		who := c.Name
		if c.Handle != "" {
			who = strings.TrimSpace(who + " " + c.Handle)
		}
		if c.Phone != "" {
			who = strings.TrimSpace(who + " " + c.Phone)
		}
		rows = append(rows, [2]string{c.Role, orDefault(who, "missing")})
	}
	return rows
}

func (m Model) contactsKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	rows := m.contactRows()
	d := m.keys.Dialog
	switch {
	case keyIs(msg, d.CloseContacts):
		m.overlay = ovNone
	case keyIs(msg, m.keys.Up):
		if m.contact > 0 {
			m.contact--
		}
	case keyIs(msg, m.keys.Down):
		if m.contact < len(rows)-1 {
			m.contact++
		}
	case keyIs(msg, d.AssignIC), keyIs(msg, d.AssignScribe):
		if m.opts.ReadOnly {
			return m.refuse("assigning roles")
		}
		if m.journal == nil || m.contact >= len(rows) {
			return m, nil
		}
		person := rows[m.contact][1]
		if person == "missing" {
			m.flash = "no name configured for " + rows[m.contact][0]
			return m, nil
		}
		role := "Incident Commander"
		if keyIs(msg, d.AssignScribe) {
			role = "Scribe"
		}
		return m, appendCmd(m.journal, role+": "+person, incident.Event{Type: incident.EventRoleAssigned, Time: m.now(), Role: role, Person: person})
	}
	return m, nil
}

// ---- documents ----

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func (m Model) docsKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	var docs []string
	if m.rb != nil {
		docs = m.rb.Related
	}
	d := m.keys.Dialog
	switch {
	case keyIs(msg, d.CloseDocs):
		m.overlay = ovNone
	case keyIs(msg, m.keys.Up):
		if m.docSel > 0 {
			m.docSel--
		}
	case keyIs(msg, m.keys.Down):
		if m.docSel < len(docs)-1 {
			m.docSel++
		}
	case keyIs(msg, d.CopyDoc):
		if m.docSel < len(docs) {
			m.flash = "copied " + docs[m.docSel]
			return m, tea.SetClipboard(docs[m.docSel])
		}
	case keyIs(msg, d.Open):
		if m.docSel >= len(docs) {
			return m, nil
		}
		doc := docs[m.docSel]
		if isURL(doc) {
			m.flash = "URLs are not opened: press y to copy " + doc
			return m, nil
		}
		read := m.opts.ReadDoc
		if read == nil {
			m.flash = "no document reader configured"
			return m, nil
		}
		return m, func() tea.Msg {
			text, err := read(doc)
			if err != nil {
				err = fmt.Errorf("read %s: %w", doc, err)
			}
			return docMsg{path: doc, text: text, err: err}
		}
	}
	return m, nil
}

// ---- focus and layout ----

func (m *Model) panesShown() bool { return m.height >= 32 && m.width >= 80 }

// layout sizes the widgets for the terminal.
type layoutDims struct {
	listW, detailW     int
	bodyH, panesH      int
	outputH, detailTop int
}

func (m *Model) dims() layoutDims {
	var d layoutDims
	d.listW = max(26, min(44, m.width*36/100))
	d.detailW = max(20, m.width-d.listW-2)
	header, footer := 2, 1
	if m.mirrorRO != nil {
		header++ // the line saying why the driver is read-only
	}
	if m.panesShown() {
		d.panesH = 8
	}
	d.bodyH = max(6, m.height-header-footer-d.panesH)
	return d
}

func (m *Model) layout() {
	d := m.dims()
	m.list.out.vp.SetHeight(max(3, d.bodyH-m.detailHeight(d.detailW, d.bodyH)))
	if d.detailW != m.list.out.vp.Width() {
		m.list.out.vp.SetWidth(d.detailW)
		m.refreshOutput() // wrapped to the new width
	}
	m.pager.SetWidth(max(20, m.width-6))
	m.pager.SetHeight(max(5, m.height-6))
	m.help.SetWidth(m.width)
	if d.panesH > 0 {
		m.panes.setSize(paneWidths(m.width), d.panesH)
	}
	if m.list.out.follow {
		m.list.out.vp.GotoBottom()
	}
	if m.list.focus > focusOutput && !m.panesShown() {
		m.list.focus = focusSteps
	}
}
