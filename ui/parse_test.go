package ui

import (
	"testing"
	"time"
)

func TestFuzzyScore(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pat, text string
		ok        bool
	}{
		{"", "anything", true},
		{"dbc", "Database corruption", true},
		{"corr", "Database corruption", true},
		{"xyz", "Database corruption", false},
		{"POD", "pod failure", true},
		{"failpod", "pod failure", false},
	}
	for _, c := range cases {
		if _, ok := fuzzyScore(c.pat, c.text); ok != c.ok {
			t.Errorf("fuzzyScore(%q, %q) ok = %v, want %v", c.pat, c.text, ok, c.ok)
		}
	}
	a, _ := fuzzyScore("corr", "Database corruption")
	b, _ := fuzzyScore("corr", "cxoxrxr")
	if a <= b {
		t.Errorf("contiguous match scored %d, scattered %d; want contiguous higher", a, b)
	}
}

func TestFmtDur(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45s", 12 * time.Minute: "12m", 72 * time.Minute: "1h12m", 2 * time.Hour: "2h",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
}
