package main

import (
	"os"
	"strings"
	"testing"

	"github.com/drnav/drnav/internal/supervisor"
)

// TestMain lets the test binary be drnav, so tests can run the real CLI as a
// separate process: as the step supervisor (drnav re-executes itself with the
// hidden command); with DRNAV_TEST_AS_DRNAV=1 as a drnav process a test can
// signal or SIGKILL; with DRNAV_TEST_RUN_CLI=1 as another account or with a
// real /proc/PID/cmdline (and "follow-test ROOT ID" tails a journal as
// `drnav watch` does).
func TestMain(m *testing.M) {
	asCLI := os.Getenv("DRNAV_TEST_RUN_CLI") == "1"
	if len(os.Args) > 1 && (os.Args[1] == supervisor.Command || os.Getenv("DRNAV_TEST_AS_DRNAV") == "1" || asCLI) {
		if asCLI && len(os.Args) == 4 && os.Args[1] == "follow-test" {
			os.Exit(followOnce(os.Args[2], os.Args[3]))
		}
		code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		if p := os.Getenv("DRNAV_TEST_HWM_FILE"); p != "" {
			// the peak resident set of this process, for the memory bound
			if b, err := os.ReadFile("/proc/self/status"); err == nil {
				for _, l := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(l, "VmHWM:") {
						_ = os.WriteFile(p, []byte(strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))), 0o600)
					}
				}
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}
