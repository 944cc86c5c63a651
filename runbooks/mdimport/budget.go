package mdimport

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// budget is a time budget found in a heading or an item: "(15 minutes)",
// "Timeframe: 2 hours", "(Every 30 minutes)" (a repeating phase).
type budget struct {
	d     time.Duration
	every bool
	text  string // the matched text, removed from the title
}

const (
	unitRE = `(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)\b`
	numRE  = `(\d{1,5}(?:\.\d{1,2})?)(?:\s*(?:-|–|to)\s*(\d{1,5}(?:\.\d{1,2})?))?\s*`
)

var (
	parenBudgetRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\s*\((first|within|every|about|approx\.?|~|up to|max\.?)?\s*` + numRE + unitRE + `\)`)
	})
	labelBudgetRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\b(?:timeframe|time ?frame|time budget|budget|duration|time limit)\s*:\s*(every\s+)?` + numRE + unitRE)
	})
	phasePrefixRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^\s*(?:phase|stage|step)\s+\d+\s*[:.)-]\s*`) })
	numberingRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*\d{1,3}[.)]\s+`) })
)

// maxBudget bounds a budget: anything longer is not a phase budget.
const maxBudget = 1000 * time.Hour

// findBudget looks for a time budget in s.
func findBudget(s string) (budget, bool) {
	if m := parenBudgetRE().FindStringSubmatch(s); m != nil {
		b, ok := mkBudget(m[2], m[3], m[4], strings.EqualFold(m[1], "every"))
		b.text = m[0]
		return b, ok
	}
	if m := labelBudgetRE().FindStringSubmatch(s); m != nil {
		b, ok := mkBudget(m[2], m[3], m[4], m[1] != "")
		b.text = m[0]
		return b, ok
	}
	return budget{}, false
}

func mkBudget(n, upper, unit string, every bool) (budget, bool) {
	if upper != "" {
		n = upper // a range: the budget is its upper end
	}
	v, err := strconv.ParseFloat(n, 64)
	if err != nil || v <= 0 {
		return budget{}, false
	}
	u := strings.ToLower(unit)
	var d time.Duration
	switch {
	case strings.HasPrefix(u, "s"):
		d = time.Duration(v * float64(time.Second))
	case strings.HasPrefix(u, "m"):
		d = time.Duration(v * float64(time.Minute))
	case strings.HasPrefix(u, "h"):
		d = time.Duration(v * float64(time.Hour))
	default:
		d = time.Duration(v * 24 * float64(time.Hour))
	}
	d = d.Round(time.Second)
	if d <= 0 || d > maxBudget {
		return budget{}, false
	}
	return budget{d: d, every: every}, true
}

// cleanTitle strips list numbering, "Phase 1:" and the budget from a title.
func cleanTitle(s string, b budget) string {
	if b.text != "" {
		s = strings.Replace(s, b.text, "", 1)
	}
	s = numberingRE().ReplaceAllString(s, "")
	s = phasePrefixRE().ReplaceAllString(s, "")
	s = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), ":-–—"))
	return s
}
