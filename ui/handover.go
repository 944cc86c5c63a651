package ui

import (
	"context"
	"fmt"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/drnav/drnav/incident"
)

// Seat connects a driving session to the others of the same process (drnav
// serve) so the driver can hand the incident over: the journal, with its
// driver lock still held, moves from one model to the other and is never
// released in between, so no third party can take it.
type Seat struct {
	// Me names this session's person ("ann (SHA256:…)").
	Me string
	// Candidates lists the other connected sessions that may drive.
	Candidates func() []string
	// Offer delivers an offer to the named session (as a HandoverMsg to its
	// program); an error when that session is gone.
	Offer func(to string, o *HandoverOffer) error
	// Follow streams the incident's events for this session once it has
	// handed the seat over and watches instead (nil: a still screen).
	Follow func(id string) <-chan incident.Event
}

// HandoverOffer is the driver's seat on its way from one session to
// another. Exactly one of Accept and Withdraw wins; the journal belongs to
// the receiver only if Accept won.
type HandoverOffer struct {
	From, To string
	resume   *Resume

	mu       sync.Mutex
	state    int // 0 pending, 1 accepted, 2 withdrawn or refused
	reason   string
	decision chan struct{}
}

// NewHandoverOffer wraps r (the journal, lock held) for the session to.
func NewHandoverOffer(from, to string, r *Resume) *HandoverOffer {
	return &HandoverOffer{From: from, To: to, resume: r, decision: make(chan struct{})}
}

// accept takes the offer; false when it was withdrawn first.
func (o *HandoverOffer) accept() (*Resume, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.state != 0 {
		return nil, false
	}
	o.state = 1
	close(o.decision)
	return o.resume, true
}

// refuse declines the offer with a reason for the giver.
func (o *HandoverOffer) refuse(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.state == 0 {
		o.state, o.reason = 2, reason
		close(o.decision)
	}
}

// Accepted reports whether the receiver took the journal.
func (o *HandoverOffer) Accepted() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.state == 1
}

// wait blocks until the receiver decides or timeout passes; a timeout
// withdraws the offer (unless it was accepted in the same instant).
func (o *HandoverOffer) wait(timeout time.Duration) (bool, string) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-o.decision:
	case <-t.C:
		o.refuse(fmt.Sprintf("%s did not answer within %s", o.To, timeout))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.state == 1, o.reason
}

// HandoverMsg delivers an offer to the receiving session's model.
type HandoverMsg struct{ Offer *HandoverOffer }

// handedMsg is the giver's answer: whether the seat moved.
type handedMsg struct {
	offer  *HandoverOffer
	ok     bool
	reason string
}

// handoverTimeout bounds how long the giver waits for the receiver's model
// to take the offer (its program may be busy drawing over a slow link).
const handoverTimeout = 60 * time.Second

// openHandover starts a handover from the checklist: the dialog lists who
// may take the seat.
func (m Model) openHandover() (tea.Model, tea.Cmd) {
	switch {
	case m.opts.Seat == nil:
		m.flash = "handing over is for sessions of drnav serve: locally, quit and let the next driver resume"
		return m, nil
	case m.opts.ReadOnly:
		return m.refuse("handing over")
	case m.journal == nil || m.journal.ID() == "":
		m.flash = "no incident is open to hand over"
		return m, nil
	case m.run != nil:
		m.flash = "a step is running: let it finish (or cancel it) before handing over"
		return m, nil
	case m.handing != nil:
		m.flash = "a handover is already on its way"
		return m, nil
	}
	names := m.opts.Seat.Candidates()
	if len(names) == 0 {
		m.flash = "nobody else who may drive is connected (they connect with a driver key)"
		return m, nil
	}
	m.openConfirm(confirmState{action: actHandover, title: "Hand the driver's seat to…",
		lines:    []string{"They drive from now on; you keep watching. The journal records the handover."},
		choices:  names,
		yesLabel: "Hand over"})
	return m, nil
}

// handOver offers the journal to the chosen session and waits (in a Cmd)
// for its answer; until then nothing here writes to the journal.
func (m Model) handOver(to string) (tea.Model, tea.Cmd) {
	r := &Resume{ID: m.journal.ID(), Journal: m.journal}
	o := NewHandoverOffer(m.opts.Seat.Me, to, r)
	m.handing = o
	m.flash = "handing the seat to " + to + "…"
	offer := m.opts.Seat.Offer
	return m, func() tea.Msg {
		if err := offer(to, o); err != nil {
			o.refuse(err.Error())
		}
		ok, reason := o.wait(handoverTimeout)
		return handedMsg{offer: o, ok: ok, reason: reason}
	}
}

// handed settles the giver's side: watching from now on, or still driving.
func (m Model) handed(msg handedMsg) (tea.Model, tea.Cmd) {
	if msg.offer != m.handing {
		return m, nil
	}
	m.handing = nil
	if !msg.ok {
		m.flash = "handover not done: " + msg.reason + "; you still drive"
		return m, nil
	}
	id := m.journal.ID()
	m.journal = nil // it belongs to the receiver now: never written or closed here
	m.opts.ReadOnly = true
	m.keys = NewKeyMap(true)
	m.flash = fmt.Sprintf("you handed the driver's seat to %s; you are watching now", msg.offer.To)
	if m.opts.Seat.Follow == nil {
		return m, nil
	}
	// Rebuild the state from the journal as every watcher does.
	m.inc = incident.State{}
	m.outs = map[string][]string{}
	m.opts.Follow = m.opts.Seat.Follow(id)
	return m, followCmd(m.opts.Follow)
}

// takeSeat is the receiver's side of an offer: it takes the journal if it
// is free to drive, records the handover and shows the incident.
func (m Model) takeSeat(msg HandoverMsg) (tea.Model, tea.Cmd) {
	o := msg.Offer
	switch {
	case m.opts.ReadOnly:
		o.refuse(m.opts.Seat.Me + " is watching read-only")
		return m, nil
	case m.journal != nil && m.journal.ID() != "":
		o.refuse(fmt.Sprintf("%s is driving another incident (%s)", o.To, m.journal.ID()))
		return m, nil
	case m.run != nil:
		o.refuse(o.To + " has a step running")
		return m, nil
	}
	r, ok := o.accept()
	if !ok {
		return m, nil
	}
	if m.journal != nil { // an in-memory journal of nothing declared
		_ = m.journal.Close()
	}
	m.applyResume(r)
	m.layout()
	ev := incident.Event{Type: incident.EventHandover, Time: m.now(), From: o.From, Operator: o.To}
	said := fmt.Sprintf("%s handed you the driver's seat: you drive %s now", o.From, r.ID)
	m.flash = said
	cmds := []tea.Cmd{appendCmd(m.journal, said, ev), m.snapshotCmds()}
	if m.opts.MakeEnv != nil && m.rb != nil {
		cmds = append(cmds, m.makeEnvCmd(func(origin int, env *Environment, err error) tea.Msg {
			return resumedEnvMsg{origin: origin, env: env, err: err, flash: said}
		}))
	}
	return m, tea.Batch(cmds...)
}

// OfferSeat prepares the seat of a session whose connection dropped (drnav
// serve keeps it for a grace period): an offer of its journal to the same
// person's next session. It is false when there is nothing to hand on: no
// incident driven, a step running (drnav serve follows it to its end with
// FollowRun first), or a handover already on its way. Close on the returned
// model withdraws the offer and closes the journal unless it was taken.
func (m Model) OfferSeat(from, to string) (Model, *HandoverOffer, bool) {
	if !m.Driving() {
		return m, nil, false
	}
	o := NewHandoverOffer(from, to, &Resume{ID: m.journal.ID(), Journal: m.journal})
	m.handing = o
	return m, o, true
}

// StepRunning reports whether the model drives an incident and follows a
// step it started (the step's events reach the journal through this model).
func (m Model) StepRunning() bool {
	return !m.opts.ReadOnly && m.journal != nil && m.journal.ID() != "" && m.run != nil && m.run.handle != nil &&
		m.handing == nil
}

// FollowRun journals the running step's events as the program would, with
// no program: drnav serve calls it for a driver whose connection dropped
// mid-step, so the step's output and its finish reach the journal while the
// seat is kept. It returns when the step finished (true: the model drives
// with no step running) or when ctx ended (false: the step still runs, and
// m still follows it).
func (m Model) FollowRun(ctx context.Context) (Model, bool) {
	for m.run != nil && m.run.handle != nil {
		r := m.run
		if r.reader == nil {
			r.reader = newRunReader()
		}
		r.reader.detached() // the program's reader, still waiting, reads nothing more
		r.reader.mu.Lock()
		msg, ok := readRunBatch(ctx, m.journal, r.id, r.jr, r.handle)
		r.reader.mu.Unlock()
		if !ok {
			return m, false
		}
		nm, _ := m.Update(msg)
		m = nm.(Model)
	}
	return m, m.run == nil
}

// AbandonRun stops following the running step before its journal closes:
// a shell step under the supervisor runs on, and the next resume reads its
// outcome from its run folder (incident.Journal.Settle); any other step is
// cancelled. What the run still sends is journaled.
func (m Model) AbandonRun() Model {
	if m.run == nil || m.run.handle == nil {
		return m
	}
	if a, ok := m.run.handle.(interface{ Abandon() }); ok {
		a.Abandon()
	} else {
		m.run.handle.Cancel()
	}
	m, _ = m.FollowRun(context.Background())
	return m
}

// Wait blocks until the offer is taken or refused, or timeout passes (then
// it is withdrawn); it reports whether the receiver took it.
func (o *HandoverOffer) Wait(timeout time.Duration) bool {
	ok, _ := o.wait(timeout)
	return ok
}

// Driving reports whether the model holds an incident's journal (and so
// its driver lock) with no step running.
func (m Model) Driving() bool {
	return !m.opts.ReadOnly && m.journal != nil && m.journal.ID() != "" && m.run == nil && m.handing == nil
}
