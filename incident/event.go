// Package incident holds the state of one incident: an append-only event
// journal (one JSON object a line, fsynced before the caller shows anything),
// the state as a pure fold over the events, the one-driver lock, the clock
// against the RTO and the phase budgets, the communication cadence, and the
// report (Markdown with a Mermaid gantt chart, or JSON; a scorecard for drills).
package incident

import (
	"strings"
	"time"

	"github.com/drnav/drnav/internal/where"
)

// Event types.
const (
	EventDeclared       = "declared"
	EventVariableSet    = "variable_set"
	EventStepStarted    = "step_started"
	EventOutput         = "output"
	EventStepFinished   = "step_finished"
	EventStepSkipped    = "step_skipped"
	EventVerification   = "verification"
	EventNote           = "note"
	EventPhaseEntered   = "phase_entered"
	EventStatusPosted   = "status_posted"
	EventRoleAssigned   = "role_assigned"
	EventHintUsed       = "hint_used"
	EventStepMarkedDone = "step_marked_done"
	EventResolved       = "resolved"
	// EventSignalled is appended when drnav is stopped by a signal (SIGINT,
	// SIGTERM, SIGHUP): a running step is left as it is (interrupted from
	// the next resume on, its real outcome read from its run folder).
	EventSignalled = "signalled"
	// EventResumed is appended by Open when a process takes over driving the
	// journal: every step still running is interrupted from then on.
	EventResumed = "resumed"
	// EventHandover is appended by the new driver when the driver's seat
	// was handed over inside drnav serve (From → Operator); the journal and
	// its lock moved without being released, so no step is interrupted.
	EventHandover = "handover"
)

// Modes of an incident.
const (
	ModeLive  = "live"
	ModeDrill = "drill"
)

// How a status update went out (Event.How).
const (
	HowSent   = "sent"   // the notify command accepted it
	HowCopied = "copied" // copied to the clipboard for the operator to paste
	HowShown  = "shown"  // shown on screen only
)

// KindExpectation marks a note (Event.Kind) recording what a drill trainee
// expected a shown-only step to have done; it settles a StepShown step.
const KindExpectation = "expectation"

// expectationPrefix starts the text of an expectation note (journals written
// before KindExpectation carry only the prefix).
const expectationPrefix = "expected: "

// IsExpectation reports whether ev is a trainee's expectation of a shown step.
func IsExpectation(ev Event) bool {
	return ev.Type == EventNote && ev.Step != "" && (ev.Kind == KindExpectation || isExpectationText(ev.Text))
}

func isExpectationText(s string) bool { return strings.HasPrefix(s, expectationPrefix) }

// ExpectationNote is the note that records a trainee's expectation of step.
func ExpectationNote(t time.Time, step, text string) Event {
	return Event{Type: EventNote, Time: t, Step: step, Kind: KindExpectation, Text: expectationPrefix + text}
}

// Kinds of a status_posted event (Event.Kind). Empty means KindUpdate.
const (
	KindNotification = "notification" // the first-15-minutes notification
	KindUpdate       = "update"       // the 30-minute status update
	KindReview       = "review"       // the post-incident review was held or scheduled
)

// MaxTailLines is the most output lines an output event keeps.
const MaxTailLines = 50

// SecretMask replaces the value of a secret variable in the journal.
const SecretMask = "***"

// PhaseBudget is a snapshot of one phase's budget taken at declaration.
type PhaseBudget struct {
	ID     string        `json:"id"`
	Title  string        `json:"title"`
	Budget time.Duration `json:"budget_ns"`
}

// Declared is the payload of the declared event: what the incident is about.
type Declared struct {
	ID           string        `json:"id"` // filled by Create
	RunbookID    string        `json:"runbook_id"`
	RunbookTitle string        `json:"runbook_title"`
	RunbookFile  string        `json:"runbook_file,omitempty"`
	Mode         string        `json:"mode"`               // ModeLive or ModeDrill
	Operator     string        `json:"operator,omitempty"` // $USER when empty
	SSHClient    string        `json:"ssh_client,omitempty"`
	Host         string        `json:"host,omitempty"` // the machine that declared it
	Detected     time.Time     `json:"detected"`       // may be earlier than the declaration
	RTO          time.Duration `json:"rto_ns"`
	RPO          time.Duration `json:"rpo_ns"`
	Phases       []PhaseBudget `json:"phases,omitempty"`
	KubeContext  string        `json:"kube_context,omitempty"`
	Database     string        `json:"database,omitempty"` // a description, never a password
	// Kube, FailoverKube and DB are the resolved targets of a LIVE incident
	// (absent in journals written before drnav recorded them, and in drills).
	Kube         *where.Kube `json:"kube,omitempty"`
	FailoverKube *where.Kube `json:"failover_kube,omitempty"`
	DB           *where.DB   `json:"db,omitempty"`
	// At is the declaration time (the event's Time); time.Now when zero.
	At time.Time `json:"-"`
}

// Event is one line of the journal. Type says which payload fields are set;
// the others stay empty.
type Event struct {
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	Type string    `json:"type"`

	// declared
	Declared *Declared `json:"declared,omitempty"`

	// Step names the step of step_*, output, verification, hint_used and,
	// optionally, note events.
	Step string `json:"step,omitempty"`
	// Phase is the phase of the step (step_started) or the phase entered.
	Phase string `json:"phase,omitempty"`

	// variable_set
	Name   string `json:"name,omitempty"`
	Value  string `json:"value,omitempty"`
	Secret bool   `json:"secret,omitempty"`

	// step_started
	Command    string `json:"command,omitempty"`
	Equivalent string `json:"equivalent,omitempty"`
	DryRun     bool   `json:"dry_run,omitempty"`
	ShownOnly  bool   `json:"shown_only,omitempty"`
	// RunDir is the run folder of a shell step run under the supervisor
	// (relative to the incident's folder): its output, exit status and
	// timing are there even when drnav died.
	RunDir string `json:"run_dir,omitempty"`

	// output: the last lines, already redacted by the caller.
	Lines []string `json:"lines,omitempty"`

	// step_finished
	Exit       int           `json:"exit,omitempty"`
	Err        string        `json:"error,omitempty"`
	Duration   time.Duration `json:"duration_ns,omitempty"`
	Verified   *bool         `json:"verified,omitempty"`
	TotalLines int64         `json:"total_lines,omitempty"`

	// step_skipped
	Reason string `json:"reason,omitempty"`

	// verification: the final outcome of a verify condition, polled Polls
	// times (the polls before it are not journalled one by one).
	OK     bool   `json:"ok,omitempty"`
	Detail string `json:"detail,omitempty"`
	Polls  int    `json:"polls,omitempty"`

	// Text is the note (note, step_marked_done), the posted text
	// (status_posted) or the summary (resolved).
	Text string `json:"text,omitempty"`

	// status_posted
	Kind    string `json:"kind,omitempty"`    // KindNotification, KindUpdate, KindReview
	Channel string `json:"channel,omitempty"` // where it went, e.g. "#inc-db"
	How     string `json:"how,omitempty"`     // HowSent, HowCopied, HowShown

	// role_assigned
	Role   string `json:"role,omitempty"`
	Person string `json:"person,omitempty"`

	// hint_used: the number of the hint shown (1-based).
	N int `json:"n,omitempty"`

	// signalled: the signal's name (e.g. "SIGTERM").
	Signal string `json:"signal,omitempty"`

	// resumed and signalled: who (Operator), from where, which process.
	// handover: the new driver (Operator) and the previous one (From).
	Operator  string `json:"operator,omitempty"`
	From      string `json:"from,omitempty"`
	SSHClient string `json:"ssh_client,omitempty"`
	PID       int    `json:"pid,omitempty"`
	// Host is the machine the driver runs on (resumed and signalled
	// events); a step started after it ran there.
	Host string `json:"host,omitempty"`

	// Prev chains the journal: the link (LinkOf) to the previous event's
	// line. The declared event has none, nor do events of journals
	// written before drnav chained them. It is set by Append, last in the
	// line.
	Prev string `json:"prev,omitempty"`
}

// boolPtr returns a pointer to a copy of b.
func boolPtr(b bool) *bool { return &b }
