package ui

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The header shows the mirror's state per context, and once the Lease is
// lost, that the driver is read-only and why, without breaking the layout.
func TestHeaderShowsMirrorAndLostLease(t *testing.T) {
	opts := testOptions()
	line := "mirror: primary ✓ · failover 3 behind"
	var ro error
	opts.MirrorStatus = func() (string, error) { return line, ro }
	h, _ := declared(t, opts)
	tick := func() {
		m, _ := h.m.Update(tickMsg(testNow.Add(time.Second)))
		h.m = m.(Model)
	}
	tick()
	scr := h.screen()
	if !strings.Contains(scr, line) || strings.Contains(scr, "READ-ONLY") {
		t.Fatalf("header without the mirror line, or read-only:\n%s", scr)
	}
	rows := len(strings.Split(scr, "\n"))
	ro = errors.New("lost the driver lease drnav/x in primary")
	tick()
	scr = h.screen()
	if !strings.Contains(scr, "READ-ONLY ") || !strings.Contains(scr, "read-only: lost the driver lease drnav/x in primary") {
		t.Errorf("header after the lease was lost:\n%s", scr)
	}
	if got := len(strings.Split(scr, "\n")); got != rows {
		t.Errorf("screen has %d rows after the lease was lost, %d before", got, rows)
	}
}
