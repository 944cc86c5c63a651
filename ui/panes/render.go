package panes

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// fit truncates s (which may hold ANSI styling) to w cells and pads it
// with spaces to exactly w.
func fit(s string, w int, ellipsis string) string {
	if w <= 0 {
		return ""
	}
	if isPlainASCII(s) {
		switch {
		case len(s) == w:
			return s
		case len(s) < w:
			return s + strings.Repeat(" ", w-len(s))
		case len(ellipsis) < w && isPlainASCII(ellipsis):
			return s[:w-len(ellipsis)] + ellipsis
		}
	}
	if ansi.StringWidth(s) > w {
		tail := ellipsis
		if ansi.StringWidth(tail) >= w {
			tail = ""
		}
		s = ansi.Truncate(s, w, tail)
	}
	if pad := w - ansi.StringWidth(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// block makes exactly h lines of exactly w cells.
func block(lines []string, w, h int, ellipsis string) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(fit(lines[i], w, ellipsis))
		} else {
			b.WriteString(strings.Repeat(" ", w))
		}
	}
	return b.String()
}

// wrap breaks plain text into at most max lines of w cells.
func wrap(s string, w, max int, ellipsis string) []string {
	if w <= 0 || max <= 0 {
		return nil
	}
	lines := strings.Split(ansi.Wrap(s, w, " /-:"), "\n")
	if len(lines) > max {
		lines = lines[:max]
		last := lines[max-1]
		if ansi.StringWidth(last)+ansi.StringWidth(ellipsis) > w {
			last = ansi.Truncate(last, w-ansi.StringWidth(ellipsis), "")
		}
		lines[max-1] = last + ellipsis
	}
	return lines
}

// retryText is "retry in 4s" from the time of the next retry.
func retryText(st Styles, now, next time.Time) string {
	if next.IsZero() {
		return ""
	}
	d := next.Sub(now)
	if d <= 0 {
		return "retrying" + st.Glyphs.Ellipsis
	}
	// Round up: a countdown never shows 0s while still waiting.
	return "retry in " + ShortDuration((d+time.Second-1)/time.Second*time.Second)
}

// ShortDuration renders 45s, 4m, 4m30s (under 10m), 3h12m, 2d4h.
func ShortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		if d == 0 {
			return "0s"
		}
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 10*time.Minute:
		m, s := int(d.Minutes()), int(d.Seconds())%60
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, s)
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}

// age renders a kubectl-style age: 5s, 4m, 3h, 12d.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// latency renders 2ms, 350µs, 1.2s.
func latency(st Styles, d time.Duration) string {
	switch {
	case d <= 0:
		return "?"
	case d < time.Millisecond:
		if st.ASCII {
			return fmt.Sprintf("%dus", d.Microseconds())
		}
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// bytesSize renders sizes as pg_size_pretty does (1024 based).
func bytesSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		v /= unit
		if v < unit {
			if v < 10 {
				return fmt.Sprintf("%.1f %s", v, u)
			}
			return fmt.Sprintf("%.0f %s", v, u)
		}
	}
	return fmt.Sprintf("%.0f PB", v/unit)
}

// fitMiddle shortens plain s to w cells by cutting its middle (pod names
// differ at the end), then pads to w.
func fitMiddle(s string, w int, ellipsis string) string {
	r := []rune(s)
	if len(r) <= w || w <= len([]rune(ellipsis))+2 {
		return fit(s, w, ellipsis)
	}
	keep := w - len([]rune(ellipsis))
	head := keep / 2
	tail := keep - head
	return string(r[:head]) + ellipsis + string(r[len(r)-tail:])
}

// isPlainASCII reports printable ASCII only: one cell a byte, no escapes.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// paint applies a style by its SGR prefix and suffix, rendered once per
// View instead of once per cell.
type paint struct{ pre, post string }

func newPaint(st lipgloss.Style) paint {
	r := st.Render("X")
	i := strings.Index(r, "X")
	if i < 0 {
		return paint{}
	}
	return paint{pre: r[:i], post: r[i+1:]}
}

func (p paint) on(s string) string {
	if p.pre == "" && p.post == "" {
		return s
	}
	return p.pre + s + p.post
}
