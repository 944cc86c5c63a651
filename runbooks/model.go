// Package runbooks holds the runbook model (Runbook, Variable, Phase, Step and
// the typed actions), loads runbooks from TOML with precise file:line errors,
// lints them, and embeds the runbooks shipped with drnav.
package runbooks

import (
	"fmt"
	"regexp"
	"time"
)

// Runbook is one disaster-recovery procedure.
type Runbook struct {
	ID      string `toml:"id"`
	Title   string `toml:"title"`
	Impact  string `toml:"impact"`
	Summary string `toml:"summary"`
	// Kind is "procedure" (default) or "cadence" (the communication plan,
	// which runs beside any incident instead of being driven step by step).
	Kind string `toml:"kind"`

	Version     string   `toml:"version"`
	LastUpdated string   `toml:"last_updated"` // YYYY-MM-DD
	NextReview  string   `toml:"next_review"`  // YYYY-MM-DD
	Related     []string `toml:"related"`      // documents: paths or URLs

	// Scenario names the drill scenario that rehearses this runbook.
	Scenario string `toml:"scenario"`

	Variables []Variable `toml:"variables"`
	Phases    []Phase    `toml:"phases"`
	Steps     []Step     `toml:"steps"`

	// File is where the runbook was loaded from ("embedded:x.toml" for shipped ones).
	File string `toml:"-"`
	// Line numbers of the tables, for error messages; filled by the loader.
	Line int `toml:"-"`

	// lines maps field paths ("steps[3].timeout") to their line; filled by the loader.
	lines map[string]int
	// loadFindings are the problems found while decoding (unknown keys,
	// invalid durations…); Lint reports them again.
	loadFindings []Finding
	// reviewNotes are the "# REVIEW:" comments left in the file (warnings).
	reviewNotes []Finding
}

// Variable sources.
const (
	SourceText            = ""                // free text
	SourcePods            = "pods"            // all pods matching the app selector
	SourceUnreadyPods     = "pods:unready"    // pods that are not Ready
	SourceDeployments     = "deployments"     // deployments in the namespace
	SourceNetworkPolicies = "networkpolicies" // network policies in the namespace
	SourceContexts        = "contexts"        // kubeconfig contexts
	SourceBackups         = "backups"         // files in the configured backup folder
	SourceConfig          = "config"          // default is taken from config (see Variable.Config)
)

// Variable is a value the operator supplies when declaring an incident, or that
// comes from config. It is substituted wherever {{name}} appears.
type Variable struct {
	Name    string `toml:"name"`
	Prompt  string `toml:"prompt"`
	Default string `toml:"default"`
	Secret  bool   `toml:"secret"`
	Source  string `toml:"source"`
	// Config names the config key whose value is the default (for example
	// "deployment", "namespace", "app_label", "database", "backup_dir",
	// "failover_manifests"); it wins over Default when config sets it.
	Config  string `toml:"config"`
	Pattern string `toml:"pattern"` // optional validation regexp (anchored by the loader)

	Line int `toml:"-"`

	// re is Pattern compiled and anchored by the loader (nil: compiled on demand).
	re *regexp.Regexp
}

// Phase is a timed part of a procedure (Complete System Outage has five).
type Phase struct {
	ID     string   `toml:"id"`
	Title  string   `toml:"title"`
	Budget Duration `toml:"budget"`
	// Every makes a phase of a cadence runbook repeat at this interval for as
	// long as the incident is open (the communication plan's status updates).
	Every Duration `toml:"every"`

	Line int `toml:"-"`
}

// Step is one item of the checklist. Exactly one action is set: Run (shell),
// Manual, K8s, SQL, HTTP or Wait.
type Step struct {
	ID          string   `toml:"id"`
	Title       string   `toml:"title"`
	Phase       string   `toml:"phase"`
	Why         string   `toml:"why"`
	Expect      string   `toml:"expect"`
	Destructive bool     `toml:"destructive"`
	Critical    bool     `toml:"critical"` // confirmation requires typing the object's name
	Interactive bool     `toml:"interactive"`
	Timeout     Duration `toml:"timeout"`
	Hints       []Hint   `toml:"hints"`
	// Drill marks a shell step as safe to really run in drill mode.
	DrillRun bool `toml:"drill_run"`

	Run    string      `toml:"run"`    // shell command (bash -c, pipefail)
	Manual string      `toml:"manual"` // a task for a human; done when confirmed
	K8s    *K8sAction  `toml:"k8s"`
	SQL    *SQLAction  `toml:"sql"`
	HTTP   *HTTPAction `toml:"http"`
	Wait   *Verify     `toml:"wait"` // a step that only waits for a condition

	// Verify is checked after the action until it holds or Within passes.
	Verify *Verify `toml:"verify"`

	Line int `toml:"-"`
}

// Hint is a tip for someone doing the step for the first time. In TOML a
// hint is a string, or a table { text = "…", when = "…" } whose When names a
// live fact (one of HintConditions): the hint is offered only while that
// fact holds, so a hint never contradicts what the panes show.
type Hint struct {
	Text string `toml:"text"`
	When string `toml:"when"`
}

// Hint conditions: live facts the navigator evaluates from the snapshots
// its panes show. "The deployment" is the step's own (k8s, wait or verify
// deployment), else the config's; "the context" is the step's (primary by
// default).
const (
	// HintAllReplicasFailing: the deployment wants replicas and none is Ready.
	HintAllReplicasFailing = "all_replicas_failing"
	// HintSomeReplicasReady: at least one replica of the deployment is Ready.
	HintSomeReplicasReady = "some_replicas_ready"
	// HintScaledToZero: the deployment is scaled to 0 replicas.
	HintScaledToZero = "scaled_to_zero"
	// HintAPIUnreachable: the context's API server does not answer.
	HintAPIUnreachable = "api_unreachable"
	// HintDatabaseDown: the database does not answer its probe.
	HintDatabaseDown = "database_down"
	// HintDatabaseUp: the database answers its probe.
	HintDatabaseUp = "database_up"
	// HintBackupOlderThanRPO: the newest backup evidence is older than the RPO.
	HintBackupOlderThanRPO = "backup_older_than_rpo"
)

// HintConditions lists the conditions a hint's when may name.
func HintConditions() []string {
	return []string{HintAllReplicasFailing, HintSomeReplicasReady, HintScaledToZero,
		HintAPIUnreachable, HintDatabaseDown, HintDatabaseUp, HintBackupOlderThanRPO}
}

// Kubernetes action verbs.
const (
	K8sScale           = "scale"
	K8sRestart         = "restart"
	K8sUndo            = "undo"
	K8sRolloutStatus   = "rollout-status"
	K8sDeletePod       = "delete-pod"
	K8sListPods        = "list-pods"
	K8sApply           = "apply"
	K8sNetworkPolicies = "list-networkpolicies"
	K8sDeleteNetPolicy = "delete-networkpolicy"
)

// K8sAction is a typed Kubernetes action run through client-go.
type K8sAction struct {
	Action     string `toml:"action"`     // one of the K8s* verbs
	Context    string `toml:"context"`    // "primary" (default) or "failover", or a kube context name
	Namespace  string `toml:"namespace"`  // default: config namespace
	Deployment string `toml:"deployment"` // scale, restart, undo, rollout-status
	Replicas   *int   `toml:"replicas"`   // scale
	Pod        string `toml:"pod"`        // delete-pod
	Selector   string `toml:"selector"`   // list-pods
	Path       string `toml:"path"`       // apply: a file or folder of manifests
	Policy     string `toml:"policy"`     // delete-networkpolicy
}

// SQL action verbs.
const (
	SQLPing    = "ping"
	SQLQuery   = "query"
	SQLExec    = "exec"
	SQLAmcheck = "amcheck"
	SQLReindex = "reindex"
	SQLRestore = "restore"
)

// Restore methods.
const (
	// RestoreLoad loads the dump into the database itself, in one
	// transaction; a plain dump only loads into an empty database.
	RestoreLoad = "load"
	// RestoreSwap loads the dump into a new database <db>_restore_<time>,
	// checks it (amcheck, tables), then swaps it into place: the old
	// database is kept as <db>_damaged_<time>, never dropped.
	RestoreSwap = "swap"
	// RestoreScratch loads the dump into a new scratch database, checks it
	// and drops the scratch database: a rehearsal that changes nothing else.
	RestoreScratch = "scratch"
)

// RestoreMethods lists the restore methods.
func RestoreMethods() []string { return []string{RestoreLoad, RestoreSwap, RestoreScratch} }

// SQLAction is a typed PostgreSQL action run through pgx (restore runs psql).
type SQLAction struct {
	Action   string `toml:"action"`   // one of the SQL* verbs
	Database string `toml:"database"` // default: the DSN's database
	Query    string `toml:"query"`    // query, exec
	Index    string `toml:"index"`    // reindex one index instead of the database
	File     string `toml:"file"`     // restore: plain SQL, custom or directory format dump
	// Method is how restore loads the dump (RestoreLoad, RestoreSwap or
	// RestoreScratch; default RestoreLoad).
	Method string `toml:"method"`
	// Tables must each hold at least one row in the restored copy (restore
	// with method swap or scratch checks them before it swaps or drops).
	Tables []string `toml:"tables"`
	// ReportOnly makes amcheck report what it finds without failing the step
	// (the "identify corruption" step: finding corruption is the point).
	ReportOnly bool `toml:"report_only"`
}

// HTTPAction GETs a URL Count times at Interval and passes on Status.
type HTTPAction struct {
	URL      string   `toml:"url"`
	Count    int      `toml:"count"`
	Interval Duration `toml:"interval"`
	Status   int      `toml:"status"` // default 200
}

// Verify is a condition checked against live state until it holds or Within
// passes. Every field set must hold.
type Verify struct {
	Context     string `toml:"context"`
	Namespace   string `toml:"namespace"`
	Deployment  string `toml:"deployment"`
	Replicas    *int   `toml:"replicas"`     // spec and status replicas equal N
	Ready       *int   `toml:"ready"`        // ready replicas equal N
	Available   *int   `toml:"available"`    // available replicas equal N
	PodsReady   string `toml:"pods_ready"`   // label selector: all selected pods Ready (and at least one)
	NoCrashLoop string `toml:"no_crashloop"` // label selector: no pod in CrashLoopBackOff
	SQL         string `toml:"sql"`          // query whose first column of first row…
	Equals      string `toml:"equals"`       // …equals this text
	Database    string `toml:"database"`
	URL         string `toml:"url"`    // HTTP GET…
	Status      int    `toml:"status"` // …returns this status
	// Backup policy checks (config [backup]): the newest backup is at most
	// BackupMaxAge old; the oldest kept backup is at least BackupRetention old;
	// every configured region holds a copy no older than BackupMaxAge.
	BackupMaxAge    Duration `toml:"backup_max_age"`
	BackupRetention Duration `toml:"backup_retention"`
	BackupRegions   bool     `toml:"backup_regions"`
	Within          Duration `toml:"within"`   // deadline (default 2m)
	Interval        Duration `toml:"interval"` // poll interval (default 2s)
}

// ActionKind names which action a step carries.
type ActionKind int

const (
	ActionNone ActionKind = iota
	ActionShell
	ActionManual
	ActionK8s
	ActionSQL
	ActionHTTP
	ActionWait
)

func (k ActionKind) String() string {
	switch k {
	case ActionShell:
		return "shell"
	case ActionManual:
		return "manual"
	case ActionK8s:
		return "k8s"
	case ActionSQL:
		return "sql"
	case ActionHTTP:
		return "http"
	case ActionWait:
		return "wait"
	}
	return "none"
}

// Kinds lists every action the step sets; a valid step has exactly one.
func (s *Step) Kinds() []ActionKind {
	var k []ActionKind
	if s.Run != "" {
		k = append(k, ActionShell)
	}
	if s.Manual != "" {
		k = append(k, ActionManual)
	}
	if s.K8s != nil {
		k = append(k, ActionK8s)
	}
	if s.SQL != nil {
		k = append(k, ActionSQL)
	}
	if s.HTTP != nil {
		k = append(k, ActionHTTP)
	}
	if s.Wait != nil {
		k = append(k, ActionWait)
	}
	return k
}

// Kind is the step's single action kind (ActionNone when zero or several are set).
func (s *Step) Kind() ActionKind {
	k := s.Kinds()
	if len(k) != 1 {
		return ActionNone
	}
	return k[0]
}

// Mutates reports whether the step's action can change state.
func (s *Step) Mutates() bool {
	switch s.Kind() {
	case ActionShell:
		return true // unknown: treat as mutating
	case ActionK8s:
		switch s.K8s.Action {
		case K8sRolloutStatus, K8sListPods, K8sNetworkPolicies:
			return false
		}
		return true
	case ActionSQL:
		switch s.SQL.Action {
		case SQLPing, SQLQuery, SQLAmcheck:
			return false
		case SQLRestore:
			return s.SQL.Method != RestoreScratch
		}
		return true
	}
	return false
}

// PhaseByID returns the phase with that id.
// StepID is the id of the i-th step (its own id, else "step-N"; "" when
// there is no such step).
func (r *Runbook) StepID(i int) string {
	if i < 0 || i >= len(r.Steps) {
		return ""
	}
	if id := r.Steps[i].ID; id != "" {
		return id
	}
	return fmt.Sprintf("step-%d", i+1)
}

func (r *Runbook) PhaseByID(id string) (Phase, bool) {
	for _, p := range r.Phases {
		if p.ID == id {
			return p, true
		}
	}
	return Phase{}, false
}

// StepByID returns the index of the step with that id, or -1.
func (r *Runbook) StepByID(id string) int {
	for i := range r.Steps {
		if r.Steps[i].ID == id {
			return i
		}
	}
	return -1
}

// VariableByName returns the variable with that name.
func (r *Runbook) VariableByName(name string) (Variable, bool) {
	for _, v := range r.Variables {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

// TotalBudget sums the phase budgets.
func (r *Runbook) TotalBudget() time.Duration {
	var d time.Duration
	for _, p := range r.Phases {
		d += p.Budget.Duration
	}
	return d
}

// Duration is a time.Duration written in TOML as "15m", "2h", "1h30m".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 30s, 15m, 2h)", string(b))
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: negative", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
