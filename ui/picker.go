package ui

import (
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/drnav/drnav/runbooks"
)

// picker is the first screen: the open incidents to resume and the
// runbooks to declare, narrowed by what is typed. It owns the filter and
// the selection; the root model acts on what it picks.
type picker struct {
	open     []OpenIncident
	runbooks []*runbooks.Runbook
	filter   string
	sel      int
}

type pickItem struct {
	open *OpenIncident
	rb   *runbooks.Runbook
}

func newPicker(open []OpenIncident, rbs []*runbooks.Runbook) picker {
	return picker{open: open, runbooks: rbs}
}

func (p picker) findRunbook(id string) *runbooks.Runbook {
	for _, rb := range p.runbooks {
		if rb.ID == id {
			return rb
		}
	}
	return nil
}

// items are the open incidents, then the runbooks, that match the filter
// (runbooks best match first while a filter is typed).
func (p picker) items() []pickItem {
	var items []pickItem
	for i := range p.open {
		o := &p.open[i]
		title := o.Runbook
		if rb := p.findRunbook(o.Runbook); rb != nil {
			title = rb.Title
		}
		if _, ok := fuzzyScore(p.filter, title+" "+o.ID); ok {
			items = append(items, pickItem{open: o})
		}
	}
	type scored struct {
		rb    *runbooks.Runbook
		score int
	}
	var rbs []scored
	for _, rb := range p.runbooks {
		if rb.Kind == "cadence" {
			continue
		}
		s, ok := fuzzyScore(p.filter, rb.Title+" "+rb.ID)
		if !ok {
			s2, ok2 := fuzzyScore(p.filter, rb.Impact)
			if !ok2 {
				continue
			}
			s = s2 - 100
		}
		rbs = append(rbs, scored{rb, s})
	}
	if p.filter != "" {
		slices.SortStableFunc(rbs, func(a, b scored) int { return b.score - a.score })
	}
	for _, s := range rbs {
		items = append(items, pickItem{rb: s.rb})
	}
	return items
}

// Update handles a key. The item is what enter picked (zero when nothing
// was picked); quitting comes back as tea.Quit.
func (p picker) Update(msg tea.KeyPressMsg, k PickerKeys) (picker, tea.Cmd, pickItem) {
	items := p.items()
	switch {
	case keyIs(msg, k.Back) && p.filter != "":
		p.filter, p.sel = "", 0
		return p, nil, pickItem{}
	case keyIs(msg, k.Back), keyIs(msg, k.Quit):
		return p, tea.Quit, pickItem{}
	case keyIs(msg, k.Up):
		if p.sel > 0 {
			p.sel--
		}
		return p, nil, pickItem{}
	case keyIs(msg, k.Down):
		if p.sel < len(items)-1 {
			p.sel++
		}
		return p, nil, pickItem{}
	case keyIs(msg, k.Erase):
		if r := []rune(p.filter); len(r) > 0 {
			p.filter = string(r[:len(r)-1])
			p.sel = 0
		}
		return p, nil, pickItem{}
	case keyIs(msg, k.Open):
		if p.sel >= len(items) {
			return p, nil, pickItem{}
		}
		return p, nil, items[p.sel]
	}
	if msg.Text != "" && msg.Mod == 0 || msg.Text != "" && msg.Mod == tea.ModShift {
		p.filter += msg.Text
		p.sel = 0
	}
	return p, nil, pickItem{}
}

// View is the whole picker screen; the flash replaces its footer.
func (p picker) View(f frame) string {
	s := f.styles
	w := f.width
	var b []string
	b = append(b, s.Title.Render("drnav")+s.Subtle.Render(" · pick the disaster at hand"))
	filter := "Filter: " + p.filter + "▏"
	if s.ASCII {
		filter = "Filter: " + p.filter + "_"
	}
	if p.filter == "" {
		filter += s.Subtle.Render("  type to filter")
	}
	b = append(b, filter, "")
	items := p.items()
	if len(items) == 0 {
		b = append(b, s.Subtle.Render("  no runbook matches"))
	}
	var lines []string
	selLine := 0
	lastOpen := false
	for i, it := range items {
		if i == 0 && it.open != nil {
			lines = append(lines, s.Warn.Render("Open incidents (resume)"))
		}
		if it.open == nil && (i == 0 || lastOpen) {
			lines = append(lines, s.Subtle.Render("Runbooks"))
		}
		lastOpen = it.open != nil
		cursor := "  "
		if i == p.sel {
			cursor = s.Accent.Render("> ")
			selLine = len(lines)
		}
		if it.open != nil {
			o := it.open
			title := o.Runbook
			if rb := p.findRunbook(o.Runbook); rb != nil {
				title = rb.Title
			}
			line := fmt.Sprintf("%s%s  %s · %s · detected %s (%s ago)", cursor, s.Bold.Render(title), o.ID,
				strings.ToUpper(o.Mode.String()), o.Detected.Format("15:04"), fmtDur(f.clock.Sub(o.Detected)))
			lines = append(lines, clip(line, w))
			continue
		}
		rb := it.rb
		name := rb.Title
		if i == p.sel {
			name = s.Selected.Render(name)
		} else {
			name = s.Bold.Render(name)
		}
		line := cursor + name
		if since, over := reviewOverdue(rb.NextReview, f.clock); over {
			line += " " + s.Warn.Render("review overdue since "+since)
		}
		lines = append(lines, clip(line, w))
		if rb.Impact != "" {
			lines = append(lines, clip("    "+s.Subtle.Render(rb.Impact), w))
		}
	}
	avail := max(3, f.height-len(b)-4)
	if len(lines) > avail {
		start := min(max(0, selLine-avail/2), len(lines)-avail)
		lines = lines[start : start+avail]
	}
	b = append(b, lines...)
	// the selection's related documents and summary
	if p.sel < len(items) && items[p.sel].rb != nil {
		rb := items[p.sel].rb
		if len(rb.Related) > 0 {
			b = append(b, "", clip(s.Subtle.Render("Related: "+strings.Join(rb.Related, ", ")), w))
		}
	}
	content := strings.Join(b, "\n")
	footer := s.Help.Render(f.keys.Picker.footer())
	if f.flash != "" {
		footer = s.Warn.Render(f.flash)
	}
	pad := max(0, f.height-lipgloss.Height(content)-1)
	return content + strings.Repeat("\n", pad+1) + clip(footer, w)
}
