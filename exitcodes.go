package main

import (
	"fmt"
	"os"
	"syscall"
)

// The exit codes of every drnav command, in one place. exitCodesHelp
// documents them in 'drnav run --help'; the README has the same table, and
// TestExitCodes runs a command into each of them.
const (
	// exitOK: the command did what it was asked.
	exitOK = 0
	// exitFailed: the command failed. For run: a step failed (non-zero
	// exit or a verification that did not hold), a destructive step was
	// refused (not in --allow-destructive), a manual step was met without
	// --skip-manual, a resumed step's outcome is unknown, or a drill's
	// scenario was not recovered. For lint: a finding of severity error.
	// For every command: an error such as a broken config or an unknown
	// runbook or incident.
	exitFailed = 1
	// exitUsage: bad flags or arguments; nothing was done.
	exitUsage = 2
	// exitVerify: report --verify found a journal copy whose hash chain is
	// broken (an event changed, removed or unlinked), a copy that lost its
	// tail, or copies that differ. A copy merely behind is not this.
	exitVerify = 3
	// exitSignalBase + the signal number: drnav (run, the navigator,
	// resume) was stopped by a signal, which it journalled: 130 SIGINT,
	// 143 SIGTERM, 129 SIGHUP. A step already running goes on detached.
	exitSignalBase = 128
)

// exitSignal is the exit code of a command stopped by sig.
func exitSignal(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return exitSignalBase + int(s)
	}
	return exitSignalBase + int(syscall.SIGTERM)
}

// exitCodesHelp is the exit code table of the help texts.
func exitCodesHelp() string {
	return fmt.Sprintf(`Exit codes (every command):
  %-6d success
  %-6d failure: a step failed or its verification did not hold, a destructive
         step was refused, a manual step without --skip-manual, a resumed
         step with an unknown outcome, a drill scenario not recovered; lint:
         a finding of severity error; any command: another error (config,
         runbook, journal)
  %-6d usage: bad flags or arguments, nothing was done
  %-6d report --verify: a journal copy's hash chain is broken, it lost its
         tail, or two copies differ (one merely behind is fine)
  %-6s stopped by signal n, journalled: 130 SIGINT, 143 SIGTERM, 129 SIGHUP
         (run: resume with 'drnav run RUNBOOK --resume ID')`, exitOK, exitFailed, exitUsage, exitVerify, fmt.Sprintf("%d+n", exitSignalBase))
}
