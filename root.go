package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/drnav/drnav/incident"
)

// usageError marks an error caused by how drnav was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries a specific exit code with an already-printed failure.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// commandError is an error of a command's own work (not of how it was
// called): drnav prints it and exits with exitFailed.
type commandError struct{ err error }

func (e commandError) Error() string { return e.err.Error() }
func (e commandError) Unwrap() error { return e.err }

// execute runs the command line args on a fresh command tree and returns
// the exit code, having printed any error.
func execute(args []string, a *app) int {
	root, err := newRootCmd(a, newCmdOpts())
	if err != nil {
		fmt.Fprintf(a.stderr, "drnav: %v\n", err)
		return exitFailed
	}
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ce commandError
	var ue usageError
	if errors.As(err, &ce) && !errors.As(err, &ue) {
		fmt.Fprintf(a.stderr, "drnav: %s\n", incident.PrintableText(ce.Error()))
		return exitFailed
	}
	// A usage error of ours, or cobra's (unknown flag, bad flag value).
	path := "drnav"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	fmt.Fprintf(a.stderr, "%s: %s\nRun '%s --help' for usage.\n", path, incident.PrintableText(err.Error()), path)
	return exitUsage
}

// newRootCmd builds drnav's command tree from the table of commands: one
// cobra command each, with its own flags bound to o, value completion, and
// the hidden __complete and the completion command cobra adds.
func newRootCmd(a *app, o *cmdOpts) (*cobra.Command, error) {
	var root *cobra.Command
	var subs []*cobra.Command
	for _, c := range commands() {
		cc, err := a.cobraCommand(c, o)
		if err != nil {
			return nil, err
		}
		if c.name == "" {
			root = cc
		} else {
			subs = append(subs, cc)
		}
	}
	root.AddCommand(subs...)
	// --version is drnav's own flag, not cobra's: cobra prints a version
	// through text/template, whose reflection (MethodByName) keeps every
	// exported method of every type in the binary, so the linker could
	// not drop dead code (about half the binary, and pages every command
	// maps). Same name, shorthand, usage text and annotation as cobra's.
	var showVersion bool
	root.Flags().BoolVarP(&showVersion, "version", "v", false, "version for drnav")
	if err := root.Flags().SetAnnotation("version", cobra.FlagSetByCobraAnnotation, []string{"true"}); err != nil {
		return nil, err
	}
	runRoot := root.RunE
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if showVersion {
			_, err := fmt.Fprint(cmd.OutOrStdout(), readBuildInfo().String())
			return err
		}
		return runRoot(cmd, args)
	}
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SuggestionsMinimumDistance = 2
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	// The navigator takes no arguments: a word there is a mistyped command.
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 || showVersion {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q", args[0])
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return usageError{msg}
	}
	return root, nil
}

// cobraCommand turns one entry of the command table into a cobra command.
func (a *app) cobraCommand(c command, o *cmdOpts) (*cobra.Command, error) {
	use := c.name
	if c.name == "" {
		use = "drnav"
	}
	if c.args != "" {
		use += " " + c.args
	}
	long := c.short
	if c.long != "" {
		long += "\n\n" + strings.TrimRight(c.long, "\n")
	}
	run := c.run
	cc := &cobra.Command{
		Use:   use,
		Short: c.short,
		Long:  long,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := run(a, o, args); err != nil {
				return commandError{err}
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	if c.complete != nil {
		cc.ValidArgsFunction = c.complete(a, o)
	}
	fs := cc.Flags()
	o.addGlobal(fs, c.touches)
	if c.flags != nil {
		c.flags(fs, o)
	}
	if c.output {
		fs.StringVarP(&o.output, "output", "o", "", "machine-readable output: json or yaml (schema "+apiVersion+")")
	}
	if err := a.registerFlagCompletions(cc, o); err != nil {
		return nil, fmt.Errorf("command %s: %w", use, err)
	}
	return cc, nil
}
