package steps

import (
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzShellQuote proves a placeholder value never runs as code: the command
// `printf %s {{v}}` prints exactly v.
func FuzzShellQuote(f *testing.F) {
	f.Add("plain")
	f.Add("$(touch /tmp/drnav-pwned)")
	f.Fuzz(func(t *testing.T, v string) {
		cmd, err := ShellCommand("printf %s {{v}}", map[string]string{"v": v})
		if err != nil {
			if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
				return // refused, never run
			}
			t.Fatalf("ShellCommand(%q): %v", v, err)
		}
		out, err := exec.Command("bash", "-c", shellPrelude+cmd).Output()
		if err != nil {
			t.Fatalf("bash %q: %v", cmd, err)
		}
		if string(out) != v {
			t.Fatalf("value %q printed %q (command %q)", v, out, cmd)
		}
	})
}
