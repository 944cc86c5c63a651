package steps

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/drnav/drnav/runbooks"
)

// HTTPTimeout bounds one request of an http check.
const HTTPTimeout = 10 * time.Second

// httpGet GETs url once and returns its status code.
func httpGet(ctx context.Context, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	req.Header.Set("User-Agent", "drnav")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// runHTTP GETs the URL up to Count times at Interval; it passes as soon as
// one attempt returns the expected status.
func runHTTP(ctx context.Context, r *Run, st runbooks.Step, t Target) Event {
	a := st.HTTP
	want := a.Status
	if want == 0 {
		want = http.StatusOK
	}
	count := a.Count
	if count <= 0 {
		count = 1
	}
	interval := a.Interval.Duration
	if interval <= 0 {
		interval = 2 * time.Second
	}
	if err := r.begin(Event{
		Command:    fmt.Sprintf("GET %s (up to %d attempts every %s, expecting %d)", a.URL, count, interval, want),
		Equivalent: fmt.Sprintf("curl -sS -o /dev/null -w '%%{http_code}\\n' --max-time %d %s", int(HTTPTimeout.Seconds()), shq(a.URL)),
	}); err != nil {
		return notStarted(err)
	}
	if a.URL == "" {
		return Event{ExitCode: ExitFailed, Err: "http: url is required"}
	}
	last := ""
	for i := 1; i <= count; i++ {
		start := time.Now()
		code, err := httpGet(ctx, a.URL)
		took := time.Since(start).Round(time.Millisecond)
		switch {
		case err != nil:
			last = fmt.Sprintf("attempt %d/%d: %v", i, count, err)
			r.print(Stderr, last)
		case code != want:
			last = fmt.Sprintf("attempt %d/%d: HTTP %d (want %d) in %s", i, count, code, want, took)
			r.print(Stdout, last)
		default:
			r.print(Stdout, fmt.Sprintf("attempt %d/%d: HTTP %d in %s: ok", i, count, code, took))
			return Event{ExitCode: ExitOK}
		}
		if ctx.Err() != nil {
			break
		}
		if i < count {
			tm := time.NewTimer(interval)
			select {
			case <-ctx.Done():
			case <-tm.C:
			}
			tm.Stop()
		}
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		code, msg := ctxExit(ctx, "http check")
		return Event{ExitCode: code, Err: msg}
	}
	return Event{ExitCode: ExitFailed, Err: fmt.Sprintf("GET %s never returned %d in %d attempts; last: %s", a.URL, want, count, last)}
}
