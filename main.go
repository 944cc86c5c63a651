// Command drnav is a terminal runbook navigator for disaster recovery: it walks
// an on-call engineer through the recovery plan's procedures as checklists,
// runs each step on a keypress, shows live cluster and database state, and
// keeps the incident's clock against the RTO. `drnav --drill` rehearses the
// same procedures against a built-in simulator.
package main

import (
	"io"
	"os"

	"github.com/drnav/drnav/internal/supervisor"
)

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
	return execute(args, &app{stdin: stdin, stdout: stdout, stderr: stderr})
}
