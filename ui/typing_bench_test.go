package ui

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

// typeBench types 1,000 characters, one key at a time, each followed by a
// View (what the program does per keystroke), and reports the time per key.
func typeBench(b *testing.B, m Model) {
	b.Helper()
	const n = 1000
	text := "Database restored from the 02:00 backup; replaying WAL to 02:47. "
	keys := make([]tea.KeyPressMsg, n)
	for i := range keys {
		r := rune(text[i%len(text)])
		keys[i] = tea.KeyPressMsg{Code: r, Text: string(r)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		mm := m
		for _, k := range keys {
			next, _ := mm.Update(k)
			mm = next.(Model)
			_ = mm.View()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}

// BenchmarkTypeStatus120x40: the status-update editor over the checklist.
func BenchmarkTypeStatus120x40(b *testing.B) {
	m := renderModel(120, 40, false)
	m.openStatus()
	typeBench(b, m)
}

// BenchmarkTypePickerFilter120x40: the runbook picker's filter.
func BenchmarkTypePickerFilter120x40(b *testing.B) {
	m := renderModel(120, 40, false)
	m.screen = screenPicker
	m.overlay = ovNone
	typeBench(b, m)
}
