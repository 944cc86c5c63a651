package panes

import (
	"fmt"
	"github.com/charmbracelet/x/ansi"
	"strings"
	"time"

	"github.com/drnav/drnav/live"
)

// DeploymentPane shows desired/updated/ready/available and rollout
// progress per deployment; given two snapshots (primary and failover) it
// shows the two contexts side by side.
type DeploymentPane struct {
	Styles Styles
	Now    time.Time
	// Names limits and orders the deployments shown (empty: all, by name).
	Names []string

	snaps         []live.KubeSnapshot
	width, height int
}

// NewDeploymentPane returns an empty pane.
func NewDeploymentPane(st Styles) *DeploymentPane { return &DeploymentPane{Styles: st} }

// SetSize sets the pane's outer size in cells.
func (d *DeploymentPane) SetSize(w, h int) { d.width, d.height = w, h }

// SetSnapshots sets one snapshot, or two to compare contexts side by side.
func (d *DeploymentPane) SetSnapshots(snaps ...live.KubeSnapshot) {
	d.snaps = append(d.snaps[:0], snaps...)
}

// View renders exactly the pane's size.
func (d *DeploymentPane) View() string {
	w, h := d.width, d.height
	st := d.Styles
	if w <= 0 || h <= 0 {
		return ""
	}
	if h < 3 {
		parts := make([]string, 0, len(d.snaps))
		for _, s := range d.snaps {
			parts = append(parts, d.summary(s, len(d.snaps) > 1))
		}
		if len(parts) == 0 {
			parts = append(parts, st.Title.Render("Deployments")+" "+st.Subtle.Render("waiting"+st.Glyphs.Ellipsis))
		}
		return block([]string{strings.Join(parts, st.Glyphs.VBar)}, w, h, st.Glyphs.Ellipsis)
	}
	if len(d.snaps) < 2 {
		var s live.KubeSnapshot
		has := len(d.snaps) == 1
		if has {
			s = d.snaps[0]
		}
		return block(d.column(s, has, w, h), w, h, st.Glyphs.Ellipsis)
	}
	sep := st.Glyphs.VBar
	sepW := len([]rune(sep))
	left := (w - sepW) / 2
	right := w - sepW - left
	if left < 8 { // too narrow for two columns: stack them
		top := h / 2
		a := block(d.column(d.snaps[0], true, w, top), w, top, st.Glyphs.Ellipsis)
		b := block(d.column(d.snaps[1], true, w, h-top), w, h-top, st.Glyphs.Ellipsis)
		return a + "\n" + b
	}
	a := d.column(d.snaps[0], true, left, h)
	b := d.column(d.snaps[1], true, right, h)
	lines := make([]string, h)
	for i := range lines {
		var l, r string
		if i < len(a) {
			l = a[i]
		}
		if i < len(b) {
			r = b[i]
		}
		lines[i] = fit(l, left, st.Glyphs.Ellipsis) + st.Subtle.Render(sep) + fit(r, right, st.Glyphs.Ellipsis)
	}
	return block(lines, w, h, st.Glyphs.Ellipsis)
}

func (d *DeploymentPane) deployments(s live.KubeSnapshot) []live.Deployment {
	if len(d.Names) == 0 {
		return s.Deployments
	}
	out := make([]live.Deployment, 0, len(d.Names))
	for _, n := range d.Names {
		if dep, ok := s.Deployment(n); ok {
			out = append(out, dep)
		} else {
			out = append(out, live.Deployment{Name: n, Desired: -1})
		}
	}
	return out
}

// title is "Deployments ctx" in w columns; when narrower, the context
// alone (it tells the columns apart), cut at its start so its distinguishing
// end ("…primary", "…failover") stays.
func (d *DeploymentPane) title(s live.KubeSnapshot, w int) string {
	st := d.Styles
	t := st.Title.Render("Deployments")
	if s.Context == "" {
		return t
	}
	if full := t + " " + st.Accent.Render(s.Context); lipWidth(full) <= w {
		return full
	}
	ctx := s.Context
	if lipWidth(ctx) > w {
		ctx = st.Glyphs.Ellipsis + ansi.TruncateLeft(ctx, lipWidth(ctx)-w+lipWidth(st.Glyphs.Ellipsis), "")
	}
	return st.Accent.Render(ctx)
}

// column renders one context into at most h lines of width w.
func (d *DeploymentPane) column(s live.KubeSnapshot, has bool, w, h int) []string {
	st := d.Styles
	lines := []string{d.title(s, w)}
	switch {
	case !has:
		return append(lines, st.Subtle.Render("waiting for the cluster"+st.Glyphs.Ellipsis))
	case s.Err != "":
		retry := retryText(st, d.Now, s.NextRetry)
		room := h - 1
		if retry != "" {
			room--
		}
		for _, l := range wrap(st.Glyphs.Fail+" "+s.Err, w, max(room, 1), st.Glyphs.Ellipsis) {
			lines = append(lines, st.Fail.Render(l))
		}
		if retry != "" {
			lines = append(lines, st.Subtle.Render(retry))
		}
		return lines
	case !s.Synced && len(s.Deployments) == 0:
		return append(lines, st.Subtle.Render("syncing"+st.Glyphs.Ellipsis))
	}
	deps := d.deployments(s)
	if len(deps) == 0 {
		return append(lines, st.Subtle.Render("no deployments"))
	}
	for _, dep := range deps {
		if len(lines) >= h {
			break
		}
		lines = append(lines, d.line(dep, w))
		if dep.RollingOut && dep.Desired >= 0 && len(lines) < h {
			lines = append(lines, d.rollout(dep, w))
		}
	}
	return lines
}

// line is one deployment's counts, wide or compact.
func (d *DeploymentPane) line(dep live.Deployment, w int) string {
	st := d.Styles
	if dep.Desired < 0 {
		return st.Subtle.Render(dep.Name + " not found")
	}
	glyph, style := st.Glyphs.OK, st.OK
	switch {
	case dep.Desired > 0 && dep.Ready == 0:
		glyph, style = st.Glyphs.Fail, st.Fail
	case dep.Ready < dep.Desired || dep.RollingOut:
		glyph, style = st.Glyphs.Warn, st.Warn
	}
	head := style.Render(glyph) + " " + st.Title.Render(dep.Name)
	wide := fmt.Sprintf("desired %d · updated %d · ready %d · available %d", dep.Desired, dep.Updated, dep.Ready, dep.Available)
	if st.ASCII {
		wide = strings.ReplaceAll(wide, " · ", ", ")
	}
	if lipWidth(head)+2+len(wide) <= w {
		return head + "  " + style.Render(wide)
	}
	mid := fmt.Sprintf("%d/%d ready · upd %d · avail %d", dep.Ready, dep.Desired, dep.Updated, dep.Available)
	if st.ASCII {
		mid = strings.ReplaceAll(mid, " · ", ", ")
	}
	if lipWidth(head)+1+len(mid) <= w {
		return head + " " + style.Render(mid)
	}
	return head + " " + style.Render(fmt.Sprintf("%d/%d", dep.Ready, dep.Desired))
}

// rollout is "▶ rollout rev 2: new RS x 2/3, old 1".
func (d *DeploymentPane) rollout(dep live.Deployment, w int) string {
	st := d.Styles
	rs := dep.NewRS
	if rs == "" {
		rs = "?"
	}
	long := fmt.Sprintf("  %s rollout", st.Glyphs.Running)
	if dep.Revision != "" {
		long += " rev " + dep.Revision
	}
	long += fmt.Sprintf(": new RS %s %d/%d, old %d", rs, dep.NewReady, dep.Desired, dep.OldReplicas)
	if dep.Generation > dep.Observed {
		long += " (spec not yet observed)"
	}
	if len([]rune(long)) <= w {
		return st.Running.Render(long)
	}
	short := fmt.Sprintf("  %s new %d/%d, old %d", st.Glyphs.Running, dep.NewReady, dep.Desired, dep.OldReplicas)
	return st.Running.Render(short)
}

// summary is one context on one line.
func (d *DeploymentPane) summary(s live.KubeSnapshot, withContext bool) string {
	st := d.Styles
	t := st.Title.Render("Deploy")
	if withContext && s.Context != "" {
		t += " " + st.Accent.Render(s.Context)
	}
	if s.Err != "" {
		r := retryText(st, d.Now, s.NextRetry)
		if r != "" {
			r = st.Subtle.Render(r) + " "
		}
		return t + " " + r + st.Fail.Render(st.Glyphs.Fail+" "+s.Err)
	}
	parts := []string{}
	for _, dep := range d.deployments(s) {
		if dep.Desired < 0 {
			parts = append(parts, dep.Name+" -")
			continue
		}
		style := st.OK
		if dep.Ready < dep.Desired || dep.RollingOut {
			style = st.Warn
		}
		if dep.Desired > 0 && dep.Ready == 0 {
			style = st.Fail
		}
		parts = append(parts, dep.Name+" "+style.Render(fmt.Sprintf("%d/%d", dep.Ready, dep.Desired)))
	}
	return t + " " + strings.Join(parts, st.Glyphs.Sep)
}
