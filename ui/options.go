package ui

import (
	"context"
	"os/exec"
	"time"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/environ"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// FPS bounds how many frames a second the navigator draws (tea.WithFPS).
// Bubble Tea's renderer wakes the process this often for as long as it
// runs, whether or not the screen changed: at its default 60 that alone
// cost ≈ 0.8 CPU-s a minute on an idle screen (a 2-core machine under
// load). 10, as drnav serve's sessions: a key shows within 100 ms.
const FPS = 10

// Mode is drill or live.
type Mode int

// Modes. ModeAsk makes the picker ask explicitly.
const (
	ModeAsk Mode = iota
	ModeDrill
	ModeLive
)

func (m Mode) String() string {
	switch m {
	case ModeDrill:
		return "drill"
	case ModeLive:
		return "live"
	}
	return "ask"
}

// Journal is the incident journal as the UI uses it (*incident.Journal, or
// MemJournal in tests). Append must be durable (fsynced) before it returns;
// the UI shows an event only after that. It must be safe for concurrent use.
type Journal interface {
	Append(ev incident.Event) error
	// State is the fold of every event appended so far.
	State() incident.State
	// ID is the incident id ("" for an in-memory journal).
	ID() string
	// Close releases the journal (and its driver lock).
	Close() error
}

// JournalFactory creates the journal of a newly declared incident and
// records the declared event in it.
type JournalFactory func(declared incident.Event) (Journal, error)

// StepRun is one running step (satisfied by *steps.Run).
type StepRun interface {
	Events() <-chan steps.Event
	Cancel()
}

// StepStarter starts a step (steps.Start in production).
type StepStarter func(ctx context.Context, step runbooks.Step, t steps.Target) (StepRun, error)

// Environment is what steps run against in one mode, built by
// internal/environ (main's MakeEnv, PickContext and the mode screen's
// descriptions).
type Environment = environ.Environment

// Resume is an incident to continue: its journal, whose State is the
// incident so far.
type Resume struct {
	ID      string
	Journal Journal
	// Settled is what resuming learned about steps that ran detached
	// (incident.Journal.Settle): ended meanwhile, or still running.
	Settled []incident.Settled
}

// OpenIncident is an open incident shown first in the picker.
type OpenIncident struct {
	ID       string
	Runbook  string
	Detected time.Time
	Mode     Mode
	// Open resumes it (called in a Cmd).
	Open func() (*Resume, error)
}

// Options is everything the root model needs; main builds it.
type Options struct {
	Runbooks []*runbooks.Runbook
	Config   config.Config
	// JournalRoot is the incidents folder: a declared incident is created
	// there with incident.Create.
	JournalRoot string
	// NewJournal overrides how a journal is created (tests). With neither
	// NewJournal nor JournalRoot an in-memory journal is used (nothing
	// survives a crash).
	NewJournal JournalFactory
	// Mode preset (ModeAsk: the picker asks explicitly).
	Mode Mode
	// Live and Drill are the environments of each mode; a nil one is not
	// offered. With MakeEnv set they only describe the choice (Context and
	// Database shown on the mode screen).
	Live  *Environment
	Drill *Environment
	// MakeEnv builds the environment once the mode and runbook are chosen
	// (in a Cmd: e.g. the drill simulator with the runbook's scenario).
	MakeEnv func(ctx context.Context, mode Mode, rb *runbooks.Runbook) (*Environment, error)
	// PickContext describes LIVE for a kubeconfig context chosen on the mode
	// screen (called in a Cmd); the result replaces Live.
	PickContext func(ctx context.Context, name string) (*Environment, error)
	// Start starts a step; nil means the steps engine (EngineStart).
	Start StepStarter
	// Interactive builds the command of an interactive step, handed the
	// terminal with tea.ExecProcess, and the cleanup to call once it ended;
	// nil means steps.InteractiveCommand. It is called from a tea.Cmd (it
	// writes the step's kubeconfig).
	Interactive func(step runbooks.Step, t steps.Target) (*exec.Cmd, func(), error)
	// Open lists incidents to resume, shown first in the picker.
	Open []OpenIncident
	// Resume continues this incident directly (skips picker and declare).
	Resume *Resume
	// Follow, for observers, streams the journal's events from the start.
	Follow <-chan incident.Event
	// ReadOnly makes the UI an observer: nothing mutating is possible.
	ReadOnly bool
	// Operator names who declares here (the declared event and the lock);
	// empty is the process's user. drnav serve sets the SSH key's name.
	Operator string
	// Seat lets a driver of drnav serve hand the incident to another
	// connected driver (H); nil outside serve.
	Seat *Seat
	// AttachJournal, when set, is called with the journal of an incident
	// declared here (the cluster mirror and its Lease); the function it
	// returns is called before the journal closes.
	AttachJournal func(j *incident.Journal) (detach func())
	// MirrorStatus, when set, is read on every clock tick (memory only):
	// the mirror's state per context for the header, and why the driver
	// turned read-only (its Lease lost), if it did.
	MirrorStatus func() (summary string, readOnly error)
	// ASCII uses ASCII glyphs and borders; NoColor drops every colour.
	ASCII   bool
	NoColor bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Supervisor (Exe and Args), when set, runs shell steps detached under
	// it, in run folders of the incident's folder, so they outlive drnav.
	Supervisor *steps.Supervisor
	// OnCall, when set, asks who is on call (config's on_call_command), in
	// a Cmd once the first frame is drawn; the answer replaces
	// Config.OnCall. Start-up never waits for it.
	OnCall func(ctx context.Context) string
	// Notify sends a status update text (the notify command); nil: copy only.
	Notify func(ctx context.Context, text string) error
	// ReadDoc reads a local related document for the pager (called in a Cmd).
	ReadDoc func(path string) (string, error)
	// DrillOnCall and DrillRoster are the simulated on-call roster a drill
	// shows in place of the config's on-call person and contacts (names
	// marked "(drill roster)"), so roles can be assigned without paging
	// anyone; unset, a drill shows the config's contacts.
	DrillOnCall string
	DrillRoster []config.Contact
	// Briefing returns the drill scenario briefing of a runbook, its times
	// counted back from the detection time (optional).
	Briefing func(rb *runbooks.Runbook, detected time.Time) string
}

// EngineStart starts a step with the steps engine.
func EngineStart(ctx context.Context, step runbooks.Step, t steps.Target) (StepRun, error) {
	return steps.Start(ctx, step, t), nil
}
