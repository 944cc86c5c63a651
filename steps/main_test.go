package steps

import (
	"os"
	"testing"

	"github.com/drnav/drnav/internal/supervisor"
)

// TestMain lets the test binary act as the step supervisor (drnav re-executes
// itself the same way).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == supervisor.Command {
		os.Exit(supervisor.Main(os.Args[2:], os.Stdin, os.Stderr))
	}
	os.Exit(m.Run())
}

// testSupervisor runs shell steps under the test binary as supervisor.
func testSupervisor(t *testing.T) *Supervisor {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &Supervisor{Exe: exe, Args: []string{supervisor.Command}, Root: t.TempDir()}
}
