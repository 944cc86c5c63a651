package ui

import (
	"testing"
	"time"
)

// BenchmarkTick120x40: one clock tick over the checklist at 120x40, Update
// and View, as the navigator pays it every second while idle.
func BenchmarkTick120x40(b *testing.B) {
	m := renderModel(120, 40, false)
	b.ReportAllocs()
	t := testNow
	for b.Loop() {
		t = t.Add(time.Second)
		next, _ := m.Update(tickMsg(t))
		m = next.(Model)
		_ = m.View()
	}
}
