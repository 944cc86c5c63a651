package panes

import (
	"fmt"
	"strings"
	"time"

	"github.com/drnav/drnav/live"
)

// DBPane shows PostgreSQL health and backup freshness against the RPO.
type DBPane struct {
	Styles Styles
	Now    time.Time
	Title  string // default "PostgreSQL"

	snap          live.DBSnapshot
	has           bool
	width, height int
}

// NewDBPane returns an empty pane.
func NewDBPane(st Styles) *DBPane { return &DBPane{Styles: st} }

// SetSize sets the pane's outer size in cells.
func (d *DBPane) SetSize(w, h int) { d.width, d.height = w, h }

// SetSnapshot replaces the data.
func (d *DBPane) SetSnapshot(s live.DBSnapshot) { d.snap, d.has = s, true }

func (d *DBPane) name() string {
	if d.Title != "" {
		return d.Title
	}
	return "PostgreSQL"
}

// role is the server's replication role when it is a standby ("" for a
// writable server: "primary" is the region's word, see whereLine).
func role(h live.DBHealth) string {
	if h.Standby {
		return "standby"
	}
	return "writable"
}

// whereLine names the database shown: its region, when known, and its
// address ("failover region · 10.1.0.5:5432/app"); the region first, so
// a narrow pane keeps it.
func (d *DBPane) whereLine() string {
	s := d.snap
	var parts []string
	if s.Region != "" {
		parts = append(parts, s.Region+" region")
	}
	if s.Server != "" {
		parts = append(parts, s.Server)
	}
	if len(parts) == 0 {
		return ""
	}
	return d.Styles.Subtle.Render(strings.Join(parts, d.Styles.Glyphs.Sep))
}

// View renders exactly the pane's size.
func (d *DBPane) View() string {
	w, h := d.width, d.height
	st := d.Styles
	if w <= 0 || h <= 0 {
		return ""
	}
	if h < 3 {
		return block([]string{d.summary()}, w, h, st.Glyphs.Ellipsis)
	}
	s := d.snap
	title := st.Title.Render(d.name())
	if !d.has {
		return block([]string{title, st.Subtle.Render("checking" + st.Glyphs.Ellipsis)}, w, h, st.Glyphs.Ellipsis)
	}
	var lines []string
	if s.Up {
		title += st.Glyphs.Sep + st.OK.Render(st.Glyphs.OK+" up "+latency(st, s.Health.Latency)) + st.Glyphs.Sep + role(s.Health)
		lines = append(lines, title)
		if wl := d.whereLine(); wl != "" {
			lines = append(lines, wl)
		}
		lines = append(lines, d.healthLines()...)
		lines = append(lines, d.freshLines()...)
	} else {
		title += st.Glyphs.Sep + st.Fail.Render(st.Glyphs.Fail+" down")
		lines = append(lines, title)
		wl := d.whereLine()
		if wl != "" {
			lines = append(lines, wl)
		}
		retry := retryText(st, d.Now, s.NextRetry)
		fresh := d.freshLines()
		room := h - len(lines) - len(fresh)
		if retry != "" {
			room--
		}
		for _, l := range wrap(s.Err, w, max(room, 1), st.Glyphs.Ellipsis) {
			lines = append(lines, st.Fail.Render(l))
		}
		if retry != "" {
			lines = append(lines, st.Subtle.Render(retry))
		}
		lines = append(lines, fresh...)
	}
	return block(lines, w, h, st.Glyphs.Ellipsis)
}

func (d *DBPane) healthLines() []string {
	st := d.Styles
	hl := d.snap.Health
	sep := st.Glyphs.Sep
	var lag string
	switch {
	case hl.HasReplication:
		lag = "lag " + ShortDuration(hl.ReplicationLag)
		if hl.ReplicationLag > time.Minute {
			lag = st.Warn.Render(lag)
		}
	case hl.Standby:
		lag = st.Subtle.Render("lag unknown")
	default:
		lag = st.Subtle.Render("no standby")
	}
	l1 := "PG " + hl.Version + sep + lag
	conns := fmt.Sprintf("conns %d/%d", hl.Connections, hl.MaxConnections)
	if hl.MaxConnections > 0 && hl.Connections*10 >= hl.MaxConnections*9 {
		conns = st.Fail.Render(conns)
	} else if hl.MaxConnections > 0 && hl.Connections*10 >= hl.MaxConnections*8 {
		conns = st.Warn.Render(conns)
	}
	l2 := conns + sep + "size " + bytesSize(hl.SizeBytes)
	if hl.TablesKnown {
		l2 += sep + fmt.Sprintf("%d tables", hl.Tables)
	}
	return []string{l1, l2}
}

// freshness is the age now of the newest backup evidence.
func (d *DBPane) freshness() (time.Duration, live.RPOState) {
	s := d.snap
	if !s.FreshnessKnown {
		return 0, live.RPOUnknown
	}
	a := s.AgeAt(d.Now)
	return a, live.GradeRPO(a, s.RPO)
}

func (d *DBPane) rpoStyle(state live.RPOState) (string, func(...string) string) {
	st := d.Styles
	switch state {
	case live.RPOOK:
		return st.Glyphs.OK, st.OK.Render
	case live.RPOAmber:
		return st.Glyphs.Warn, st.Warn.Render
	case live.RPORed:
		return st.Glyphs.Fail, st.Fail.Render
	}
	return "?", st.Subtle.Render
}

func (d *DBPane) freshLines() []string {
	st := d.Styles
	s := d.snap
	rpo := ""
	if s.RPO > 0 {
		rpo = " (RPO " + ShortDuration(s.RPO) + ")"
	}
	a, state := d.freshness()
	glyph, render := d.rpoStyle(state)
	var l string
	if !s.FreshnessKnown {
		l = render("backup freshness unknown" + rpo)
	} else {
		what := "WAL archived"
		if s.FreshnessSource != live.FreshnessWAL {
			what = "backup"
		}
		l = render(fmt.Sprintf("%s %s ago%s %s", what, ShortDuration(a), rpo, glyph))
		if s.FreshnessSource != live.FreshnessWAL && s.FreshnessSource != "" {
			l += st.Subtle.Render(" (" + s.FreshnessSource + ")")
		}
	}
	lines := []string{l}
	if n := s.Health.ArchiveFailed; n > 0 {
		lines = append(lines, st.Fail.Render(fmt.Sprintf("%s %d failed WAL archive attempts", st.Glyphs.Fail, n)))
	}
	if s.FreshnessErr != "" {
		lines = append(lines, st.Warn.Render(st.Glyphs.Warn+" "+s.FreshnessErr))
	}
	return lines
}

// summary is the one-line form for tiny heights.
func (d *DBPane) summary() string {
	st := d.Styles
	s := d.snap
	t := st.Title.Render("PG")
	if !d.has {
		return t + " " + st.Subtle.Render("checking"+st.Glyphs.Ellipsis)
	}
	parts := []string{}
	if s.Up {
		parts = append(parts, st.OK.Render("up "+latency(st, s.Health.Latency))+" "+role(s.Health))
	} else {
		down := st.Fail.Render(st.Glyphs.Fail + " down")
		if r := retryText(st, d.Now, s.NextRetry); r != "" {
			down += " " + st.Subtle.Render(r)
		}
		parts = append(parts, down)
	}
	if s.FreshnessKnown {
		a, state := d.freshness()
		glyph, render := d.rpoStyle(state)
		what := "WAL"
		if s.FreshnessSource != live.FreshnessWAL {
			what = "backup"
		}
		parts = append(parts, render(fmt.Sprintf("%s %s ago %s", what, ShortDuration(a), glyph)))
	}
	if !s.Up && s.Err != "" {
		parts = append(parts, st.Fail.Render(s.Err))
	}
	return t + " " + strings.Join(parts, st.Glyphs.Sep)
}
