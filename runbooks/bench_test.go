package runbooks

import "testing"

// BenchmarkEmbedded measures loading and checking the nine shipped runbooks.
func BenchmarkEmbedded(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Embedded(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLint measures linting the shipped runbooks once loaded.
func BenchmarkLint(b *testing.B) {
	rbs, err := Embedded()
	if err != nil {
		b.Fatal(err)
	}
	steps := 0
	for _, rb := range rbs {
		steps += len(rb.Steps)
	}
	b.ReportAllocs()
	for b.Loop() {
		if f := Lint(rbs, LintOptions{Now: testNow}); len(f) != 0 {
			b.Fatal(f)
		}
	}
	b.ReportMetric(float64(steps), "steps/op")
}
