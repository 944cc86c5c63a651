package runbooks

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the want comments of testdata/bad/*.toml")

// testNow is the date the shipped runbooks are linted at.
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const wantPrefix = "# want: "

// formatFinding renders a finding as the want comments write it.
func formatFinding(f Finding) string {
	if f.Severity == Warning {
		return "warning: " + f.String()
	}
	return f.String()
}

// splitWant separates the leading "# want: " lines of a bad runbook from the rest.
func splitWant(data []byte) (want []string, rest []byte) {
	for {
		line, after, ok := bytes.Cut(data, []byte("\n"))
		if !ok || !bytes.HasPrefix(line, []byte(wantPrefix)) {
			return want, data
		}
		want = append(want, string(line[len(wantPrefix):]))
		data = after
	}
}

// TestBadRunbooks lints every file of testdata/bad alone and compares the
// findings with the "# want: " lines at the top of the file, exactly.
func TestBadRunbooks(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("only %d bad runbooks, want at least 25", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := splitWant(data)
			_, findings := LintPaths([]string{file}, LintOptions{Now: testNow})
			var got []string
			for _, f := range findings {
				got = append(got, formatFinding(f))
			}
			if *update {
				_, rest := splitWant(data)
				var b bytes.Buffer
				for _, g := range got {
					// The want lines shift the file down; they are rewritten until stable.
					b.WriteString(wantPrefix + g + "\n")
				}
				b.Write(rest)
				if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if len(got) == 0 {
				t.Fatal("no findings: a bad runbook must have at least one")
			}
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// LoadFile refuses the same file with its errors.
			var errs []string
			for _, f := range findings {
				// LoadFile checks neither review dates nor the RTO (it does not know the configured one).
				if f.Severity == Error && !strings.HasPrefix(f.Message, "review overdue") && !strings.Contains(f.Message, "past the RTO") {
					errs = append(errs, f.String())
				}
			}
			rb, err := LoadFile(file, data)
			if len(errs) == 0 {
				if err != nil {
					t.Fatalf("LoadFile: %v, want no error (only warnings)", err)
				}
				return
			}
			if err == nil || rb != nil {
				t.Fatalf("LoadFile = %v, %v; want nil and an error", rb, err)
			}
			if err.Error() != strings.Join(errs, "\n") {
				t.Errorf("LoadFile error:\n%v\nwant:\n%s", err, strings.Join(errs, "\n"))
			}
		})
	}
}
