package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
)

// startProfiles writes a CPU profile of the whole process to dir/cpu.pprof
// and, when the returned function is called, a heap profile to
// dir/heap.pprof. An empty dir does nothing. It serves
// scripts/bench-tui.sh -pprof (DRNAV_PPROF=dir).
//
// SIGUSR1 starts a new phase: the CPU profile so far is closed, a heap
// profile of this moment is written (heap.N.pprof) and the CPU profile goes
// on in cpu.N.pprof (N = 1, 2, …), so a benchmark can profile start-up, idle
// and churn apart.
func startProfiles(dir string, stderr io.Writer) (stop func()) {
	if dir == "" {
		return func() {}
	}
	warn := func(err error) { fmt.Fprintf(stderr, "drnav: DRNAV_PPROF: %v\n", err) }
	var mu sync.Mutex
	var cpu *os.File
	startCPU := func(name string) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			warn(err)
			return
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			warn(err)
			f.Close()
			return
		}
		cpu = f
	}
	stopCPU := func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
			cpu = nil
		}
	}
	writeHeap := func(name string) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			warn(err)
			return
		}
		defer f.Close()
		runtime.GC()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			warn(err)
		}
	}
	startCPU("cpu.pprof")
	// Tells the benchmark this drnav takes SIGUSR1 (an older one dies of it).
	if err := os.WriteFile(filepath.Join(dir, "phases"), []byte("SIGUSR1: next cpu.N.pprof, heap.N.pprof\n"), 0o644); err != nil {
		warn(err)
	}

	phases := make(chan os.Signal, 1)
	signal.Notify(phases, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-phases:
			}
			mu.Lock()
			stopCPU()
			writeHeap("heap." + strconv.Itoa(n) + ".pprof")
			startCPU("cpu." + strconv.Itoa(n) + ".pprof")
			mu.Unlock()
		}
	}()
	return func() {
		signal.Stop(phases)
		close(done)
		mu.Lock()
		defer mu.Unlock()
		stopCPU()
		writeHeap("heap.pprof")
	}
}
