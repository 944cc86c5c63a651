// Command drnav is a terminal runbook navigator for disaster recovery: it walks
// an on-call engineer through the recovery plan's procedures as checklists,
// runs each step on a keypress, shows live cluster and database state, and
// keeps the incident's clock against the RTO. `drnav --drill` rehearses the
// same procedures against a built-in simulator.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/supervisor"
)

// exitUsage is returned for bad flags or arguments.
const exitUsage = 2

// usageError marks an error caused by how drnav was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries a specific exit code with an already-printed failure.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// command is one subcommand of drnav.
type command struct {
	name  string
	args  string // usage after the name
	short string
	long  string
	flags func(fs *pflag.FlagSet, o *cmdOpts)
	run   func(a *app, o *cmdOpts, args []string) error
	// touches says the command reaches a cluster or database: it takes the
	// kubectl flags and the drill flags.
	touches bool
}

func main() {
	stop := startProfiles(os.Getenv("DRNAV_PPROF"), os.Stderr)
	code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it parses args, runs the command and
// returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == supervisor.Command {
		// drnav re-executed as a shell step's supervisor (hidden).
		return supervisor.Main(args[1:], stdin, stderr)
	}
	cmds := commands()
	name := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name = args[0]
		args = args[1:]
	}
	if name == "help" {
		if len(args) > 0 {
			name, args = args[0], []string{"--help"}
		} else {
			name, args = "", []string{"--help"}
		}
	}
	var cmd *command
	for i := range cmds {
		if cmds[i].name == name {
			cmd = &cmds[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "drnav: unknown command %q\nRun 'drnav --help' for the commands.\n", name)
		return exitUsage
	}

	o := newCmdOpts()
	fs := pflag.NewFlagSet("drnav "+cmd.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.addGlobal(fs, cmd.touches)
	if cmd.flags != nil {
		cmd.flags(fs, o)
	}
	help := fs.BoolP("help", "h", false, "show help for this command")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "drnav %s: %v\nRun 'drnav %s --help' for usage.\n", cmd.name, err, strings.TrimSpace(cmd.name))
		return exitUsage
	}
	if *help {
		printHelp(stdout, cmd, fs, cmds)
		return 0
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	err := cmd.run(a, o, fs.Args())
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "drnav %s: %v\nRun 'drnav %s --help' for usage.\n", cmd.name, err, cmd.name)
		return exitUsage
	}
	fmt.Fprintf(stderr, "drnav: %s\n", incident.PrintableText(err.Error()))
	return 1
}

func printHelp(w io.Writer, cmd *command, fs *pflag.FlagSet, cmds []command) {
	use := "drnav"
	if cmd.name != "" {
		use += " " + cmd.name
	}
	if cmd.args != "" {
		use += " " + cmd.args
	}
	fmt.Fprintf(w, "%s\n\nUsage:\n  %s\n", cmd.short, use)
	if cmd.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(cmd.long, "\n"))
	}
	if cmd.name == "" {
		fmt.Fprintf(w, "\nCommands:\n")
		sorted := append([]command(nil), cmds...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
		for _, c := range sorted {
			if c.name == "" {
				continue
			}
			fmt.Fprintf(w, "  %-10s %s\n", c.name, c.short)
		}
		fmt.Fprintf(w, "\nRun 'drnav COMMAND --help' for a command's flags.\n")
	}
	fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
}
