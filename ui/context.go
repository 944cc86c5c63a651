package ui

import (
	"context"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/where"
)

// This file holds what LIVE shows and asks about the cluster it reaches:
// the resolved context on every screen, the picker offered when no context
// could be resolved, the same-server warning and the changed-context guard
// on resume.

// contextPick is the small picker of kubeconfig contexts offered when LIVE
// cannot name its context.
type contextPick struct {
	names []string
	sel   int
}

// pickedContextMsg carries the LIVE description of a chosen context.
type pickedContextMsg struct {
	origin int
	name   string
	env    *Environment
	err    error
}

// kubeFor is what a step's context ("", "primary", "failover" or a name)
// reaches in the current environment.
func (m Model) kubeFor(name string) where.Kube {
	e := m.env
	switch {
	case e == nil:
		return where.Kube{Context: orDefault(name, "primary")}
	case name == "" || name == "primary":
		if e.KubeWhere != nil {
			return *e.KubeWhere
		}
		return where.Kube{Context: orDefault(e.Context, "primary")}
	case name == "failover" && e.FailoverWhere != nil:
		return *e.FailoverWhere
	}
	return where.Kube{Context: name}
}

// dbFor describes the database a SQL step reaches ("" = the DSN's own).
func (m Model) dbFor(database string) string {
	if e := m.env; e != nil && e.DBWhere != nil {
		d := *e.DBWhere
		if database != "" {
			d.Database = database
		}
		return d.String()
	}
	if m.env != nil && m.env.Database != "" {
		return m.env.Database
	}
	return orDefault(database, "(libpq default)")
}

// liveHeader is the LIVE target the header names: what this process
// reaches, or for an observer the context the incident was declared with.
func (m Model) liveHeader() string {
	if m.opts.ReadOnly {
		if m.inc.Kube != nil {
			return m.inc.Kube.Short()
		}
		if m.inc.KubeContext != "" {
			return m.inc.KubeContext
		}
	}
	return m.env.KubeShort()
}

// modeLiveLines are the mode screen's description of LIVE.
func (m Model) modeLiveLines(l *Environment) []string {
	s := m.styles
	if l.Unresolved != "" {
		b := []string{
			"  " + s.Key.Render(m.keys.Mode.Live.Help().Key) + "  " + s.LiveBanner.Render("LIVE") + "   " + s.Fail.Render("refused: no kube context resolved"),
			"        " + s.Warn.Render(l.Unresolved),
		}
		if len(l.Contexts) > 0 && m.opts.PickContext != nil {
			b = append(b, "        "+s.Key.Render(m.keys.Mode.Context.Help().Key)+fmt.Sprintf("  choose one of the kubeconfig's %d contexts", len(l.Contexts)))
		} else {
			b = append(b, "        pass --context, set primary_context, or set a current context (kubectl config use-context)")
		}
		return b
	}
	b := []string{"  " + s.Key.Render(m.keys.Mode.Live.Help().Key) + "  " + s.LiveBanner.Render("LIVE") + "   touches for real:"}
	row := func(k, v string) { b = append(b, "        "+fmt.Sprintf("%-14s", k)+s.Warn.Render(v)) }
	if k := l.KubeWhere; k != nil {
		row("kube context:", k.Context)
		row("server:", orDefault(k.Server, "(unknown)"))
		row("namespace:", orDefault(k.Namespace, "default"))
		row("user:", orDefault(k.User, "(none)"))
	} else {
		row("kube context:", l.Context)
	}
	if f := l.FailoverWhere; f != nil {
		row("failover:", f.Short())
	} else if l.FailoverProblem != "" {
		b = append(b, "        "+fmt.Sprintf("%-14s", "failover:")+s.Fail.Render("not resolved: "+l.FailoverProblem))
	}
	row("database:", orDefault(l.DBText(), "(libpq environment)"))
	if l.SameServer() {
		b = append(b, "        "+s.Fail.Render("WARNING: primary and failover are the same server ("+l.KubeWhere.Server+")"))
	}
	for i := range b {
		b[i] = clip(b[i], max(20, m.width-6)) // inside the dialog's border and padding
	}
	return b
}

// chooseLive is the LIVE key on the mode screen: refused while no context
// is resolved, confirmed first when primary and failover are one server.
func (m Model) chooseLive() (tea.Model, tea.Cmd) {
	l := m.opts.Live
	if l.Unresolved != "" {
		m.flash = "LIVE refused: " + l.Unresolved
		if len(l.Contexts) > 0 && m.opts.PickContext != nil {
			m.flash += " · press " + m.keys.Mode.Context.Help().Key + " to " + m.keys.Mode.Context.Help().Desc
		}
		return m, nil
	}
	if l.SameServer() {
		m.openConfirm(confirmState{action: actSameServer, danger: true, yesLabel: "Go on LIVE",
			title: "Primary and failover are the same server",
			lines: []string{
				"Primary:   " + l.KubeWhere.String(),
				"Failover:  " + l.FailoverWhere.String(),
				"",
				"A failover to the same API server is no failover: check",
				"failover_context / --failover-context before going on.",
			}})
		return m, nil
	}
	return m.goLive()
}

// descriptionOf is the environment that describes a mode before it is built.
func (m Model) descriptionOf(mode Mode) *Environment {
	switch mode {
	case ModeLive:
		return m.opts.Live
	case ModeDrill:
		return m.opts.Drill
	}
	return nil
}

func (m Model) goLive() (tea.Model, tea.Cmd) {
	m.mode = ModeLive
	m.setEnv()
	return m.chooseEnv()
}

// openContextPick opens the picker of kubeconfig contexts.
func (m Model) openContextPick() (tea.Model, tea.Cmd) {
	l := m.opts.Live
	if l == nil || len(l.Contexts) == 0 || m.opts.PickContext == nil {
		m.flash = "no kubeconfig contexts to choose from"
		return m, nil
	}
	m.ctxPick = contextPick{names: l.Contexts}
	m.overlay = ovContexts
	return m, nil
}

func (m Model) contextsKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	p := &m.ctxPick
	switch {
	case keyIs(msg, m.keys.Dialog.Back):
		m.overlay = ovNone
		return m, nil
	case keyIs(msg, m.keys.Up):
		p.sel = max(0, p.sel-1)
	case keyIs(msg, m.keys.Down):
		p.sel = min(len(p.names)-1, p.sel+1)
	case keyIs(msg, m.keys.Enter):
		if p.sel >= len(p.names) {
			return m, nil
		}
		name, pick := p.names[p.sel], m.opts.PickContext
		m.overlay = ovNone
		m.flash = "resolving kube context " + name + "…"
		m.origin++
		origin := m.origin
		return m, func() tea.Msg {
			env, err := pick(context.Background(), name)
			return pickedContextMsg{origin: origin, name: name, env: env, err: err}
		}
	}
	return m, nil
}

func (m Model) pickedContext(msg pickedContextMsg) (tea.Model, tea.Cmd) {
	if msg.origin != m.origin {
		return m, nil // another choice was made meanwhile
	}
	if msg.err != nil {
		m.flash = fmt.Sprintf("kube context %s: %v", msg.name, msg.err)
		return m, nil
	}
	m.opts.Live = msg.env
	m.flash = "LIVE now reaches " + msg.env.KubeShort()
	return m, nil
}

func (m Model) viewContextPick() string {
	s := m.styles
	w := m.dialogWidth() - 4
	b := []string{s.Bold.Render("Kube context for LIVE"), ""}
	for i, n := range m.ctxPick.names {
		mark := "  "
		if i == m.ctxPick.sel {
			mark = s.Accent.Render("> ")
		}
		b = append(b, clip(mark+n, w))
	}
	d := m.keys.Dialog
	b = append(b, "", s.Help.Render(helpLine(d.Choose, d.Use, d.Back)))
	return s.Dialog.Width(m.dialogWidth()).Render(strings.Join(b, "\n"))
}

// checkResumedContext compares the kube context a LIVE incident was
// declared with to the one this process reaches; when they differ, steps
// are held until the operator confirms.
func (m *Model) checkResumedContext() {
	m.ctxHeld = ""
	if m.opts.ReadOnly || m.mode != ModeLive || m.env == nil {
		return
	}
	change := ""
	now := where.Kube{Context: m.env.Context}
	if m.env.KubeWhere != nil {
		now = *m.env.KubeWhere
	}
	switch {
	case m.inc.Kube != nil:
		change = where.Change(*m.inc.Kube, now)
	case m.inc.KubeContext != "":
		change = where.Change(where.Kube{Context: m.inc.KubeContext}, now)
	}
	if change == "" {
		return
	}
	declared := m.inc.KubeContext
	if m.inc.Kube != nil {
		declared = m.inc.Kube.String()
	}
	m.ctxHeld = change
	lines := []string{"Declared:  " + declared, "Now:       " + orDefault(now.String(), "(none)")}
	for i, c := range strings.Split(change, ", ") {
		label := "Change:    "
		if i > 0 {
			label = "           "
		}
		lines = append(lines, label+c)
	}
	lines = append(lines, "",
		"Going on runs the remaining steps against Now. Cancel holds",
		"every step; resume with --context to reach the declared one.")
	m.openConfirm(confirmState{action: actContextChange, danger: true, yesLabel: "Go on here",
		title: "The kube context changed since this incident was declared", lines: lines})
}

// acceptContextChange records the operator's decision in the journal.
func (m Model) acceptContextChange() (tea.Model, tea.Cmd) {
	change := m.ctxHeld
	m.ctxHeld = ""
	return m, appendCmd(m.journal, "going on against "+m.env.KubeShort(), incident.Event{
		Type: incident.EventNote, Time: m.now(),
		Text: "Resumed on a different kube context (" + change + "); the operator chose to go on against " + m.env.KubeShort(),
	})
}
