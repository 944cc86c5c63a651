package kubetest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/drnav/drnav/internal/tmuxtest"
)

// kubeTmux is a private tmux server of 120×40 windows running the real
// drnav binary against the control plane: the navigator as a person sees
// it. A data race that a -race drnav reports fails the test, in full (the
// terminal keeps only the end of it).
type kubeTmux struct {
	*tmuxtest.T
	raceLog string
}

func newTmux(t *testing.T) *kubeTmux {
	t.Helper()
	tm := &kubeTmux{T: tmuxtest.NewT(t, 120, 40, "DRNAV_REQUIRE_KUBE"), raceLog: filepath.Join(t.TempDir(), "race")}
	t.Cleanup(func() {
		reps, _ := filepath.Glob(tm.raceLog + ".*")
		for _, r := range reps {
			b, _ := os.ReadFile(r)
			t.Errorf("drnav in tmux reported a data race (%s):\n%s", filepath.Base(r), b)
		}
	})
	return tm
}

// tmuxEnv is the environment of a drnav in tmux: a UTF-8 locale, a
// PostgreSQL that refuses at once, the given variables (KUBECONFIG,
// XDG_*…) in place of ours.
func tmuxEnv(extra ...string) []string {
	return tmuxtest.Env(slices.Concat([]string{"PGHOST=127.0.0.1", "PGPORT=1", "PGCONNECT_TIMEOUT=1"}, extra)...)
}

// start runs bin with args and env in window name; when it exits the window
// shows "[exited N]".
func (tm *kubeTmux) start(name string, env []string, bin string, args ...string) {
	tm.Start(name, slices.Concat(env, []string{"GORACE=log_path=" + tm.raceLog}), slices.Concat([]string{bin}, args)...)
}
