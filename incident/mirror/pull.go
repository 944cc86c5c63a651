package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drnav/drnav/incident"
)

// Copy describes an incident's copy in one context.
type Copy struct {
	Context string
	Events  int    // valid events, from seq 1 on
	Data    []byte // those events' journal lines
	// Problem says why the copy stops where it does (a missing chunk, an
	// invalid line), "" when it is whole.
	Problem string
	Err     error // the context could not be read
	// All is every chunk's data in index order, valid or not, and Claimed
	// the last seq the last chunk's annotation claims (report --verify).
	All     []byte
	Claimed int
	// Chunks is how many chunks there are.
	Chunks int
}

// ReadCopy reads incident id's copy from one context: the chunks in order,
// kept up to the first gap or invalid event.
func ReadCopy(ctx context.Context, t Target, ns, id string) Copy {
	c := Copy{Context: t.Name}
	chunks, err := listChunks(ctx, t.Client, t.ns(ns), id)
	if err != nil {
		c.Err = fmt.Errorf("read the mirror in %s: %w", t.Name, err)
		return c
	}
	var all, every bytes.Buffer
	c.Chunks = len(chunks)
	for i, ch := range chunks {
		if ch.index != i && c.Problem == "" {
			c.Problem = fmt.Sprintf("chunk %d is missing", i)
		}
		if c.Problem == "" {
			all.WriteString(ch.cm.Data[DataKey])
		}
		every.WriteString(ch.cm.Data[DataKey])
		c.Claimed = ch.last
	}
	c.All = every.Bytes()
	data := all.Bytes()
	seq := 0
	good := 0
	for len(data[good:]) > 0 {
		rest := data[good:]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			c.Problem = fmt.Sprintf("event %d is cut short", seq+1)
			break
		}
		var ev incident.Event
		if err := json.Unmarshal(rest[:nl], &ev); err != nil || ev.Type == "" {
			c.Problem = fmt.Sprintf("the line after event %d is not an event", seq)
			break
		}
		if ev.Seq != seq+1 {
			c.Problem = fmt.Sprintf("event %d follows event %d", ev.Seq, seq)
			break
		}
		if seq == 0 && (ev.Type != incident.EventDeclared || ev.Declared == nil || ev.Declared.ID != id) {
			c.Problem = "it does not start with the declaration of " + id
			break
		}
		seq = ev.Seq
		good += nl + 1
	}
	c.Events, c.Data = seq, data[:good]
	return c
}

// ErrNotMirrored says no context holds a copy of the incident.
var ErrNotMirrored = errors.New("no copy of the incident in any context")

// Pull reads incident id's copy from every target and returns the longest
// valid one (the first target wins a tie), with what each context held.
// Copies that disagree on an event both hold are reported in the
// returned copies' Problem.
func Pull(ctx context.Context, targets []Target, ns, id string) (Copy, []Copy, error) {
	copies := make([]Copy, len(targets))
	done := make(chan int, len(targets))
	for i, t := range targets {
		go func() {
			copies[i] = ReadCopy(ctx, t, ns, id)
			done <- i
		}()
	}
	for range targets {
		<-done
	}
	best := -1
	for i, c := range copies {
		if c.Err == nil && c.Events > 0 && (best < 0 || c.Events > copies[best].Events) {
			best = i
		}
	}
	if best < 0 {
		var errs []string
		for _, c := range copies {
			if c.Err != nil {
				errs = append(errs, c.Err.Error())
			}
		}
		if len(errs) > 0 {
			return Copy{}, copies, fmt.Errorf("pull incident %s: %w (%s)", id, ErrNotMirrored, strings.Join(errs, "; "))
		}
		return Copy{}, copies, fmt.Errorf("pull incident %s: %w", id, ErrNotMirrored)
	}
	for i := range copies {
		c := &copies[i]
		if i == best || c.Err != nil || c.Events == 0 {
			continue
		}
		if !bytes.HasPrefix(copies[best].Data, c.Data) {
			p := fmt.Sprintf("differs from the copy in %s", copies[best].Context)
			if c.Problem != "" {
				p = c.Problem + "; " + p
			}
			c.Problem = p
		}
	}
	return copies[best], copies, nil
}

// Listed is one incident found in a context's mirror.
type Listed struct {
	ID       string
	Declared incident.Declared // from its declared event
	Chunks   int
	LastSeq  int    // the last event's seq, per the last chunk
	Holder   string // who holds its Lease now ("" when nobody)
}

// List lists the incidents mirrored in one context, newest declaration
// first. Only the first line of each first chunk is decoded.
func List(ctx context.Context, t Target, ns string) ([]Listed, error) {
	ns = t.ns(ns)
	list, err := t.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelApp + "=" + AppName})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("%s: not allowed to list configmaps in namespace %s: %w", t.Name, ns, err)
		}
		return nil, fmt.Errorf("%s: list configmaps in namespace %s: %w", t.Name, ns, err)
	}
	byID := map[string]*Listed{}
	for _, cm := range list.Items {
		id := cm.Annotations[AnnoID]
		if id == "" || cm.Labels[LabelIncident] != ObjectBase(id) {
			continue
		}
		l := byID[id]
		if l == nil {
			l = &Listed{ID: id}
			byID[id] = l
		}
		l.Chunks++
		if last, err := strconv.Atoi(cm.Annotations[AnnoLast]); err == nil && last > l.LastSeq {
			l.LastSeq = last
		}
		if cm.Labels[LabelChunk] == "0" {
			data := cm.Data[DataKey]
			if nl := strings.IndexByte(data, '\n'); nl > 0 {
				var ev incident.Event
				if json.Unmarshal([]byte(data[:nl]), &ev) == nil && ev.Declared != nil {
					l.Declared = *ev.Declared
					l.Declared.At = ev.Time
				}
			}
		}
	}
	out := make([]Listed, 0, len(byID))
	for _, l := range byID {
		if h, err := LeaseHolder(ctx, t.Client, ns, l.ID); err == nil {
			l.Holder = h
		}
		out = append(out, *l)
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].Declared.At.Equal(out[b].Declared.At) {
			return out[a].Declared.At.After(out[b].Declared.At)
		}
		return out[a].ID > out[b].ID
	})
	return out, nil
}
