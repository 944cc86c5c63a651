package ui

import (
	"strings"
	"time"

	"github.com/drnav/drnav/incident"
)

// fuzzyScore reports whether every rune of pattern appears in text in order
// (case-insensitive), and a score: higher for contiguous runs and early
// matches. An empty pattern matches everything with score 0.
func fuzzyScore(pattern, text string) (int, bool) {
	p := []rune(strings.ToLower(pattern))
	if len(p) == 0 {
		return 0, true
	}
	t := []rune(strings.ToLower(text))
	score, pi, last := 0, 0, -2
	for ti, r := range t {
		if pi == len(p) {
			break
		}
		if r != p[pi] {
			continue
		}
		score++
		if ti == last+1 {
			score += 3
		}
		if ti == 0 || t[ti-1] == ' ' || t[ti-1] == '-' {
			score += 2
		}
		last = ti
		pi++
	}
	if pi < len(p) {
		return 0, false
	}
	return score, true
}

// fmtDur is incident.FormatDuration of d's magnitude (callers say "late",
// "over" or "left" themselves).
func fmtDur(d time.Duration) string { return incident.FormatDuration(d.Abs()) }
