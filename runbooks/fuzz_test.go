package runbooks

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// placeholderRE is the definition of a placeholder the scanner implements.
var placeholderRE = regexp.MustCompile(`\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}`)

// FuzzLoad feeds arbitrary text to the loader and the linter: they must
// never panic, and every finding must name the file.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(overdueRunbook))
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, err := LoadFile("fuzz.toml", data)
		if err == nil && rb == nil {
			t.Fatal("LoadFile returned neither a runbook nor an error")
		}
		parsed, findings := parse("fuzz.toml", data)
		if parsed != nil {
			findings = append(findings, Lint([]*Runbook{parsed, parsed}, LintOptions{Now: testNow, Strict: true})...)
			for i := range parsed.Steps {
				parsed.Steps[i].Placeholders()
			}
			for _, v := range parsed.Variables {
				_ = v.Validate("value")
			}
			parsed.ReviewOverdue(testNow)
		}
		for _, f := range findings {
			if f.File != "fuzz.toml" || f.Line < 0 || !strings.HasPrefix(f.String(), "fuzz.toml") {
				t.Fatalf("bad finding %#v", f)
			}
		}
		keyLines(string(data))
		// The hand-written placeholder scanner agrees with the regexp.
		var want []string
		for _, m := range placeholderRE.FindAllStringSubmatch(string(data), -1) {
			if !slices.Contains(want, m[1]) {
				want = append(want, m[1])
			}
		}
		if got := Placeholders(string(data)); !slices.Equal(got, want) {
			t.Fatalf("Placeholders = %q, regexp finds %q", got, want)
		}
	})
}
