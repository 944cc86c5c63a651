package kubetest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Plane is the one control plane of a test package, started by the first
// test that asks for it and stopped when the package's tests end. Declare it
// as a package variable and hand TestMain to Main:
//
//	var plane kubetest.Plane
//
//	func TestMain(m *testing.M) { plane.Main(m) }
type Plane struct {
	// Options for Start; BinDir defaults to $DRNAV_KUBE_BINS.
	Options Options

	once sync.Once
	cp   *ControlPlane
	err  error
}

// Main runs the package's tests, stops the control plane if one was started,
// and exits with the tests' code (1 when stopping failed).
func (p *Plane) Main(m *testing.M) {
	code := m.Run()
	if p.cp != nil {
		if err := p.cp.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "kubetest: stop control plane: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Available reports whether a control plane can be started: $DRNAV_KUBE_BINS
// (or Options.BinDir) is set.
func (p *Plane) Available() bool {
	return p.Options.BinDir != "" || os.Getenv(EnvBins) != ""
}

// Get returns the package's control plane, starting it on first use. Without
// binaries the test is skipped — or fails when DRNAV_REQUIRE_KUBE=1. A start
// failure fails every test that asks.
func (p *Plane) Get(tb testing.TB) *ControlPlane {
	tb.Helper()
	if !p.Available() {
		msg := fmt.Sprintf("no Kubernetes control plane: %s is unset (build the binaries with scripts/kube-bins.sh and export %s=<the folder it prints>)", EnvBins, EnvBins)
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatal(msg + "; required because " + EnvRequire + "=1")
		}
		tb.Skip(msg)
	}
	p.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		opts := p.Options
		if opts.Logf == nil {
			opts.Logf = func(format string, args ...any) {
				fmt.Fprintf(os.Stderr, format+"\n", args...)
			}
		}
		p.cp, p.err = Start(ctx, opts)
	})
	if p.err != nil {
		tb.Fatalf("start Kubernetes control plane: %v", p.err)
	}
	return p.cp
}
