package kubetest

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/incident/mirror"
)

// benchEvents is how many events one iteration of BenchmarkMirror5000
// appends.
const benchEvents = 5000

// memPeak samples this process's heap in use and resident set until stop,
// keeping the highest of each.
type memPeak struct {
	mu         sync.Mutex
	heap, rss  uint64
	stop, done chan struct{}
}

func sampleMemory() *memPeak {
	p := &memPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			rss := readRSS()
			p.mu.Lock()
			p.heap, p.rss = max(p.heap, ms.HeapInuse), max(p.rss, rss)
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *memPeak) end() (heap, rss uint64) {
	close(p.stop)
	<-p.done
	return p.heap, p.rss
}

// readRSS is VmRSS of this process, in bytes (0 when unknown).
func readRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkMirror5000 appends 5,000 events to a local journal (fsync each)
// with the mirror off, and on into the real API server: healthy, slow (a
// proxy holding every write towards the server 200 ms) and down (the proxy
// refusing connections). It reports the local append latency (mean and
// p99), the peak heap in use and resident set of this process during the
// run, and, when the server answers, how long the mirror took to catch up
// after the last append. Run it with -benchtime=1x (one run of 5,000 each):
//
//	go test ./internal/kubetest -run '^$' -bench Mirror5000 -benchtime=1x -count=3
func BenchmarkMirror5000(b *testing.B) {
	cp := plane.Get(b)
	target := strings.TrimPrefix(cp.Server(), "https://")
	for _, mode := range []string{"off", "on", "on-slow", "on-down"} {
		b.Run(mode, func(b *testing.B) {
			px := newNetProxy(b, target)
			switch mode {
			case "on-slow":
				px.SetDelay(200 * time.Millisecond)
			case "on-down":
				px.Cut()
			}
			client := clientVia(b, cp.AdminConfig(), px.Addr())
			var lat []time.Duration
			var heap, rss uint64
			var catchUp time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				runtime.GC()
				j, err := incident.Create(filepath.Join(b.TempDir(), "incidents"), incident.Declared{RunbookID: "bench", RunbookTitle: "Bench"})
				if err != nil {
					b.Fatal(err)
				}
				ns := cp.NewNamespace(b) // incident ids repeat within a minute
				var m *mirror.Mirror
				if mode != "off" {
					m = mirror.Attach(j, mirror.Options{Targets: []mirror.Target{{Name: "primary", Client: client, Namespace: ns}},
						Writer: "bench", MaxBackoff: time.Second, RequestTimeout: 5 * time.Second})
				}
				mem := sampleMemory()
				b.StartTimer()
				for n := 0; n < benchEvents; n++ {
					ev := incident.Event{Type: incident.EventOutput, Step: "s" + strconv.Itoa(n%20),
						Lines: []string{"output line " + strconv.Itoa(n), strings.Repeat("x", 120)}}
					t0 := time.Now()
					if err := j.Append(ev); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
				}
				b.StopTimer()
				if m != nil && mode != "on-down" {
					t0 := time.Now()
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					if err := m.Flush(ctx); err != nil {
						b.Fatal(err)
					}
					cancel()
					catchUp += time.Since(t0)
				}
				h, r := mem.end()
				heap, rss = max(heap, h), max(rss, r)
				if m != nil {
					if mode == "on-down" {
						if s := m.Status()[0]; s.State != mirror.Unreachable || s.Behind() < benchEvents {
							b.Errorf("the mirror with its server down: %s", s)
						}
					} else if s := m.Status()[0]; s.Mirrored != j.Seq() {
						b.Errorf("the mirror did not catch up: %s", s)
					}
					m.Close()
				}
				_ = j.Close()
			}
			sort.Slice(lat, func(a, c int) bool { return lat[a] < lat[c] })
			var sum time.Duration
			for _, d := range lat {
				sum += d
			}
			b.ReportMetric(float64(sum.Nanoseconds())/float64(len(lat)), "ns/append")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns/append")
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
			if catchUp > 0 {
				b.ReportMetric(float64(catchUp.Milliseconds())/float64(b.N), "catchup-ms")
			}
		})
	}
}
