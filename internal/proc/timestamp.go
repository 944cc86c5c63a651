package proc

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Timestamp runs a command that prints a timestamp (a backup freshness or
// region check, e.g. the newest object in a bucket) and parses the last
// non-empty line it prints. The error says what the command printed or how
// it failed.
func Timestamp(ctx context.Context, script string, env []string, dir string) (time.Time, error) {
	cmd := Bash(ctx, script)
	cmd.Env = env
	cmd.Dir = dir
	var out, stderr bytes.Buffer
	cmd.Stdout = &limited{b: &out, n: 64 << 10}
	cmd.Stderr = &limited{b: &stderr, n: 4 << 10}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if msg != "" {
			return time.Time{}, fmt.Errorf("%q failed: %v: %s", script, err, msg)
		}
		return time.Time{}, fmt.Errorf("%q failed: %w", script, err)
	}
	line := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if s := strings.TrimSpace(l); s != "" {
			line = s
		}
	}
	if line == "" {
		return time.Time{}, fmt.Errorf("%q printed nothing (want a timestamp: RFC3339 or unix seconds)", script)
	}
	ts, err := ParseTimestamp(line)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", script, err)
	}
	return ts, nil
}

// timestampLayouts are the forms storage CLIs and `date` print.
var timestampLayouts = []string{
	time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05Z07",
	"2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 MST", "2006-01-02T15:04:05", "2006-01-02 15:04:05",
	time.UnixDate, time.RubyDate, "Mon Jan _2 03:04:05 PM MST 2006",
}

// ParseTimestamp reads RFC 3339 (with or without T and zone), `date`'s
// default output, or unix seconds (fractions allowed).
func ParseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	for _, layout := range timestampLayouts {
		if ts, err := time.Parse(layout, s); err == nil {
			return ts, nil
		}
	}
	shown := s
	if len(shown) > 60 {
		shown = shown[:60] + "…"
	}
	return time.Time{}, fmt.Errorf("printed %q, not a timestamp (want RFC3339 or unix seconds)", shown)
}

// limited keeps the first n bytes written and drops the rest, so a chatty
// command cannot fill memory.
type limited struct {
	b *bytes.Buffer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
