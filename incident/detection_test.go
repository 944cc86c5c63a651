package incident

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

func TestDescribeDetection(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 3, 30, 0, 0, time.UTC)
	for _, c := range []struct{ in, want string }{
		{"now", "= 03:30 today, just now"},
		{"03:10", "= 03:10 today, 20 min ago"},
		{"47 minutes ago", "= 02:43 today, 47 min ago"},
		{"2h", "= 01:30 today, 2 h ago"},
		{"1h12m ago", "= 02:18 today, 1 h 12 min ago"},
		{"04:00", "= 04:00 yesterday, 23 h 30 min ago"},
		{"2026-11-20T10:00:00Z", "= 10:00 Fri 20 Nov, 113 h 30 min ago"},
	} {
		at, err := ParseDetection(c.in, now)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := DescribeDetection(at, now); got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

// declareModel is the declare form of the test runbook, the detection
// field focused, with text typed into it.
