package serve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/ui"
)

// The benchmark's server runs in a process of its own (this test binary
// re-executed with benchServerEnv set, see TestMain), so that its RSS, heap
// and CPU are the server's alone: the 20 SSH clients and their terminal
// emulators stay in the benchmark's process.
const benchServerEnv = "DRNAV_SERVE_BENCH_SERVER"

// benchServerMain serves the incident named by the environment to watcher
// keys, prints "addr HOST:PORT", then answers each "heap" line on in with
// the live heap in bytes (after a GC); it stops when in closes.
func benchServerMain(in io.Reader, out io.Writer) int {
	rbs, err := runbooks.Load("")
	if err != nil {
		fmt.Fprintln(out, "error", err)
		return 1
	}
	root, id := os.Getenv("BENCH_ROOT"), os.Getenv("BENCH_ID")
	srv, err := New(Options{
		Listen:      "127.0.0.1:0",
		HostKey:     os.Getenv("BENCH_HOST_KEY"),
		WatcherKeys: []string{os.Getenv("BENCH_KEYS")},
		UI: func(ctx context.Context, r Request) (ui.Options, error) {
			return watchOptions(ctx, root, id, rbs, r)
		},
	})
	if err != nil {
		fmt.Fprintln(out, "error", err)
		return 1
	}
	go func() { _ = srv.Serve() }()
	defer srv.Close()
	if p := os.Getenv("BENCH_CPU_PROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	fmt.Fprintln(out, "addr", srv.Addr())
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() == "heap" {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintln(out, "heap", ms.HeapInuse)
			if p := os.Getenv("BENCH_HEAP_PROFILE"); p != "" {
				if err := writeHeapProfile(p); err != nil {
					fmt.Fprintln(os.Stderr, "heap profile:", err)
				}
			}
		}
	}
	return 0
}

// writeHeapProfile writes the live heap's profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchServer is the server process as the benchmark sees it.
type benchServer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startBenchServer(b *testing.B, f *fixture, keys, dir string) (*benchServer, string) {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1", "BENCH_ROOT="+f.root, "BENCH_ID="+f.id,
		"BENCH_KEYS="+keys, "BENCH_HOST_KEY="+filepath.Join(dir, "host_ed25519"))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := &benchServer{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	b.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
	})
	addr := s.line(b, "addr")
	return s, addr
}

// line reads the server's next line, which must start with word.
func (s *benchServer) line(b *testing.B, word string) string {
	b.Helper()
	if !s.out.Scan() {
		b.Fatalf("server process: no %q line: %v", word, s.out.Err())
	}
	got, rest, _ := strings.Cut(s.out.Text(), " ")
	if got != word {
		b.Fatalf("server process: %q, want %q", s.out.Text(), word)
	}
	return rest
}

// heap is the server's live heap in bytes.
func (s *benchServer) heap(b *testing.B) float64 {
	b.Helper()
	if _, err := io.WriteString(s.in, "heap\n"); err != nil {
		b.Fatal(err)
	}
	n, err := strconv.ParseFloat(s.line(b, "heap"), 64)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// cpu is the server process's user+system CPU time so far.
func (s *benchServer) cpu(b *testing.B) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// after "pid (comm) ": fields 14 and 15 (utime, stime) in clock ticks
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// rss is the server process's resident set in bytes.
func (s *benchServer) rss(b *testing.B) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkTwentyWatchers: 20 watchers on one idle incident (the header
// clock still ticks), the server in a process of its own. Reported per idle
// window: bytes per second each watcher receives, the server's CPU per
// minute, the server's RSS and live heap with the 20 sessions, and both per
// session (with 20 minus with none, over 20).
//
//	go test -run '^$' -bench TwentyWatchers -benchtime 1x ./serve/
//
// With BENCH_HEAP_PROFILE=FILE the server writes its heap profile there
// (with the 20 sessions): go tool pprof -sample_index=inuse_space FILE;
// with BENCH_CPU_PROFILE=FILE its CPU profile, from start to end.
func BenchmarkTwentyWatchers(b *testing.B) {
	const watchers = 20
	const window = 10 * time.Second
	f := newFixture(b)
	dir := b.TempDir()
	k := newKey(b, "watcher")
	srv, addr := startBenchServer(b, f, writeKeys(b, dir, "watchers", k), dir)
	heap0, rss0 := srv.heap(b), srv.rss(b)
	var terms []*term
	for range watchers {
		c, _, err := dial(addr, k)
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
		cpu0 := srv.cpu(b)
		time.Sleep(window)
		cpu := srv.cpu(b) - cpu0
		var after int64
		for _, tm := range terms {
			after += tm.bytes.Load()
		}
		b.ReportMetric(float64(after-before)/watchers/window.Seconds(), "B/s/watcher")
		b.ReportMetric(cpu.Seconds()*float64(time.Minute/window), "server-CPU-s/min")
	}
	b.StopTimer()
	heap := srv.heap(b)
	rss := srv.rss(b)
	b.ReportMetric(rss/(1<<20), "server-RSS-MB")
	b.ReportMetric((rss-rss0)/watchers/(1<<10), "server-RSS-KB/session")
	b.ReportMetric(heap/(1<<20), "server-heap-MB")
	b.ReportMetric((heap-heap0)/watchers/(1<<10), "server-heap-KB/session")
}
