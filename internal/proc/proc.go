// Package proc runs short helper commands (freshness and region checks,
// notify and on-call commands) so that a timeout or cancel ends the whole
// command, not just bash: each runs in its own process group, the group is
// killed when the context ends, and Wait gives up on pipes a stray grandchild
// still holds.
package proc

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// waitDelay bounds how long Wait waits for output pipes after the kill.
const waitDelay = 2 * time.Second

// Bash returns `bash -c script` bound to ctx, killed with its process group.
func Bash(ctx context.Context, script string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// The negative pid names the group; fall back to the process alone.
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = waitDelay
	return cmd
}
