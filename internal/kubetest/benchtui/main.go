// Command benchtui measures drnav as a person at a terminal feels it, against
// a real local control plane with many kwok pods: time to the first frame,
// time until the pods pane shows every pod, resident memory, CPU while idle
// and CPU under a steady stream of pod changes. In the same run it measures
// the physical references — a bare typed informer's sync, `kubectl get
// pods`, and the CPU a bare typed informer in a process of its own spends
// over a churn window like drnav's (refinformer.go) — and prints the ratios. scripts/bench-tui.sh builds drnav and runs
// it; see the README's performance section.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/drnav/drnav/internal/kubetest"
)

type options struct {
	bin       string
	pods      int
	ns        string
	idle      time.Duration
	load      time.Duration
	rate      int
	pprofDir  string
	keep      bool
	width     int
	height    int
	runs      int
	kubectlOK bool
}

func main() {
	if spec := os.Getenv(refInformerEnv); spec != "" {
		if err := runRefInformer(spec); err != nil {
			fmt.Fprintf(os.Stderr, "benchtui reference informer: %v\n", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.bin, "bin", "", "the drnav binary to measure (required)")
	flag.IntVar(&o.pods, "pods", 10000, "pods to create")
	flag.StringVar(&o.ns, "namespace", "perf", "namespace of the pods")
	flag.DurationVar(&o.idle, "idle", time.Minute, "idle CPU window")
	flag.DurationVar(&o.load, "load", time.Minute, "CPU window under pod changes")
	flag.IntVar(&o.rate, "rate", 100, "pod changes per second in the load window")
	flag.IntVar(&o.runs, "runs", 3, "start-up measurements (first frame, all pods shown)")
	flag.StringVar(&o.pprofDir, "pprof", "", "folder for drnav's CPU and heap profiles of the last run (DRNAV_PPROF): cpu.pprof start-up, cpu.1.pprof idle, cpu.2.pprof load")
	flag.IntVar(&o.width, "width", 120, "terminal columns")
	flag.IntVar(&o.height, "height", 40, "terminal rows")
	flag.Parse()
	if o.bin == "" {
		fmt.Fprintln(os.Stderr, "benchtui: -bin is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "benchtui: %v\n", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "# "+format+"\n", args...)
}

func run(ctx context.Context, o options) (err error) {
	var bins []string
	for _, b := range strings.Split(o.bin, ",") {
		abs, err := filepath.Abs(b)
		if err != nil {
			return err
		}
		bins = append(bins, abs)
	}
	if o.pprofDir != "" {
		if o.pprofDir, err = filepath.Abs(o.pprofDir); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp("", "drnav-benchtui-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	logf("load average at start: %s", loadavg())
	cp, err := kubetest.Start(ctx, kubetest.Options{Logf: logf})
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	defer func() {
		if serr := cp.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	cfg := fastConfig(cp.AdminConfig())
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := createPods(ctx, client, o.ns, o.pods); err != nil {
		return err
	}

	var ref reference
	ref.load = loadavg()
	ref.informer, ref.informerHeap, err = informerSync(ctx, cfg, o.ns, o.pods)
	if err != nil {
		return err
	}
	ref.kubectl, ref.kubectlRSS, ref.kubectlErr = kubectlGet(ctx, cp, o.ns, o.pods)
	if err := churnReference(ctx, o, cp.Kubeconfig(), client, &ref); err != nil {
		return err
	}

	for i, bin := range bins {
		bo := o
		bo.bin = bin
		if o.pprofDir != "" {
			bo.pprofDir = filepath.Join(o.pprofDir, strconv.Itoa(i+1)+"-"+filepath.Base(bin))
			if err := os.MkdirAll(bo.pprofDir, 0o755); err != nil {
				return err
			}
			_ = os.Remove(filepath.Join(bo.pprofDir, "phases")) // an earlier run's
		}
		dir := filepath.Join(work, strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
		r, err := measure(ctx, bo, dir, cp, client)
		if err != nil {
			return fmt.Errorf("%s: %w", bin, err)
		}
		r.print(o, ref) // at once: a later binary's failure keeps this one's figures
	}
	return nil
}

// measure runs one drnav binary through every figure.
func measure(ctx context.Context, o options, work string, cp *kubetest.ControlPlane, client kubernetes.Interface) (*results, error) {
	r := &results{bin: o.bin, loadStart: loadavg()}
	logf("measuring %s (load average %s)", o.bin, r.loadStart)
	tm, err := newTerm(work, cp.Kubeconfig(), o)
	if err != nil {
		return nil, err
	}
	defer tm.close()
	id, err := tm.declare(ctx)
	if err != nil {
		return nil, err
	}
	ready := regexp.MustCompile(`\b` + strconv.Itoa(o.pods) + ` running\b`)
	var last *drnavRun
	for i := 0; i < o.runs; i++ {
		pprof := ""
		if i == o.runs-1 {
			pprof = o.pprofDir
		}
		dr, err := tm.resume(ctx, id, ready, pprof, fmt.Sprintf("run%d", i))
		if err != nil {
			return nil, err
		}
		r.firstFrame = append(r.firstFrame, dr.firstFrame)
		r.allShown = append(r.allShown, dr.allShown)
		logf("run %d: first frame %s, all %d pods shown %s", i+1, ms(dr.firstFrame), o.pods, ms(dr.allShown))
		if i < o.runs-1 {
			if err := tm.quit(ctx, dr); err != nil {
				return nil, err
			}
		}
		last = dr
	}

	// Steady state of the last run.
	sleep(ctx, 10*time.Second)
	r.rss = procRSS(last.pid)
	phase(ctx, o, last, "idle")
	logf("idle window %s", o.idle)
	c0 := procCPU(last.pid)
	sleep(ctx, o.idle)
	r.idleCPU = perMinute(procCPU(last.pid)-c0, o.idle)
	r.rssIdle = procRSS(last.pid)

	phase(ctx, o, last, "load")
	logf("load window %s at %d changes/s", o.load, o.rate)
	lctx, cancel := context.WithTimeout(ctx, o.load)
	var changes atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		churn(lctx, client, o.ns, o.pods, o.rate, &changes)
	}()
	c0 = procCPU(last.pid)
	<-lctx.Done()
	r.loadCPU = perMinute(procCPU(last.pid)-c0, o.load)
	cancel()
	<-done
	r.changes = changes.Load()
	r.rssLoad = procRSS(last.pid)
	r.hwm = procHWM(last.pid)
	if err := tm.quit(ctx, last); err != nil {
		return nil, err
	}

	for _, args := range [][]string{{"version"}, {"list"}, {"lint"}} {
		rss, d, err := oneShot(ctx, o.bin, tm.env(), args...)
		if err != nil {
			return nil, fmt.Errorf("drnav %s: %w", strings.Join(args, " "), err)
		}
		r.oneShots = append(r.oneShots, oneShotResult{strings.Join(args, " "), rss, d})
	}
	if st, err := os.Stat(o.bin); err == nil {
		r.binSize = st.Size()
	}
	r.loadEnd = loadavg()
	return r, nil
}

// phase starts the next profiling phase of a profiled run (SIGUSR1, see
// drnav's profile.go): cpu.pprof covers start-up, cpu.1.pprof the idle
// window, cpu.2.pprof the load window; heap.1/heap.2 are the heap at their
// start. The second's pause keeps the heap profile's GC out of the window.
func phase(ctx context.Context, o options, dr *drnavRun, name string) {
	if o.pprofDir == "" {
		return
	}
	if _, err := os.Stat(filepath.Join(o.pprofDir, "phases")); err != nil {
		logf("profile phase %s: this drnav does not take SIGUSR1 (no %s/phases): one profile", name, o.pprofDir)
		return
	}
	if err := syscall.Kill(dr.pid, syscall.SIGUSR1); err != nil {
		logf("profile phase %s: %v", name, err)
		return
	}
	sleep(ctx, time.Second)
}

// fastConfig is cfg speaking protobuf with room for bulk creation.
func fastConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	c.QPS, c.Burst = 1000, 2000
	return c
}

// createPods creates n pods bound to the fake node (no scheduler round) and
// waits until kwok reports all of them Running.
func createPods(ctx context.Context, c kubernetes.Interface, ns string, n int) error {
	start := time.Now()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	// The ServiceAccount admission plugin refuses pods until the default
	// ServiceAccount of the namespace exists.
	if err := pollUntil(ctx, time.Minute, func() bool {
		_, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		return fmt.Errorf("default ServiceAccount in %s: %w", ns, err)
	}
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("perf-%05d", i), Labels: map[string]string{"app": "perf"}},
					Spec: corev1.PodSpec{
						NodeName:                     kubetest.FakeNodeName,
						AutomountServiceAccountToken: new(false),
						Containers:                   []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
					},
				}
				if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					select {
					case errs <- fmt.Errorf("create pod %s: %w", pod.Name, err):
					default:
					}
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			wg.Wait()
			return err
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	logf("created %d pods in %s; waiting until all are Running", n, ms(time.Since(start)))
	err := pollUntil(ctx, 10*time.Minute, func() bool {
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false
		}
		running := 0
		for i := range list.Items {
			if list.Items[i].Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == n
	})
	if err != nil {
		return fmt.Errorf("waiting for %d Running pods: %w", n, err)
	}
	logf("%d pods Running after %s", n, ms(time.Since(start)))
	return nil
}

func pollUntil(ctx context.Context, timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil
}

// informerSync is the reference: a bare typed pod informer (protobuf, no
// transform) in this process, from start to synced, and the live heap it
// holds afterwards.
func informerSync(ctx context.Context, cfg *rest.Config, ns string, n int) (time.Duration, uint64, error) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, 0, err
	}
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	f := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	inf := f.Core().V1().Pods().Informer()
	f.Start(ictx.Done())
	if !cache.WaitForCacheSync(ictx.Done(), inf.HasSynced) {
		return 0, 0, errors.New("informer did not sync")
	}
	d := time.Since(start)
	if got := len(inf.GetStore().ListKeys()); got != n {
		return 0, 0, fmt.Errorf("informer holds %d pods, want %d", got, n)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heap := after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	runtime.KeepAlive(inf)
	cancel()
	f.Shutdown()
	logf("bare typed informer: synced %d pods in %s, live heap %d MB", n, ms(d), heap>>20)
	return d, heap, nil
}

// kubectlGet times `kubectl get pods` (the binary next to the control
// plane's, else on PATH) and reports its peak RSS.
func kubectlGet(ctx context.Context, cp *kubetest.ControlPlane, ns string, n int) (time.Duration, int64, error) {
	bin := filepath.Join(cp.BinDir(), "kubectl")
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("kubectl"); err != nil {
			return 0, 0, errors.New("kubectl not found")
		}
	}
	start := time.Now()
	rss, out, err := runMeasured(ctx, os.Environ(), bin, "--kubeconfig", cp.Kubeconfig(), "get", "pods", "-n", ns, "--no-headers")
	d := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("kubectl get pods: %w", err)
	}
	if lines := strings.Count(string(out), "\n"); lines != n {
		return 0, 0, fmt.Errorf("kubectl get pods printed %d lines, want %d", lines, n)
	}
	logf("kubectl get pods: %s", ms(d))
	return d, rss, nil
}

// churn changes one label of a random pod rate times a second until ctx ends.
func churn(ctx context.Context, c kubernetes.Interface, ns string, n, rate int, count *atomic.Int64) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			name := fmt.Sprintf("perf-%05d", rand.IntN(n))
			patch := fmt.Sprintf(`{"metadata":{"labels":{"churn":"c%d"}}}`, i)
			if _, err := c.CoreV1().Pods(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err == nil {
				count.Add(1)
			}
		}(i)
	}
}

// oneShot runs drnav ARGS and returns its peak RSS and wall time.
func oneShot(ctx context.Context, bin string, env []string, args ...string) (int64, time.Duration, error) {
	start := time.Now()
	rss, out, err := runMeasured(ctx, env, bin, args...)
	d := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %s", err, out)
	}
	return rss, d, nil
}

// runMeasured runs a command under /usr/bin/time and returns its peak RSS.
// A child forked straight from this process would inherit this process's
// high-water mark (the reference informer's 10,000 pods); /usr/bin/time is
// small, and %M is its child's own peak.
func runMeasured(ctx context.Context, env []string, bin string, args ...string) (int64, []byte, error) {
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-f", "benchtui-maxrss-kb=%M", bin}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, out, err
	}
	s := string(out)
	i := strings.LastIndex(s, "benchtui-maxrss-kb=")
	if i < 0 {
		return 0, out, errors.New("no peak RSS from /usr/bin/time")
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(s[i+len("benchtui-maxrss-kb="):]), 10, 64)
	return kb << 10, []byte(s[:i]), err
}

// procCPU is the user+system CPU time of pid so far.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck
}

func procStatus(pid int, field string) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func procRSS(pid int) int64 { return procStatus(pid, "VmRSS") }
func procHWM(pid int) int64 { return procStatus(pid, "VmHWM") }

func perMinute(cpu, window time.Duration) time.Duration {
	return time.Duration(float64(cpu) * float64(time.Minute) / float64(window))
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func ms(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
}
