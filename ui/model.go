// Package ui is drnav's terminal interface: one root Bubble Tea model that
// owns routing, layout, the incident and its running step, and the dialogs
// (confirmation, status updates, contacts, documents, help, scorecard); the
// screens are widgets with their own state and Update (picker, mode,
// declare form, checklist with its selection, focus and output pane).
// Update is pure: every journal append, step start and notification
// happens in a tea.Cmd; View only formats what is in memory.
package ui

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

type screen int

const (
	screenPicker screen = iota
	screenMode
	screenDeclare
	screenChecklist
)

type overlay int

const (
	ovNone overlay = iota
	ovConfirm
	ovPrompt
	ovHelp
	ovStatus
	ovContacts
	ovDocs
	ovPager
	ovScorecard
	ovBriefing
	ovContexts
)

// Model is the root model.
type Model struct {
	opts Options
	// mirrorLine and mirrorRO are the mirror's state at the last tick.
	mirrorLine string
	mirrorRO   error
	now        func() time.Time
	baseNow    func() time.Time // Options.Now; now is the environment's clock when it has one
	styles     Styles
	keys       KeyMap
	help       help.Model
	isDark     bool

	width, height int
	clock         time.Time // every timer reads this; see advanceClock

	screen  screen
	overlay overlay
	flash   string // one-line status message in the footer

	pick picker

	// mode and incident
	mode Mode
	env  *Environment
	// built is the environment this model built (MakeEnv) and owns: it is
	// closed when another replaces it and by Close.
	built *Environment
	// origin counts the environment requests (a runbook chosen, an incident
	// opened, back to the picker): every asynchronous answer carries the
	// origin it answers, and one that is no longer current is dropped.
	origin int
	// envErr says why the environment could not be built (steps wait for it).
	envErr string
	// initEnv builds the environment of an incident resumed at start-up,
	// run by Init: the first frame does not wait for clusters or databases.
	initEnv tea.Cmd
	// askingOnCall: Options.OnCall has not answered yet.
	askingOnCall bool
	rb           *runbooks.Runbook
	decl         declareForm
	journal      Journal
	inc          incident.State    // the incident: every journaled event folded in
	secrets      map[string]string // secret values: memory only, never journaled
	list         checklist         // the checklist screen: selection, focus (checklist.go)

	// running step
	runSeq int
	run    *activeRun
	outs   map[string][]string // output lines per step id (this session)
	// handing is this driver's handover on its way (nothing is journaled
	// while it is); see handover.go.
	handing *HandoverOffer
	search  string

	confirm confirmState
	prompt  promptState
	status  editor
	contact int
	docSel  int
	pager   viewport.Model
	pagerOf string
	drafts  map[string]string // status-update drafts by incident id, kept until posted
	// reportPath is the report last exported (e), for y to copy.
	reportPath string

	panes     panesSet
	ended     bool   // scorecard shown once
	recovered string // drill: whether the scenario is recovered (for the scorecard)
	// resolvedAge is the RPO data age when the incident was resolved (seen
	// in this session): the header's figure stops there.
	resolvedAge      time.Duration
	resolvedAgeKnown bool
	snapEnv          *Environment // the environment whose snapshots are being read

	ctxPick contextPick // LIVE's kube context picker
	// ctxHeld, when set, holds every step: a resumed LIVE incident reaches
	// another kube context than it was declared with (see context.go).
	ctxHeld string
	gen     int      // counts every message except typing into a dialog (see bgCache)
	bg      *bgCache // the screen beneath a typing dialog, shared by copies
}

type activeRun struct {
	id       int
	step     string
	handle   StepRun
	verify   bool // a verification-only run
	jr       *steps.Journaler
	started  time.Time
	stopping bool
	reader   *runReader // who reads handle's events (nil in some tests)
}

// New builds the root model from the options main assembled.
func New(opts Options) Model {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.Start == nil {
		opts.Start = EngineStart
	}
	if opts.Interactive == nil {
		opts.Interactive = steps.InteractiveCommand
	}
	if opts.ReadDoc == nil {
		opts.ReadDoc = readDoc
	}
	if opts.Notify == nil && opts.Config.NotifyCommand != "" {
		command := opts.Config.NotifyCommand
		opts.Notify = func(ctx context.Context, text string) error { return incident.Notify(ctx, command, text) }
	}
	m := Model{
		opts:    opts,
		now:     now,
		baseNow: now,
		isDark:  true,
		keys:    NewKeyMap(opts.ReadOnly),
		help:    help.New(),
		mode:    opts.Mode,
		secrets: map[string]string{},
		outs:    map[string][]string{},
		width:   80,
		height:  24,
		list:    newChecklist(),
		pager:   viewport.New(),
		bg:      &bgCache{},
		pick:    newPicker(opts.Open, opts.Runbooks),
	}
	m.styles = NewStyles(m.isDark, opts.NoColor, opts.ASCII)
	m.status = newStatusEditor(m.styles, m.keys.Editor)
	m.help.Styles = m.styles.HelpStyles()
	m.clock = now()
	m.panes = newPanes(m.isDark, opts.NoColor, opts.ASCII)
	m.setEnv()
	if opts.Resume != nil {
		m.applyResume(opts.Resume)
		if opts.MakeEnv != nil && m.rb != nil && !opts.ReadOnly {
			// Built after the first frame; the static environment only
			// describes the mode meanwhile.
			m.initEnv = m.makeEnvCmd(func(origin int, env *Environment, err error) tea.Msg {
				return resumedEnvMsg{origin: origin, env: env, err: err}
			})
		} else {
			m.checkResumedContext()
		}
	}
	m.askingOnCall = opts.OnCall != nil
	if opts.ReadOnly {
		m.screen = screenChecklist
	}
	m.snapEnv = m.env // Init starts reading its snapshots
	m.layout()
	return m
}

func (m *Model) setEnv() {
	switch m.mode {
	case ModeLive:
		m.useEnv(m.opts.Live)
	case ModeDrill:
		m.useEnv(m.opts.Drill)
	default:
		m.useEnv(nil)
	}
}

// useEnv makes env the current environment. A drill's scenario clock
// (Environment.Now) becomes the incident's clock: the header's RTO, the
// journal's times and step durations run at the simulator's pace.
func (m *Model) useEnv(env *Environment) {
	m.env = env
	m.now = m.baseNow
	if env != nil && env.Now != nil {
		m.now = env.Now
	}
	// A new clock source: read it at once (a drill's scenario clock may
	// already run minutes ahead of the last tick's wall time, and the
	// declare form shows "now"). Only here may the clock move back: leaving
	// a drill for LIVE returns to the wall clock.
	m.clock = m.now()
	m.panes.setNow(m.clock)
}

func (m *Model) applyResume(r *Resume) {
	m.journal = r.Journal
	m.inc = r.Journal.State()
	m.refreshClock()
	// nothing runs in this process yet: a step still running was cut short
	m.inc.Interrupt(m.now())
	m.mode = modeOf(m.inc.Mode)
	m.setEnv()
	m.rb = m.findRunbook(m.inc.RunbookID)
	m.panes.followFailover(m.actedOnFailover())
	m.screen = screenChecklist
	m.selectFirstOpen()
	if m.rb == nil {
		m.flash = fmt.Sprintf("runbook %q of this incident is not loaded", m.inc.RunbookID)
	}
}

func (m *Model) findRunbook(id string) *runbooks.Runbook {
	for _, rb := range m.opts.Runbooks {
		if rb.ID == id {
			return rb
		}
	}
	return nil
}

// Init starts the one clock tick, asks for the background colour and starts
// the followers.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tickCmd(), tea.RequestBackgroundColor, m.initEnv}
	if ask := m.opts.OnCall; ask != nil {
		cmds = append(cmds, func() tea.Msg {
			return onCallMsg(ask(context.Background()))
		})
	}
	if m.opts.Follow != nil {
		cmds = append(cmds, followCmd(m.opts.Follow))
	}
	if m.env != nil {
		cmds = append(cmds, startSnapshots(m.env))
	}
	return tea.Batch(cmds...)
}

// ---- messages ----

type tickMsg time.Time

type runStartedMsg struct {
	id     int
	handle StepRun
	err    error
}

type runEventsMsg struct {
	id     int
	events []incident.Event // already journaled
	lines  []string
	done   bool
	err    error
}

// journaledMsg carries events that were appended (or the append error).
type journaledMsg struct {
	events []incident.Event
	err    error
	flash  string
}

type declaredMsg struct {
	journal Journal
	state   incident.State // the journal's state once declared
	err     error
}

// resumedEnvMsg carries the environment built for an incident resumed from
// the picker.
type resumedEnvMsg struct {
	origin int
	env    *Environment
	err    error
	flash  string // what the footer says once the environment is there
}

type resumeMsg struct {
	origin int
	r      *Resume
	err    error
}

type followMsg struct {
	events []incident.Event
	closed bool
}

type choicesMsg struct {
	origin  int
	field   int
	choices []string
	facts   []string
	err     error
}

type docMsg struct {
	path, text string
	err        error
}

type interactiveDoneMsg struct {
	id      int
	step    string
	err     error
	started time.Time
}

// interactiveReadyMsg carries the command of an interactive step, built in
// a Cmd (it writes the step's kubeconfig), back to Update for handing over
// the terminal; cleanup removes what building it wrote.
type interactiveReadyMsg struct {
	id      int
	step    runbooks.Step
	target  steps.Target
	cmd     *exec.Cmd
	cleanup func()
	err     error
}

func tickCmd() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func followCmd(ch <-chan incident.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return followMsg{closed: true}
		}
		evs := []incident.Event{ev}
		for len(evs) < 256 {
			select {
			case e, ok := <-ch:
				if !ok {
					return followMsg{events: evs, closed: true}
				}
				evs = append(evs, e)
			default:
				return followMsg{events: evs}
			}
		}
		return followMsg{events: evs}
	}
}

// appendCmd appends events in order; the model shows them when it returns.
func appendCmd(j Journal, flash string, evs ...incident.Event) tea.Cmd {
	return func() tea.Msg {
		var done []incident.Event
		for _, ev := range evs {
			if err := j.Append(ev); err != nil {
				return journaledMsg{events: done, err: fmt.Errorf("journal %s: %w", ev.Type, err)}
			}
			done = append(done, ev)
		}
		return journaledMsg{events: done, flash: flash}
	}
}

// ---- update ----

// Update routes every message. It never does I/O.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if !m.typingIntoDialog(msg) {
		m.gen++ // the screen beneath a dialog may have changed
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.BackgroundColorMsg:
		m.isDark = msg.IsDark()
		m.styles = NewStyles(m.isDark, m.opts.NoColor, m.opts.ASCII)
		m.help.Styles = m.styles.HelpStyles()
		m.panes.restyle(m.isDark, m.opts.NoColor, m.opts.ASCII)
		return m, nil
	case tickMsg:
		if m.env != nil && m.env.Now != nil {
			m.advanceClock(m.now()) // the scenario's clock, not the wall's
		} else {
			m.advanceClock(time.Time(msg))
		}
		if m.opts.MirrorStatus != nil {
			wasRO := m.mirrorRO != nil
			m.mirrorLine, m.mirrorRO = m.opts.MirrorStatus()
			if wasRO != (m.mirrorRO != nil) {
				m.layout()
			}
		}
		return m, tickCmd()
	case journaledMsg:
		m.refreshClock()
		for _, ev := range msg.events {
			m.apply(ev)
			m.afterJournaled(ev)
		}
		if msg.err != nil {
			m.flash = "error: " + msg.err.Error()
		} else if msg.flash != "" {
			m.flash = msg.flash
		}
		return m.afterStateChange()
	case exportedMsg:
		if msg.err != nil {
			m.flash = "error: " + msg.err.Error()
		} else {
			m.reportPath = msg.path
			m.flash = "report written: " + msg.path + " · y copies the path"
		}
		return m, nil
	case declaredMsg:
		if msg.err != nil {
			m.flash = "declare: " + msg.err.Error()
			return m, nil
		}
		m.journal = msg.journal
		m.inc = msg.state
		m.refreshClock()
		m.screen = screenChecklist
		m.list.sel = 0
		m.layout()
		if m.mode == ModeDrill {
			m.overlay = ovBriefing
		}
		return m, m.snapshotCmds()
	case HandoverMsg:
		return m.takeSeat(msg)
	case handedMsg:
		return m.handed(msg)
	case resumeMsg:
		if msg.origin != m.origin {
			return m, closeResumeCmd(msg.r) // another choice was made meanwhile
		}
		if msg.err != nil {
			m.flash = "resume: " + msg.err.Error()
			if le, ok := IsLocked(msg.err); ok {
				m.flash = fmt.Sprintf("%s is driven by %s (pid %d) since %s: watch it read-only with `drnav watch %s`",
					le.ID, le.User, le.PID, le.Since.Format("15:04"), le.ID)
			}
			return m, nil
		}
		m.applyResume(msg.r)
		m.layout()
		if m.opts.MakeEnv != nil && m.rb != nil && !m.opts.ReadOnly {
			// Resumed from the picker: the incident's own mode and runbook
			// get their environment (the static ones only describe it).
			return m, m.makeEnvCmd(func(origin int, env *Environment, err error) tea.Msg {
				return resumedEnvMsg{origin: origin, env: env, err: err}
			})
		}
		return m, m.snapshotCmds()
	case resumedEnvMsg:
		if msg.origin != m.origin {
			return m, closeEnvCmd(msg.env)
		}
		if msg.err != nil {
			m.envErr = msg.err.Error()
			m.flash = msg.err.Error()
			return m, nil
		}
		closeOld := m.adopt(msg.env)
		m.flash = msg.flash
		m.checkResumedContext()
		return m, tea.Batch(closeOld, m.snapshotCmds())
	case pickedContextMsg:
		return m.pickedContext(msg)
	case followMsg:
		m.refreshClock()
		for _, ev := range msg.events {
			m.apply(ev)
			switch ev.Type {
			case incident.EventDeclared:
				m.rb = m.findRunbook(m.inc.RunbookID)
				m.mode = modeOf(m.inc.Mode)
			case incident.EventOutput:
				m.outs[ev.Step] = appendTail(m.outs[ev.Step], ev.Lines)
			case incident.EventStepStarted:
				m.selectStep(ev.Step)
			}
		}
		m.refreshOutput()
		if msg.closed {
			m.flash = "journal closed"
			return m, nil
		}
		return m, followCmd(m.opts.Follow)
	case kubeSnapMsg:
		if m.env == nil || msg.ch != m.env.KubeSnapshots {
			return m, nil // from another mode's source
		}
		m.panes.setKube(msg.snap)
		return m, kubeSnapCmd(msg.ch)
	case failoverSnapMsg:
		if m.env == nil || msg.ch != m.env.FailoverSnapshots {
			return m, nil
		}
		m.panes.setFailover(msg.snap)
		m.panes.followFailover(m.actedOnFailover()) // its context's name may be how a step names it
		return m, failoverSnapCmd(msg.ch)
	case dbSnapMsg:
		if m.env == nil || msg.ch != m.env.DBSnapshots {
			return m, nil
		}
		m.panes.setDB(msg.snap)
		return m, dbSnapCmd(msg.ch)
	case runStartedMsg:
		if m.run == nil || msg.id != m.run.id {
			return m, nil
		}
		if msg.err != nil {
			m.flash = "start: " + msg.err.Error()
			m.run = nil
			return m, nil
		}
		m.run.handle = msg.handle
		return m, readRunCmd(m.journal, m.run.id, m.run.jr, msg.handle, m.run.reader)
	case runEventsMsg:
		if m.run == nil || msg.id != m.run.id {
			return m, nil // stale
		}
		for _, ev := range msg.events {
			m.apply(ev)
		}
		id := m.run.step
		if len(msg.lines) > 0 {
			m.outs[id] = appendTail(m.outs[id], msg.lines)
			m.refreshOutput()
		}
		if msg.err != nil {
			m.flash = "error: " + msg.err.Error()
		}
		if msg.done {
			m.run = nil
			if m.inc.Status(id) == incident.StepShown && !m.opts.ReadOnly {
				m.askExpectation(id)
				return m, nil
			}
			m.advanceFrom(id)
			return m.afterStateChange()
		}
		return m, readRunCmd(m.journal, msg.id, m.run.jr, m.run.handle, m.run.reader)
	case interactiveReadyMsg:
		return m.handInteractive(msg)
	case interactiveDoneMsg:
		if m.run == nil || msg.id != m.run.id {
			return m, nil
		}
		m.run = nil
		fin := steps.FinishedEvent(msg.step, steps.FinishInteractive(msg.err, msg.started))
		return m, appendCmd(m.journal, "", fin)
	case recoveredMsg:
		m.recovered = string(msg)
		return m, nil
	case onCallMsg:
		m.opts.Config.OnCall, m.askingOnCall = string(msg), false
		return m, nil
	case envMsg:
		if msg.origin != m.origin {
			return m, closeEnvCmd(msg.env) // for a runbook or mode no longer chosen
		}
		if msg.err != nil {
			m.flash = msg.err.Error()
			return m, nil
		}
		closeOld := m.adopt(msg.env)
		m.flash = ""
		snaps := m.snapshotCmds()
		mm, cmd := m.startDeclare()
		return mm, tea.Batch(cmd, snaps, closeOld)
	case choicesMsg:
		if msg.origin == m.origin {
			m.decl.setChoices(msg)
		}
		return m, nil
	case docMsg:
		if msg.err != nil {
			m.flash = "open document: " + msg.err.Error()
			return m, nil
		}
		m.pagerOf = msg.path
		m.pager.SetContent(msg.text)
		m.pager.GotoTop()
		m.overlay = ovPager
		return m, nil
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	case tea.PasteMsg:
		return m.routeToInput(msg)
	}
	return m, nil
}

// apply folds an event the journal accepted into the incident state.
func (m *Model) apply(ev incident.Event) {
	if ev.Type == incident.EventResolved && !m.inc.Resolved {
		m.resolvedAge, m.resolvedAgeKnown = m.dataAgeAt(ev.Time)
	}
	m.inc.Apply(ev)
	m.advanceClock(ev.Time)
	m.panes.followFailover(m.actedOnFailover())
}

// advanceClock moves the one clock every timer reads forward to t. It never
// moves back: a tick that was queued behind other work (a loaded machine) can
// carry a time older than an event already shown.
func (m *Model) advanceClock(t time.Time) {
	if t.After(m.clock) {
		m.clock = t
		m.panes.setNow(t)
	}
}

// refreshClock reads the clock now. Every state change (declare, resume,
// journal events) calls it, so the header never measures a fresh incident
// against the last tick, which can be up to a second — or, on a loaded
// machine, longer — older than the declaration.
func (m *Model) refreshClock() { m.advanceClock(m.now()) }

// afterStateChange shows the scorecard once every step is settled.
func (m Model) afterStateChange() (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	if !m.ended && m.rb != nil && (m.inc.Resolved || allSettled(&m.inc, m.rb)) && m.overlay == ovNone {
		m.ended = true
		m.overlay = ovScorecard
		if m.env != nil && m.env.Recovered != nil {
			rec := m.env.Recovered
			cmd = func() tea.Msg {
				ok, detail := rec()
				text := "not recovered"
				if ok {
					text = "recovered"
				}
				if detail != "" {
					text += ": " + detail
				}
				return recoveredMsg(text)
			}
		}
	}
	m.refreshOutput()
	return m, cmd
}

type recoveredMsg string

// onCallMsg is who is on call, as Options.OnCall answered.
type onCallMsg string

func appendTail(lines, more []string) []string {
	const keep = 5000
	lines = append(lines, more...)
	if len(lines) > keep {
		lines = slices.Clone(lines[len(lines)-keep:])
	}
	return lines
}

func (m *Model) stepIndex(id string) int { return stepIndexIn(m.rb, id) }

// stepCount is the number of steps of the runbook (0 without one).
func (m *Model) stepCount() int {
	if m.rb == nil {
		return 0
	}
	return len(m.rb.Steps)
}

// phaseOf is the phase of a step ("" when unknown).
func (m *Model) phaseOf(id string) string {
	if i := m.stepIndex(id); i >= 0 {
		return m.rb.Steps[i].Phase
	}
	return ""
}

func (m *Model) selectStep(id string) { m.list.selectStep(m.rb, id) }

// selectFirstOpen selects the first step not done or skipped.
func (m *Model) selectFirstOpen() { m.list.selectFirstOpen(m.rb, m.inc.Status) }

func (m *Model) selectedID() string { return m.list.selectedID(m.rb) }

// askExpectation: in a drill a shell step is shown, not run, so the trainee
// says what they expect it to have done; the answer is recorded as a note
// on the step and compared with the runbook's expectation in the review.
func (m *Model) askExpectation(id string) {
	expect := ""
	if m.rb != nil {
		for i := range m.rb.Steps {
			if m.rb.StepID(i) == id {
				expect = strings.TrimSpace(m.rb.Steps[i].Expect)
			}
		}
	}
	m.openPrompt(promptExpect, "Shown, not run. What do you expect it to have done?", "what you expect it printed or changed", "")
	m.prompt.step = id
	m.prompt.required = true
	m.prompt.hint = expect
}

func (m *Model) selectedStep() *runbooks.Step { return m.list.selectedStep(m.rb) }

func (m *Model) stepStatus(i int) incident.StepStatus {
	return m.inc.Status(m.rb.StepID(i))
}

// refreshOutput shows the output of the step outputID names.
func (m *Model) refreshOutput() {
	id := m.outputID()
	m.list.out.show(id, m.outs[id])
}

// ---- keys ----

func (m Model) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch m.overlay {
	case ovConfirm:
		return m.confirmKey(msg)
	case ovPrompt:
		return m.promptKey(msg)
	case ovStatus:
		return m.statusKey(msg)
	case ovHelp, ovScorecard, ovBriefing:
		if keyIs(msg, m.keys.Quit) && m.overlay == ovScorecard {
			return m, tea.Quit
		}
		m.overlay = ovNone
		return m, nil
	case ovContacts:
		return m.contactsKey(msg)
	case ovContexts:
		return m.contextsKey(msg)
	case ovDocs:
		return m.docsKey(msg)
	case ovPager:
		if keyIs(msg, m.keys.Dialog.ClosePager) {
			m.overlay = ovDocs
			return m, nil
		}
		var cmd tea.Cmd
		m.pager, cmd = m.pager.Update(msg)
		return m, cmd
	}
	switch m.screen {
	case screenPicker:
		return m.pickerKey(msg)
	case screenMode:
		return m.modeKey(msg)
	case screenDeclare:
		return m.declareKey(msg)
	}
	return m.checklistKey(msg)
}

func (m Model) routeToInput(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch {
	case m.overlay == ovPrompt:
		m.prompt.input, cmd = m.prompt.input.Update(msg)
	case m.overlay == ovConfirm && m.confirm.requireName != "":
		m.confirm.input, cmd = m.confirm.input.Update(msg)
	case m.overlay == ovStatus:
		m.status, cmd = m.status.Update(msg)
	case m.screen == screenDeclare:
		m.decl, cmd = m.decl.updateInput(msg)
	}
	return m, cmd
}

// refuse explains that a key does nothing in read-only mode.
func (m Model) refuse(what string) (tea.Model, tea.Cmd) {
	m.flash = "read-only: " + what + " is disabled (observer)"
	return m, nil
}

// startStep starts the selected step (or its verification only) in a Cmd.
func (m Model) startStep(verifyOnly bool) (tea.Model, tea.Cmd) {
	step := m.selectedStep()
	if step == nil {
		return m, nil
	}
	if m.ctxHeld != "" {
		m.flash = "steps held: the kube context changed since the declaration (" + m.ctxHeld + "); resume with --context"
		return m, nil
	}
	id := m.selectedID()
	// a resumed incident does not know its secrets: ask again, never run with the mask
	for _, name := range slices.Sorted(slices.Values(secretNames(&m.inc))) {
		if _, ok := m.secrets[name]; !ok {
			m.openPrompt(promptSecret, "Re-enter secret "+name+" (not kept in the journal)", name, "")
			m.prompt.input.EchoMode = textinput.EchoPassword
			m.prompt.input.EchoCharacter = '*'
			m.prompt.required = true
			m.prompt.name = name
			return m, nil
		}
	}
	tp := m.target()
	if tp == nil {
		m.flash = "the " + m.mode.String() + " environment is not ready yet: steps wait for it"
		if m.envErr != "" {
			m.flash = "steps cannot run: " + m.envErr
		}
		return m, nil
	}
	target := *tp
	m.runSeq++
	m.run = &activeRun{id: m.runSeq, step: id, verify: verifyOnly, started: m.now(), reader: newRunReader()}
	m.list.outOf = ""
	m.list.out.follow = true
	if !verifyOnly {
		m.outs[id] = nil
	}
	m.refreshOutput()
	runStep := *step
	if runStep.ID == "" {
		runStep.ID = id
	}
	if verifyOnly {
		cond := step.Verify
		if cond == nil {
			cond = step.Wait
		}
		runStep = runbooks.Step{ID: id, Title: "verify: " + step.Title, Wait: cond}
	}
	if step.Interactive && !verifyOnly && m.opts.Interactive != nil {
		runID, mkCmd := m.run.id, m.opts.Interactive
		return m, func() tea.Msg {
			cmd, cleanup, err := mkCmd(runStep, target)
			return interactiveReadyMsg{id: runID, step: runStep, target: target, cmd: cmd, cleanup: cleanup, err: err}
		}
	}
	return m.startShown(runStep, target)
}

// handInteractive journals an interactive step's start, then hands the
// terminal to its command; the command's cleanup runs when it returns.
func (m Model) handInteractive(msg interactiveReadyMsg) (tea.Model, tea.Cmd) {
	cleanup := msg.cleanup
	if cleanup == nil {
		cleanup = func() {}
	}
	if m.run == nil || msg.id != m.run.id {
		cleanup() // stale: the run was cancelled or replaced meanwhile
		return m, nil
	}
	if errors.Is(msg.err, steps.ErrShownOnly) {
		return m.startShown(msg.step, msg.target)
	}
	if msg.err != nil {
		m.run = nil
		m.flash = "interactive: " + msg.err.Error()
		return m, nil
	}
	runID, j, started, id := m.run.id, m.journal, m.run.started, m.run.step
	startEv := incident.Event{Type: incident.EventStepStarted, Time: started, Step: id, Phase: msg.step.Phase,
		Command: strings.Join(msg.cmd.Args, " ")}
	return m, tea.Sequence(appendCmd(j, "handing the terminal over…", startEv),
		tea.ExecProcess(msg.cmd, func(err error) tea.Msg {
			cleanup()
			return interactiveDoneMsg{id: runID, step: id, err: err, started: started}
		}))
}

// startShown starts a step through the engine (in a Cmd).
func (m Model) startShown(runStep runbooks.Step, target steps.Target) (tea.Model, tea.Cmd) {
	start, runID, id := m.opts.Start, m.run.id, m.run.step
	m.run.jr = &steps.Journaler{Step: id, Phase: m.phaseOf(id), Title: runStep.Title, Dir: journalDir(m.journal),
		VerifyOnly: m.run.verify}
	if !m.run.verify {
		target = writeAheadTarget(target, m.journal, m.opts.Supervisor, m.run.jr)
	}
	return m, func() tea.Msg {
		h, err := start(context.Background(), runStep, target)
		if err != nil {
			err = fmt.Errorf("start %s: %w", id, err)
		}
		return runStartedMsg{id: runID, handle: h, err: err}
	}
}

func (m Model) pickerKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	var it pickItem
	m.pick, cmd, it = m.pick.Update(msg, m.keys.Picker)
	switch {
	case it.open != nil:
		if m.opts.ReadOnly {
			// Opening resumes the incident as its driver (lock and a
			// resumed event): an observer follows it instead.
			m.flash = fmt.Sprintf("read-only: opening would take the driver's seat; follow it with `drnav watch %s`", it.open.ID)
			return m, nil
		}
		open := it.open.Open
		if open == nil {
			m.flash = "cannot open this incident"
			return m, nil
		}
		m.origin++
		origin := m.origin
		return m, func() tea.Msg {
			r, err := open()
			return resumeMsg{origin: origin, r: r, err: err}
		}
	case it.rb != nil:
		if m.opts.ReadOnly {
			return m.refuse("declaring an incident")
		}
		m.rb = it.rb
		if m.mode == ModeAsk || m.env == nil {
			m.mode = ModeAsk
			m.screen = screenMode
			return m, nil
		}
		if m.mode == ModeLive {
			return m.chooseLive()
		}
		return m.chooseEnv()
	}
	return m, cmd
}

type envMsg struct {
	origin int
	env    *Environment
	err    error
}

// chooseEnv builds the environment (MakeEnv, in a Cmd) or uses the static one.
func (m Model) chooseEnv() (tea.Model, tea.Cmd) {
	if m.opts.MakeEnv == nil {
		m.origin++ // the declare form's choices answer this choice
		return m.startDeclare()
	}
	return m, m.makeEnvCmd(func(origin int, env *Environment, err error) tea.Msg {
		return envMsg{origin: origin, env: env, err: err}
	})
}

// adopt makes env, just built, the current environment; the one built
// before it is closed (in the returned Cmd).
func (m *Model) adopt(env *Environment) tea.Cmd {
	old := m.built
	m.useEnv(env)
	m.built, m.envErr = env, ""
	if old == env {
		return nil
	}
	return closeEnvCmd(old)
}

// closeEnvCmd closes an environment no longer used (its simulator,
// informers and database poller), off the Update loop.
func closeEnvCmd(env *Environment) tea.Cmd {
	if env == nil || env.Close == nil {
		return nil
	}
	return func() tea.Msg {
		env.Close()
		return nil
	}
}

// closeResumeCmd releases an incident opened for a choice no longer
// current (its journal and driver lock).
func closeResumeCmd(r *Resume) tea.Cmd {
	if r == nil || r.Journal == nil {
		return nil
	}
	return func() tea.Msg {
		_ = r.Journal.Close()
		return nil
	}
}

// makeEnvCmd builds the environment of the current mode and runbook in a Cmd
// (MakeEnv may start a simulator or dial a cluster) and wraps the result,
// tagged with a new origin: an answer to an earlier request is dropped.
func (m *Model) makeEnvCmd(done func(origin int, env *Environment, err error) tea.Msg) tea.Cmd {
	m.origin++
	origin := m.origin
	mk, mode, rb := m.opts.MakeEnv, m.mode, m.rb
	if d := m.descriptionOf(mode); d != nil && d.Make != nil {
		build := d.Make
		mk = func(ctx context.Context, _ Mode, rb *runbooks.Runbook) (*Environment, error) { return build(ctx, rb) }
	}
	m.flash = "preparing the " + mode.String() + " environment…"
	return func() tea.Msg {
		env, err := mk(context.Background(), mode, rb)
		if err != nil {
			err = fmt.Errorf("prepare %s environment: %w", mode, err)
		}
		return done(origin, env, err)
	}
}

// ---- declare form ----

func (m Model) startDeclare() (tea.Model, tea.Cmd) {
	m.screen = screenDeclare
	m.flash = ""
	cfgVals := m.opts.Config.Values()
	if m.env != nil && m.env.ConfigValues != nil {
		cfgVals = m.env.ConfigValues
	}
	var cmd tea.Cmd
	m.decl, cmd = newDeclareForm(&m.styles, m.rb, cfgVals, m.env, m.origin, m.width)
	return m, cmd
}

func (m Model) declareKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	var out declareOutcome
	m.decl, cmd, out = m.decl.Update(msg, m.keys.Declare, m.now())
	switch out {
	case declareBack:
		m.screen = screenPicker
		m.origin++ // choices or an environment on their way are dropped
		return m, nil
	case declareSubmit:
		return m.declare()
	}
	return m, cmd
}

func (m Model) declare() (tea.Model, tea.Cmd) {
	now := m.now()
	det, err := incident.ParseDetection(m.decl.fields[0].input.Value(), now)
	if err != nil {
		m.flash = err.Error()
		return m, nil
	}
	d := incident.Declared{
		RunbookID: m.rb.ID, RunbookTitle: m.rb.Title, RunbookFile: m.rb.File, Mode: incidentMode(m.mode),
		Detected: det, RTO: m.opts.Config.RTO.Duration, RPO: m.opts.Config.RPO.Duration,
		Phases: incident.PhasesOf(m.rb), At: now, Operator: m.opts.Operator,
	}
	if m.env != nil {
		d.KubeContext, d.Database = m.env.Context, m.env.Database
		d.Kube, d.FailoverKube, d.DB = m.env.KubeWhere, m.env.FailoverWhere, m.env.DBWhere
	}
	decl := incident.Event{Type: incident.EventDeclared, Time: now, Declared: &d}
	var vars []incident.Event
	for _, f := range m.decl.fields[1:] {
		v := f.variable
		val := strings.TrimSpace(f.input.Value())
		ev := incident.Event{Type: incident.EventVariableSet, Time: now, Name: v.Name, Value: val, Secret: v.Secret}
		if v.Secret {
			m.secrets[v.Name] = val
			ev.Value = incident.SecretMask
		}
		vars = append(vars, ev)
	}
	factory, root, attach := m.opts.NewJournal, m.opts.JournalRoot, m.opts.AttachJournal
	return m, func() tea.Msg {
		var j Journal
		switch {
		case factory != nil:
			var err error
			if j, err = factory(decl); err != nil {
				return declaredMsg{err: fmt.Errorf("create journal: %w", err)}
			}
		case root != "":
			ij, err := incident.Create(root, d) // records the declared event
			if err != nil {
				return declaredMsg{err: fmt.Errorf("create journal: declare incident: %w", err)}
			}
			j = ij
			if attach != nil {
				j = Detaching{Journal: ij, Detach: attach(ij)}
			}
		default:
			mj := incident.NewMemJournal()
			if err := mj.Append(decl); err != nil {
				return declaredMsg{err: fmt.Errorf("journal %s: %w", decl.Type, err)}
			}
			j = mj
		}
		for _, ev := range vars {
			if err := j.Append(ev); err != nil {
				return declaredMsg{err: fmt.Errorf("journal %s: %w", ev.Type, err)}
			}
		}
		return declaredMsg{journal: j, state: j.State()}
	}
}

func keyIs(msg tea.KeyPressMsg, b key.Binding) bool { return key.Matches(msg, b) }
