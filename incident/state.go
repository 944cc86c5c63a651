package incident

import (
	"maps"
	"slices"
	"time"

	"github.com/drnav/drnav/internal/where"
)

// StepStatus is where a step stands.
type StepStatus int

const (
	StepPending StepStatus = iota
	StepRunning
	StepDone
	StepFailed
	StepSkipped
	// StepInterrupted: started, then the driver went away before it finished;
	// the outcome is unknown. Resolve by verifying, re-running or marking done.
	StepInterrupted
	// StepShown: a drill showed the command without running it, and the
	// trainee has not yet said what they expect it did (an expectation
	// note, see IsExpectation). It is not done: nothing ran.
	StepShown
)

func (s StepStatus) String() string {
	switch s {
	case StepRunning:
		return "running"
	case StepDone:
		return "done"
	case StepFailed:
		return "failed"
	case StepSkipped:
		return "skipped"
	case StepInterrupted:
		return "interrupted"
	case StepShown:
		return "shown"
	}
	return "pending"
}

// MarshalText writes the status as its name.
func (s StepStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Verification is one recorded check of a step's outcome.
type Verification struct {
	Time   time.Time `json:"time"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail,omitempty"`
	// Polls is how many times the condition was evaluated (0: not counted).
	Polls int `json:"polls,omitempty"`
}

// Note is a free-text note, optionally about a step.
type Note struct {
	Time time.Time `json:"time"`
	Step string    `json:"step,omitempty"`
	Text string    `json:"text"`
}

// StepState is what the journal says about one step.
type StepState struct {
	ID       string     `json:"id"`
	Phase    string     `json:"phase,omitempty"`
	Status   StepStatus `json:"status"`
	Attempts int        `json:"attempts"`
	Started  time.Time  `json:"started"`
	Finished time.Time  `json:"finished"`

	Command    string `json:"command,omitempty"`
	Equivalent string `json:"equivalent,omitempty"`
	DryRun     bool   `json:"dry_run,omitempty"`
	ShownOnly  bool   `json:"shown_only,omitempty"`
	RunDir     string `json:"run_dir,omitempty"`
	// Host is the machine whose driver started the step (empty in
	// journals written before drnav recorded it).
	Host string `json:"host,omitempty"`

	Exit       int           `json:"exit"`
	Err        string        `json:"error,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	Verified   *bool         `json:"verified,omitempty"`
	TotalLines int64         `json:"total_lines,omitempty"`
	Tail       []string      `json:"tail,omitempty"`

	Verifications []Verification `json:"verifications,omitempty"`
	Notes         []Note         `json:"notes,omitempty"`
	SkipReason    string         `json:"skip_reason,omitempty"`
	// DoneNote is the note of a step marked done by hand (step_marked_done).
	DoneNote string `json:"done_note,omitempty"`
	// WasInterrupted is set once the step has been interrupted, even if it
	// was resolved afterwards.
	WasInterrupted bool `json:"was_interrupted,omitempty"`
	Hints          int  `json:"hints,omitempty"`
	// HintsShown are the hints shown, in order, as their 1-based index in
	// the step's hints (a conditional hint may be skipped over).
	HintsShown []int `json:"hints_shown,omitempty"`
}

// Variable is a variable as the journal knows it; secret values are "***".
type Variable struct {
	Name   string    `json:"name"`
	Value  string    `json:"value"`
	Secret bool      `json:"secret,omitempty"`
	Time   time.Time `json:"time"`
}

// PhaseState is the time spent in one phase. A phase may be entered again;
// Spent adds up the closed stays.
type PhaseState struct {
	ID      string        `json:"id"`
	Entered time.Time     `json:"entered"`        // first entry
	Left    time.Time     `json:"left,omitempty"` // last exit; zero while in it
	Since   time.Time     `json:"-"`              // start of the current stay
	Spent   time.Duration `json:"spent_ns"`       // closed stays
}

// StatusUpdate is one status_posted event.
type StatusUpdate struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Channel string    `json:"channel,omitempty"`
	How     string    `json:"how"`
	Text    string    `json:"text"`
}

// Role is one role assignment.
type Role struct {
	Time   time.Time `json:"time"`
	Role   string    `json:"role"`
	Person string    `json:"person"`
}

// Resume is one takeover of the journal by a (new) driver.
type Resume struct {
	Time     time.Time `json:"time"`
	Operator string    `json:"operator"`
	// From is the previous driver when the seat was handed over (a
	// handover event); empty for a resume.
	From      string `json:"from,omitempty"`
	SSHClient string `json:"ssh_client,omitempty"`
	PID       int    `json:"pid,omitempty"`
	Host      string `json:"host,omitempty"`
}

// Signalled is one signalled event: drnav was stopped by a signal.
type Signalled struct {
	Time     time.Time `json:"time"`
	Signal   string    `json:"signal"`
	Operator string    `json:"operator,omitempty"`
	PID      int       `json:"pid,omitempty"`
	Step     string    `json:"step,omitempty"` // the step running then
}

// State is the incident as a pure fold over its events (see Apply).
type State struct {
	ID           string
	RunbookID    string
	RunbookTitle string
	RunbookFile  string
	Mode         string
	Operator     string
	SSHClient    string
	Detected     time.Time
	DeclaredAt   time.Time
	RTO, RPO     time.Duration
	Phases       []PhaseBudget // budget snapshot taken at declaration
	KubeContext  string
	Database     string
	// Kube, FailoverKube and DB are what the declaration resolved (nil in
	// old journals and drills).
	Kube         *where.Kube
	FailoverKube *where.Kube
	DB           *where.DB

	Variables []Variable             // in the order first set
	Steps     map[string]*StepState  // by step id; absent = pending
	StepOrder []string               // step ids in the order first touched
	PhaseLog  map[string]*PhaseState // by phase id
	// CurrentPhase is the phase of the step last started, or the one
	// explicitly entered; empty before any.
	CurrentPhase string
	Updates      []StatusUpdate
	Roles        []Role
	Notes        []Note // every note, step notes included
	Resumes      []Resume
	Signals      []Signalled // drnav stopped by a signal
	// LastFinished is when the last step finished (or was skipped / marked done).
	LastFinished time.Time

	Resolved   bool
	ResolvedAt time.Time
	Summary    string

	LastSeq  int
	LastTime time.Time

	// DriverHost is the machine of the latest driver (declared or resumed).
	DriverHost string
}

// Replay folds events into a fresh state. Replaying every event one by one
// with Apply gives the same state.
func Replay(events []Event) State {
	var s State
	for _, ev := range events {
		s.Apply(ev)
	}
	return s
}

func (s *State) step(id string) *StepState {
	if s.Steps == nil {
		s.Steps = map[string]*StepState{}
	}
	st, ok := s.Steps[id]
	if !ok {
		st = &StepState{ID: id}
		s.Steps[id] = st
		s.StepOrder = append(s.StepOrder, id)
	}
	return st
}

// Step returns the state of a step (a pending zero state when untouched).
func (s *State) Step(id string) StepState {
	if st, ok := s.Steps[id]; ok {
		return *st
	}
	return StepState{ID: id}
}

// Status is a step's status.
func (s *State) Status(id string) StepStatus {
	if st, ok := s.Steps[id]; ok {
		return st.Status
	}
	return StepPending
}

// Variable returns a variable's recorded value.
func (s *State) Variable(name string) (Variable, bool) {
	for _, v := range s.Variables {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

// RoleHolder is the person last assigned to a role.
func (s *State) RoleHolder(role string) (string, bool) {
	for i := len(s.Roles) - 1; i >= 0; i-- {
		if s.Roles[i].Role == role {
			return s.Roles[i].Person, true
		}
	}
	return "", false
}

// Hints is the number of hints used, in all.
func (s *State) Hints() int {
	n := 0
	for _, st := range s.Steps {
		n += st.Hints
	}
	return n
}

func (s *State) enterPhase(id string, t time.Time) {
	if id == "" || id == s.CurrentPhase {
		return
	}
	s.leavePhase(t)
	if s.PhaseLog == nil {
		s.PhaseLog = map[string]*PhaseState{}
	}
	p, ok := s.PhaseLog[id]
	if !ok {
		p = &PhaseState{ID: id, Entered: t}
		s.PhaseLog[id] = p
	}
	p.Left = time.Time{}
	p.Since = t
	s.CurrentPhase = id
}

func (s *State) leavePhase(t time.Time) {
	if s.CurrentPhase == "" {
		return
	}
	if p, ok := s.PhaseLog[s.CurrentPhase]; ok && !p.Since.IsZero() {
		if d := t.Sub(p.Since); d > 0 {
			p.Spent += d
		}
		p.Since = time.Time{}
		p.Left = t
	}
}

// Apply folds one event into the state.
func (s *State) Apply(ev Event) {
	if ev.Seq > s.LastSeq {
		s.LastSeq = ev.Seq
	}
	if ev.Time.After(s.LastTime) {
		s.LastTime = ev.Time
	}
	t := ev.Time
	switch ev.Type {
	case EventDeclared:
		if d := ev.Declared; d != nil {
			s.ID, s.RunbookID, s.RunbookTitle, s.RunbookFile = d.ID, d.RunbookID, d.RunbookTitle, d.RunbookFile
			s.Mode, s.Operator, s.SSHClient = d.Mode, d.Operator, d.SSHClient
			s.Detected, s.RTO, s.RPO = d.Detected, d.RTO, d.RPO
			s.Phases = slices.Clone(d.Phases)
			s.KubeContext, s.Database = d.KubeContext, d.Database
			s.Kube, s.FailoverKube, s.DB = clonePtr(d.Kube), clonePtr(d.FailoverKube), cloneDB(d.DB)
			s.DriverHost = d.Host
		}
		s.DeclaredAt = t
		if s.Detected.IsZero() {
			s.Detected = t
		}
	case EventVariableSet:
		v := Variable{Name: ev.Name, Value: ev.Value, Secret: ev.Secret, Time: t}
		if v.Secret {
			v.Value = SecretMask
		}
		for i := range s.Variables {
			if s.Variables[i].Name == ev.Name {
				s.Variables[i] = v
				return
			}
		}
		s.Variables = append(s.Variables, v)
	case EventStepStarted:
		st := s.step(ev.Step)
		// A new attempt: forget the outcome of the previous one.
		*st = StepState{
			ID: st.ID, Phase: ev.Phase, Status: StepRunning, Attempts: st.Attempts + 1, Started: t,
			Command: ev.Command, Equivalent: ev.Equivalent, DryRun: ev.DryRun, ShownOnly: ev.ShownOnly, RunDir: ev.RunDir,
			Host: s.DriverHost, Notes: st.Notes, WasInterrupted: st.WasInterrupted, Hints: st.Hints, HintsShown: st.HintsShown,
		}
		s.enterPhase(ev.Phase, t)
	case EventOutput:
		st := s.step(ev.Step)
		st.Tail = append(st.Tail, ev.Lines...)
		if n := len(st.Tail); n > MaxTailLines {
			st.Tail = slices.Clone(st.Tail[n-MaxTailLines:])
		}
	case EventStepFinished:
		st := s.step(ev.Step)
		st.Finished = t
		st.Exit, st.Err, st.Duration, st.TotalLines = ev.Exit, ev.Err, ev.Duration, ev.TotalLines
		if st.Duration == 0 && !st.Started.IsZero() {
			st.Duration = t.Sub(st.Started)
		}
		st.Verified = nil
		if ev.Verified != nil {
			st.Verified = boolPtr(*ev.Verified)
		}
		switch {
		case ev.Exit == 0 && ev.Err == "" && st.ShownOnly && !st.expected():
			st.Status = StepShown
		case ev.Exit == 0 && ev.Err == "" && (ev.Verified == nil || *ev.Verified):
			st.Status = StepDone
		default:
			st.Status = StepFailed
		}
		s.LastFinished = t
	case EventStepSkipped:
		st := s.step(ev.Step)
		st.Status = StepSkipped
		st.SkipReason = ev.Reason
		st.Finished = t
		s.LastFinished = t
	case EventVerification:
		st := s.step(ev.Step)
		st.Verifications = append(st.Verifications, Verification{Time: t, OK: ev.OK, Detail: ev.Detail, Polls: ev.Polls})
	case EventNote:
		n := Note{Time: t, Step: ev.Step, Text: ev.Text}
		s.Notes = append(s.Notes, n)
		if ev.Step != "" {
			st := s.step(ev.Step)
			st.Notes = append(st.Notes, n)
			if st.Status == StepShown && IsExpectation(ev) {
				st.Status = StepDone
			}
		}
	case EventPhaseEntered:
		s.enterPhase(ev.Phase, t)
	case EventStatusPosted:
		kind := ev.Kind
		if kind == "" {
			kind = KindUpdate
		}
		s.Updates = append(s.Updates, StatusUpdate{Time: t, Kind: kind, Channel: ev.Channel, How: ev.How, Text: ev.Text})
	case EventRoleAssigned:
		s.Roles = append(s.Roles, Role{Time: t, Role: ev.Role, Person: ev.Person})
	case EventHintUsed:
		st := s.step(ev.Step)
		st.Hints++
		n := ev.N
		if n < 1 {
			n = st.Hints // a journal that did not say which
		}
		st.HintsShown = append(st.HintsShown, n)
	case EventStepMarkedDone:
		st := s.step(ev.Step)
		st.Status = StepDone
		st.DoneNote = ev.Text
		st.Finished = t
		if ev.Text != "" {
			n := Note{Time: t, Step: ev.Step, Text: ev.Text}
			st.Notes = append(st.Notes, n)
			s.Notes = append(s.Notes, n)
		}
		s.LastFinished = t
	case EventResolved:
		s.leavePhase(t)
		s.Resolved = true
		s.ResolvedAt = t
		s.Summary = ev.Text
	case EventSignalled:
		s.Signals = append(s.Signals, Signalled{Time: t, Signal: ev.Signal, Operator: ev.Operator, PID: ev.PID, Step: ev.Step})
	case EventResumed:
		s.Interrupt(t)
		s.Resumes = append(s.Resumes, Resume{Time: t, Operator: ev.Operator, SSHClient: ev.SSHClient, PID: ev.PID, Host: ev.Host})
		s.DriverHost = ev.Host
	case EventHandover:
		s.Resumes = append(s.Resumes, Resume{Time: t, Operator: ev.Operator, From: ev.From, Host: ev.Host})
	}
}

// RanElsewhere is the host the step was started on when it differs from
// driverHost (the current driver's), else "".
func (st *StepState) RanElsewhere(driverHost string) string {
	if st.Host != "" && st.Host != driverHost {
		return st.Host
	}
	return ""
}

// expected reports whether an expectation was recorded for this attempt
// (a note after it started).
func (st *StepState) expected() bool {
	for _, n := range st.Notes {
		if !n.Time.Before(st.Started) && isExpectationText(n.Text) {
			return true
		}
	}
	return false
}

// Interrupt marks every running step interrupted: its driver went away and
// its outcome is unknown. Applying a resumed event does this; Read does it
// for a journal nobody drives.
func (s *State) Interrupt(t time.Time) {
	for _, st := range s.Steps {
		if st.Status == StepRunning {
			st.Status = StepInterrupted
			st.WasInterrupted = true
		}
	}
}

func clonePtr(k *where.Kube) *where.Kube {
	if k == nil {
		return nil
	}
	c := *k
	return &c
}

func cloneDB(d *where.DB) *where.DB {
	if d == nil {
		return nil
	}
	c := *d
	c.Hosts = slices.Clone(d.Hosts)
	return &c
}

// Clone is a deep copy, safe to hand to another goroutine.
func (s State) Clone() State {
	c := s
	c.Phases = slices.Clone(s.Phases)
	c.Kube, c.FailoverKube, c.DB = clonePtr(s.Kube), clonePtr(s.FailoverKube), cloneDB(s.DB)
	c.Variables = slices.Clone(s.Variables)
	c.StepOrder = slices.Clone(s.StepOrder)
	c.Updates = slices.Clone(s.Updates)
	c.Roles = slices.Clone(s.Roles)
	c.Notes = slices.Clone(s.Notes)
	c.Resumes = slices.Clone(s.Resumes)
	c.Signals = slices.Clone(s.Signals)
	if s.Steps != nil {
		c.Steps = make(map[string]*StepState, len(s.Steps))
		for k, v := range s.Steps {
			cp := *v
			cp.Tail = slices.Clone(v.Tail)
			cp.Verifications = slices.Clone(v.Verifications)
			cp.Notes = slices.Clone(v.Notes)
			cp.HintsShown = slices.Clone(v.HintsShown)
			if v.Verified != nil {
				cp.Verified = boolPtr(*v.Verified)
			}
			c.Steps[k] = &cp
		}
	}
	if s.PhaseLog != nil {
		c.PhaseLog = maps.Clone(s.PhaseLog)
		for k, v := range s.PhaseLog {
			cp := *v
			c.PhaseLog[k] = &cp
		}
	}
	return c
}
