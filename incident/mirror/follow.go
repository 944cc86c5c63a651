package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drnav/drnav/incident"
)

// FollowInterval is how often a Follower polls the tail chunk.
const FollowInterval = time.Second

// Follower follows one incident's copy in one context, read-only (drnav
// watch ID --context C): every event already there, then each new one as
// the tail chunk grows, one GET of the tail chunk per poll.
type Follower struct {
	t        Target
	ns, id   string
	interval time.Duration
	now      func() time.Time

	events chan incident.Event

	mu     sync.Mutex
	last   int       // the last seq sent
	polled time.Time // the last successful poll
	since  time.Time // unreachable since (zero while it answers)
	err    error     // the last error (a fatal one stops the follower)
	fatal  bool
}

// Follow starts following incident id in t's namespace (ns unless t says
// otherwise), polling every interval (FollowInterval when 0). Events
// closes when ctx ends or on a fatal error (the copy changed under the
// follower, or is not this incident's), which Status then gives.
func Follow(ctx context.Context, t Target, ns, id string, interval time.Duration) *Follower {
	if interval <= 0 {
		interval = FollowInterval
	}
	f := &Follower{t: t, ns: t.ns(ns), id: id, interval: interval, now: time.Now, events: make(chan incident.Event, 64)}
	go f.run(ctx)
	return f
}

// Events streams the events in seq order.
func (f *Follower) Events() <-chan incident.Event { return f.events }

// Status is the header's line, e.g. "following primary ✓ (event 42)",
// "following primary: unreachable since 03:12:04 (event 42)"; err is set
// once following stopped for good.
func (f *Follower) Status() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.fatal:
		return fmt.Sprintf("mirror: following %s stopped at event %d: %v", f.t.Name, f.last, f.err), nil
	case !f.since.IsZero():
		return fmt.Sprintf("mirror: following %s: unreachable since %s (event %d)", f.t.Name, f.since.Local().Format("15:04:05"), f.last), nil
	case f.polled.IsZero():
		return fmt.Sprintf("mirror: following %s…", f.t.Name), nil
	}
	return fmt.Sprintf("mirror: following %s ✓ (event %d)", f.t.Name, f.last), nil
}

func (f *Follower) run(ctx context.Context) {
	defer close(f.events)
	index, off := 0, 0 // the chunk being read and the bytes of it sent
	link := ""         // LinkOf the last line sent
	var pending []byte // the bytes of the current chunk sent so far
	for {
		more, err := f.poll(ctx, &index, &off, &link, &pending)
		f.mu.Lock()
		switch {
		case err == nil:
			f.polled, f.since, f.err = f.now(), time.Time{}, nil
		case ctx.Err() != nil:
		default:
			if f.since.IsZero() {
				f.since = f.now()
			}
			f.err = err
		}
		fatal := f.fatal
		f.mu.Unlock()
		if fatal || ctx.Err() != nil {
			return
		}
		if more {
			continue // a sealed chunk: the next one at once
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(f.interval):
		}
	}
}

// stop records a fatal error.
func (f *Follower) stop(err error) error {
	f.mu.Lock()
	f.fatal, f.err = true, err
	f.mu.Unlock()
	return err
}

// poll reads chunk *index and sends the complete events after *off; more
// says the chunk is sealed and read to its end (go on with the next).
func (f *Follower) poll(ctx context.Context, index, off *int, link *string, seen *[]byte) (more bool, err error) {
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	name := ChunkName(f.id, *index)
	cm, err := f.t.Client.CoreV1().ConfigMaps(f.ns).Get(rctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil // not (yet) there: the writer has not got to it
	case apierrors.IsForbidden(err):
		return false, fmt.Errorf("not allowed to get configmaps in namespace %s: %w", f.ns, err)
	case err != nil:
		return false, fmt.Errorf("get configmap %s/%s: %w", f.ns, name, err)
	}
	if cm.Annotations[AnnoID] != f.id {
		return false, f.stop(fmt.Errorf("configmap %s/%s is not incident %s's", f.ns, name, f.id))
	}
	data := []byte(cm.Data[DataKey])
	if len(data) < *off || !bytes.Equal(data[:*off], *seen) {
		return false, f.stop(fmt.Errorf("chunk %d changed after it was read: the copy in %s was rewritten", *index, f.t.Name))
	}
	for {
		rest := data[*off:]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			break // wait for the rest of the line
		}
		line := rest[:nl]
		var ev incident.Event
		if err := json.Unmarshal(line, &ev); err != nil || ev.Type == "" {
			return false, f.stop(fmt.Errorf("the line after event %d in %s is not an event", f.lastSeq(), f.t.Name))
		}
		if want := f.lastSeq() + 1; ev.Seq != want {
			return false, f.stop(fmt.Errorf("event %d follows event %d in %s", ev.Seq, want-1, f.t.Name))
		}
		if ev.Seq == 1 && (ev.Type != incident.EventDeclared || ev.Declared == nil || ev.Declared.ID != f.id) {
			return false, f.stop(fmt.Errorf("the copy in %s does not start with the declaration of %s", f.t.Name, f.id))
		}
		if ev.Prev != "" && ev.Prev != *link {
			return false, f.stop(fmt.Errorf("event %d in %s does not chain to event %d (changed after it was written)", ev.Seq, f.t.Name, ev.Seq-1))
		}
		select {
		case f.events <- ev:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		*link = incident.LinkOf(line)
		*off += nl + 1
		*seen = data[:*off]
		f.mu.Lock()
		f.last = ev.Seq
		f.mu.Unlock()
	}
	if strings.EqualFold(cm.Annotations[AnnoSealed], "true") && *off == len(data) {
		*index, *off, *seen = *index+1, 0, nil
		return true, nil
	}
	return false, nil
}

func (f *Follower) lastSeq() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}
