package incident

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/drnav/drnav/internal/proc"
	"github.com/drnav/drnav/runbooks"
)

// The plan's communication cadence.
const (
	NotificationWithin = 15 * time.Minute
	UpdateEvery        = 30 * time.Minute
	ReviewWithin       = 24 * time.Hour
	NotifyTimeout      = 30 * time.Second
)

// Kinds of DueItem (the same words as status_posted kinds).
const (
	DueNotification = KindNotification
	DueUpdate       = KindUpdate
	DueReview       = KindReview
)

// DueItem is one communication duty of the plan.
type DueItem struct {
	Kind      string        `json:"kind"`
	Title     string        `json:"title"`
	Due       time.Time     `json:"due"`
	Remaining time.Duration `json:"remaining_ns"` // negative = overdue
	Done      bool          `json:"done"`
	DoneAt    time.Time     `json:"done_at,omitempty"`
	Whom      []string      `json:"whom,omitempty"`
}

// Overdue reports whether the item is not done and past due.
func (d DueItem) Overdue() bool { return !d.Done && d.Remaining < 0 }

func (s State) lastUpdate(kind string) (StatusUpdate, bool) {
	for i := len(s.Updates) - 1; i >= 0; i-- {
		if s.Updates[i].Kind == kind {
			return s.Updates[i], true
		}
	}
	return StatusUpdate{}, false
}

func (s State) firstUpdate(kind string) (StatusUpdate, bool) {
	for _, u := range s.Updates {
		if u.Kind == kind {
			return u, true
		}
	}
	return StatusUpdate{}, false
}

// Cadence lists the communication duties at now: the notification (within
// 15 minutes of detection), the next status update (30 minutes after
// detection, then 30 minutes after the last one posted; none once resolved)
// and, once resolved, the post-incident review (within 24 hours).
func (s State) Cadence(now time.Time) []DueItem {
	if s.Detected.IsZero() {
		return nil
	}
	var items []DueItem
	n := DueItem{
		Kind: DueNotification, Title: "Incident notification",
		Due:  s.Detected.Add(NotificationWithin),
		Whom: []string{"Alert team members", "Create incident channel", "Assign incident commander"},
	}
	if u, ok := s.firstUpdate(KindNotification); ok {
		n.Done, n.DoneAt = true, u.Time
	}
	items = append(items, n)

	up := DueItem{
		Kind: DueUpdate, Title: "Status update",
		Due:  s.Detected.Add(UpdateEvery),
		Whom: []string{"Post to incident channel", "Update status page", "Notify stakeholders"},
	}
	if u, ok := s.lastUpdate(KindUpdate); ok {
		up.Due = u.Time.Add(UpdateEvery)
	}
	if s.Resolved {
		up.Done, up.DoneAt = true, s.ResolvedAt
	}
	items = append(items, up)

	if s.Resolved {
		r := DueItem{
			Kind: DueReview, Title: "Post-incident review",
			Due:  s.ResolvedAt.Add(ReviewWithin),
			Whom: []string{"Post-mortem meeting", "Document lessons learned", "Update procedures"},
		}
		if u, ok := s.firstUpdate(KindReview); ok {
			r.Done, r.DoneAt = true, u.Time
		}
		items = append(items, r)
	}
	for i := range items {
		items[i].Remaining = items[i].Due.Sub(now)
	}
	return items
}

// Next is the earliest duty not yet done.
func (s State) Next(now time.Time) (DueItem, bool) {
	var best DueItem
	found := false
	for _, it := range s.Cadence(now) {
		if it.Done {
			continue
		}
		if !found || it.Due.Before(best.Due) {
			best, found = it, true
		}
	}
	return best, found
}

// StatusText drafts a status update in the CAN form (Conditions, Actions,
// Needs) at now.
func (s State) StatusText(rb *runbooks.Runbook, now time.Time) string {
	c := s.Clock(rb, now, 0)
	var b strings.Builder
	title := s.RunbookTitle
	if title == "" && rb != nil {
		title = rb.Title
	}
	mode := ""
	if s.Mode == ModeDrill {
		mode = " (DRILL)"
	}
	fmt.Fprintf(&b, "Status %s: %s%s\n", now.Format("15:04"), title, mode)
	if s.ID != "" {
		fmt.Fprintf(&b, "Incident %s, detected %s.\n", s.ID, s.Detected.Format("2006-01-02 15:04"))
	}

	b.WriteString("\nConditions:\n")
	if s.Resolved {
		fmt.Fprintf(&b, "- Resolved at %s after %s.\n", s.ResolvedAt.Format("15:04"), fmtDur(c.Elapsed))
	} else if pc, ok := c.CurrentPhase(); ok {
		fmt.Fprintf(&b, "- Phase %d/%d %s: %s of %s budget.\n", c.Current+1, len(c.Phases), pc.Title, fmtDur(pc.Elapsed), fmtDur(pc.Budget))
	}
	if c.RTO > 0 {
		fmt.Fprintf(&b, "- %s elapsed of RTO %s (%s).\n", fmtDur(c.Elapsed), fmtDur(c.RTO), leftOrOver(c.Remaining))
		if !s.Resolved {
			fmt.Fprintf(&b, "- Projected finish %s after detection (%s), %s.\n", fmtDur(c.Projected), s.Detected.Add(c.Projected).Format("15:04"), marginText(c.Margin))
		}
	} else {
		fmt.Fprintf(&b, "- %s elapsed.\n", fmtDur(c.Elapsed))
	}

	since := time.Time{}
	if u, ok := s.lastUpdate(KindUpdate); ok {
		since = u.Time
	}
	b.WriteString("\nActions")
	if !since.IsZero() {
		fmt.Fprintf(&b, " since the last update (%s)", since.Format("15:04"))
	}
	b.WriteString(":\n")
	nact := 0
	for _, id := range s.orderedSteps(rb) {
		st := s.Steps[id]
		if st == nil || st.Finished.IsZero() || !st.Finished.After(since) {
			continue
		}
		switch st.Status {
		case StepDone:
			fmt.Fprintf(&b, "- Done: %s (%s).\n", stepTitle(rb, id), fmtDur(st.Duration))
		case StepSkipped:
			fmt.Fprintf(&b, "- Skipped: %s (%s).\n", stepTitle(rb, id), st.SkipReason)
		default:
			continue
		}
		nact++
	}
	if nact == 0 {
		b.WriteString("- None completed.\n")
	}
	for _, id := range s.orderedSteps(rb) {
		if st := s.Steps[id]; st != nil && st.Status == StepRunning {
			fmt.Fprintf(&b, "- In progress: %s (since %s).\n", stepTitle(rb, id), st.Started.Format("15:04"))
		}
	}

	b.WriteString("\nNeeds:\n")
	nneed := 0
	for _, id := range s.orderedSteps(rb) {
		st := s.Steps[id]
		switch {
		case st == nil:
		case st.Status == StepFailed:
			what := fmt.Sprintf("exit %d", st.Exit)
			if st.Err != "" {
				what = st.Err
			} else if st.Verified != nil && !*st.Verified {
				what = "verification failed"
			}
			fmt.Fprintf(&b, "- Failed: %s (%s).\n", stepTitle(rb, id), what)
			nneed++
		case st.Status == StepInterrupted:
			fmt.Fprintf(&b, "- Interrupted, outcome unknown: %s.\n", stepTitle(rb, id))
			nneed++
		}
	}
	for _, it := range s.Cadence(now) {
		if it.Overdue() && it.Kind != DueUpdate {
			fmt.Fprintf(&b, "- %s overdue by %s.\n", it.Title, fmtDur(-it.Remaining))
			nneed++
		}
	}
	if !s.Resolved && c.RTO > 0 && c.Margin < 0 {
		fmt.Fprintf(&b, "- Projected to miss the RTO by %s.\n", fmtDur(-c.Margin))
		nneed++
	}
	if nneed == 0 {
		b.WriteString("- Nothing blocking.\n")
	}
	return b.String()
}

// orderedSteps lists touched step ids in runbook order, then any others in
// the order the journal first touched them.
func (s State) orderedSteps(rb *runbooks.Runbook) []string {
	var out []string
	seen := map[string]bool{}
	if rb != nil {
		for i := range rb.Steps {
			id := rb.Steps[i].ID
			if _, ok := s.Steps[id]; ok && !seen[id] {
				out = append(out, id)
				seen[id] = true
			}
		}
	}
	for _, id := range s.StepOrder {
		if !seen[id] {
			out = append(out, id)
			seen[id] = true
		}
	}
	return out
}

func stepTitle(rb *runbooks.Runbook, id string) string {
	if rb != nil {
		if i := rb.StepByID(id); i >= 0 && rb.Steps[i].Title != "" {
			return rb.Steps[i].Title
		}
	}
	return id
}

// Notify runs `bash -c command` with text on stdin (at most NotifyTimeout).
// A failure is wrapped with the tail of the command's stderr.
func Notify(ctx context.Context, command, text string) error {
	if strings.TrimSpace(command) == "" {
		return fmt.Errorf("notify: no notify command configured")
	}
	ctx, cancel := context.WithTimeout(ctx, NotifyTimeout)
	defer cancel()
	cmd := proc.Bash(ctx, command)
	cmd.Stdin = strings.NewReader(text)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %s: %w", NotifyTimeout, err)
		}
		if tail := tailText(stderr.String(), 5, 500); tail != "" {
			return fmt.Errorf("notify: %w: %s", err, tail)
		}
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// tailText keeps the last n lines of s, at most max bytes, on one line.
func tailText(s string, n, maxBytes int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.TrimSpace(strings.Join(lines, " | "))
	if len(out) > maxBytes {
		out = "…" + out[len(out)-maxBytes:]
	}
	return out
}

// fmtDur writes a span of time for people: 45s, 12m, 1h05m, 4h, -3m.
// Seconds are rounded; under half a second is "0s", never "-0s".
func fmtDur(d time.Duration) string {
	neg := d < 0
	d = d.Abs().Round(time.Second)
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d/time.Minute))
	case d%time.Hour < time.Minute:
		s = fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	if neg && d > 0 {
		return "-" + s
	}
	return s
}

// FormatDuration writes a span of time the way drnav shows it everywhere
// (clock, budgets, step durations, report): 45s, 12m, 1h05m, 4h. Pod and
// backup ages are written as kubectl writes ages (duration.HumanDuration).
func FormatDuration(d time.Duration) string { return fmtDur(d) }

func leftOrOver(rem time.Duration) string {
	if rem >= 0 {
		return fmtDur(rem) + " left"
	}
	return fmtDur(-rem) + " over"
}

func marginText(m time.Duration) string {
	if m >= 0 {
		return fmtDur(m) + " inside the RTO"
	}
	return fmtDur(-m) + " beyond the RTO"
}
