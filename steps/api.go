// Package steps runs one step of a runbook for real (or as a dry run) and
// reports what happens as plain events. It never imports Bubble Tea: the UI
// adapts the events into messages.
package steps

import (
	"context"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/drnav/drnav/config"
)

// EventKind tells what an Event reports.
type EventKind int

const (
	EventStarted  EventKind = iota // the exact command/action and its equivalent
	EventOutput                    // a batch of output lines
	EventProgress                  // bytes/items done of a total (restore)
	EventVerify                    // one poll of a verify condition
	EventFinished                  // exit code or error, duration; always last
)

func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventOutput:
		return "output"
	case EventProgress:
		return "progress"
	case EventVerify:
		return "verify"
	case EventFinished:
		return "finished"
	}
	return "unknown"
}

// Stream tags an output line.
type Stream int

const (
	Stdout Stream = iota
	Stderr
)

func (s Stream) String() string {
	if s == Stderr {
		return "stderr"
	}
	return "stdout"
}

// Line is one line of output.
type Line struct {
	Stream Stream
	Text   string
}

// VerifyPoll reports one evaluation of a step's verify condition.
type VerifyPoll struct {
	Attempt int
	OK      bool
	Detail  string // what was measured, e.g. "ready 2/3"
	Final   bool   // last poll: OK, deadline passed or cancelled
}

// Event is one fact about a running step. Every string in it has already been
// redacted.
type Event struct {
	Kind EventKind
	Time time.Time

	// Started
	Command    string // the exact command, or a description of the typed action
	Equivalent string // a kubectl/psql/curl line a person could type
	DryRun     bool
	ShownOnly  bool // drill: the shell command is shown, not run
	// WrittenAhead: Target.WriteAhead journalled this start before anything
	// ran; the consumer must not journal it again.
	WrittenAhead bool

	// Output
	Lines []Line

	// Progress
	Done, Total int64

	// Verify
	Verify VerifyPoll

	// Finished
	ExitCode   int    // 0 ok; 130 cancelled; 124 timed out; else the command's code (1 for a failed typed action)
	Err        string // what went wrong, if anything
	Duration   time.Duration
	TotalLines int64 // all output lines seen, even those dropped from the buffer
	TotalBytes int64
	Verified   *bool // nil when the step has no verify condition
	// NotStarted: the write-ahead failed, nothing ran and no step_started is
	// in the journal.
	NotStarted bool
	// OutcomeUnknown: drnav stopped following a detached step (Abandon), or
	// its supervisor is gone without a status; do not journal a finish.
	OutcomeUnknown bool
	// Detached is the folder of a shell step run under the supervisor
	// (Target.Supervisor): its output, exit status and timing are there.
	Detached string
}

// KubeProvider hands out clients for the contexts a runbook names: "primary",
// "failover", or an explicit kube context name. Real incidents load them from
// kubeconfig as kubectl does; drills hand out the simulator's clientsets.
type KubeProvider interface {
	// Client returns the clientset, the context's resolved name and its
	// default namespace.
	Client(contextName string) (kubernetes.Interface, ContextInfo, error)
}

// RESTConfigProvider is a KubeProvider that also hands out the REST config
// of a context (the real kubeconfig provider, and the drill guard, whose
// configs refuse mutations without dryRun=All). With one, apply goes through
// cli-runtime's resource.Builder and serves any kind the server knows, CRDs
// and custom resources included; without (the drill simulator's fake
// clientsets) it applies the built-in kinds through the typed clientset.
type RESTConfigProvider interface {
	RESTConfig(contextName string) (*rest.Config, error)
}

// ContextInfo describes a resolved kube context.
type ContextInfo struct {
	Name      string // kubeconfig context name (or the drill's simulated name)
	Namespace string
	Real      bool // false for the drill simulator
	// ForceDryRun is set by the production guard: every mutation goes as
	// server-side dry-run.
	ForceDryRun bool
}

// Corruption is one problem amcheck found.
type Corruption struct {
	Relation string
	Detail   string
}

// DBInfo is what a connect/ping measured.
type DBInfo struct {
	Latency   time.Duration
	Version   string
	InRecover bool // standby
	Database  string
	User      string
}

// SwapAccess is what a role lacks to swap a database.
type SwapAccess struct {
	// Missing names each privilege lacking and how to grant it.
	Missing []string
	// Connections, when set, says which other connections to the database
	// the role could not end now (they may be gone by the time of the swap).
	Connections string
}

// Table is a query result.
type Table struct {
	Columns []string
	Rows    [][]string
}

// Database is the PostgreSQL handle the SQL actions use. The real one uses
// pgx (and psql for restore); the drill simulator provides its own.
type Database interface {
	Ping(ctx context.Context, database string) (DBInfo, error)
	Query(ctx context.Context, database, sql string) (Table, error)
	// Exec runs statements that change data; with dryRun they run in a
	// transaction that is rolled back. It returns the rows affected.
	Exec(ctx context.Context, database, sql string, dryRun bool) (int64, error)
	Amcheck(ctx context.Context, database string) ([]Corruption, error)
	Reindex(ctx context.Context, database, index string) error
	// Restore loads a dump (plain SQL, custom, directory or tar format) in
	// one transaction that the first error aborts; progress is called with
	// bytes read when they can be counted.
	Restore(ctx context.Context, database, file string, progress func(done, total int64), out func(Line)) error
	// CreateDatabase creates an empty database name with the encoding,
	// locale and owner of the database like.
	CreateDatabase(ctx context.Context, name, like string) error
	// DropDatabase drops a database drnav created itself (a scratch copy or
	// a failed restore); it is never called on the damaged database.
	DropDatabase(ctx context.Context, name string) error
	// Swap ends every other connection to database, then renames database
	// to keep and restored to database, both or neither. It returns the
	// number of connections it ended.
	Swap(ctx context.Context, database, restored, keep string) (int, error)
	// SwapPrivileges says what the connected role lacks to swap database
	// (create the restored copy, rename both, end the other connections).
	// Read-only.
	SwapPrivileges(ctx context.Context, database string) (SwapAccess, error)
	// Name is the name of database as the server will know it (the DSN's
	// when database is empty), without connecting.
	Name(database string) string
	// Describe is the psql-style equivalent for a person (no password).
	Describe(database string) string
	// Real is false for the drill simulator.
	Real() bool
}

// ShellMode says how shell steps are treated.
type ShellMode int

const (
	ShellRun      ShellMode = iota // run for real
	ShellShowOnly                  // drill: show the command, do not run it
)

func (m ShellMode) String() string {
	if m == ShellShowOnly {
		return "show only"
	}
	return "run"
}

// Target is everything a step needs to run: the per-step view of an
// environment. internal/environ builds each environment's base target
// (BaseTarget plus cluster, database and guards) and a runner hands every
// step a copy with the incident's Vars, Secrets and Now filled in.
type Target struct {
	Kube KubeProvider // may be nil: Kubernetes actions then fail clearly
	DB   Database     // may be nil: SQL actions then fail clearly

	Vars    map[string]string // resolved variables, by name
	Secrets []string          // names of variables whose values must be redacted
	Redact  []string          // extra regexps to redact (and DSN passwords)

	Env       []string // extra environment for shell steps (KEY=VALUE)
	SecretEnv []string // names of Env entries whose values are secret
	Dir       string   // working folder for shell steps
	Namespace string   // default namespace when the step and context name none

	DryRun    bool
	ShellMode ShellMode
	// AllowShell is consulted in ShellShowOnly mode: a step id for which it
	// returns true runs for real anyway (drill allow-list).
	AllowShell func(stepID string) bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	// Backup is the backup policy config the backup_* verify checks read
	// (folder, freshness command, regions).
	Backup config.Backup
	// WriteAhead, when set, receives the Started event (redacted) before any
	// process starts or any request is sent, and must journal it durably
	// (step_started, fsynced). When it fails the step does not start and
	// finishes with NotStarted.
	WriteAhead func(Event) error
	// Supervisor, when set, runs shell steps detached from drnav (see
	// Supervisor), so they outlive it and their outcome is recorded.
	Supervisor *Supervisor

	// RPO is the recovery point objective; backup_regions compares each
	// region's newest copy against it when the step sets no backup_max_age.
	RPO time.Duration
}

// BaseTarget is the target every environment starts from: config's shell
// environment, working folder, namespace, redaction, backup policy and RPO
// (no cluster, no database, no variables yet).
func BaseTarget(cfg config.Config) Target {
	return Target{
		Env:       cfg.EnvList(),
		SecretEnv: cfg.SecretEnv(),
		Dir:       cfg.WorkDir,
		Namespace: cfg.Namespace,
		Redact:    cfg.Redact,
		Backup:    cfg.Backup,
		RPO:       cfg.RPO.Duration,
	}
}

// ShowShellOnly makes shell steps shown, not run (a drill), except those
// allowed names ("runbook/step", config [drill] allow_shell) for runbookID.
func (t *Target) ShowShellOnly(allowed []string, runbookID string) {
	set := make(map[string]bool, len(allowed))
	for _, s := range allowed {
		set[s] = true
	}
	t.ShellMode = ShellShowOnly
	t.AllowShell = func(stepID string) bool { return runbookID != "" && set[runbookID+"/"+stepID] }
}
