package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/drnav/drnav/incident"
)

// Target is one cluster context the journal is mirrored into.
type Target struct {
	Name   string // the kube context, as shown to the user
	Client kubernetes.Interface
	// Namespace overrides Options.Namespace for this target.
	Namespace string
}

// ns is the target's namespace, def unless overridden.
func (t Target) ns(def string) string {
	if t.Namespace != "" {
		return t.Namespace
	}
	return def
}

// Options configure a Mirror.
type Options struct {
	Namespace string
	Targets   []Target
	// JournalPath is the local journal, read to catch up with events that
	// no longer are in the queue.
	JournalPath string
	// Writer names this process on the chunks (user@host:pid).
	Writer string
	// ChunkBytes bounds one chunk's events (DefaultChunkBytes when 0).
	ChunkBytes int
	// QueueLen bounds the events kept in memory (1024 when 0); older ones
	// are read back from JournalPath.
	QueueLen int
	// MinBackoff and MaxBackoff bound the wait after a failed write
	// (200 ms and 10 s when 0).
	MinBackoff, MaxBackoff time.Duration
	// Gather is the least time between two writes to one context
	// (DefaultGather when 0, none when negative): the events appended
	// meanwhile go in one write. Each write carries the whole tail chunk,
	// so writing at every append would cost a busy journal CPU (and the
	// API server work) out of proportion.
	Gather time.Duration
	// RequestTimeout bounds one API request (10 s when 0).
	RequestTimeout time.Duration
	// Allowed, when set, is asked before every write: an error means this
	// process may no longer write (its Lease is lost) and the mirror stops
	// for good.
	Allowed func() error
	Logger  *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// State of one context's copy.
type State int

const (
	Syncing     State = iota // not yet compared with the cluster
	Mirrored                 // every local event is in the cluster
	Behind                   // reachable, events on their way
	Unreachable              // the last write failed; retrying with backoff
	Diverged                 // the cluster holds events this process did not write: no more writes there
	Stopped                  // the mirror stopped (the Lease was lost): no more writes
)

func (s State) String() string {
	switch s {
	case Syncing:
		return "syncing"
	case Mirrored:
		return "mirrored"
	case Behind:
		return "behind"
	case Unreachable:
		return "unreachable"
	case Diverged:
		return "diverged"
	case Stopped:
		return "stopped"
	}
	return "unknown"
}

// Status is one context's copy as last known.
type Status struct {
	Context  string
	State    State
	Mirrored int // the last seq known to be in the cluster
	Head     int // the last seq on local disk
	// Since is when the context became unreachable (zero otherwise).
	Since time.Time
	Err   string // the last error, if any
}

// Behind is how many events the context lacks.
func (s Status) Behind() int { return max(0, s.Head-s.Mirrored) }

// String is the header's text, e.g. "primary ✓", "failover 3 behind",
// "primary unreachable since 03:12:04 (12 behind)".
func (s Status) String() string {
	switch s.State {
	case Mirrored:
		return s.Context + " ✓"
	case Behind, Syncing:
		return fmt.Sprintf("%s %d behind", s.Context, s.Behind())
	case Unreachable:
		return fmt.Sprintf("%s unreachable since %s (%d behind)", s.Context, s.Since.Local().Format("15:04:05"), s.Behind())
	case Diverged:
		return s.Context + " diverged: not written"
	case Stopped:
		return fmt.Sprintf("%s stopped (%d behind)", s.Context, s.Behind())
	}
	return s.Context + " ?"
}

// Summary joins the statuses for the header: "mirror: primary ✓ · failover 3 behind".
func Summary(sts []Status) string {
	if len(sts) == 0 {
		return ""
	}
	var b bytes.Buffer
	b.WriteString("mirror: ")
	for i, s := range sts {
		if i > 0 {
			b.WriteString(" · ")
		}
		b.WriteString(s.String())
	}
	return b.String()
}

type line struct {
	seq  int
	data []byte
}

// Mirror copies one incident's journal into every target, asynchronously.
type Mirror struct {
	id   string
	opts Options

	mu      sync.Mutex
	ring    []line // the newest events, contiguous in seq
	head    int    // the last seq on disk
	stopped error
	writers []*writer

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// DefaultGather is Options.Gather's default.
const DefaultGather = 200 * time.Millisecond

// ErrStopped is wrapped by the reason a stopped mirror gives.
var ErrStopped = errors.New("mirror stopped")

// Start starts mirroring incident id, whose local journal ends at seq head,
// into every target. It returns at once; writes happen in the background.
func Start(id string, head int, opts Options) *Mirror {
	m := newMirror(id, head, opts)
	m.start()
	return m
}

func newMirror(id string, head int, opts Options) *Mirror {
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = DefaultChunkBytes
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 1024
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.Gather == 0 {
		opts.Gather = DefaultGather
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(10*time.Second, opts.MinBackoff)
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Mirror{id: id, opts: opts, head: head}
	for _, t := range opts.Targets {
		w := &writer{m: m, t: t, wake: make(chan struct{}, 1), status: Status{Context: t.Name, Head: head}}
		m.writers = append(m.writers, w)
	}
	return m
}

// start starts the writers; the head must be known by then (a writer
// compares the cluster's copy with it).
func (m *Mirror) start() {
	ctx, cancel := context.WithCancel(withLogger(context.Background(), m.opts.Logger))
	m.cancel = cancel
	for _, w := range m.writers {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			w.run(ctx)
		}()
		w.poke()
	}
}

// Attach starts mirroring j: every event appended from now on is queued
// (never waiting on the network), and the events already on disk are
// caught up from the file.
func Attach(j *incident.Journal, opts Options) *Mirror {
	opts.JournalPath = j.Path()
	m := newMirror(j.ID(), 0, opts)
	j.Observe(m.Append) // from here on every append raises the head
	m.mu.Lock()
	m.head = max(m.head, j.Seq())
	m.mu.Unlock()
	m.start()
	return m
}

// Append queues the event seq (its journal line) for every target. It never
// blocks on the network: when the queue is full the oldest event is dropped
// from memory and read back from the journal file when needed.
func (m *Mirror) Append(seq int, data []byte) {
	m.mu.Lock()
	if n := len(m.ring); n > 0 && m.ring[n-1].seq != seq-1 {
		m.ring = m.ring[:0] // not contiguous: start over from here
	}
	if len(m.ring) >= m.opts.QueueLen {
		copy(m.ring, m.ring[1:])
		m.ring = m.ring[:len(m.ring)-1]
	}
	m.ring = append(m.ring, line{seq: seq, data: data})
	if seq > m.head {
		m.head = seq
	}
	m.mu.Unlock()
	for _, w := range m.writers {
		w.poke()
	}
}

// Stop makes the mirror write nothing more, for good, and says why in
// every context's status. It does not wait for a write in flight.
func (m *Mirror) Stop(why error) {
	m.mu.Lock()
	if m.stopped == nil {
		m.stopped = fmt.Errorf("%w: %w", ErrStopped, why)
	}
	m.mu.Unlock()
	for _, w := range m.writers {
		w.poke()
	}
}

// Close stops the writers and waits for them.
func (m *Mirror) Close() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
}

// Status is every context's copy, in the order of the targets.
func (m *Mirror) Status() []Status {
	m.mu.Lock()
	head := m.head
	m.mu.Unlock()
	out := make([]Status, 0, len(m.writers))
	for _, w := range m.writers {
		w.mu.Lock()
		s := w.status
		w.mu.Unlock()
		s.Head = head
		if s.State == Mirrored && s.Mirrored < head {
			s.State = Behind
		}
		out = append(out, s)
	}
	return out
}

// Flush waits until every context that can be written has every event on
// disk now, or ctx ends. Contexts that diverged or stopped are not waited
// for; their state is in Status.
func (m *Mirror) Flush(ctx context.Context) error {
	m.mu.Lock()
	want := m.head
	m.mu.Unlock()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		done := true
		for _, s := range m.Status() {
			if s.State != Diverged && s.State != Stopped && s.Mirrored < want {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("flush mirror: %s: %w", Summary(m.Status()), ctx.Err())
		case <-tick.C:
		}
	}
}

// allowed is nil while the mirror may write.
func (m *Mirror) allowed() error {
	m.mu.Lock()
	err := m.stopped
	m.mu.Unlock()
	if err != nil {
		return err
	}
	if m.opts.Allowed != nil {
		if err := m.opts.Allowed(); err != nil {
			m.Stop(err)
			return fmt.Errorf("%w: %w", ErrStopped, err)
		}
	}
	return nil
}

// pending returns the lines after seq, at most about budget bytes (at
// least one line when there is one), from memory or else from the file.
func (m *Mirror) pending(after, budget int) ([]line, error) {
	m.mu.Lock()
	head := m.head
	if len(m.ring) > 0 && m.ring[0].seq <= after+1 {
		var out []line
		total := 0
		for _, l := range m.ring {
			if l.seq <= after {
				continue
			}
			if len(out) > 0 && total+len(l.data) > budget {
				break
			}
			total += len(l.data)
			out = append(out, l)
		}
		m.mu.Unlock()
		return out, nil
	}
	m.mu.Unlock()
	if after >= head {
		return nil, nil
	}
	if m.opts.JournalPath == "" {
		return nil, fmt.Errorf("events after seq %d are no longer queued and there is no journal file to read them from", after)
	}
	data, seqs, err := incident.Lines(m.opts.JournalPath, after, budget)
	if err != nil {
		return nil, err
	}
	out := make([]line, len(data))
	for i := range data {
		out[i] = line{seq: seqs[i], data: data[i]}
	}
	if len(out) > 0 && out[0].seq != after+1 {
		return nil, fmt.Errorf("the local journal has no event %d", after+1)
	}
	return out, nil
}

// lineAt is the local line of seq (from memory or the file).
func (m *Mirror) lineAt(seq int) ([]byte, error) {
	ls, err := m.pending(seq-1, 1)
	if err != nil {
		return nil, err
	}
	if len(ls) == 0 || ls[0].seq != seq {
		return nil, fmt.Errorf("the local journal has no event %d", seq)
	}
	return ls[0].data, nil
}

// writer mirrors into one context.
type writer struct {
	m    *Mirror
	t    Target
	wake chan struct{}

	// What the cluster holds, as this writer last saw it.
	known  bool
	tail   *corev1.ConfigMap // the last chunk (nil: none yet)
	index  int               // the tail's index
	remote int               // the last seq in the cluster

	mu     sync.Mutex
	status Status
}

func (w *writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// permanentError stops a writer for good.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func (w *writer) setStatus(f func(s *Status)) {
	w.mu.Lock()
	f(&w.status)
	w.mu.Unlock()
}

func (w *writer) run(ctx context.Context) {
	backoff := time.Duration(0)
	var timer *time.Timer
	var wrote time.Time // the end of the last successful sync
	for {
		var retry <-chan time.Time
		if backoff > 0 {
			timer = time.NewTimer(backoff)
			retry = timer.C
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-w.wake:
			if backoff > 0 {
				// A new event does not cut a backoff short: wait it out.
				select {
				case <-ctx.Done():
					timer.Stop()
					return
				case <-retry:
				}
			} else if wait := w.m.opts.Gather - time.Since(wrote); wait > 0 && !wrote.IsZero() {
				// Gather what is appended meanwhile into one write.
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		case <-retry:
		}
		err := w.sync(ctx)
		if err == nil {
			wrote = time.Now()
			backoff = 0
			w.setStatus(func(s *Status) { s.State, s.Since, s.Err = Mirrored, time.Time{}, "" })
			continue
		}
		if ctx.Err() != nil {
			return
		}
		var perm permanentError
		switch {
		case errors.Is(err, ErrStopped):
			w.setStatus(func(s *Status) { s.State, s.Err = Stopped, err.Error() })
			w.m.opts.Logger.Warn("mirror stopped", "context", w.t.Name, "err", err)
			return
		case errors.As(err, &perm):
			w.setStatus(func(s *Status) { s.State, s.Err = Diverged, err.Error() })
			w.m.opts.Logger.Error("mirror diverged", "context", w.t.Name, "err", err)
			return
		}
		w.known = false
		now := w.m.opts.Now()
		w.setStatus(func(s *Status) {
			if s.State != Unreachable {
				s.Since = now
			}
			s.State, s.Err = Unreachable, err.Error()
		})
		w.m.opts.Logger.Debug("mirror write failed", "context", w.t.Name, "err", err)
		backoff = min(max(2*backoff, w.m.opts.MinBackoff), w.m.opts.MaxBackoff)
	}
}

// sync brings the context up to the local head.
func (w *writer) sync(ctx context.Context) error {
	if err := w.m.allowed(); err != nil {
		return err
	}
	if !w.known {
		if err := w.load(ctx); err != nil {
			return err
		}
	}
	var pushed time.Time
	for {
		if err := w.m.allowed(); err != nil {
			return err
		}
		ls, err := w.m.pending(w.remote, w.m.opts.ChunkBytes)
		if err != nil {
			return fmt.Errorf("mirror to %s: %w", w.t.Name, err)
		}
		if len(ls) == 0 {
			return nil
		}
		if wait := w.m.opts.Gather - time.Since(pushed); !pushed.IsZero() && wait > 0 && linesSize(ls) < w.m.opts.ChunkBytes/2 {
			// Events still coming in: gather them into the next write
			// (a backlog of half a chunk or more goes at once).
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			continue
		}
		w.setStatus(func(s *Status) {
			if s.State != Unreachable {
				s.State = Behind
			}
		})
		if err := w.push(ctx, ls); err != nil {
			return err
		}
		pushed = time.Now()
		remote := w.remote
		w.setStatus(func(s *Status) { s.Mirrored = remote })
	}
}

func (w *writer) cms() interface {
	List(context.Context, metav1.ListOptions) (*corev1.ConfigMapList, error)
	Create(context.Context, *corev1.ConfigMap, metav1.CreateOptions) (*corev1.ConfigMap, error)
	Update(context.Context, *corev1.ConfigMap, metav1.UpdateOptions) (*corev1.ConfigMap, error)
} {
	return w.t.Client.CoreV1().ConfigMaps(w.t.ns(w.m.opts.Namespace))
}

// load reads the context's copy and checks it continues the local journal.
func (w *writer) load(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, w.m.opts.RequestTimeout)
	defer cancel()
	chunks, err := listChunks(rctx, w.t.Client, w.t.ns(w.m.opts.Namespace), w.m.id)
	if err != nil {
		return fmt.Errorf("mirror to %s: %w", w.t.Name, err)
	}
	w.tail, w.index, w.remote = nil, -1, 0
	if n := len(chunks); n > 0 {
		for i, c := range chunks {
			if c.index != i {
				return permanentError{fmt.Errorf("mirror to %s: chunk %d is missing (found %d)", w.t.Name, i, c.index)}
			}
		}
		last := chunks[n-1]
		w.tail, w.index = last.cm, last.index
		w.remote = last.last
	}
	w.m.mu.Lock()
	head := w.m.head
	w.m.mu.Unlock()
	if w.remote > head {
		return permanentError{fmt.Errorf("mirror to %s: the cluster holds %d events, this journal %d: another driver wrote there", w.t.Name, w.remote, head)}
	}
	if w.remote > 0 {
		want, err := w.m.lineAt(w.remote)
		if err != nil {
			return fmt.Errorf("mirror to %s: %w", w.t.Name, err)
		}
		got := lastLine([]byte(w.tail.Data[DataKey]))
		if !bytes.Equal(got, want) {
			return permanentError{fmt.Errorf("mirror to %s: event %d in the cluster differs from the local one: another driver wrote there", w.t.Name, w.remote)}
		}
	}
	w.known = true
	remote := w.remote
	w.setStatus(func(s *Status) { s.Mirrored = remote })
	return nil
}

func lastLine(data []byte) []byte {
	if len(data) == 0 {
		return nil
	}
	i := bytes.LastIndexByte(data[:len(data)-1], '\n')
	return data[i+1:]
}

// push writes ls (which follow w.remote) into the tail chunk when they fit,
// else seals the tail and creates the next chunk. Each call writes once.
func (w *writer) push(ctx context.Context, ls []line) error {
	rctx, cancel := context.WithTimeout(ctx, w.m.opts.RequestTimeout)
	defer cancel()
	limit := w.m.opts.ChunkBytes
	if w.tail != nil && w.tail.Annotations[AnnoSealed] != "true" {
		have := len(w.tail.Data[DataKey])
		var fit []line
		size := have
		for _, l := range ls {
			if size+len(l.data) > limit {
				break
			}
			size += len(l.data)
			fit = append(fit, l)
		}
		cm := w.tail.DeepCopy()
		if len(fit) == 0 {
			// Full: seal it, conditioned on what we saw, so no other
			// writer can append to it or start the next chunk meanwhile.
			cm.Annotations[AnnoSealed] = "true"
		} else {
			cm.Data[DataKey] += string(joinLines(fit))
			cm.Annotations[AnnoLast] = strconv.Itoa(fit[len(fit)-1].seq)
		}
		cm.Annotations[AnnoWriter] = w.m.opts.Writer
		got, err := w.cms().Update(rctx, cm, metav1.UpdateOptions{})
		if err != nil {
			return w.writeError("update", cm.Name, err)
		}
		w.tail = got
		if len(fit) > 0 {
			w.remote = fit[len(fit)-1].seq
		}
		return nil
	}
	// The next chunk, with as many lines as fit (at least one).
	var fit []line
	size := 0
	for _, l := range ls {
		if len(fit) > 0 && size+len(l.data) > limit {
			break
		}
		size += len(l.data)
		fit = append(fit, l)
	}
	n := w.index + 1
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      ChunkName(w.m.id, n),
			Namespace: w.t.ns(w.m.opts.Namespace),
			Labels: map[string]string{
				LabelApp: AppName, LabelIncident: ObjectBase(w.m.id), LabelChunk: strconv.Itoa(n),
			},
			Annotations: map[string]string{
				AnnoID: w.m.id, AnnoFirst: strconv.Itoa(fit[0].seq), AnnoLast: strconv.Itoa(fit[len(fit)-1].seq),
				AnnoWriter: w.m.opts.Writer,
			},
		},
		Data: map[string]string{DataKey: string(joinLines(fit))},
	}
	got, err := w.cms().Create(rctx, cm, metav1.CreateOptions{})
	if err != nil {
		return w.writeError("create", cm.Name, err)
	}
	w.tail, w.index, w.remote = got, n, fit[len(fit)-1].seq
	return nil
}

// writeError wraps a failed write; a conflict makes the writer read the
// cluster again before its next write.
func (w *writer) writeError(verb, name string, err error) error {
	w.known = false
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("mirror to %s: %s configmap %s/%s: another writer got there first: %w", w.t.Name, verb, w.t.ns(w.m.opts.Namespace), name, err)
	}
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("mirror to %s: not allowed to %s configmaps in namespace %s: %w", w.t.Name, verb, w.t.ns(w.m.opts.Namespace), err)
	}
	return fmt.Errorf("mirror to %s: %s configmap %s/%s: %w", w.t.Name, verb, w.t.ns(w.m.opts.Namespace), name, err)
}

func linesSize(ls []line) int {
	n := 0
	for _, l := range ls {
		n += len(l.data)
	}
	return n
}

func joinLines(ls []line) []byte {
	var b bytes.Buffer
	for _, l := range ls {
		b.Write(l.data)
	}
	return b.Bytes()
}

// chunk is one ConfigMap of a copy.
type chunk struct {
	index, first, last int
	cm                 *corev1.ConfigMap
}

// listChunks lists incident id's chunks in one context, ordered by index.
func listChunks(ctx context.Context, c kubernetes.Interface, ns, id string) ([]chunk, error) {
	list, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{
		LabelSelector: LabelIncident + "=" + ObjectBase(id),
	})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("not allowed to list configmaps in namespace %s: %w", ns, err)
		}
		return nil, fmt.Errorf("list configmaps of incident %s in namespace %s: %w", id, ns, err)
	}
	var out []chunk
	for i := range list.Items {
		cm := &list.Items[i]
		if cm.Annotations[AnnoID] != id {
			continue // another id with the same hash stem: not ours
		}
		n, err := strconv.Atoi(cm.Labels[LabelChunk])
		if err != nil || n < 0 {
			continue
		}
		first, _ := strconv.Atoi(cm.Annotations[AnnoFirst])
		last, _ := strconv.Atoi(cm.Annotations[AnnoLast])
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		out = append(out, chunk{index: n, first: first, last: last, cm: cm})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].index < out[b].index })
	return out, nil
}
