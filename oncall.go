package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/drnav/drnav/internal/proc"
)

// onCallTimeout bounds the on-call command (a pager CLI over the network).
const onCallTimeout = 5 * time.Second

// resolveOnCall returns who is on call: the configured name, else the first
// line the on-call command prints. A failing command is reported in the
// value itself, so the contacts screen shows it instead of hiding it.
func resolveOnCall(ctx context.Context, name, command string) string {
	if name != "" || command == "" {
		return name
	}
	ctx, cancel := context.WithTimeout(ctx, onCallTimeout)
	defer cancel()
	out, err := proc.Bash(ctx, command).Output()
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil || first == "" {
		if err == nil {
			err = fmt.Errorf("printed nothing")
		}
		return fmt.Sprintf("unknown (on_call_command failed: %v)", err)
	}
	return strings.TrimSpace(first)
}
