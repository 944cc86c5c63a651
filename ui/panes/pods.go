package panes

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/drnav/drnav/live"
)

// PodsPane lists the pods of one context, worst first, with a selection
// that scrolls. The snapshot arrives sorted; View renders only the visible
// window.
type PodsPane struct {
	Styles Styles
	Now    time.Time // the clock of ages and retry countdowns

	snap          live.KubeSnapshot
	has           bool
	width, height int
	sel, offset   int
}

// NewPodsPane returns an empty pane.
func NewPodsPane(st Styles) *PodsPane { return &PodsPane{Styles: st} }

// SetSize sets the pane's outer size in cells.
func (p *PodsPane) SetSize(w, h int) {
	p.width, p.height = w, h
	p.clamp()
}

// SetSnapshot replaces the data, keeping the selected pod selected when it
// is still there.
func (p *PodsPane) SetSnapshot(s live.KubeSnapshot) {
	name, ok := p.Selected()
	p.snap, p.has = s, true
	if ok {
		if p.sel < len(s.Pods) && s.Pods[p.sel].Name == name {
			// unchanged position
		} else {
			for i := range s.Pods {
				if s.Pods[i].Name == name {
					p.sel = i
					break
				}
			}
		}
	}
	p.clamp()
}

// Snapshot is the data shown.
func (p *PodsPane) Snapshot() live.KubeSnapshot { return p.snap }

// Up moves the selection one row up.
func (p *PodsPane) Up() { p.sel--; p.clamp() }

// Down moves the selection one row down.
func (p *PodsPane) Down() { p.sel++; p.clamp() }

// PageUp moves the selection one page up.
func (p *PodsPane) PageUp() { p.sel -= max(p.rows(), 1); p.clamp() }

// PageDown moves the selection one page down.
func (p *PodsPane) PageDown() { p.sel += max(p.rows(), 1); p.clamp() }

// Top selects the first (worst) pod.
func (p *PodsPane) Top() { p.sel = 0; p.clamp() }

// Bottom selects the last pod.
func (p *PodsPane) Bottom() { p.sel = len(p.snap.Pods) - 1; p.clamp() }

// Selected returns the selected pod's name.
func (p *PodsPane) Selected() (string, bool) {
	if p.sel < 0 || p.sel >= len(p.snap.Pods) {
		return "", false
	}
	return p.snap.Pods[p.sel].Name, true
}

// Index is the selected row (0-based).
func (p *PodsPane) Index() int { return p.sel }

// errLines is how many lines the error state takes above the rows.
func (p *PodsPane) errLines() int {
	if p.snap.Err == "" {
		return 0
	}
	if len(p.snap.Pods) > 0 {
		return 1 // one line: error · retry (the cached pods stay below)
	}
	return p.height - 1
}

// rows is how many pod rows fit.
func (p *PodsPane) rows() int {
	if p.height < 3 {
		return 0
	}
	r := p.height - 1 - p.errLines()
	if p.height >= 4 {
		r-- // header
	}
	return max(r, 0)
}

func (p *PodsPane) clamp() {
	n := len(p.snap.Pods)
	p.sel = min(max(p.sel, 0), max(n-1, 0))
	rows := p.rows()
	if rows <= 0 {
		p.offset = p.sel
		return
	}
	if p.sel < p.offset {
		p.offset = p.sel
	}
	if p.sel >= p.offset+rows {
		p.offset = p.sel - rows + 1
	}
	p.offset = min(max(p.offset, 0), max(n-rows, 0))
}

// counts is "2 running · 1 crashloop".
func (p *PodsPane) counts(styled bool) string {
	st := p.Styles
	parts := make([]string, 0, len(p.snap.Counts))
	for _, c := range p.snap.Counts {
		t := fmt.Sprintf("%d %s", c.N, c.State)
		if styled {
			t = st.severity(c.Severity).Render(t)
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, st.Glyphs.Sep)
}

// title is "Pods app=x @ctx · 2 running · 1 crashloop"; the context, then
// the selector, make way for the counts when the width is short.
func (p *PodsPane) title(w int) string {
	st := p.Styles
	tail := ""
	if c := p.counts(true); c != "" {
		tail += st.Glyphs.Sep + c
	}
	if p.snap.Err != "" && len(p.snap.Pods) > 0 {
		tail += st.Glyphs.Sep + st.Warn.Render("stale")
	}
	head := st.Title.Render("Pods")
	sel, ctx := "", ""
	if p.snap.Selector != "" {
		sel = " " + st.Accent.Render(p.snap.Selector)
	}
	if p.snap.Context != "" {
		ctx = st.Subtle.Render(" @" + p.snap.Context)
	}
	for _, t := range []string{head + sel + ctx + tail, head + sel + tail} {
		if lipWidth(t) <= w {
			return t
		}
	}
	return head + tail
}

// View renders exactly the pane's size.
func (p *PodsPane) View() string {
	w, h := p.width, p.height
	st := p.Styles
	if w <= 0 || h <= 0 {
		return ""
	}
	if h < 3 {
		return block([]string{p.summary()}, w, h, st.Glyphs.Ellipsis)
	}
	lines := make([]string, 0, h)
	title := p.title(w)
	if n := len(p.snap.Pods); n > p.rows() && p.rows() > 0 {
		pos := fmt.Sprintf(" %d/%d", p.sel+1, n)
		if t := p.title(w - len(pos)); lipWidth(t)+len(pos) <= w {
			title = t + st.Subtle.Render(pos)
		} else if lipWidth(title)+len(pos) <= w {
			title = fit(title, w-len(pos), st.Glyphs.Ellipsis) + st.Subtle.Render(pos)
		}
	}
	lines = append(lines, title)

	switch {
	case !p.has:
		lines = append(lines, st.Subtle.Render("waiting for the cluster"+st.Glyphs.Ellipsis))
		return block(lines, w, h, st.Glyphs.Ellipsis)
	case p.snap.Err != "" && len(p.snap.Pods) == 0:
		msg := st.Glyphs.Fail + " " + p.snap.Err
		retry := retryText(st, p.Now, p.snap.NextRetry)
		room := h - 1
		if retry != "" {
			room--
		}
		for _, l := range wrap(msg, w, max(room, 1), st.Glyphs.Ellipsis) {
			lines = append(lines, st.Fail.Render(l))
		}
		if retry != "" {
			lines = append(lines, st.Subtle.Render(retry))
		}
		return block(lines, w, h, st.Glyphs.Ellipsis)
	case p.snap.Err != "":
		l := st.Fail.Render(st.Glyphs.Fail + " " + p.snap.Err)
		if r := retryText(st, p.Now, p.snap.NextRetry); r != "" {
			l = st.Subtle.Render(r) + " " + l
		}
		lines = append(lines, l)
	case len(p.snap.Pods) == 0 && !p.snap.Synced:
		lines = append(lines, st.Subtle.Render("syncing"+st.Glyphs.Ellipsis))
		return block(lines, w, h, st.Glyphs.Ellipsis)
	case len(p.snap.Pods) == 0:
		msg := "no pods"
		if p.snap.Selector != "" {
			msg += " match " + p.snap.Selector
		}
		lines = append(lines, st.Subtle.Render(msg))
		return block(lines, w, h, st.Glyphs.Ellipsis)
	}

	cols := podColumns(w)
	if h >= 4 {
		lines = append(lines, st.Header.Render(cols.header()))
	}
	end := min(p.offset+p.rows(), len(p.snap.Pods))
	pt := p.paints()
	var b strings.Builder
	b.WriteString(block(lines, w, len(lines), st.Glyphs.Ellipsis))
	for i := p.offset; i < end; i++ {
		b.WriteByte('\n')
		b.WriteString(p.row(cols, pt, p.snap.Pods[i], i == p.sel, w))
	}
	for i := len(lines) + end - p.offset; i < h; i++ {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(" ", w))
	}
	return b.String()
}

func lipWidth(s string) int { return ansi.StringWidth(s) }

// summary is the one-line form for tiny heights.
func (p *PodsPane) summary() string {
	st := p.Styles
	s := st.Title.Render("Pods")
	switch {
	case !p.has:
		return s + " " + st.Subtle.Render("waiting"+st.Glyphs.Ellipsis)
	case p.snap.Err != "":
		s += " " + st.Fail.Render(st.Glyphs.Fail+" "+p.snap.Err)
		if r := retryText(st, p.Now, p.snap.NextRetry); r != "" {
			s = st.Title.Render("Pods") + " " + st.Subtle.Render(r) + " " + st.Fail.Render(st.Glyphs.Fail+" "+p.snap.Err)
		}
		return s
	case len(p.snap.Pods) == 0 && !p.snap.Synced:
		return s + " " + st.Subtle.Render("syncing"+st.Glyphs.Ellipsis)
	case len(p.snap.Pods) == 0:
		return s + " " + st.Subtle.Render("none")
	}
	return s + " " + p.counts(true)
}

// columns of the pods table for one width.
type columns struct {
	name, ready, status, restarts, age, node int
}

const marker = 2

// podColumns fits the columns to w, dropping node, restarts, age and ready
// (in that order) before the name gets narrower than 12 cells.
func podColumns(w int) columns {
	c := columns{ready: 5, status: 17, restarts: 8, age: 5, node: 16}
	if w < 100 {
		c.status, c.restarts, c.node = 16, 3, 12
	}
	if w < 34 {
		c.status = 12
	}
	minName := 12
	if w < 34 {
		minName = 8
	}
	used := func() int {
		n := marker
		for _, v := range []int{c.ready, c.status, c.restarts, c.age, c.node} {
			if v > 0 {
				n += v + 1
			}
		}
		return n
	}
	for _, drop := range []*int{&c.node, &c.restarts, &c.age, &c.ready} {
		if w-used() >= minName {
			break
		}
		*drop = 0
	}
	c.name = max(w-used(), 1)
	if c.node > 0 && c.name > 40 { // give the spare room to the node
		c.node += c.name - 40
		c.name = 40
	}
	return c
}

func (c columns) header() string {
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", marker))
	cell(&b, "NAME", c.name, false)
	cell(&b, "READY", c.ready, false)
	cell(&b, "STATUS", c.status, false)
	rs := "RESTARTS"
	if c.restarts < len(rs) {
		rs = "RST"
	}
	cell(&b, rs, c.restarts, true)
	cell(&b, "AGE", c.age, true)
	cell(&b, "NODE", c.node, false)
	return strings.TrimRight(b.String(), " ")
}

// cell writes s fitted to w plus a gap; nothing when the column is hidden.
func cell(b *strings.Builder, s string, w int, right bool) {
	if w <= 0 {
		return
	}
	if b.Len() > marker {
		b.WriteByte(' ')
	}
	n := len([]rune(s))
	switch {
	case n > w:
		r := []rune(s)
		b.WriteString(string(r[:w]))
	case right:
		b.WriteString(strings.Repeat(" ", w-n))
		b.WriteString(s)
	default:
		b.WriteString(s)
		b.WriteString(strings.Repeat(" ", w-n))
	}
}

// rowPaints are the row styles, rendered once per View.
type rowPaints struct {
	sev                   [3]paint
	warn, subtle, select_ paint
}

func (p *PodsPane) paints() rowPaints {
	st := p.Styles
	return rowPaints{
		sev:     [3]paint{newPaint(st.OK), newPaint(st.Warn), newPaint(st.Fail)},
		warn:    newPaint(st.Warn),
		subtle:  newPaint(st.Subtle),
		select_: newPaint(st.Selected),
	}
}

// row renders one pod exactly w cells wide.
func (p *PodsPane) row(c columns, pt rowPaints, pod live.Pod, selected bool, w int) string {
	st := p.Styles
	ell := st.Glyphs.Ellipsis
	var b strings.Builder
	b.Grow(w + 64)
	width := marker + c.name
	if selected {
		b.WriteString(st.Glyphs.Selected)
		b.WriteString(pt.select_.on(fitMiddle(pod.Name, c.name, ell)))
	} else {
		b.WriteString("  ")
		b.WriteString(fitMiddle(pod.Name, c.name, ell))
	}
	if c.ready > 0 {
		r := fit(strconv.Itoa(pod.Ready)+"/"+strconv.Itoa(pod.Total), c.ready, ell)
		if pod.Ready < pod.Total {
			r = pt.warn.on(r)
		}
		b.WriteString(" " + r)
		width += 1 + c.ready
	}
	sev := min(max(pod.Severity, 0), 2)
	b.WriteString(" " + pt.sev[sev].on(fit(pod.Status, c.status, ell)))
	width += 1 + c.status
	if c.restarts > 0 {
		r := strconv.Itoa(int(pod.Restarts))
		r = fit(strings.Repeat(" ", max(c.restarts-len(r), 0))+r, c.restarts, ell)
		if pod.Restarts > 0 {
			r = pt.warn.on(r)
		}
		b.WriteString(" " + r)
		width += 1 + c.restarts
	}
	if c.age > 0 {
		a := age(p.Now, pod.Created)
		b.WriteString(" " + pt.subtle.on(fit(strings.Repeat(" ", max(c.age-len(a), 0))+a, c.age, ell)))
		width += 1 + c.age
	}
	if c.node > 0 {
		b.WriteString(" " + pt.subtle.on(fit(pod.Node, c.node, ell)))
		width += 1 + c.node
	}
	if width < w {
		b.WriteString(strings.Repeat(" ", w-width))
	}
	return b.String()
}
