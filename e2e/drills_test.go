package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/drnav/drnav/internal/tmuxtest"
)

// TestDrillWalks walks each of the five disaster drills in tmux the way a
// first-week on-call engineer would: Enter on each step, the confirmations
// answered, expectations and notes typed, nothing else (no hints). Every
// screen on the way is checked (see screenChecker): no word cut without …,
// no {{placeholder}} left, the selected button of a dialog readable as
// text, and the RPO data-age never going back except to data newer than
// the previous screen. Each drill ends with the scenario recovered, is
// resolved, and after resolution the data-age figure stands still.
func TestDrillWalks(t *testing.T) {
	t.Parallel()
	for _, d := range []struct{ id, filter, title string }{
		{"application-failure", "applic", "Application failure"},
		{"data-center-failure", "data cent", "Data center failure"},
		{"network-failure", "network", "Network failure"},
		{"database-corruption", "corrupt", "Database corruption"},
		{"complete-outage", "outage", "Complete system outage"},
	} {
		t.Run(d.id, func(t *testing.T) {
			t.Parallel()
			tm := newTerm(t, 120, 40)
			ck := newScreenChecker(t, 120)
			tm.start("drill", "--drill", "--drill-speed", strconv.Itoa(drillSpeed))
			walkDrill(t, tm, ck, d.filter, d.title)
		})
	}
}

// walkDrill declares the drill picked by filter, walks its steps in order
// and resolves it.
func walkDrill(t *testing.T, tm *term, ck *screenChecker, filter, title string) {
	t.Helper()
	const w = "drill"
	look := func(what string, ok func(string) bool) string {
		t.Helper()
		return tm.WaitUntil(w, what, func(s string) bool {
			ck.check(s)
			return ok(s)
		})
	}
	has := func(texts ...string) func(string) bool {
		return func(s string) bool {
			for _, x := range texts {
				if !strings.Contains(s, x) {
					return false
				}
			}
			return true
		}
	}

	look("the picker", has("pick the disaster"))
	tm.Type(w, filter)
	look("the filter", has("> "+title))
	// The form's detection time is the scenario clock's when the form
	// opens, after this Enter: the time since is an upper bound of what the
	// clock ran since (the form can be on screen a while before a capture
	// sees it, longer on a loaded machine).
	formAsked := time.Now()
	tm.Keys(w, "Enter")
	form := look("the declare form", func(s string) bool {
		return has("Declare: "+title, "Detection time")(s) && detectedRe.MatchString(s)
	})
	detected := detectedRe.FindStringSubmatch(form)[1]
	// Enter through the fields; an empty one takes the first live choice.
	focused := regexp.MustCompile(`(?m)^> (.*\S)\s*$`)
	empty := regexp.MustCompile(`(?m)^> .*\n  >\s*$`)
	for i := 0; ; i++ {
		if i > 20 {
			t.Fatalf("the declare form never closed:\n%s", tm.Screen(w))
		}
		s := look("a focused field", func(s string) bool {
			return strings.Contains(s, "scenario briefing") || focused.MatchString(s)
		})
		if strings.Contains(s, "scenario briefing") {
			break
		}
		field := focused.FindStringSubmatch(s)[1]
		if empty.MatchString(s) {
			tm.Keys(w, "C-n")
			look("a live choice", func(s string) bool { return !empty.MatchString(s) })
		}
		tm.Keys(w, "Enter")
		look("the next field", func(s string) bool {
			m := focused.FindStringSubmatch(s)
			return strings.Contains(s, "scenario briefing") || (m != nil && m[1] != field)
		})
	}
	s := look("the briefing", has("scenario briefing", "Any key starts"))
	// The story's clock is the incident's: paged at the detection time,
	// "now" when the form was sent. The drill's clock runs at drillSpeed
	// while the form is filled in, so the minute may have moved on since the
	// form first showed it, by at most what the scenario clock ran.
	if m := regexp.MustCompile(`PAGER (\d\d:\d\d) `).FindStringSubmatch(s); m == nil {
		t.Errorf("the briefing has no pager line:\n%s", s)
	} else if ahead := minutesAfter(t, detected, m[1]); ahead < 0 || time.Duration(ahead)*time.Minute > time.Since(formAsked)*drillSpeed+time.Minute {
		t.Errorf("the briefing pages at %s, the form said %s %v ago (speed %d):\n%s", m[1], detected, time.Since(formAsked).Round(time.Second), drillSpeed, s)
	}
	tm.Keys(w, "Space")
	s = look("the checklist", func(s string) bool {
		return !strings.Contains(s, "scenario briefing") && tmuxtest.StepLine(s, 1) != ""
	})
	steps := 1
	for tmuxtest.StepLine(s, steps+1) != "" {
		steps++
	}

	for n := 1; n <= steps; n++ {
		// Put the cursor on step n.
		for {
			s := look("the checklist cursor", func(s string) bool { return cursorStep(s) > 0 })
			c := cursorStep(s)
			if c == n {
				break
			}
			k := "j"
			if c > n {
				k = "k"
			}
			tm.Keys(w, k)
			look("the cursor to move", func(s string) bool { return cursorStep(s) != c })
		}
		tm.Keys(w, "Enter")
		answered := map[string]bool{}
		look("step "+strconv.Itoa(n)+" to finish", func(s string) bool {
			line := tmuxtest.StepLine(s, n)
			switch {
			case strings.HasPrefix(line, "✗ "):
				t.Fatalf("step %d failed:\n%s", n, s)
			case strings.Contains(s, "Drill scorecard"):
				return true
			case strings.HasPrefix(line, "✓ ") && !strings.Contains(s, "Run destructive step?"):
				return true
			}
			switch {
			case strings.Contains(s, "Run destructive step?"):
				if m := regexp.MustCompile(`Type (\S+) to confirm`).FindStringSubmatch(s); m != nil {
					if !answered["typed"] {
						answered["typed"] = true
						tm.Type(w, m[1])
					} else if strings.Contains(s, "> "+m[1]) && !answered["tab"] {
						answered["tab"] = true
						tm.Keys(w, "Tab")
					} else if strings.Contains(s, "[ Run ]") && !answered["run"] {
						answered["run"] = true
						tm.Keys(w, "Enter")
					}
				} else if !answered["right"] {
					answered["right"] = true
					tm.Keys(w, "Right")
				} else if strings.Contains(s, "[ Run ]") && !answered["run"] {
					answered["run"] = true
					tm.Keys(w, "Enter")
				}
			case strings.Contains(s, "Shown, not run. What do you expect") && !answered["expect"]:
				answered["expect"] = true
				tm.Type(w, "what the runbook says it shows")
				tm.Keys(w, "Enter")
			case strings.Contains(s, "Done: ") && strings.Contains(s, "what was done") && !answered["done"]:
				answered["done"] = true
				tm.Type(w, "done as the step says")
				tm.Keys(w, "Enter")
			}
			return false
		})
	}

	s = look("the scorecard", has("Drill scorecard", "Scenario: "))
	if !strings.Contains(s, "Scenario: recovered") {
		t.Fatalf("the drill did not end recovered:\n%s", s)
	}
	if !strings.Contains(s, "Hints used: 0") {
		t.Errorf("the walk used no hint, the scorecard says otherwise:\n%s", s)
	}
	tm.Keys(w, "Space")
	look("the scorecard closed", func(s string) bool { return !strings.Contains(s, "Drill scorecard") })
	tm.Keys(w, "R")
	look("the resolve dialog", has("Resolve the incident?"))
	tm.Keys(w, "Right")
	look("Resolve selected", has("[ Resolve ]"))
	ck.resolved = true
	tm.Keys(w, "Enter")
	s = look("resolved", has("incident resolved"))

	// Resolved: the data-age figure stands still over a few clock ticks.
	if age, ok := headerAge(s); ok {
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			s = tm.Screen(w)
			ck.check(s)
			if a, ok := headerAge(s); ok && a != age {
				t.Fatalf("after resolution the data age moved from %s to %s:\n%s", age, a, s)
			}
			time.Sleep(pollInterval)
		}
	}
	tm.quit(w)
	if t.Failed() {
		t.Logf("last screen:\n%s", s)
	}
}

// detectedRe reads the declare form's resolved detection time.
var detectedRe = regexp.MustCompile(`= (\d\d:\d\d) today`)

// drillSpeed is the --drill-speed of the walks: the scenario's clock runs
// this many times faster than the wall.
const drillSpeed = 20

// minutesAfter is how many minutes clock time b ("15:04") is after a,
// across midnight.
func minutesAfter(t *testing.T, a, b string) int {
	t.Helper()
	ta, err := time.Parse("15:04", a)
	if err != nil {
		t.Fatalf("time %q: %v", a, err)
	}
	tb, err := time.Parse("15:04", b)
	if err != nil {
		t.Fatalf("time %q: %v", b, err)
	}
	d := int(tb.Sub(ta).Minutes())
	if d < -12*60 {
		d += 24 * 60
	}
	return d
}

// cursorStep is the step number the checklist's selection marker is on (0
// when none shows).
func cursorStep(screen string) int {
	m := regexp.MustCompile(`(?m)^>\S (\d+) `).FindStringSubmatch(screen)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// walArchiveEvery is how often the drill's database archives a WAL segment
// while up (archive_timeout).
const walArchiveEvery = time.Minute

var (
	headerAgeRe = regexp.MustCompile(`RPO: data ([0-9hms]+) old`)
	paneAgeRe   = regexp.MustCompile(`WAL archived ([0-9hms]+) ago`)
)

func parseAge(s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// headerAge is the header's RPO data-age figure.
func headerAge(screen string) (time.Duration, bool) {
	m := headerAgeRe.FindStringSubmatch(screen)
	if m == nil {
		return 0, false
	}
	return parseAge(m[1])
}

// screenChecker holds what every screen of a walk must satisfy, and what it
// saw last (for the data-age order).
type screenChecker struct {
	t     *testing.T
	w     int
	vocab map[string]bool
	words []string // vocab, for prefix tests
	// resolved: the header's figure is frozen, the pane's goes on.
	resolved bool
	lastAge  time.Duration
	lastAt   time.Time
	haveAge  bool
	seen     int
}

// newScreenChecker builds the vocabulary of whole words from drnav's own
// sources and runbooks: a token at the end of a cut region that is not a
// word but begins one was cut short.
func newScreenChecker(t *testing.T, w int) *screenChecker {
	t.Helper()
	ck := &screenChecker{t: t, w: w, vocab: map[string]bool{}}
	for _, glob := range []string{"../*.go", "../*/*.go", "../*/*/*.go", "../runbooks/*.toml", "../drill/samples/*"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, tok := range strings.FieldsFunc(string(b), func(r rune) bool { return !isWordRune(r) }) {
				ck.vocab[tok] = true
			}
		}
	}
	if len(ck.vocab) < 1000 {
		t.Fatalf("vocabulary of %d words: sources not found", len(ck.vocab))
	}
	for v := range ck.vocab {
		ck.words = append(ck.words, v)
	}
	return ck
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'
}

// cutWord reports whether tok, the text ending a region of the screen, is
// a word cut short: not a whole word itself but the start of a longer one.
func (ck *screenChecker) cutWord(tok string) bool {
	if strings.HasSuffix(tok, "…") {
		return false
	}
	// The word is the run of word characters at the end.
	i := len(tok)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(tok[:i])
		if !isWordRune(r) {
			break
		}
		i -= size
	}
	word := tok[i:]
	if i < len(tok) && i > 0 && strings.TrimRight(tok[len(tok)-1:], "-_") == "" {
		return false
	}
	// A line broken after a hyphen ("half-" then "done") is a word wrap,
	// not a cut: the part before the hyphen is a whole word.
	if stem := strings.TrimSuffix(word, "-"); stem != word && (ck.vocab[stem] || ck.vocab[strings.ToLower(stem)]) {
		return false
	}
	if utf8.RuneCountInString(word) < 3 || ck.vocab[word] || ck.vocab[strings.ToLower(word)] {
		return false
	}
	for _, v := range ck.words {
		if len(v) > len(word) && strings.HasPrefix(v, word) {
			return true
		}
	}
	return false
}

// boxLeftEdges are the cells (row, column) of the left edges of boxes
// drawn from ╭ down to ╰: what ends just before one lies beneath the box.
func boxLeftEdges(lines []string) map[[2]int]bool {
	grid := make([][]rune, len(lines))
	for i, l := range lines {
		grid[i] = []rune(l)
	}
	at := func(r, c int) rune {
		if r < len(grid) && c < len(grid[r]) {
			return grid[r][c]
		}
		return 0
	}
	edges := map[[2]int]bool{}
	for r := range grid {
		for c, ch := range grid[r] {
			if ch != '╭' || c == 0 {
				continue
			}
			for b := r + 1; b < len(grid) && at(b, c) == '│'; b++ {
				edges[[2]int{b, c}] = true
			}
		}
	}
	return edges
}

// check applies the walk's rules to one captured screen.
func (ck *screenChecker) check(screen string) {
	t := ck.t
	t.Helper()
	ck.seen++
	if strings.Contains(screen, "{{") {
		t.Errorf("a placeholder is left on the screen:\n%s", screen)
	}
	lines := strings.Split(strings.TrimSuffix(screen, "\n"), "\n")
	covered := boxLeftEdges(lines)
	for row, l := range lines {
		// Regions end at a box border or at the right edge; text ending at
		// a dialog's left edge is covered by the dialog, not cut.
		segs := strings.Split(l, "│")
		col := 0
		for i, seg := range segs {
			col += utf8.RuneCountInString(seg)
			end := col
			col++ // the border
			last := i == len(segs)-1
			if last && utf8.RuneCountInString(l) < ck.w {
				continue
			}
			if !last && covered[[2]int{row, end}] {
				continue
			}
			if seg == "" || strings.HasSuffix(seg, " ") {
				continue
			}
			f := strings.Fields(seg)
			if len(f) == 0 {
				continue
			}
			if tok := f[len(f)-1]; ck.cutWord(tok) {
				t.Errorf("a word is cut without …: %q in line %q\n%s", tok, l, screen)
			}
		}
		// A dialog's buttons: the selected one reads as text.
		if strings.Contains(l, "Cancel") && regexp.MustCompile(`Cancel .*\b(Run|Confirm|Resolve|Stop)\b|\b(Run|Confirm|Resolve|Stop)\b.* Cancel`).MatchString(l) &&
			!strings.Contains(l, "[ ") {
			t.Errorf("dialog buttons without a textual selection: %q\n%s", l, screen)
		}
	}
	// RPO data age: the header and the pane agree (one figure, one clock),
	// and it only goes back to a newly archived WAL segment: younger than
	// the archive interval plus the scenario time since the last screen. (When a new segment is seen depends on the
	// probe and the machine's load, so the test does not time it.)
	ha, hok := headerAge(screen)
	if m := paneAgeRe.FindStringSubmatch(screen); hok && m != nil && !ck.resolved {
		if pa, ok := parseAge(m[1]); ok && pa != ha {
			t.Errorf("header says data %s old, the PostgreSQL pane %s:\n%s", ha, pa, screen)
		}
	}
	now := time.Now()
	if hok {
		// A segment archived since the last screen is at most one archive
		// interval plus the scenario time since then old (the drill's
		// clock runs at drillSpeed).
		if ck.haveAge && ha < ck.lastAge && ha >= walArchiveEvery+now.Sub(ck.lastAt)*drillSpeed {
			t.Errorf("data age went down from %s to %s (%s later):\n%s", ck.lastAge, ha, now.Sub(ck.lastAt).Round(time.Millisecond), screen)
		}
		ck.lastAge, ck.lastAt, ck.haveAge = ha, now, true
	}
	if t.Failed() {
		t.FailNow()
	}
}
