package serve

import (
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTwentyWatchers: 20 watchers on one idle incident (the header
// clock still ticks). Reported per idle window: bytes per second each
// watcher receives, CPU of the whole test process (server and the 20 SSH
// clients with their terminal emulators, so an upper bound for the server)
// per minute, and the live heap.
//
//	go test -run '^$' -bench TwentyWatchers -benchtime 1x ./serve/
func BenchmarkTwentyWatchers(b *testing.B) {
	const watchers = 20
	const window = 10 * time.Second
	f := newFixture(b)
	dir := b.TempDir()
	k := newKey(b, "watcher")
	srv := startServer(b, Options{
		HostKey:     filepath.Join(dir, "host_ed25519"),
		WatcherKeys: []string{writeKeys(b, dir, "watchers", k)},
		UI:          f.build,
	})
	var terms []*term
	for range watchers {
		c, _, err := dial(srv.Addr().String(), k)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		terms = append(terms, openTerm(b, c, "", 120, 40))
	}
	for _, tm := range terms {
		tm.waitScreen(f.rb.Steps[0].Title, "read-only")
	}
	b.ResetTimer()
	for range b.N {
		var before int64
		for _, tm := range terms {
			before += tm.bytes.Load()
		}
		cpu0 := cpuTime(b)
		time.Sleep(window)
		cpu := cpuTime(b) - cpu0
		var after int64
		for _, tm := range terms {
			after += tm.bytes.Load()
		}
		b.ReportMetric(float64(after-before)/watchers/window.Seconds(), "B/s/watcher")
		b.ReportMetric(cpu.Seconds()*float64(time.Minute/window), "CPU-s/min")
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
}
