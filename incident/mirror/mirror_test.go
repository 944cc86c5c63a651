package mirror

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/drnav/drnav/incident"
)

func TestObjectBase(t *testing.T) {
	for _, id := range []string{"20261125-2003-database-corruption", "Ünïcode id with spaces", strings.Repeat("x", 200), "---"} {
		b := ObjectBase(id)
		if len(b) > 63 || !strings.HasPrefix(b, "drnav-") {
			t.Errorf("ObjectBase(%q) = %q: not a valid label value", id, b)
		}
		for _, r := range b {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Errorf("ObjectBase(%q) = %q holds %q", id, b, r)
			}
		}
	}
	if ObjectBase("a b") == ObjectBase("a-b") {
		t.Error("two ids share one object name")
	}
}

func newJournal(t testing.TB) *incident.Journal {
	t.Helper()
	j, err := incident.Create(t.TempDir(), incident.Declared{RunbookID: "unit", RunbookTitle: "Unit"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// Chunks stay under the bound, in order, and read back as the journal;
// events that fell out of the in-memory queue are read from the file.
func TestChunksReadBackAsTheJournal(t *testing.T) {
	c := fake.NewSimpleClientset()
	j := newJournal(t)
	for i := 0; i < 200; i++ {
		if err := j.Append(incident.Event{Type: incident.EventNote, Text: strings.Repeat("n", 100)}); err != nil {
			t.Fatal(err)
		}
	}
	tg := Target{Name: "primary", Client: c}
	m := Attach(j, Options{Namespace: "drnav", Targets: []Target{tg}, ChunkBytes: 4096, QueueLen: 8})
	defer m.Close()
	for i := 0; i < 100; i++ {
		if err := j.Append(incident.Event{Type: incident.EventOutput, Step: "s", Lines: []string{"line"}}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	chunks, err := listChunks(ctx, c, "drnav", j.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 5 {
		t.Errorf("%d chunks for about 30 KiB in 4 KiB chunks", len(chunks))
	}
	for _, ch := range chunks {
		if n := len(ch.cm.Data[DataKey]); n > 4096 {
			t.Errorf("chunk %d holds %d bytes", ch.index, n)
		}
	}
	cp := ReadCopy(ctx, tg, "drnav", j.ID())
	want, _ := readFile(j.Path())
	if cp.Problem != "" || cp.Err != nil || !bytes.Equal(cp.Data, want) || cp.Events != j.Seq() {
		t.Errorf("copy: %d events (want %d), equal %v, %q %v", cp.Events, j.Seq(), bytes.Equal(cp.Data, want), cp.Problem, cp.Err)
	}
	if s := m.Status()[0]; s.State != Mirrored || s.String() != "primary ✓" {
		t.Errorf("status %+v %q", s, s)
	}
}

func TestStatusText(t *testing.T) {
	since := time.Date(2026, 12, 2, 3, 12, 4, 0, time.Local)
	for _, c := range []struct {
		s    Status
		want string
	}{
		{Status{Context: "primary", State: Mirrored, Mirrored: 9, Head: 9}, "primary ✓"},
		{Status{Context: "failover", State: Behind, Mirrored: 6, Head: 9}, "failover 3 behind"},
		{Status{Context: "primary", State: Unreachable, Mirrored: 0, Head: 12, Since: since}, "primary unreachable since 03:12:04 (12 behind)"},
		{Status{Context: "x", State: Diverged}, "x diverged: not written"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%+v: %q; want %q", c.s, got, c.want)
		}
	}
}

// blackhole is an API server that accepts connections and never answers
// (a region whose network hangs); refused is one that refuses them.
func deadClient(t testing.TB, hang bool) kubernetes.Interface {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if hang {
		var held []net.Conn
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				held = append(held, c) // never read, never answered
			}
		}()
		t.Cleanup(func() { ln.Close() })
	} else {
		ln.Close()
	}
	c, err := kubernetes.NewForConfig(&rest.Config{Host: "http://" + addr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// BenchmarkAppend is the local append (fsync included) with the mirror
// off, and on with its API server hanging or refusing: the mirror must not
// slow it (the bound: within 2× of off).
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []string{"off", "on-hanging", "on-refused"} {
		b.Run(mode, func(b *testing.B) {
			j := newJournal(b)
			if mode != "off" {
				m := Attach(j, Options{Namespace: "drnav", Targets: []Target{{Name: "primary", Client: deadClient(b, mode == "on-hanging")}}})
				defer m.Close()
			}
			ev := incident.Event{Type: incident.EventOutput, Step: "s", Lines: []string{"a line of output"}}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := j.Append(ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func readFile(path string) ([]byte, error) {
	var b bytes.Buffer
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	_, err = b.ReadFrom(f)
	return b.Bytes(), err
}

// A context that refuses connections is shown unreachable since the first
// failure, with every event behind, and the journal goes on.
func TestUnreachableContext(t *testing.T) {
	j := newJournal(t)
	m := Attach(j, Options{Namespace: "drnav", Targets: []Target{{Name: "primary", Client: deadClient(t, false)}}, MaxBackoff: 100 * time.Millisecond})
	defer m.Close()
	for i := 0; i < 3; i++ {
		if err := j.Append(incident.Event{Type: incident.EventNote, Text: "n"}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := m.Status()[0]
		if s.State == Unreachable && !s.Since.IsZero() && s.Behind() == j.Seq() && s.Err != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s (%s)", s, s.Err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
