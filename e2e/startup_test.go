package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drnav/drnav/internal/tmuxtest"
)

// TestColourProfileAskedOnce: inside tmux, detecting the colour profile runs
// `tmux info`. lipgloss does it once when its package starts; the navigator
// hands that answer to Bubble Tea instead of letting it ask again before the
// first frame.
func TestColourProfileAskedOnce(t *testing.T) {
	t.Parallel()
	real, err := exec.LookPath("tmux")
	if err != nil {
		tmuxtest.Require(t)
	}
	tm := newTerm(t, 100, 30)
	bin := filepath.Join(tm.dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(tm.dir, "tmux-calls")
	wrapper := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + shq(calls) + "\nexec " + shq(real) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "tmux"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	// COLORTERM=truecolor would skip the question altogether.
	tm.extra = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "COLORTERM="}
	tm.start("pick", "--drill")
	tm.WaitFor("pick", "pick the disaster")
	tm.Keys("pick", "Escape")
	tm.WaitFor("pick", "[exited")
	data, err := os.ReadFile(calls)
	if err != nil {
		t.Fatalf("drnav never ran tmux (is TMUX set in the window?): %v", err)
	}
	var infos int
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "info" {
			infos++
		}
	}
	if infos != 1 {
		t.Errorf("drnav ran `tmux info` %d times, want once; calls:\n%s", infos, data)
	}
}
