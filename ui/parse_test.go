package ui

import (
	"testing"
	"time"
)

func TestParseDetection(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 3, 30, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", now, false},
		{"now", now, false},
		{"15m", now.Add(-15 * time.Minute), false},
		{"15 minutes ago", now.Add(-15 * time.Minute), false},
		{"15 min ago", now.Add(-15 * time.Minute), false},
		{"2 hours ago", now.Add(-2 * time.Hour), false},
		{"1h30m ago", now.Add(-90 * time.Minute), false},
		{"30s", now.Add(-30 * time.Second), false},
		{"03:10", time.Date(2026, 11, 25, 3, 10, 0, 0, time.UTC), false},
		{"03:10:30", time.Date(2026, 11, 25, 3, 10, 30, 0, time.UTC), false},
		{"23:50", time.Date(2026, 11, 24, 23, 50, 0, 0, time.UTC), false},
		{"2026-11-25T01:00:00Z", time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC), false},
		{"2027-01-01T00:00:00Z", time.Time{}, true},
		{"25:99", time.Time{}, true},
		{"yesterday-ish", time.Time{}, true},
		{"-5m", time.Time{}, true},
	}
	for _, c := range cases {
		got, err := ParseDetection(c.in, now)
		if c.err {
			if err == nil {
				t.Errorf("ParseDetection(%q) = %v, want error", c.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseDetection(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

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
