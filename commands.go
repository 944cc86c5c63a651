package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/headless"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/environ"
	"github.com/drnav/drnav/internal/supervisor"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// pickIncident returns the id given, else the newest incident (open ones
// first when openOnly).
func pickIncident(root string, args []string, openOnly bool) (string, error) {
	if len(args) > 1 {
		return "", usageError{"at most one incident ID"}
	}
	if len(args) == 1 {
		return args[0], nil
	}
	if openOnly {
		s, err := incident.Latest(root)
		if err != nil {
			if errors.Is(err, incident.ErrNoIncident) {
				return "", fmt.Errorf("no open incident in %s (see 'drnav incidents')", root)
			}
			return "", err
		}
		return s.ID, nil
	}
	list, err := incident.List(root)
	if err != nil {
		return "", fmt.Errorf("list incidents: %w", err)
	}
	if len(list) == 0 {
		return "", fmt.Errorf("no incidents in %s", root)
	}
	return list[0].ID, nil
}

func cmdIncidents(a *app, o *cmdOpts, args []string) error {
	if len(args) > 0 {
		return usageError{"incidents takes no arguments"}
	}
	if err := checkOutput(o.output); err != nil {
		return err
	}
	cfg, err := a.loadConfig(o)
	if err != nil {
		return err
	}
	if o.mirrorContext != "" {
		return a.mirroredIncidents(o, cfg)
	}
	list, err := incident.List(cfg.JournalDir)
	if err != nil {
		return fmt.Errorf("list incidents: %w", err)
	}
	if o.output != "" {
		out := incidentListOutput{typeMeta: meta(kindIncidentList), JournalDir: cfg.JournalDir, Items: []incidentItem{}}
		for _, s := range list {
			it := incidentItem{Summary: s, State: incidentState(s)}
			if li, ok := incident.Driver(cfg.JournalDir, s.ID); ok && s.Error == "" {
				it.Driver = &li
			}
			out.Items = append(out.Items, it)
		}
		return writeOutput(a.stdout, o.output, out)
	}
	if len(list) == 0 {
		fmt.Fprintf(a.stdout, "no incidents in %s\n", incident.Printable(cfg.JournalDir))
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRUNBOOK\tMODE\tSTATE\tDETECTED\tOPERATOR\tDRIVER")
	for _, s := range list {
		if s.Error != "" {
			fmt.Fprintf(tw, "%s\t-\t-\tunreadable\t-\t-\t%s\n", incident.Printable(s.ID), incident.Printable(s.Error))
			continue
		}
		state := incidentState(s)
		driver := "-"
		if li, ok := incident.Driver(cfg.JournalDir, s.ID); ok {
			driver = fmt.Sprintf("%s (pid %d)", li.User, li.PID)
		}
		p := incident.Printable
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p(s.ID), p(s.RunbookID), p(s.Mode), state,
			s.Detected.Local().Format("2006-01-02 15:04"), p(s.Operator), p(driver))
	}
	return tw.Flush()
}

// incidentState is the STATE column of 'drnav incidents': open, resolved
// or unreadable.
func incidentState(s incident.Summary) string {
	switch {
	case s.Error != "":
		return "unreadable"
	case s.Resolved:
		return "resolved"
	}
	return "open"
}

// reportFor builds the report of an incident, with the drill trend.
func reportFor(cfg config.Config, rbs []*runbooks.Runbook, id string, now time.Time) (incident.ReportData, error) {
	st, _, _, err := incident.Read(cfg.JournalDir, id)
	if err != nil {
		return incident.ReportData{}, fmt.Errorf("read incident %s: %w", id, err)
	}
	_, rb, err := incidentRunbook(rbs, st)
	if err != nil {
		// The report still stands on the journal alone.
		rb = nil
	}
	r := incident.Report(st, rb, st.RTO, st.RPO, now)
	if withP, err := r.WithParticipants(cfg.JournalDir); err == nil {
		r = withP
	}
	if st.Mode == incident.ModeDrill {
		trend, err := incident.Trend(cfg.JournalDir, st.RunbookID)
		if err == nil {
			r.Trend = trend
		}
	}
	return r, nil
}

func printReport(a *app, r incident.ReportData, format string) error {
	switch format {
	case "md", "markdown", "":
		fmt.Fprint(a.stdout, incident.RenderMarkdown(r))
	case "json", "yaml":
		return writeOutput(a.stdout, format, reportOutput{typeMeta: meta(kindReport), ReportData: r})
	default:
		return usageError{fmt.Sprintf("unknown report format %q (md or json)", format)}
	}
	return nil
}

// forIncident loads what every command about one incident needs: the
// config, the incident's id (given, or the latest) and the runbooks.
func (a *app) forIncident(o *cmdOpts, args []string, openOnly bool) (config.Config, string, []*runbooks.Runbook, error) {
	cfg, err := a.loadConfig(o)
	if err != nil {
		return cfg, "", nil, err
	}
	id, err := pickIncident(cfg.JournalDir, args, openOnly)
	if err != nil {
		return cfg, "", nil, err
	}
	rbs, err := a.loadRunbooks(o)
	return cfg, id, rbs, err
}

func cmdReport(a *app, o *cmdOpts, args []string) error {
	if o.verify {
		return a.cmdVerify(o, args)
	}
	if o.format != "md" && o.format != "json" && o.format != "markdown" {
		return usageError{fmt.Sprintf("unknown --format %q (md or json)", o.format)}
	}
	if err := checkOutput(o.output); err != nil {
		return err
	}
	format := o.format
	if o.output != "" {
		format = o.output // -o json|yaml wins over --format
	}
	if o.mirrorContext != "" {
		if len(args) != 1 {
			return usageError{"report --context needs the incident ID (see 'drnav incidents --context " + o.mirrorContext + "')"}
		}
		done, err := a.fromMirror(o, args[0])
		if err != nil {
			return err
		}
		defer done()
	}
	cfg, id, rbs, err := a.forIncident(o, args, false)
	if err != nil {
		return err
	}
	r, err := reportFor(cfg, rbs, id, time.Now())
	if err != nil {
		return err
	}
	return printReport(a, r, format)
}

func cmdRun(a *app, o *cmdOpts, args []string) error {
	if len(args) != 1 {
		return usageError{"run takes exactly one RUNBOOK id (see 'drnav list')"}
	}
	if o.reportFormat != "" && o.reportFormat != "md" && o.reportFormat != "json" {
		return usageError{fmt.Sprintf("unknown --report %q (md or json)", o.reportFormat)}
	}
	given, err := headless.ParseVars(o.vars)
	if err != nil {
		return usageError{err.Error()}
	}
	hidden, err := headless.ReadVarSources(o.varEnv, o.varFile, os.Getenv, a.stdin)
	if err != nil {
		return err
	}
	for name, v := range hidden {
		if _, dup := given[name]; dup {
			return usageError{fmt.Sprintf("variable %s is set by --var and by --var-env/--var-file", name)}
		}
		given[name] = v
	}
	cfg, err := a.loadConfig(o)
	if err != nil {
		return err
	}
	if err := prepareJournal(cfg); err != nil {
		return err
	}
	rbs, err := a.loadRunbooks(o)
	if err != nil {
		return err
	}
	rb, err := findRunbook(rbs, args[0])
	if err != nil {
		return err
	}
	if rb.Kind == runbooks.KindCadence {
		return fmt.Errorf("%s is a communication cadence, not a procedure: it runs beside an incident in the navigator", rb.ID)
	}
	for _, v := range rb.Variables {
		if _, onCmdLine := hidden[v.Name]; v.Secret && !onCmdLine && given[v.Name] != "" {
			fmt.Fprintf(a.stderr, "drnav run: warning: secret variable %s given with --var is visible to every account on this host (ps, /proc/PID/cmdline); use --var-env %s=ENVVAR or --var-file %s=PATH\n", v.Name, v.Name, v.Name)
		}
	}

	logger, closeLog, err := setupLogging(o.debug)
	if err != nil {
		return err
	}
	defer closeLog()
	logger.Info("headless run", "runbook", rb.ID, "drill", o.drill, "dry_run", o.dryRun)

	if o.fromCluster && (!o.resumeSet || o.drill) {
		return usageError{"--from-cluster goes with --resume ID, and not with --drill"}
	}
	var attach func(*incident.Journal) func()
	if o.resumeSet && !o.drill {
		if err := incident.ValidID(o.resumeID); err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), takeOverTimeout(cfg))
		var release func()
		attach, release, err = a.mirrorTakeOver(ctx, o, cfg, o.resumeID, nil, logger)
		cancel()
		if err != nil {
			return err
		}
		defer release()
	} else if !o.drill {
		// A drill never writes to a real cluster: it is not mirrored.
		if attach, err = a.mirrorNew(o, cfg, nil, logger); err != nil {
			return err
		}
	}

	if o.resumeSet {
		if err := incident.ValidID(o.resumeID); err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
	}
	// SIGINT, SIGTERM and SIGHUP: during setup they cancel it; during the
	// run headless journals them and leaves the running step unfinished.
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigc)
	setupCtx, cancelSetup := context.WithCancel(context.Background())
	defer cancelSetup()
	setupDone := make(chan struct{})
	var setupSig os.Signal
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		select {
		case setupSig = <-sigc:
			cancelSetup()
		case <-setupDone:
		}
	}()
	endSetup := func() error {
		close(setupDone)
		<-watching
		if setupSig != nil {
			return fmt.Errorf("stopped by %s before any step ran", headless.SignalName(setupSig))
		}
		return nil
	}

	env, err := a.environment(setupCtx, o, cfg, rb, false)
	if err != nil {
		_ = endSetup()
		return err
	}
	defer env.Close()
	if k := env.KubeWhere; k != nil {
		fmt.Fprintf(a.stdout, "%s: kube %s\n", strings.ToUpper(env.Mode), k.String())
		if env.FailoverWhere != nil {
			fmt.Fprintf(a.stdout, "%s: failover %s\n", strings.ToUpper(env.Mode), env.FailoverWhere.String())
		}
		fmt.Fprintf(a.stdout, "%s: %s\n", strings.ToUpper(env.Mode), env.Database)
		t := environ.Targets{Primary: *k, Failover: env.FailoverWhere}
		if err := checkContext(o, cfg, t); err != nil {
			return err
		}
	}

	vars, err := headless.ResolveVars(setupCtx, rb, given, env.ConfigValues, env.Choices)
	if serr := endSetup(); serr != nil {
		return serr
	}
	if err != nil {
		return err
	}
	t := *env.Target
	t.DryRun = o.dryRun
	sup, err := stepSupervisor()
	if err != nil {
		return err
	}
	res, runErr := headless.Run(context.Background(), headless.Options{
		Resuming:         o.resumeSet,
		Supervisor:       sup,
		Signals:          sigc,
		Runbook:          rb,
		JournalRoot:      cfg.JournalDir,
		Mode:             env.Mode,
		Declared:         env.Declared(),
		Vars:             vars,
		Target:           t,
		AllowDestructive: o.allowDestructive,
		SkipManual:       o.skipManual,
		Resume:           o.resumeID,
		Attach:           attach,
		Out:              a.stdout,
	})
	if res.ID == "" {
		return runErr
	}
	if env.Recovered != nil {
		ok, why := env.Recovered()
		if ok {
			fmt.Fprintf(a.stdout, "drill: scenario %s recovered\n", rb.Scenario)
		} else {
			fmt.Fprintf(a.stdout, "drill: scenario %s NOT recovered: %s\n", rb.Scenario, why)
			if runErr == nil {
				runErr = fmt.Errorf("drill scenario %s not recovered: %s", rb.Scenario, why)
			}
		}
	}
	if o.reportFormat != "" {
		r, err := reportFor(cfg, rbs, res.ID, time.Now())
		if err != nil {
			return err
		}
		if err := printReport(a, r, o.reportFormat); err != nil {
			return err
		}
	}
	var se *headless.SignalledError
	if errors.As(runErr, &se) {
		fmt.Fprintf(a.stderr, "drnav run: %v (journal %s)\nresume with: drnav run %s --resume %s\n", runErr, res.ID, rb.ID, res.ID)
		return exitError{exitSignal(se.Signal)}
	}
	if runErr != nil {
		fmt.Fprintf(a.stderr, "drnav run: %s (journal %s)\n", incident.Printable(runErr.Error()), res.ID)
		return exitError{exitFailed}
	}
	return nil
}

// incidentRunbook finds the runbook an incident was declared with, by its
// id, among the loaded runbooks (the shipped ones, or --runbooks). The
// runbook_file a journal records is shown in reports but never decides which
// file is loaded: a journal is data, and a forged one must not choose code.
func incidentRunbook(rbs []*runbooks.Runbook, st incident.State) ([]*runbooks.Runbook, *runbooks.Runbook, error) {
	for _, rb := range rbs {
		if rb.ID == st.RunbookID {
			return rbs, rb, nil
		}
	}
	hint := ""
	if st.RunbookFile != "" && !strings.HasPrefix(st.RunbookFile, runbooks.EmbeddedPrefix) {
		hint = fmt.Sprintf(" (it was declared from %s: pass --runbooks with the folder holding it)", incident.Printable(st.RunbookFile))
	}
	return rbs, nil, fmt.Errorf("runbook %q of this incident is not among the loaded runbooks%s", incident.Printable(st.RunbookID), hint)
}

// prepareJournal readies the journal folder for a command that drives an
// incident: created 0700 (or shared with share_group), refused when another
// account owns it or can write to it.
func prepareJournal(cfg config.Config) error {
	return incident.PrepareRoot(cfg.JournalDir, cfg.ShareGroup) // its errors name the folder
}

// stepSupervisor runs shell steps under drnav itself, re-executed as the
// hidden supervisor command.
func stepSupervisor() (*steps.Supervisor, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the drnav binary for the step supervisor: %w", err)
	}
	return &steps.Supervisor{Exe: exe, Args: []string{supervisor.Command}}, nil
}
