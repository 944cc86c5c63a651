package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/drill"
	"github.com/drnav/drnav/headless"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/environ"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/ui"
)

// uiOptions are the options every navigator command shares.
func (a *app) uiOptions(ctx context.Context, o *cmdOpts, cfg config.Config, rbs []*runbooks.Runbook) ui.Options {
	targets := resolveTargets(o, cfg)
	cfg = targets.Pin(cfg)
	opts := ui.Options{
		Runbooks:    rbs,
		Config:      cfg,
		JournalRoot: cfg.JournalDir,
		Mode:        ui.ModeAsk,
		Live:        environ.Description(targets),
		Drill:       environ.DrillDescription(),
		MakeEnv: func(ctx context.Context, mode ui.Mode, rb *runbooks.Runbook) (*ui.Environment, error) {
			oo := *o
			oo.drill = mode == ui.ModeDrill
			return a.environment(ctx, &oo, cfg, rb, true)
		},
		PickContext: a.pickContext(o, cfg),
		ASCII:       o.ascii || !utf8Locale(),
		NoColor:     os.Getenv("NO_COLOR") != "",
		ReadOnly:    o.readOnly,
	}
	if o.drill {
		opts.Mode = ui.ModeDrill
	}
	opts.DrillOnCall, opts.DrillRoster = drill.Roster(cfg.Contacts)
	opts.Briefing = func(rb *runbooks.Runbook, detected time.Time) string {
		if sc, ok := drill.ScenarioByID(rb.Scenario); ok {
			return sc.Briefing(detected)
		}
		return ""
	}
	if cfg.OnCall == "" && cfg.OnCallCommand != "" {
		// Asked once the first frame is drawn: start-up never waits for it.
		command := cfg.OnCallCommand
		opts.OnCall = func(ctx context.Context) string { return resolveOnCall(ctx, "", command) }
	}
	if cfg.NotifyCommand != "" {
		cmd := cfg.NotifyCommand
		opts.Notify = func(ctx context.Context, text string) error { return incident.Notify(ctx, cmd, text) }
	}
	return opts
}

// utf8Locale reports whether the terminal's locale is UTF-8 (the glyphs and
// box drawing need it; otherwise drnav falls back to ASCII).
func utf8Locale() bool {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := os.Getenv(k); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
		}
	}
	return false
}

func (a *app) runUI(ctx context.Context, o *cmdOpts, opts ui.Options) error {
	logger, closeLog, err := a.startLogging(o.debug)
	if err != nil {
		return err
	}
	defer closeLog()
	logger.Info("navigator start", "read_only", opts.ReadOnly, "mode", opts.Mode)
	if opts.Supervisor == nil {
		if sup, err := stepSupervisor(); err == nil {
			opts.Supervisor = sup
		}
	}
	m := ui.New(opts)
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(a.stdin), tea.WithOutput(a.stdout), tea.WithFPS(ui.FPS)}
	if o := knownColorProfile(a.stdout); o != nil {
		popts = append(popts, o)
	}
	p := tea.NewProgram(m, popts...)
	// SIGINT and SIGTERM end the program through Bubble Tea (the terminal
	// is restored); SIGHUP (the session dropped) is turned into a quit too.
	// Each is journalled once; a running step is left as it is.
	sigc := make(chan os.Signal, 3)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigc)
	got := make(chan os.Signal, 1)
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case sig := <-sigc:
			got <- sig
			if sig == syscall.SIGHUP {
				p.Quit()
			}
		case <-stopWatch:
		}
	}()
	final, err := p.Run()
	var sig os.Signal
	select {
	case sig = <-got:
	default:
	}
	if fm, ok := final.(ui.Model); ok {
		if sig != nil {
			if rerr := fm.RecordSignal(headless.SignalName(sig)); rerr != nil {
				logger.Error("journal signal", "err", rerr)
			}
		}
		if cerr := fm.Close(); cerr != nil {
			logger.Error("close", "err", cerr)
		}
		if id := fm.IncidentID(); id != "" {
			fmt.Fprintf(a.stderr, "incident %s: resume with 'drnav resume %s', report with 'drnav report %s'\n", id, id, id)
		}
	}
	if sig != nil {
		if _, ok := sig.(syscall.Signal); ok {
			fmt.Fprintf(a.stderr, "drnav: stopped by %s\n", headless.SignalName(sig))
			return exitError{exitSignal(sig)}
		}
	}
	if err != nil {
		logger.Error("navigator", "err", err)
		return fmt.Errorf("navigator: %w", err)
	}
	return nil
}

// knownColorProfile is the colour profile lipgloss detected for stdout when
// its package was initialised, when out is stdout. Bubble Tea would detect it
// again before the first frame, and inside tmux that detection runs
// `tmux info` (a process and a round trip to the tmux server, 50 ms or more
// on a busy machine) for the same answer.
func knownColorProfile(out io.Writer) tea.ProgramOption {
	if f, ok := out.(*os.File); ok && f == os.Stdout && lipgloss.Writer != nil {
		return tea.WithColorProfile(lipgloss.Writer.Profile)
	}
	return nil
}

func cmdNavigator(a *app, o *cmdOpts, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (commands: see 'drnav --help')", args[0])}
	}
	cfg, rbs, err := a.loadConfigAndRunbooks(o)
	if err != nil {
		return err
	}
	if !o.readOnly {
		if err := prepareJournal(cfg); err != nil {
			return err
		}
	}
	ctx := context.Background()
	opts := a.uiOptions(ctx, o, cfg, rbs)
	if open, err := ui.OpenIncidents(cfg.JournalDir); err == nil {
		opts.Open = open
	}
	if !o.readOnly && !o.drill {
		if err := a.mirrorNavigator(o, cfg, &opts); err != nil {
			return err
		}
	}
	return a.runUI(ctx, o, opts)
}

// resumeEnvironment prepares the environment a resumed incident runs
// against: its own mode and runbook. A LIVE target that cannot be named is
// refused here; the environment itself (clients, informers, database
// prober, simulator) is built by the navigator in a Cmd after the first
// frame (Options.MakeEnv).
func (a *app) resumeEnvironment(o *cmdOpts, cfg config.Config, rbs []*runbooks.Runbook, id string, opts *ui.Options) error {
	st, _, _, err := incident.Read(cfg.JournalDir, id)
	if err != nil {
		return fmt.Errorf("read incident %s: %w", id, err)
	}
	all, _, err := incidentRunbook(rbs, st)
	if err != nil {
		return fmt.Errorf("incident %s: %w", id, err)
	}
	opts.Runbooks = all
	mode := ui.ModeLive
	if st.Mode == incident.ModeDrill {
		mode = ui.ModeDrill
	}
	declaredOn := func(err error) error {
		if st.Mode == incident.ModeLive && st.KubeContext != "" {
			return fmt.Errorf("%w; incident %s was declared on %s", err, id, st.KubeContext)
		}
		return err
	}
	oo := *o
	oo.drill = mode == ui.ModeDrill
	if err := refuseUnresolved(&oo, cfg); err != nil {
		return declaredOn(err)
	}
	opts.Mode = mode
	if mk := opts.MakeEnv; mk != nil {
		opts.MakeEnv = func(ctx context.Context, mode ui.Mode, rb *runbooks.Runbook) (*ui.Environment, error) {
			env, err := mk(ctx, mode, rb)
			if err != nil {
				return nil, declaredOn(err)
			}
			return env, nil
		}
	}
	return nil
}

func cmdResume(a *app, o *cmdOpts, args []string) error {
	cfg, id, rbs, err := a.forIncident(o, args, true)
	if err != nil {
		return err
	}
	if err := prepareJournal(cfg); err != nil {
		return err
	}
	// Before the Lease and the live panes start client-go goroutines.
	_, closeLog, err := a.startLogging(o.debug)
	if err != nil {
		return err
	}
	defer closeLog()
	ctx := context.Background()
	opts := a.uiOptions(ctx, o, cfg, rbs)
	live := &liveMirror{}
	tctx, cancel := context.WithTimeout(ctx, takeOverTimeout(cfg))
	attach, release, err := a.mirrorTakeOver(tctx, o, cfg, id, live, nil)
	cancel()
	if err != nil {
		return err
	}
	defer release()
	r, err := ui.ResumeIncident(cfg.JournalDir, id)
	if err != nil {
		if le, ok := ui.IsLocked(err); ok {
			fmt.Fprintf(a.stderr, "incident %s is driven by %s (pid %d, %s) since %s.\n", id, incident.Printable(le.User), le.PID, incident.Printable(le.TTY),
				le.Since.Local().Format("15:04:05"))
			if !a.ask("Open it read-only instead? [y/N] ") {
				return exitError{exitFailed}
			}
			return a.watch(ctx, o, cfg, rbs, id)
		}
		return err
	}
	if ij, ok := r.Journal.(*incident.Journal); ok && attach != nil {
		r.Journal = ui.Detaching{Journal: ij, Detach: attach(ij)}
		opts.MirrorStatus = live.Status
	}
	opts.Resume = r
	if err := a.resumeEnvironment(o, cfg, rbs, id, &opts); err != nil {
		_ = r.Journal.Close() // releases the driver lock
		return err
	}
	return a.runUI(ctx, o, opts)
}

// ask reads a yes/no answer from stdin; anything but y/yes is no.
func (a *app) ask(prompt string) bool {
	fmt.Fprint(a.stderr, prompt)
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	line = strings.ToLower(strings.TrimSpace(line))
	return line == "y" || line == "yes"
}

func cmdWatch(a *app, o *cmdOpts, args []string) error {
	if o.mirrorContext != "" {
		return a.watchMirror(o, args)
	}
	cfg, id, rbs, err := a.forIncident(o, args, false)
	if err != nil {
		return err
	}
	return a.watch(context.Background(), o, cfg, rbs, id)
}

func (a *app) watch(ctx context.Context, o *cmdOpts, cfg config.Config, rbs []*runbooks.Runbook, id string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if st, _, _, err := incident.Read(cfg.JournalDir, id); err == nil {
		if all, _, err := incidentRunbook(rbs, st); err == nil {
			rbs = all
		}
	}
	opts := a.uiOptions(ctx, o, cfg, rbs)
	opts.ReadOnly = true
	opts.MakeEnv = nil
	opts.Follow = ui.FollowIncident(ctx, cfg.JournalDir, id)
	return a.runUI(ctx, o, opts)
}
