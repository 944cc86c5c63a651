package incident

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// agoRE is compiled on first use (not at start-up: every command pays package
// initialisation); read-only after.
var agoRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d+)\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours)(\s+ago)?$`)
})

// ParseDetection parses when the incident was detected, relative to now:
// "" or "now", a Go duration or "15m", "15 minutes ago", "1h30m ago", or a
// clock time "03:10" / "03:10:30" (today, or yesterday when that would be in
// the future), or RFC 3339. The result is never after now.
func ParseDetection(s string, now time.Time) (time.Time, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, strings.ToUpper(s)); err == nil {
		if t.After(now) {
			return time.Time{}, fmt.Errorf("detection time %q is in the future", s)
		}
		return t, nil
	}
	if strings.Contains(s, ":") && !strings.ContainsFunc(s, unicode.IsLetter) {
		return parseClock(s, now)
	}
	trimmed := strings.TrimSpace(strings.TrimSuffix(s, "ago"))
	if d, err := time.ParseDuration(strings.ReplaceAll(trimmed, " ", "")); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("detection time %q: negative duration", s)
		}
		return now.Add(-d), nil
	}
	if m := agoRE().FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return time.Time{}, fmt.Errorf("detection time %q: %w", s, err)
		}
		unit := time.Second
		switch m[2][0] {
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		}
		return now.Add(-time.Duration(n) * unit), nil
	}
	return time.Time{}, fmt.Errorf("detection time %q: want now, 15m, \"15 minutes ago\" or a clock time like 03:10", s)
}

// DetectionFormats lists what ParseDetection accepts, for the form.
const DetectionFormats = "formats: now · 15m · 15 minutes ago · 1h30m ago · 03:10 · RFC 3339"

// DescribeDetection says what a parsed detection time resolves to:
// "= 03:10 today, 47 min ago".
func DescribeDetection(at, now time.Time) string {
	day := at.Format("Mon 2 Jan")
	switch y, m, d := at.Date(); {
	case now.Year() == y && now.Month() == m && now.Day() == d:
		day = "today"
	case now.AddDate(0, 0, -1).Year() == y && now.AddDate(0, 0, -1).Month() == m && now.AddDate(0, 0, -1).Day() == d:
		day = "yesterday"
	}
	ago := now.Sub(at).Round(time.Minute)
	var rel string
	switch {
	case ago < time.Minute:
		rel = "just now"
	case ago < time.Hour:
		rel = fmt.Sprintf("%d min ago", int(ago.Minutes()))
	case ago%time.Hour == 0:
		rel = fmt.Sprintf("%d h ago", int(ago.Hours()))
	default:
		rel = fmt.Sprintf("%d h %d min ago", int(ago.Hours()), int(ago.Minutes())%60)
	}
	return fmt.Sprintf("= %s %s, %s", at.Format("15:04"), day, rel)
}

func parseClock(s string, now time.Time) (time.Time, error) {
	var t time.Time
	var err error
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err = time.ParseInLocation(layout, s, now.Location()); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("detection time %q: want a clock time like 03:10", s)
	}
	y, mo, d := now.Date()
	at := time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), 0, now.Location())
	if at.After(now) {
		at = at.AddDate(0, 0, -1)
	}
	return at, nil
}
