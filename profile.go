package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// startProfiles writes a CPU profile of the whole process to dir/cpu.pprof
// and, when the returned function is called, a heap profile to
// dir/heap.pprof. An empty dir does nothing. It serves
// scripts/bench-tui.sh -pprof (DRNAV_PPROF=dir).
func startProfiles(dir string, stderr io.Writer) (stop func()) {
	if dir == "" {
		return func() {}
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		fmt.Fprintf(stderr, "drnav: DRNAV_PPROF: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fmt.Fprintf(stderr, "drnav: DRNAV_PPROF: %v\n", err)
		cpu.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		heap, err := os.Create(filepath.Join(dir, "heap.pprof"))
		if err != nil {
			fmt.Fprintf(stderr, "drnav: DRNAV_PPROF: %v\n", err)
			return
		}
		defer heap.Close()
		runtime.GC()
		if err := pprof.Lookup("heap").WriteTo(heap, 0); err != nil {
			fmt.Fprintf(stderr, "drnav: DRNAV_PPROF: %v\n", err)
		}
	}
}
