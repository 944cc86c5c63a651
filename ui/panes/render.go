package panes

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"k8s.io/apimachinery/pkg/util/duration"
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

// ShortDuration renders an age or a wait the way kubectl writes ages
// (45s, 4m30s, 3h12m, 2d4h); under a second in milliseconds. The header's
// data age and the panes use it, so both show one figure.
func ShortDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return duration.HumanDuration(d)
}

// age renders a pod's age exactly as kubectl's AGE column does (5s, 4m30s,
// 3h12m, 12d).
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t))
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
