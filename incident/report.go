package incident

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/drnav/drnav/internal/where"
	"github.com/drnav/drnav/runbooks"
)

// PhaseReport is one phase's time against its budget.
type PhaseReport struct {
	ID      string        `json:"id"`
	Title   string        `json:"title"`
	Budget  time.Duration `json:"budget_ns"`
	Actual  time.Duration `json:"actual_ns"`
	Entered time.Time     `json:"entered,omitzero"`
	Left    time.Time     `json:"left,omitzero"`
	Over    bool          `json:"over"`
	Status  PhaseStatus   `json:"status"`
}

// StepReport is what happened to one step.
type StepReport struct {
	N             int            `json:"n"`
	ID            string         `json:"id"`
	Title         string         `json:"title"`
	Phase         string         `json:"phase,omitempty"`
	Status        StepStatus     `json:"status"`
	Attempts      int            `json:"attempts,omitempty"`
	Command       string         `json:"command,omitempty"`
	Equivalent    string         `json:"equivalent,omitempty"`
	DryRun        bool           `json:"dry_run,omitempty"`
	ShownOnly     bool           `json:"shown_only,omitempty"`
	Started       time.Time      `json:"started,omitzero"`
	Finished      time.Time      `json:"finished,omitzero"`
	Duration      time.Duration  `json:"duration_ns,omitempty"`
	Exit          int            `json:"exit"`
	Err           string         `json:"error,omitempty"`
	Verified      *bool          `json:"verified,omitempty"`
	Verifications []Verification `json:"verifications,omitempty"`
	Notes         []Note         `json:"notes,omitempty"`
	SkipReason    string         `json:"skip_reason,omitempty"`
	DoneNote      string         `json:"done_note,omitempty"`
	Interrupted   bool           `json:"interrupted,omitempty"` // was interrupted at some point
	// RanOn names the machine the step was started on when it is not the
	// last driver's (it was taken over from another bastion).
	RanOn string `json:"ran_on,omitempty"`
	Hints int    `json:"hints,omitempty"`
	// Output is the step's key output: what amcheck found, the databases a
	// restore swapped and how long it took, the last lines before a failure.
	Output []string `json:"output,omitempty"`
}

// UpdateReport is one posted communication with its due time.
type UpdateReport struct {
	StatusUpdate
	Due  time.Time     `json:"due"`
	Late time.Duration `json:"late_ns"` // > 0: posted this late
}

// Scorecard rates a drill.
type Scorecard struct {
	Phases              []PhaseReport `json:"phases"`
	Elapsed             time.Duration `json:"elapsed_ns"`
	RTO                 time.Duration `json:"rto_ns"`
	RTOMet              bool          `json:"rto_met"`
	RTOMargin           time.Duration `json:"rto_margin_ns"` // RTO - elapsed
	VerificationsPassed int           `json:"verifications_passed"`
	VerificationsTotal  int           `json:"verifications_total"`
	PassRate            float64       `json:"pass_rate"` // 0..1; 0 when none
	HintsUsed           int           `json:"hints_used"`
	StepsDone           int           `json:"steps_done"`
	// StepsShown are drill steps shown, not run (with or without the
	// trainee's expectation); they are not in StepsDone.
	StepsShown       int `json:"steps_shown"`
	StepsSkipped     int `json:"steps_skipped"`
	StepsFailed      int `json:"steps_failed"`
	StepsInterrupted int `json:"steps_interrupted"`
	StepsTotal       int `json:"steps_total"`
}

// ScorecardSummary is one previous drill of a runbook (Trend).
type ScorecardSummary struct {
	ID                  string        `json:"id"`
	Detected            time.Time     `json:"detected"`
	Resolved            bool          `json:"resolved"`
	Elapsed             time.Duration `json:"elapsed_ns"`
	RTO                 time.Duration `json:"rto_ns"`
	RTOMet              bool          `json:"rto_met"`
	RTOMargin           time.Duration `json:"rto_margin_ns"`
	VerificationsPassed int           `json:"verifications_passed"`
	VerificationsTotal  int           `json:"verifications_total"`
	PassRate            float64       `json:"pass_rate"`
	HintsUsed           int           `json:"hints_used"`
	StepsSkipped        int           `json:"steps_skipped"`
}

// ReportData is everything the report says; render it with RenderMarkdown
// or RenderJSON.
type ReportData struct {
	ID           string   `json:"id"`
	RunbookID    string   `json:"runbook_id"`
	RunbookTitle string   `json:"runbook_title"`
	RunbookFile  string   `json:"runbook_file,omitempty"`
	Mode         string   `json:"mode"`
	Operator     string   `json:"operator"`
	SSHClient    string   `json:"ssh_client,omitempty"`
	Resumes      []Resume `json:"resumes,omitempty"`
	KubeContext  string   `json:"kube_context,omitempty"`
	Database     string   `json:"database,omitempty"`
	// Kube, FailoverKube and DB are the resolved targets the declaration
	// recorded (absent for journals older than them, and for drills).
	Kube         *where.Kube `json:"kube,omitempty"`
	FailoverKube *where.Kube `json:"failover_kube,omitempty"`
	DB           *where.DB   `json:"db,omitempty"`
	Generated    time.Time   `json:"generated"`

	Detected   time.Time `json:"detected"`
	Declared   time.Time `json:"declared"`
	Resolved   bool      `json:"resolved"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Summary    string    `json:"summary,omitempty"`

	Elapsed   time.Duration `json:"elapsed_ns"`
	RTO       time.Duration `json:"rto_ns"`
	RTOMet    bool          `json:"rto_met"`    // resolved inside the RTO (or still inside it)
	RTOMargin time.Duration `json:"rto_margin"` // RTO - elapsed; negative = missed by that much
	RPO       time.Duration `json:"rpo_ns"`
	// DataAgeKnown/DataAge: how old the newest recoverable data was (set by
	// WithFreshness); the exposure is DataAge against the RPO.
	DataAgeKnown bool          `json:"data_age_known"`
	DataAge      time.Duration `json:"data_age_ns,omitempty"`

	Phases       []PhaseReport  `json:"phases,omitempty"`
	Steps        []StepReport   `json:"steps"`
	Variables    []Variable     `json:"variables,omitempty"`
	Notification *UpdateReport  `json:"notification,omitempty"`
	Updates      []UpdateReport `json:"updates,omitempty"`
	Review       *UpdateReport  `json:"review,omitempty"`
	Cadence      []DueItem      `json:"cadence"`
	Roles        []Role         `json:"roles,omitempty"`
	// Participants are the keys that connected over drnav serve
	// (WithParticipants).
	Participants []Participant      `json:"participants,omitempty"`
	Notes        []Note             `json:"notes,omitempty"`
	HintsUsed    int                `json:"hints_used"`
	Scorecard    *Scorecard         `json:"scorecard,omitempty"`
	Trend        []ScorecardSummary `json:"trend,omitempty"`
}

// WithFreshness records how old the newest recoverable data was (RPO exposure).
func (r ReportData) WithFreshness(age time.Duration, known bool) ReportData {
	r.DataAgeKnown, r.DataAge = known, age
	if !known {
		r.DataAge = 0
	}
	return r
}

// WithParticipants adds who connected over drnav serve, read from the
// incident's participants file under root; a file that cannot be read
// leaves the report as it is and returns the error.
func (r ReportData) WithParticipants(root string) (ReportData, error) {
	conns, err := ReadConnections(root, r.ID)
	if err != nil {
		return r, fmt.Errorf("participants of %s: %w", r.ID, err)
	}
	r.Participants = Participants(conns)
	return r, nil
}

// Report gathers the report of an incident at now (the end for an incident
// not resolved yet). rto and rpo are the targets to judge against (the
// declared snapshot when zero). A drill gets a scorecard; set Trend with
// Trend(root, runbookID) to show previous drills.
func Report(state State, rb *runbooks.Runbook, rto, rpo time.Duration, now time.Time) ReportData {
	if rto <= 0 {
		rto = state.RTO
	}
	if rpo <= 0 {
		rpo = state.RPO
	}
	c := state.Clock(rb, now, rto)
	r := ReportData{
		ID: state.ID, RunbookID: state.RunbookID, RunbookTitle: state.RunbookTitle, RunbookFile: state.RunbookFile,
		Mode: state.Mode, Operator: state.Operator, SSHClient: state.SSHClient, Resumes: state.Resumes,
		KubeContext: state.KubeContext, Database: state.Database, Generated: now,
		Kube: state.Kube, FailoverKube: state.FailoverKube, DB: state.DB,
		Detected: state.Detected, Declared: state.DeclaredAt, Resolved: state.Resolved, ResolvedAt: state.ResolvedAt,
		Summary: state.Summary, Elapsed: c.Elapsed, RTO: rto, RTOMargin: rto - c.Elapsed, RPO: rpo,
		Variables: state.Variables, Roles: state.Roles, Notes: state.Notes, HintsUsed: state.Hints(),
		Cadence: state.Cadence(now),
	}
	if r.RunbookTitle == "" && rb != nil {
		r.RunbookTitle = rb.Title
	}
	r.RTOMet = rto > 0 && c.Elapsed <= rto
	for _, p := range c.Phases {
		r.Phases = append(r.Phases, PhaseReport{
			ID: p.ID, Title: p.Title, Budget: p.Budget, Actual: p.Elapsed,
			Entered: p.Entered, Left: p.Left, Over: p.Over, Status: p.Status,
		})
	}
	r.Steps = stepReports(state, rb)
	r.Notification, r.Updates, r.Review = updateReports(state)
	if state.Mode == ModeDrill {
		sc := scorecard(state, r)
		r.Scorecard = &sc
	}
	return r
}

func stepReports(state State, rb *runbooks.Runbook) []StepReport {
	var out []StepReport
	add := func(id, title, phase string) {
		sr := StepReport{N: len(out) + 1, ID: id, Title: title, Phase: phase}
		if st, ok := state.Steps[id]; ok {
			sr.Status, sr.Attempts = st.Status, st.Attempts
			sr.Command, sr.Equivalent, sr.DryRun, sr.ShownOnly = st.Command, st.Equivalent, st.DryRun, st.ShownOnly
			sr.Started, sr.Finished, sr.Duration = st.Started, st.Finished, st.Duration
			sr.Exit, sr.Err, sr.Verified = st.Exit, st.Err, st.Verified
			sr.Verifications, sr.Notes = st.Verifications, st.Notes
			sr.SkipReason, sr.DoneNote, sr.Hints = st.SkipReason, st.DoneNote, st.Hints
			sr.Interrupted = st.WasInterrupted || st.Status == StepInterrupted
			sr.RanOn = st.RanElsewhere(state.DriverHost)
			sr.Output = KeyOutput(st.Tail, st.Status == StepFailed || st.Exit != 0)
			if st.Phase != "" {
				sr.Phase = st.Phase
			}
		}
		out = append(out, sr)
	}
	seen := map[string]bool{}
	if rb != nil {
		for i := range rb.Steps {
			s := &rb.Steps[i]
			seen[s.ID] = true
			add(s.ID, s.Title, s.Phase)
		}
	}
	for _, id := range state.StepOrder {
		if !seen[id] {
			seen[id] = true
			add(id, id, "")
		}
	}
	return out
}

// keyPrefixes mark output lines that tell a step's story.
var keyPrefixes = []string{"corrupt: ", "amcheck: ", "restore: ", "table ", "dry run: ", "connected to "}

// maxKeyLines bounds the key output of one step.
const maxKeyLines = 12

// KeyOutput picks a step's key lines from its output tail: amcheck's
// findings and verdict, a restore's swap, drop and duration, the dry run's
// verdict, row counts; for a failed step also the last lines before it
// failed.
func KeyOutput(tail []string, failed bool) []string {
	var out []string
	seen := map[string]bool{}
	more := 0
	for _, l := range tail {
		// stderr lines are journalled marked "! " (steps.LineText)
		t := strings.TrimPrefix(strings.TrimSpace(l), "! ")
		for _, p := range keyPrefixes {
			if strings.HasPrefix(t, p) && !seen[t] {
				seen[t] = true
				if len(out) < maxKeyLines-1 {
					out = append(out, t)
				} else {
					more++
				}
				break
			}
		}
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("… %d more line(s) in the journal", more))
	}
	if failed {
		var last []string
		for i := len(tail) - 1; i >= 0 && len(last) < 3; i-- {
			if t := strings.TrimSpace(tail[i]); t != "" && !seen[t] {
				last = append([]string{t}, last...)
			}
		}
		out = append(out, last...)
	}
	return out
}

func updateReports(state State) (notif *UpdateReport, updates []UpdateReport, review *UpdateReport) {
	due := state.Detected.Add(UpdateEvery)
	for _, u := range state.Updates {
		switch u.Kind {
		case KindNotification:
			if notif == nil {
				d := state.Detected.Add(NotificationWithin)
				notif = &UpdateReport{StatusUpdate: u, Due: d, Late: max(u.Time.Sub(d), 0)}
			}
		case KindReview:
			if review == nil && state.Resolved {
				d := state.ResolvedAt.Add(ReviewWithin)
				review = &UpdateReport{StatusUpdate: u, Due: d, Late: max(u.Time.Sub(d), 0)}
			}
		default:
			updates = append(updates, UpdateReport{StatusUpdate: u, Due: due, Late: max(u.Time.Sub(due), 0)})
			due = u.Time.Add(UpdateEvery)
		}
	}
	return notif, updates, review
}

func verificationCounts(state State) (passed, total int) {
	for _, st := range state.Steps {
		var ok *bool
		switch {
		case st.Verified != nil:
			ok = st.Verified
		case len(st.Verifications) > 0:
			ok = boolPtr(st.Verifications[len(st.Verifications)-1].OK)
		}
		if ok == nil {
			continue
		}
		total++
		if *ok {
			passed++
		}
	}
	return passed, total
}

func scorecard(state State, r ReportData) Scorecard {
	sc := Scorecard{
		Phases: r.Phases, Elapsed: r.Elapsed, RTO: r.RTO, RTOMet: r.RTOMet, RTOMargin: r.RTOMargin,
		HintsUsed: r.HintsUsed, StepsTotal: len(r.Steps),
	}
	sc.VerificationsPassed, sc.VerificationsTotal = verificationCounts(state)
	if sc.VerificationsTotal > 0 {
		sc.PassRate = float64(sc.VerificationsPassed) / float64(sc.VerificationsTotal)
	}
	for _, s := range r.Steps {
		switch {
		case s.ShownOnly && (s.Status == StepDone || s.Status == StepShown):
			sc.StepsShown++ // nothing ran: counted apart from the steps done
		case s.Status == StepDone:
			sc.StepsDone++
		case s.Status == StepSkipped:
			sc.StepsSkipped++
		case s.Status == StepFailed:
			sc.StepsFailed++
		case s.Status == StepInterrupted:
			sc.StepsInterrupted++
		}
	}
	return sc
}

// Summarize rates one incident's state for a trend (no runbook needed).
func Summarize(state State, now time.Time) ScorecardSummary {
	c := state.Clock(nil, now, 0)
	s := ScorecardSummary{
		ID: state.ID, Detected: state.Detected, Resolved: state.Resolved, Elapsed: c.Elapsed,
		RTO: state.RTO, RTOMet: state.RTO > 0 && c.Elapsed <= state.RTO, RTOMargin: state.RTO - c.Elapsed,
		HintsUsed: state.Hints(),
	}
	s.VerificationsPassed, s.VerificationsTotal = verificationCounts(state)
	if s.VerificationsTotal > 0 {
		s.PassRate = float64(s.VerificationsPassed) / float64(s.VerificationsTotal)
	}
	for _, st := range state.Steps {
		if st.Status == StepSkipped {
			s.StepsSkipped++
		}
	}
	return s
}

// Trend summarizes the drills of a runbook found under root, oldest first.
// An unresolved drill is measured up to its last event.
func Trend(root, runbookID string) ([]ScorecardSummary, error) {
	list, err := List(root)
	if err != nil {
		return nil, err
	}
	var out []ScorecardSummary
	for _, sm := range list {
		if sm.Mode != ModeDrill || sm.RunbookID != runbookID {
			continue
		}
		st, _, _, err := Read(root, sm.ID)
		if err != nil {
			continue
		}
		out = append(out, Summarize(st, st.LastTime))
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Detected.Before(out[b].Detected) })
	return out, nil
}

// RenderJSON writes the report as indented JSON.
func RenderJSON(r ReportData) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return append(jsonEscapeControls(b), '\n'), nil
}

// WriteReport writes the Markdown and JSON reports into the incident's folder
// (report.md, report.json; mode 0600) and returns their paths.
func WriteReport(dir string, r ReportData) (md, js string, err error) {
	data, err := RenderJSON(r)
	if err != nil {
		return "", "", err
	}
	md, js = dir+"/report.md", dir+"/report.json"
	if err := writeFileSync(md, []byte(RenderMarkdown(r))); err != nil {
		return "", "", fmt.Errorf("write report: %w", err)
	}
	if err := writeFileSync(js, data); err != nil {
		return "", "", fmt.Errorf("write report: %w", err)
	}
	return md, js, nil
}

const stampLayout = "2006-01-02 15:04:05 MST"

func stamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Format(stampLayout)
}

// ganttTime is a Mermaid gantt date: the full date, so an incident that runs
// past midnight is drawn in order.
func ganttTime(t time.Time) string {
	return t.Format("2006-01-02 15:04")
}

func hhmm(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Format("15:04")
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	return s
}

// mermaidText makes a label safe for a gantt task or section.
func mermaidText(s string) string {
	r := strings.NewReplacer(":", " -", ";", ",", "#", "", "\n", " ")
	return strings.TrimSpace(r.Replace(s))
}

func mermaidMinutes(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m < 1 {
		m = 1
	}
	return fmt.Sprintf("%dm", m)
}

func verifiedText(v *bool) string {
	switch {
	case v == nil:
		return "–"
	case *v:
		return "passed"
	}
	return "FAILED"
}

func (r ReportData) stepsInPhase(phase string) []StepReport {
	var out []StepReport
	for _, s := range r.Steps {
		if s.Phase == phase {
			out = append(out, s)
		}
	}
	return out
}

// RenderMarkdown writes the report as Markdown with a Mermaid gantt chart.
// Every line is made Printable: journal text (output, notes, operator)
// cannot carry terminal escape sequences into a terminal or a pager.
func RenderMarkdown(r ReportData) string {
	return PrintableText(renderMarkdown(r))
}

func renderMarkdown(r ReportData) string {
	var b strings.Builder
	kind := "Incident report"
	if r.Mode == ModeDrill {
		kind = "Drill report"
	}
	fmt.Fprintf(&b, "# %s: %s\n\n", kind, r.RunbookTitle)
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, mdCell(v)) }
	row("Incident", r.ID)
	row("Runbook", strings.TrimSpace(r.RunbookID+" "+paren(r.RunbookFile)))
	row("Mode", r.Mode)
	row("Operator", strings.TrimSpace(r.Operator+" "+paren(sshText(r.SSHClient))))
	for _, rs := range r.Resumes {
		if rs.From != "" {
			row("Handed over", fmt.Sprintf("%s from %s to %s", stamp(rs.Time), rs.From, rs.Operator))
			continue
		}
		row("Resumed", fmt.Sprintf("%s by %s %s", stamp(rs.Time), rs.Operator, paren(sshText(rs.SSHClient))))
	}
	switch {
	case r.Kube != nil:
		row("Kube context", r.Kube.String())
	case r.KubeContext != "":
		row("Kube context", r.KubeContext)
	}
	if r.FailoverKube != nil {
		row("Failover context", r.FailoverKube.String())
	}
	switch {
	case r.DB != nil:
		row("Database", r.DB.String())
	case r.Database != "":
		row("Database", r.Database)
	}
	row("Detected", stamp(r.Detected))
	row("Declared", stamp(r.Declared))
	if r.Resolved {
		row("Resolved", stamp(r.ResolvedAt))
	} else {
		row("Resolved", "not resolved (report at "+stamp(r.Generated)+")")
	}
	row("Duration", fmtDur(r.Elapsed))
	row("RTO", rtoText(r))
	row("RPO", rpoText(r))
	if r.Summary != "" {
		fmt.Fprintf(&b, "\n**Summary:** %s\n", r.Summary)
	}

	// Timeline.
	b.WriteString("\n## Timeline\n\n```mermaid\ngantt\n")
	fmt.Fprintf(&b, "    title %s\n", mermaidText(r.RunbookTitle))
	b.WriteString("    dateFormat YYYY-MM-DD HH:mm\n    axisFormat %H:%M\n")
	cursor := r.Detected
	task := 0
	writeSteps := func(steps []StepReport) {
		for _, s := range steps {
			if s.Started.IsZero() {
				continue
			}
			tag := ""
			switch s.Status {
			case StepDone:
				tag = "done, "
			case StepFailed:
				tag = "crit, "
			case StepRunning, StepInterrupted:
				tag = "active, "
			}
			d := s.Duration
			if d == 0 && !s.Finished.IsZero() {
				d = s.Finished.Sub(s.Started)
			}
			if d == 0 && s.Finished.IsZero() {
				d = r.Generated.Sub(s.Started)
			}
			task++
			fmt.Fprintf(&b, "    %d %s :%st%d, %s, %s\n", s.N, mermaidText(s.Title), tag, task, ganttTime(s.Started), mermaidMinutes(d))
		}
	}
	for _, p := range r.Phases {
		fmt.Fprintf(&b, "    section %s\n", mermaidText(p.Title))
		start := cursor
		if !p.Entered.IsZero() {
			start = p.Entered
		}
		task++
		fmt.Fprintf(&b, "    Budget %s :t%d, %s, %s\n", fmtDur(p.Budget), task, ganttTime(start), mermaidMinutes(p.Budget))
		if !p.Entered.IsZero() {
			tag := "done, "
			if p.Over {
				tag = "crit, "
			} else if p.Status == PhaseActive {
				tag = "active, "
			}
			task++
			fmt.Fprintf(&b, "    Actual %s :%st%d, %s, %s\n", fmtDur(p.Actual), tag, task, ganttTime(p.Entered), mermaidMinutes(p.Actual))
			end := p.Left
			if end.IsZero() {
				end = p.Entered.Add(p.Actual)
			}
			cursor = end
		} else {
			cursor = start.Add(p.Budget)
		}
		writeSteps(r.stepsInPhase(p.ID))
	}
	var loose []StepReport
	for _, s := range r.Steps {
		if _, ok := findPhase(r.Phases, s.Phase); !ok {
			loose = append(loose, s)
		}
	}
	if hasStarted(loose) {
		b.WriteString("    section Steps\n")
		writeSteps(loose)
	}
	b.WriteString("```\n")

	if len(r.Phases) > 0 {
		b.WriteString("\n## Phases\n\n| Phase | Budget | Actual | Difference | Entered | Left |\n|---|---|---|---|---|---|\n")
		for _, p := range r.Phases {
			diff := "–"
			if p.Status != PhasePending {
				diff = overUnder(p.Actual - p.Budget)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdCell(p.Title), fmtDur(p.Budget), fmtDur(p.Actual), diff, hhmm(p.Entered), hhmm(p.Left))
		}
	}

	b.WriteString("\n## Steps\n\n| # | Step | Status | Started | Duration | Exit | Verification |\n|---|---|---|---|---|---|---|\n")
	for _, s := range r.Steps {
		status := s.Status.String()
		if s.DryRun {
			status += " (dry run)"
		}
		if s.ShownOnly {
			status += " (shown only)"
		}
		if s.Interrupted && s.Status != StepInterrupted {
			status += " (after an interruption)"
		}
		exit, dur := "–", "–"
		if !s.Finished.IsZero() && s.Status != StepSkipped && s.DoneNote == "" {
			exit = fmt.Sprint(s.Exit)
			dur = fmtDur(s.Duration)
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s |\n", s.N, mdCell(s.Title), status, hhmm(s.Started), dur, exit, verifiedText(s.Verified))
	}
	for _, s := range r.Steps {
		if s.Status == StepPending && len(s.Notes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %d. %s\n\n", s.N, s.Title)
		fmt.Fprintf(&b, "- Status: %s", s.Status)
		if s.Attempts > 1 {
			fmt.Fprintf(&b, " after %d attempts", s.Attempts)
		}
		b.WriteString("\n")
		if s.Command != "" {
			fmt.Fprintf(&b, "- Command: `%s`\n", strings.ReplaceAll(s.Command, "`", "'"))
		}
		if s.Equivalent != "" && s.Equivalent != s.Command {
			fmt.Fprintf(&b, "- Equivalent: `%s`\n", strings.ReplaceAll(s.Equivalent, "`", "'"))
		}
		if s.Err != "" {
			fmt.Fprintf(&b, "- Error: %s\n", s.Err)
		}
		if len(s.Output) > 0 {
			b.WriteString("- Output:\n\n```\n")
			for _, l := range s.Output {
				b.WriteString(strings.ReplaceAll(l, "```", "'''") + "\n")
			}
			b.WriteString("```\n\n")
		}
		for _, v := range s.Verifications {
			res := "failed"
			if v.OK {
				res = "passed"
			}
			after := ""
			if v.Polls > 1 {
				after = fmt.Sprintf(" after %d polls", v.Polls)
			}
			fmt.Fprintf(&b, "- Verification %s at %s%s: %s\n", res, hhmm(v.Time), after, v.Detail)
		}
		if s.SkipReason != "" || s.Status == StepSkipped {
			fmt.Fprintf(&b, "- Skipped: %s\n", orDash(s.SkipReason))
		}
		if s.Status == StepInterrupted {
			if s.RanOn != "" {
				fmt.Fprintf(&b, "- Interrupted: the driver on %s went away while it ran; outcome unknown.\n", s.RanOn)
			} else {
				b.WriteString("- Interrupted: the driver went away while it ran; outcome unknown.\n")
			}
		}
		if s.DoneNote != "" {
			fmt.Fprintf(&b, "- Marked done by hand: %s\n", s.DoneNote)
		}
		if s.Hints > 0 {
			fmt.Fprintf(&b, "- Hints used: %d\n", s.Hints)
		}
		for _, n := range s.Notes {
			if n.Text == s.DoneNote {
				continue
			}
			fmt.Fprintf(&b, "- Note %s: %s\n", hhmm(n.Time), n.Text)
		}
	}

	b.WriteString("\n## Communication\n\n")
	if n := r.Notification; n != nil {
		fmt.Fprintf(&b, "- Notification %s (%s): %s.\n", hhmm(n.Time), n.How, lateText(n.Late))
	}
	for _, u := range r.Updates {
		fmt.Fprintf(&b, "- Status update %s (%s%s), due %s: %s.\n", hhmm(u.Time), u.How, chanText(u.Channel), hhmm(u.Due), lateText(u.Late))
	}
	if rv := r.Review; rv != nil {
		fmt.Fprintf(&b, "- Post-incident review %s: %s.\n", stamp(rv.Time), lateText(rv.Late))
	}
	for _, it := range r.Cadence {
		if it.Overdue() {
			fmt.Fprintf(&b, "- OVERDUE: %s, due %s (%s late).\n", it.Title, stamp(it.Due), fmtDur(-it.Remaining))
		} else if !it.Done {
			fmt.Fprintf(&b, "- Pending: %s, due %s.\n", it.Title, stamp(it.Due))
		}
	}

	if len(r.Roles) > 0 {
		b.WriteString("\n## Roles\n\n")
		for _, ro := range r.Roles {
			fmt.Fprintf(&b, "- %s: %s (assigned %s)\n", ro.Role, ro.Person, hhmm(ro.Time))
		}
	}
	if len(r.Participants) > 0 {
		b.WriteString("\n## Participants (over SSH)\n\n")
		for _, p := range r.Participants {
			b.WriteString("- " + mdCell(participantsText(p)) + "\n")
		}
	}
	if len(r.Variables) > 0 {
		b.WriteString("\n## Variables\n\n")
		for _, v := range r.Variables {
			fmt.Fprintf(&b, "- %s = `%s`\n", v.Name, v.Value)
		}
	}
	var loneNotes []Note
	for _, n := range r.Notes {
		if n.Step == "" {
			loneNotes = append(loneNotes, n)
		}
	}
	if len(loneNotes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range loneNotes {
			fmt.Fprintf(&b, "- %s %s\n", hhmm(n.Time), n.Text)
		}
	}

	if sc := r.Scorecard; sc != nil {
		b.WriteString("\n## Scorecard\n\n| Measure | Result |\n|---|---|\n")
		for _, p := range sc.Phases {
			if p.Status == PhasePending {
				fmt.Fprintf(&b, "| Phase %s | not reached (budget %s) |\n", mdCell(p.Title), fmtDur(p.Budget))
				continue
			}
			fmt.Fprintf(&b, "| Phase %s | %s of %s (%s) |\n", mdCell(p.Title), fmtDur(p.Actual), fmtDur(p.Budget), overUnder(p.Actual-p.Budget))
		}
		fmt.Fprintf(&b, "| RTO %s | %s |\n", fmtDur(sc.RTO), rtoVerdict(sc.RTOMet, sc.RTOMargin))
		if sc.VerificationsTotal > 0 {
			fmt.Fprintf(&b, "| Verifications passed | %d/%d (%.0f%%) |\n", sc.VerificationsPassed, sc.VerificationsTotal, sc.PassRate*100)
		} else {
			b.WriteString("| Verifications passed | none recorded |\n")
		}
		fmt.Fprintf(&b, "| Hints used | %d |\n", sc.HintsUsed)
		fmt.Fprintf(&b, "| Steps done | %d/%d |\n", sc.StepsDone, sc.StepsTotal)
		fmt.Fprintf(&b, "| Steps skipped | %d |\n", sc.StepsSkipped)
		if sc.StepsShown > 0 {
			fmt.Fprintf(&b, "| Steps shown, not run | %d |\n", sc.StepsShown)
		}
		if sc.StepsFailed > 0 {
			fmt.Fprintf(&b, "| Steps failed | %d |\n", sc.StepsFailed)
		}
		if sc.StepsInterrupted > 0 {
			fmt.Fprintf(&b, "| Steps interrupted | %d |\n", sc.StepsInterrupted)
		}
	}
	if len(r.Trend) > 0 {
		b.WriteString("\n## Trend\n\n| Drill | Date | Time | RTO | Verifications | Hints | Skipped |\n|---|---|---|---|---|---|---|\n")
		for _, t := range r.Trend {
			name := t.ID
			if t.ID == r.ID {
				name += " (this drill)"
			}
			ver := "–"
			if t.VerificationsTotal > 0 {
				ver = fmt.Sprintf("%d/%d", t.VerificationsPassed, t.VerificationsTotal)
			}
			rto := rtoVerdict(t.RTOMet, t.RTOMargin)
			if !t.Resolved {
				rto = "not finished"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %d |\n", mdCell(name), t.Detected.Format("2006-01-02"), fmtDur(t.Elapsed), rto, ver, t.HintsUsed, t.StepsSkipped)
		}
	}
	return b.String()
}

func findPhase(ps []PhaseReport, id string) (PhaseReport, bool) {
	for _, p := range ps {
		if p.ID == id {
			return p, true
		}
	}
	return PhaseReport{}, false
}

func hasStarted(ss []StepReport) bool {
	for _, s := range ss {
		if !s.Started.IsZero() {
			return true
		}
	}
	return false
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func sshText(s string) string {
	if s == "" {
		return ""
	}
	return "ssh from " + s
}

func chanText(c string) string {
	if c == "" {
		return ""
	}
	return " to " + c
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func overUnder(d time.Duration) string {
	switch {
	case d > 0:
		return fmtDur(d) + " over"
	case d < 0:
		return fmtDur(-d) + " under"
	}
	return "on budget"
}

func lateText(late time.Duration) string {
	if late > 0 {
		return "late by " + fmtDur(late)
	}
	return "on time"
}

func rtoVerdict(met bool, margin time.Duration) string {
	if met {
		return "met, " + fmtDur(margin) + " to spare"
	}
	return "MISSED by " + fmtDur(-margin)
}

func rtoText(r ReportData) string {
	if r.RTO <= 0 {
		return "–"
	}
	v := rtoVerdict(r.RTOMet, r.RTOMargin)
	if !r.Resolved {
		if r.RTOMet {
			v = "not resolved yet, " + fmtDur(r.RTOMargin) + " left"
		} else {
			v = "not resolved, MISSED by " + fmtDur(-r.RTOMargin)
		}
	}
	return fmtDur(r.RTO) + ": " + v
}

func rpoText(r ReportData) string {
	if r.RPO <= 0 {
		return "–"
	}
	if !r.DataAgeKnown {
		return fmtDur(r.RPO) + ": exposure not measured"
	}
	if r.DataAge <= r.RPO {
		return fmt.Sprintf("%s: newest recoverable data %s old, within the RPO", fmtDur(r.RPO), fmtDur(r.DataAge))
	}
	return fmt.Sprintf("%s: newest recoverable data %s old, BEYOND the RPO by %s", fmtDur(r.RPO), fmtDur(r.DataAge), fmtDur(r.DataAge-r.RPO))
}
