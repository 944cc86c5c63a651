package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/safefile"
	"github.com/drnav/drnav/runbooks"
)

// cmdOpts holds every flag a command may read.
type cmdOpts struct {
	configPath      string
	runbooksDir     string
	journalDir      string
	drill           bool
	drillSpeed      float64
	ascii           bool
	debug           bool
	failoverContext string
	kube            *genericclioptions.ConfigFlags

	// -o json|yaml (list, incidents, report, lint)
	output string
	// lint
	strict bool
	// report
	format string
	verify bool
	// run
	vars             []string
	varEnv           []string
	varFile          []string
	dryRun           bool
	allowDestructive []string
	skipManual       bool
	reportFormat     string
	resumeID         string
	resumeSet        bool // --resume was given, even empty
	// resume, run --resume: pull the journal from the mirror first
	fromCluster bool
	// incidents, report: read the cluster mirror of this context
	mirrorContext string
	// accept what the context guard refuses (run)
	acceptContextChange bool
	acceptSameServer    bool
	// navigator
	readOnly bool
	// import
	importOut, idPrefix string
	force               bool
	// serve
	serve serveFlags
}

func newCmdOpts() *cmdOpts {
	return &cmdOpts{kube: genericclioptions.NewConfigFlags(false), drillSpeed: 0}
}

func (o *cmdOpts) addGlobal(fs *pflag.FlagSet, touches bool) {
	fs.StringVar(&o.configPath, "config", "", "config file (default $XDG_CONFIG_HOME/drnav/config.toml when present)")
	fs.StringVar(&o.runbooksDir, "runbooks", "", "load runbooks from this folder instead of the shipped ones")
	fs.StringVar(&o.journalDir, "journal-dir", "", "incident journals folder (default from config: journal_dir); e.g. a colleague's shared folder to watch")
	fs.BoolVar(&o.ascii, "ascii", false, "ASCII glyphs only (automatic when the locale is not UTF-8)")
	fs.BoolVar(&o.debug, "debug", false, "log at debug level to the log file under the state folder")
	if !touches {
		return
	}
	fs.BoolVar(&o.drill, "drill", false, "rehearse against the built-in simulator (no cluster or database needed)")
	fs.Float64Var(&o.drillSpeed, "drill-speed", 0, "speed up the drill simulator's clock by this factor (default from config, 1)")
	fs.StringVar(&o.failoverContext, "failover-context", "", "kube context of the failover region (default from config)")
	o.kube.AddFlags(fs)
}

// command is one entry of drnav's command table; newRootCmd turns each
// into a cobra command.
type command struct {
	name  string // "" is the root command (the navigator)
	args  string // usage after the name
	short string
	long  string
	flags func(fs *pflag.FlagSet, o *cmdOpts)
	run   func(a *app, o *cmdOpts, args []string) error
	// touches says the command reaches a cluster or database: it takes the
	// kubectl flags and the drill flags.
	touches bool
	// output says the command takes -o json|yaml.
	output bool
	// complete completes the positional arguments (default: nothing).
	complete func(a *app, o *cmdOpts) cobra.CompletionFunc
}

// app is what every command shares: streams, and config and runbooks loaded
// on demand.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// logger is the command's logger once startLogging set it up.
	logger *slog.Logger
}

// loadConfig reads the config and applies the flags that override it.
func (a *app) loadConfig(o *cmdOpts) (config.Config, error) {
	cfg, err := config.Load(o.configPath)
	if err != nil {
		return cfg, err
	}
	if o.kube.KubeConfig != nil && *o.kube.KubeConfig != "" {
		cfg.Kubeconfig = *o.kube.KubeConfig
	}
	if o.kube.Context != nil && *o.kube.Context != "" {
		cfg.PrimaryContext = *o.kube.Context
	}
	if o.kube.Namespace != nil && *o.kube.Namespace != "" {
		cfg.Namespace = *o.kube.Namespace
	}
	if o.failoverContext != "" {
		cfg.FailoverContext = o.failoverContext
	}
	if o.drillSpeed > 0 {
		cfg.Drill.Speed = o.drillSpeed
	}
	if o.journalDir != "" {
		d, err := safefile.ExpandHome(o.journalDir)
		if err != nil {
			return cfg, usageError{"--journal-dir " + err.Error()}
		}
		if d, err = filepath.Abs(d); err != nil {
			return cfg, fmt.Errorf("--journal-dir: %w", err)
		}
		cfg.JournalDir = d
	}
	return cfg, nil
}

// loadRunbooks loads the shipped runbooks, or the --runbooks folder.
func (a *app) loadRunbooks(o *cmdOpts) ([]*runbooks.Runbook, error) {
	rbs, err := runbooks.Load(o.runbooksDir)
	var broken runbooks.Findings
	if err != nil && errors.As(err, &broken) && len(rbs) > 0 {
		// One broken file does not hide the others: name it, go on.
		seen := map[string]bool{}
		for _, f := range broken {
			if !seen[f.File] {
				seen[f.File] = true
				fmt.Fprintf(a.stderr, "drnav: broken runbook skipped: %s (see 'drnav lint')\n", f.String())
			}
		}
		return rbs, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load runbooks: %w", err)
	}
	return rbs, nil
}

// loadConfigAndRunbooks is what every command that shows or runs a
// runbook loads first.
func (a *app) loadConfigAndRunbooks(o *cmdOpts) (config.Config, []*runbooks.Runbook, error) {
	cfg, err := a.loadConfig(o)
	if err != nil {
		return config.Config{}, nil, err
	}
	rbs, err := a.loadRunbooks(o)
	if err != nil {
		return config.Config{}, nil, err
	}
	return cfg, rbs, nil
}

func findRunbook(rbs []*runbooks.Runbook, id string) (*runbooks.Runbook, error) {
	var ids []string
	for _, rb := range rbs {
		if rb.ID == id {
			return rb, nil
		}
		ids = append(ids, rb.ID)
	}
	return nil, fmt.Errorf("no runbook %q (have: %s)", id, strings.Join(ids, ", "))
}

func cmdVersion(a *app, o *cmdOpts, args []string) error {
	if len(args) > 0 {
		return usageError{"version takes no arguments"}
	}
	fmt.Fprint(a.stdout, readBuildInfo().String())
	return nil
}

func cmdList(a *app, o *cmdOpts, args []string) error {
	if len(args) > 0 {
		return usageError{"list takes no arguments"}
	}
	if err := checkOutput(o.output); err != nil {
		return err
	}
	rbs, err := a.loadRunbooks(o)
	if err != nil {
		return err
	}
	now := time.Now()
	if o.output != "" {
		return writeOutput(a.stdout, o.output, runbookList(rbs, now))
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tSTEPS\tBUDGET\tIMPACT")
	for _, rb := range rbs {
		budget := "-"
		if d := rb.TotalBudget(); d > 0 {
			budget = d.String()
		}
		impact := rb.Impact
		if since, overdue := rb.ReviewOverdue(now); overdue {
			impact += " (review overdue since " + since.Format("2006-01-02") + ")"
		}
		p := incident.Printable
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", p(rb.ID), p(rb.Title), len(rb.Steps), budget, p(impact))
	}
	return tw.Flush()
}

func cmdLint(a *app, o *cmdOpts, args []string) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	cfg, err := a.loadConfig(o)
	if err != nil {
		return err
	}
	opts := runbooks.LintOptions{RTO: cfg.RTO.Duration, Now: time.Now(), Strict: o.strict}
	paths, shipped := lintTargets(o, args)
	if len(paths) == 0 && len(shipped) == 0 && o.runbooksDir != "" {
		paths = []string{o.runbooksDir}
	}
	var rbs []*runbooks.Runbook
	var findings []runbooks.Finding
	if len(paths) > 0 || len(shipped) == 0 {
		rbs, findings = runbooks.LintPaths(paths, opts)
	}
	if len(shipped) > 0 {
		// Shipped runbooks named by id: lint them all, keep theirs.
		all, fs := runbooks.LintPaths(nil, opts)
		for _, rb := range all {
			if shipped[rb.File] {
				rbs = append(rbs, rb)
			}
		}
		for _, f := range fs {
			if shipped[f.File] {
				findings = append(findings, f)
			}
		}
	}
	res := lintResult(rbs, findings)
	if o.output != "" {
		if err := writeOutput(a.stdout, o.output, res); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			fmt.Fprintln(a.stdout, incident.Printable(f.String()))
		}
	}
	if res.Errors > 0 {
		fmt.Fprintf(a.stderr, "drnav lint: %d error(s), %d warning(s) in %d runbook(s)\n", res.Errors, res.Warnings, len(rbs))
		return exitError{exitFailed}
	}
	fmt.Fprintf(a.stderr, "drnav lint: %d runbook(s) ok, %d warning(s)\n", len(rbs), res.Warnings)
	return nil
}

// parsedRunbooks is every runbook (shipped, or of --runbooks) that parses,
// even one lint finds errors in: the ones lint can be asked about by id.
func parsedRunbooks(o *cmdOpts) []*runbooks.Runbook {
	var dirs []string
	if o.runbooksDir != "" {
		dirs = []string{o.runbooksDir}
	}
	rbs, _ := runbooks.LintPaths(dirs, runbooks.LintOptions{Now: time.Now()})
	return rbs
}

// lintTargets resolves lint's arguments: a file or folder that exists is a
// path; otherwise a runbook id (of the shipped runbooks, or --runbooks) is
// its file, and a shipped one is collected in shipped (by its File). Anything
// else stays a path, for lint to report as missing.
func lintTargets(o *cmdOpts, args []string) (paths []string, shipped map[string]bool) {
	var loaded []*runbooks.Runbook
	for _, arg := range args {
		if _, err := os.Stat(arg); err == nil {
			paths = append(paths, arg)
			continue
		}
		if loaded == nil {
			loaded = parsedRunbooks(o)
		}
		file := ""
		for _, rb := range loaded {
			if rb.ID == arg {
				file = rb.File
			}
		}
		switch {
		case file == "":
			paths = append(paths, arg)
		case strings.HasPrefix(file, runbooks.EmbeddedPrefix):
			if shipped == nil {
				shipped = map[string]bool{}
			}
			shipped[file] = true
		default:
			paths = append(paths, file)
		}
	}
	return paths, shipped
}

func commands() []command {
	return []command{
		{
			name:  "",
			short: "drnav: a terminal runbook navigator for disaster recovery",
			long: `Opens the navigator: pick a procedure, declare the incident, and walk its
steps with live cluster and database panes and the RTO clock.
With --drill it rehearses against a built-in simulator: no cluster or database.`,
			flags: func(fs *pflag.FlagSet, o *cmdOpts) {
				fs.BoolVar(&o.readOnly, "read-only", false, "open without the ability to run anything")
			},
			run:     cmdNavigator,
			touches: true,
		},
		{name: "list", short: "list the runbooks", run: cmdList, output: true},
		{
			name: "lint", args: "[PATH|RUNBOOK...]", short: "check runbooks for errors (exit 1 on findings)",
			long: `With no PATH, lints the shipped runbooks (or the --runbooks folder).
PATH may be a runbook file or a folder of them; RUNBOOK a runbook's id.
With -o json every finding is an object: file, line, field, message, severity.`,
			flags: func(fs *pflag.FlagSet, o *cmdOpts) {
				fs.BoolVar(&o.strict, "strict", false, "treat warnings (such as an overdue review) as errors")
			},
			run:      cmdLint,
			output:   true,
			complete: completeLintArgs,
		},
		{name: "version", short: "print drnav's version", run: cmdVersion},
		importCommand(),
		serveCommand(),
		{
			name: "incidents", short: "list open and closed incidents and drills",
			flags: func(fs *pflag.FlagSet, o *cmdOpts) {
				fs.StringVar(&o.mirrorContext, "context", "", "list the incidents mirrored in this kube context instead (any machine with read access)")
			},
			run: cmdIncidents, output: true,
		},
		{
			name: "resume", args: "[ID]", short: "reopen an incident where it was (default: the latest open one)",
			flags: func(fs *pflag.FlagSet, o *cmdOpts) {
				fs.BoolVar(&o.fromCluster, "from-cluster", false, "take the incident over from the cluster mirror (another bastion drove it): the longest copy, or --context's only, once its Lease is free")
			},
			run: cmdResume, touches: true,
			complete: func(a *app, o *cmdOpts) cobra.CompletionFunc { return a.completeIncidentIDs(o, true) },
		},
		{
			name: "watch", args: "[ID]", short: "follow an incident read-only (default: the latest)", run: cmdWatch,
			flags: func(fs *pflag.FlagSet, o *cmdOpts) {
				fs.StringVar(&o.mirrorContext, "context", "", "follow the copy mirrored in this kube context (any machine with read access; needs ID)")
			},
			complete: func(a *app, o *cmdOpts) cobra.CompletionFunc { return a.completeIncidentIDs(o, false) },
		},
		{
			name: "report", args: "[ID]", short: "print an incident's post-mortem timeline (default: the latest)",
			flags: func(fs *pflag.FlagSet, o *cmdOpts) {
				fs.StringVar(&o.format, "format", "md", "md or json (json is -o json)")
				fs.StringVar(&o.mirrorContext, "context", "", "report from the copy mirrored in this kube context (needs ID); with --verify: check that copy only")
				fs.BoolVar(&o.verify, "verify", false, "check the journal's hash chain, locally and in every mirrored copy, and say where they diverge (exit 3 when broken or different)")
			},
			run:      cmdReport,
			output:   true,
			complete: func(a *app, o *cmdOpts) cobra.CompletionFunc { return a.completeIncidentIDs(o, false) },
		},
		{
			name: "run", args: "RUNBOOK", short: "run a runbook's steps in order without the UI (for cron and CI)",
			long: `Runs every step in order, writing the same journal as the navigator, printing
progress lines, and exiting non-zero at the first failed step or verification.
Destructive steps are refused unless --allow-destructive names them (or all);
manual steps fail the run unless --skip-manual.

Each step's start is journalled before it runs. Shell steps run detached
under a supervisor (output, exit status and timing in the incident folder),
so they run to their end even if drnav is killed or the session drops.
SIGINT, SIGTERM and SIGHUP stop drnav without failing the running step: the
signal is journalled, the exit code is 128 + the signal number (130, 143,
129), and 'drnav run RUNBOOK --resume ID' later records the step's real
outcome (or follows it again while it still runs).

` + exitCodesHelp(),
			flags: func(fs *pflag.FlagSet, o *cmdOpts) {
				fs.StringArrayVar(&o.vars, "var", nil, "set a variable: name=value (repeatable; not for secrets: the command line is visible to every account)")
				fs.StringArrayVar(&o.varEnv, "var-env", nil, "set a variable from an environment variable: name=ENVVAR (repeatable)")
				fs.StringArrayVar(&o.varFile, "var-file", nil, "set a variable from a file only you can read: name=PATH, PATH - for stdin (repeatable)")
				fs.BoolVar(&o.dryRun, "dry-run", false, "validate mutating actions without changing anything")
				fs.StringSliceVar(&o.allowDestructive, "allow-destructive", nil, "step ids allowed to change state, or 'all'")
				fs.BoolVar(&o.skipManual, "skip-manual", false, "record manual steps as skipped instead of failing")
				fs.StringVar(&o.reportFormat, "report", "", "print the report at the end: md or json")
				fs.Var(&setString{val: &o.resumeID, set: &o.resumeSet}, "resume", "continue this incident's journal (done steps are kept; an interrupted step stops the run)")
				fs.BoolVar(&o.fromCluster, "from-cluster", false, "with --resume: take the incident over from the cluster mirror first (see 'drnav resume --help')")
				fs.BoolVar(&o.acceptContextChange, "accept-context-change", false, "with --resume: go on although the kube context (name, server or namespace) differs from the one the incident was declared with")
				fs.BoolVar(&o.acceptSameServer, "accept-same-server", false, "go on although the primary and failover contexts reach the same API server")
			},
			run:     cmdRun,
			touches: true,
			complete: func(a *app, o *cmdOpts) cobra.CompletionFunc {
				return a.completeRunbookIDs(o, true, cobra.ShellCompDirectiveNoFileComp)
			},
		},
	}
}

// completeLintArgs completes runbook ids, and files and folders when no id
// matches.
func completeLintArgs(a *app, o *cmdOpts) cobra.CompletionFunc {
	return a.completeRunbookIDs(o, false, cobra.ShellCompDirectiveDefault)
}

// setString is a string flag that remembers it was given (even empty).
type setString struct {
	val *string
	set *bool
}

func (s *setString) String() string {
	if s.val == nil {
		return ""
	}
	return *s.val
}

func (s *setString) Set(v string) error {
	*s.val, *s.set = v, true
	return nil
}

func (s *setString) Type() string { return "string" }
