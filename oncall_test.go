package main

import (
	"context"
	"strings"
	"testing"
)

func TestResolveOnCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct{ name, command, want string }{
		{"Alice", "echo Bob", "Alice"},
		{"", "printf 'Bob Smith\\nsecond line\\n'", "Bob Smith"},
		{"", "", ""},
		{"", "exit 3", "unknown (on_call_command failed: exit status 3)"},
		{"", "true", "unknown (on_call_command failed: printed nothing)"},
	}
	for _, c := range cases {
		if got := resolveOnCall(ctx, c.name, c.command); !strings.HasPrefix(got, c.want) || (c.want == "" && got != "") {
			t.Errorf("resolveOnCall(%q, %q) = %q, want %q", c.name, c.command, got, c.want)
		}
	}
}
