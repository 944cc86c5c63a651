package steps

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/drnav/drnav/runbooks"
)

// Limits of a run's output handling.
const (
	// FlushInterval is how often buffered output lines are sent as one event.
	FlushInterval = 75 * time.Millisecond
	// FlushLines sends a batch early once this many lines are buffered.
	FlushLines = 256
	// RingLines and RingBytes bound the output kept for Tail.
	RingLines = 10000
	RingBytes = 4 << 20
	// MaxLineBytes truncates a single very long line.
	MaxLineBytes = 64 << 10
	// maxQueuedLines bounds the lines waiting for a slow consumer; older
	// queued lines are dropped from the stream (Tail and totals keep them).
	maxQueuedLines = RingLines
	// DefaultTimeout is a step's timeout when it sets none.
	DefaultTimeout = 30 * time.Minute
)

// Exit codes of Finished events.
const (
	ExitOK        = 0
	ExitFailed    = 1
	ExitTimeout   = 124
	ExitCancelled = 130
)

// Run is one running step. Read Events until it is closed (EventFinished is
// always the last event), or call Wait for the finished event.
type Run struct {
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
	notify chan struct{}
	red    *Redactor
	now    func() time.Time
	start  time.Time
	// ahead journals the started event before anything runs (Target.WriteAhead).
	ahead       func(Event) error
	abandon     chan struct{}
	abandonOnce sync.Once
	detached    atomic.Bool // a shell step under the supervisor: Abandon leaves it running

	mu         sync.Mutex
	queue      []Event
	pending    []Line
	ring       ring
	totalLines int64
	totalBytes int64
	closed     bool
	finished   Event
	lastProg   time.Time
}

// Events is the stream of the run's events; it is closed after EventFinished.
// A slow consumer never blocks the step: queued output batches coalesce.
func (r *Run) Events() <-chan Event { return r.events }

// Cancel stops the step (exit code 130). Safe to call many times.
func (r *Run) Cancel() { r.cancel() }

// Abandon stops following a detached shell step (Target.Supervisor) without
// stopping it: the run finishes at once with OutcomeUnknown while the step
// runs on and its supervisor records the outcome (drnav is going away).
// Other steps are cancelled. Safe to call many times.
func (r *Run) Abandon() {
	r.abandonOnce.Do(func() { close(r.abandon) })
}

// Wait blocks until the step finished and returns the finished event. It
// does not drain Events.
func (r *Run) Wait() Event {
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finished
}

// Done is closed when the step finished.
func (r *Run) Done() <-chan struct{} { return r.done }

// Tail returns up to the last n output lines kept (already redacted).
func (r *Run) Tail(n int) []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ring.tail(n)
}

// Start runs the step against the target and returns at once. Placeholders
// are substituted from t.Vars first; an unknown one finishes the run with an
// error.
func Start(ctx context.Context, step runbooks.Step, t Target) *Run {
	return startWith(ctx, t, func(ctx context.Context, r *Run) Event { return r.safeExecute(ctx, step, t) })
}

// startWith makes a run and executes fn in its own goroutine.
func startWith(ctx context.Context, t Target, fn func(context.Context, *Run) Event) *Run {
	ctx, cancel := context.WithCancel(ctx)
	now := t.Now
	if now == nil {
		now = time.Now
	}
	r := &Run{
		events:  make(chan Event, 64),
		cancel:  cancel,
		done:    make(chan struct{}),
		notify:  make(chan struct{}, 1),
		abandon: make(chan struct{}),
		now:     now,
		start:   now(),
		ahead:   t.WriteAhead,
	}
	red, rerr := redactorFor(t)
	if rerr != nil {
		red, _ = NewRedactor(nil, nil)
	}
	r.red = red
	go r.deliver()
	go r.flusher()
	go func() {
		select {
		case <-r.abandon:
			if !r.detached.Load() {
				cancel() // drnav is going away: an attached step cannot outlive it
			}
		case <-r.done:
		}
	}()
	go func() {
		defer cancel()
		if rerr != nil {
			r.finish(Event{ExitCode: ExitFailed, Err: rerr.Error()})
			return
		}
		r.finish(fn(ctx, r))
	}()
	return r
}

// safeExecute runs the step; a panic (a misbehaving fake, a bug) becomes a
// failed step instead of taking the program down.
func (r *Run) safeExecute(ctx context.Context, step runbooks.Step, t Target) (fin Event) {
	defer func() {
		if p := recover(); p != nil {
			fin = Event{ExitCode: ExitFailed, Err: fmt.Sprintf("internal error: %v", p)}
			r.print(Stderr, "internal error: "+fmt.Sprint(p))
			for _, l := range splitLines(string(debug.Stack())) {
				r.print(Stderr, l)
			}
		}
	}()
	return execute(ctx, r, step, t)
}

// ctxExit maps a finished context to its exit code and message.
func ctxExit(ctx context.Context, what string) (int, string) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ExitTimeout, what + ": timed out"
	}
	return ExitCancelled, what + ": cancelled"
}

// emit queues an event (redacted), coalescing progress events.
func (r *Run) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = r.now()
	}
	ev.Command = r.red.String(ev.Command)
	ev.Equivalent = r.red.String(ev.Equivalent)
	ev.Err = r.red.String(ev.Err)
	ev.Verify.Detail = r.red.String(ev.Verify.Detail)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if ev.Kind == EventProgress || ev.Kind == EventVerify {
		r.flushLocked() // keep order: output before the progress it follows
	}
	if ev.Kind == EventProgress && len(r.queue) > 0 && r.queue[len(r.queue)-1].Kind == EventProgress {
		r.queue[len(r.queue)-1] = ev
	} else {
		r.queue = append(r.queue, ev)
	}
	r.wake()
}

// begin announces the step: the Started event is handed to the write-ahead
// hook (the caller journals step_started and fsyncs it) before it is queued.
// Callers start no process and send no request unless begin returned nil;
// on error they return notStarted(err).
func (r *Run) begin(ev Event) error {
	ev.Kind = EventStarted
	if ev.Time.IsZero() {
		ev.Time = r.now()
	}
	ev.Command = r.red.String(ev.Command)
	ev.Equivalent = r.red.String(ev.Equivalent)
	if r.ahead != nil {
		if err := r.ahead(ev); err != nil {
			return fmt.Errorf("journal the start: %w (the step was not started)", err)
		}
		ev.WrittenAhead = true
	}
	r.emit(ev)
	return nil
}

// notStarted is the finished event of a step whose start could not be
// journalled: nothing ran.
func notStarted(err error) Event {
	return Event{ExitCode: ExitFailed, Err: err.Error(), NotStarted: true}
}

// progress emits a Progress event, at most every FlushInterval unless done.
func (r *Run) progress(done, total int64) {
	t := r.now()
	r.mu.Lock()
	skip := done != total && t.Sub(r.lastProg) < FlushInterval
	if !skip {
		r.lastProg = t
	}
	r.mu.Unlock()
	if !skip {
		r.emit(Event{Kind: EventProgress, Done: done, Total: total})
	}
}

// print adds one output line (redacted, truncated, counted).
func (r *Run) print(s Stream, text string) {
	r.addLine(s, text, int64(len(text))+1)
}

func (r *Run) addLine(s Stream, text string, rawBytes int64) {
	// Mask first, then cut: a secret across the cut would otherwise leave
	// its first part unmasked.
	text = r.red.String(text)
	if len(text) > MaxLineBytes {
		cut := MaxLineBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + " …(line truncated)"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.totalLines++
	r.totalBytes += rawBytes
	l := Line{Stream: s, Text: text}
	r.ring.add(l)
	if r.closed {
		return
	}
	r.pending = append(r.pending, l)
	if len(r.pending) >= FlushLines {
		r.flushLocked()
	}
}

// flushLocked moves buffered lines into the queue, merging them into a
// trailing output event a slow consumer has not taken yet.
func (r *Run) flushLocked() {
	if len(r.pending) == 0 {
		return
	}
	if n := len(r.queue); n > 0 && r.queue[n-1].Kind == EventOutput {
		last := &r.queue[n-1]
		last.Lines = append(last.Lines, r.pending...)
		if over := len(last.Lines) - maxQueuedLines; over > 0 {
			kept := make([]Line, maxQueuedLines)
			copy(kept, last.Lines[over:])
			last.Lines = kept
		}
		r.pending = r.pending[:0]
	} else {
		r.queue = append(r.queue, Event{Kind: EventOutput, Time: r.now(), Lines: r.pending})
		r.pending = make([]Line, 0, FlushLines)
	}
	r.wake()
}

func (r *Run) wake() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// flusher sends buffered output every FlushInterval until the run ends.
func (r *Run) flusher() {
	tk := time.NewTicker(FlushInterval)
	defer tk.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-tk.C:
			r.mu.Lock()
			r.flushLocked()
			r.mu.Unlock()
		}
	}
}

// deliver moves queued events to the channel; it closes the channel after
// the finished event.
func (r *Run) deliver() {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			if r.closed {
				r.mu.Unlock()
				close(r.events)
				return
			}
			r.mu.Unlock()
			<-r.notify
			continue
		}
		ev := r.queue[0]
		r.queue[0] = Event{}
		r.queue = r.queue[1:]
		r.mu.Unlock()
		r.events <- ev
	}
}

// finish queues the finished event (with totals and duration) and closes the run.
func (r *Run) finish(ev Event) {
	ev.Kind = EventFinished
	ev.Time = r.now()
	ev.Duration = ev.Time.Sub(r.start)
	ev.Err = r.red.String(ev.Err)
	ev.Command = r.red.String(ev.Command)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.flushLocked()
	ev.TotalLines = r.totalLines
	ev.TotalBytes = r.totalBytes
	r.queue = append(r.queue, ev)
	r.closed = true
	r.finished = ev
	r.mu.Unlock()
	close(r.done)
	r.wake()
}

// ring keeps the last lines within RingLines and RingBytes.
type ring struct {
	buf   []Line
	head  int // index of the oldest line
	n     int
	bytes int
}

func (g *ring) add(l Line) {
	size := len(l.Text) + 1
	for g.n > 0 && (g.n >= RingLines || g.bytes+size > RingBytes) {
		g.bytes -= len(g.buf[g.head].Text) + 1
		g.buf[g.head] = Line{}
		g.head = (g.head + 1) % len(g.buf)
		g.n--
	}
	if g.n == len(g.buf) {
		// grow (only until RingLines)
		nb := make([]Line, max(16, min(RingLines, 2*len(g.buf))))
		for i := 0; i < g.n; i++ {
			nb[i] = g.buf[(g.head+i)%len(g.buf)]
		}
		g.buf, g.head = nb, 0
	}
	g.buf[(g.head+g.n)%len(g.buf)] = l
	g.n++
	g.bytes += size
}

func (g *ring) tail(n int) []Line {
	if n > g.n || n < 0 {
		n = g.n
	}
	out := make([]Line, n)
	for i := 0; i < n; i++ {
		out[i] = g.buf[(g.head+g.n-n+i)%len(g.buf)]
	}
	return out
}

// Retained reports the bytes of output text the run keeps for Tail.
func (r *Run) Retained() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ring.bytes
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

func boolPtr(b bool) *bool { return &b }
