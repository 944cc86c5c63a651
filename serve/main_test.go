package serve

import (
	"os"
	"testing"

	"github.com/drnav/drnav/internal/supervisor"
)

// TestMain lets the test binary act as the step supervisor (drnav
// re-executes itself the same way) and as the benchmark's server process.
func TestMain(m *testing.M) {
	switch {
	case len(os.Args) > 1 && os.Args[1] == supervisor.Command:
		os.Exit(supervisor.Main(os.Args[2:], os.Stdin, os.Stderr))
	case os.Getenv(benchServerEnv) == "1":
		os.Exit(benchServerMain(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}
