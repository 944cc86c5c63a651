package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// refInformerEnv, when set in benchtui's environment, makes the process the
// churn reference instead of the benchmark: a bare typed pod informer in a
// process of its own, so that its CPU time can be read from /proc like
// drnav's. Its value is the kubeconfig; refNamespaceEnv and refPodsEnv say
// which pods and how many.
const (
	refInformerEnv  = "BENCHTUI_REF_INFORMER"
	refNamespaceEnv = "BENCHTUI_REF_NAMESPACE"
	refPodsEnv      = "BENCHTUI_REF_PODS"
)

// runRefInformer is the child: it syncs a typed pod informer (protobuf, no
// transform, one handler counting events), prints "synced N" on stdout, and
// runs until its stdin closes; then it prints "events N" (every event its
// handler saw after the sync) and exits.
func runRefInformer(kubeconfig string) error {
	ns := os.Getenv(refNamespaceEnv)
	want, err := strconv.Atoi(os.Getenv(refPodsEnv))
	if err != nil {
		return fmt.Errorf("%s: %w", refPodsEnv, err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	c, err := kubernetes.NewForConfig(fastConfig(cfg))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	inf := f.Core().V1().Pods().Informer()
	var synced atomic.Bool
	var events atomic.Int64
	count := func() {
		if synced.Load() {
			events.Add(1)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { count() },
		UpdateFunc: func(any, any) { count() },
		DeleteFunc: func(any) { count() },
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return errors.New("informer did not sync")
	}
	synced.Store(true)
	if got := len(inf.GetStore().ListKeys()); got != want {
		return fmt.Errorf("informer holds %d pods, want %d", got, want)
	}
	fmt.Printf("synced %d\n", want)
	_, _ = io.Copy(io.Discard, os.Stdin)
	fmt.Printf("events %d\n", events.Load())
	cancel()
	f.Shutdown()
	return nil
}

// refProcess is a running churn reference (see runRefInformer).
type refProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// startRefInformer re-executes benchtui as the churn reference and waits
// until its informer has synced.
func startRefInformer(ctx context.Context, kubeconfig, ns string, pods int) (*refProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), refInformerEnv+"="+kubeconfig, refNamespaceEnv+"="+ns, refPodsEnv+"="+strconv.Itoa(pods))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start reference informer: %w", err)
	}
	p := &refProcess{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	lines := make(chan string, 1)
	go func() {
		if p.out.Scan() {
			lines <- p.out.Text()
		}
		close(lines)
	}()
	select {
	case l, ok := <-lines:
		if ok && l == "synced "+strconv.Itoa(pods) {
			return p, nil
		}
		_ = stdin.Close()
		werr := cmd.Wait()
		return nil, fmt.Errorf("reference informer: got %q before sync (%v)", l, werr)
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, errors.New("reference informer: not synced after 90 s")
	}
}

// stop ends the reference and returns the events its handler saw after the
// sync.
func (p *refProcess) stop() (int64, error) {
	_ = p.stdin.Close()
	var events int64 = -1
	for p.out.Scan() {
		if n, ok := strings.CutPrefix(p.out.Text(), "events "); ok {
			events, _ = strconv.ParseInt(n, 10, 64)
		}
	}
	if err := p.cmd.Wait(); err != nil {
		return 0, fmt.Errorf("reference informer: %w", err)
	}
	if events < 0 {
		return 0, errors.New("reference informer: no event count")
	}
	return events, nil
}

// churnReference measures the reference informer's CPU over a churn window
// like drnav's: the same length and rate, after a settling pause.
func churnReference(ctx context.Context, o options, kubeconfig string, client kubernetes.Interface, ref *reference) error {
	p, err := startRefInformer(ctx, kubeconfig, o.ns, o.pods)
	if err != nil {
		return err
	}
	pid := p.cmd.Process.Pid
	sleep(ctx, 5*time.Second) // the sync's garbage collected and returned
	ref.churnLoad = loadavg()
	logf("reference informer (pid %d): churn window %s at %d changes/s (load average %s)", pid, o.load, o.rate, ref.churnLoad)
	lctx, cancel := context.WithTimeout(ctx, o.load)
	defer cancel()
	var changes atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		churn(lctx, client, o.ns, o.pods, o.rate, &changes)
	}()
	c0 := procCPU(pid)
	<-lctx.Done()
	ref.churnCPU = perMinute(procCPU(pid)-c0, o.load)
	<-done
	ref.churnChanges = changes.Load()
	sleep(ctx, time.Second) // the last changes' events arrive
	events, err := p.stop()
	if err != nil {
		return err
	}
	ref.churnEvents = events
	logf("reference informer: %s over %d changes (%d events seen)", cpus(ref.churnCPU), ref.churnChanges, events)
	return nil
}
