package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/live"
	"github.com/drnav/drnav/ui/panes"
)

// panesSet holds the live pane renderers and their latest snapshots. Only
// Update mutates them; View only calls their View.
type panesSet struct {
	pods     *panes.PodsPane
	dep      *panes.DeploymentPane
	db       *panes.DBPane
	kube     *live.KubeSnapshot
	failover *live.KubeSnapshot
	dbs      *live.DBSnapshot
	// failoverFirst: the incident has acted on the failover region, so its
	// pods show and its deployments come first (the primary's beside).
	failoverFirst bool
}

func newPanes(isDark, noColor, ascii bool) panesSet {
	st := panes.NewStyles(isDark, noColor).WithASCII(ascii)
	return panesSet{pods: panes.NewPodsPane(st), dep: panes.NewDeploymentPane(st), db: panes.NewDBPane(st)}
}

func (p *panesSet) restyle(isDark, noColor, ascii bool) {
	st := panes.NewStyles(isDark, noColor).WithASCII(ascii)
	p.pods.Styles, p.dep.Styles, p.db.Styles = st, st, st
}

func (p *panesSet) setNow(t time.Time) {
	p.pods.Now, p.dep.Now, p.db.Now = t, t, t
}

func (p *panesSet) setKube(s live.KubeSnapshot) {
	p.kube = &s
	p.setPods()
	p.setDeployments()
}

// setFailover shows the failover region's deployments beside the primary's
// (and its pods, once the incident follows the failover).
func (p *panesSet) setFailover(s live.KubeSnapshot) {
	p.failover = &s
	p.setPods()
	p.setDeployments()
}

// followFailover puts the failover region first in the panes (on) or the
// primary (off).
func (p *panesSet) followFailover(on bool) {
	if p.failoverFirst == on {
		return
	}
	p.failoverFirst = on
	p.setPods()
	p.setDeployments()
}

func (p *panesSet) setPods() {
	switch {
	case p.failoverFirst && p.failover != nil:
		p.pods.SetSnapshot(*p.failover)
	case p.kube != nil:
		p.pods.SetSnapshot(*p.kube)
	}
}

func (p *panesSet) setDeployments() {
	switch {
	case p.kube != nil && p.failover != nil && p.failoverFirst:
		p.dep.SetSnapshots(*p.failover, *p.kube)
	case p.kube != nil && p.failover != nil:
		p.dep.SetSnapshots(*p.kube, *p.failover)
	case p.kube != nil:
		p.dep.SetSnapshots(*p.kube)
	case p.failover != nil:
		p.dep.SetSnapshots(*p.failover)
	}
}

func (p *panesSet) setDB(s live.DBSnapshot) {
	p.dbs = &s
	p.db.SetSnapshot(s)
}

func (p *panesSet) setSize(widths []int, h int) {
	p.pods.SetSize(widths[0]-2, h-2)
	p.dep.SetSize(widths[1]-2, h-2)
	p.db.SetSize(widths[2]-2, h-2)
}

type kubeSnapMsg struct {
	ch   <-chan live.KubeSnapshot
	snap live.KubeSnapshot
}

type failoverSnapMsg struct {
	ch   <-chan live.KubeSnapshot
	snap live.KubeSnapshot
}

type dbSnapMsg struct {
	ch   <-chan live.DBSnapshot
	snap live.DBSnapshot
}

// snapCmd reads one snapshot from a source's channel; the message carries
// the channel so a snapshot of a replaced environment is dropped.
func snapCmd[T any](ch <-chan T, msg func(T) tea.Msg) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		s, ok := <-ch
		if !ok {
			return nil
		}
		return msg(s)
	}
}

func kubeSnapCmd(ch <-chan live.KubeSnapshot) tea.Cmd {
	return snapCmd(ch, func(s live.KubeSnapshot) tea.Msg { return kubeSnapMsg{ch: ch, snap: s} })
}

func failoverSnapCmd(ch <-chan live.KubeSnapshot) tea.Cmd {
	return snapCmd(ch, func(s live.KubeSnapshot) tea.Msg { return failoverSnapMsg{ch: ch, snap: s} })
}

func dbSnapCmd(ch <-chan live.DBSnapshot) tea.Cmd {
	return snapCmd(ch, func(s live.DBSnapshot) tea.Msg { return dbSnapMsg{ch: ch, snap: s} })
}

// snapshotCmds starts reading the current environment's snapshot channels,
// once per environment.
func (m *Model) snapshotCmds() tea.Cmd {
	if m.env == nil || m.snapEnv == m.env {
		return nil
	}
	m.snapEnv = m.env
	return startSnapshots(m.env)
}

func startSnapshots(env *Environment) tea.Cmd {
	return tea.Batch(kubeSnapCmd(env.KubeSnapshots), dbSnapCmd(env.DBSnapshots), failoverSnapCmd(env.FailoverSnapshots))
}

func paneWidths(w int) []int {
	third := w / 3
	return []int{third, third, w - 2*third}
}

// actedOnFailover reports whether a step that acts on the failover region
// has started: a Kubernetes action, wait or verify whose context is the
// failover by role, however it is written ("failover", the failover
// context's name, or a variable that resolves to either).
func (m *Model) actedOnFailover() bool {
	if m.rb == nil {
		return false
	}
	for i := range m.rb.Steps {
		if m.stepActsOnFailover(&m.rb.Steps[i]) && m.inc.Status(m.rb.StepID(i)) != incident.StepPending {
			return true
		}
	}
	return false
}
