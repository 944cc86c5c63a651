package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// KubeOptions configures a KubeSource.
type KubeOptions struct {
	Context   string // kube context name, copied into every snapshot
	Namespace string // empty: all namespaces
	Selector  string // label selector of the pods, e.g. app=ci-failure-agent
	// MinInterval is the least time between two snapshots (default 250ms).
	MinInterval time.Duration
	Clock       Clock // nil: the real clock
	// Dial makes the client when NewKubeSource was given none (e.g. the
	// context is missing from kubeconfig right now). It is retried with
	// backoff, so a context that appears later is picked up.
	Dial func(ctx context.Context) (kubernetes.Interface, error)
	// ProbeTimeout bounds each pre-flight call (default 5s).
	ProbeTimeout time.Duration
}

// KubeSource watches the pods, deployments and ReplicaSets of one context
// through a shared informer factory and publishes snapshots.
type KubeSource struct {
	client kubernetes.Interface
	opts   KubeOptions
	clock  Clock
	sel    labels.Selector
	selErr error

	out     chan KubeSnapshot
	nudge   chan struct{}
	started atomic.Bool

	mu        sync.Mutex
	latest    KubeSnapshot
	probeErr  kubeFailure            // from the pre-flight / recovery probe
	resErr    map[string]kubeFailure // from the informers' list/watch, by resource
	failures  int
	nextRetry time.Time
	probing   bool // re-entry guard of the recovery probe
	synced    bool

	pods, deps, rss cache.SharedIndexInformer

	// The pods pane's rows, kept up to date by the pod informer's handler
	// so a snapshot costs a merge of what changed, not a conversion and
	// sort of every pod (see podRows).
	rows podRows
}

type kubeFailure struct {
	msg       string
	forbidden string
}

// NewKubeSource returns a source for one context. client may be nil when
// opts.Dial is set (or to report a missing context: the snapshot then
// carries the error).
func NewKubeSource(client kubernetes.Interface, opts KubeOptions) *KubeSource {
	if opts.MinInterval <= 0 {
		opts.MinInterval = 250 * time.Millisecond
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = 5 * time.Second
	}
	sel, err := labels.Parse(opts.Selector)
	if err != nil {
		sel = labels.Nothing()
		err = fmt.Errorf("label selector %q: %w", opts.Selector, err)
	}
	return &KubeSource{
		client: client,
		opts:   opts,
		clock:  clockOr(opts.Clock),
		sel:    sel,
		selErr: err,
		out:    make(chan KubeSnapshot, 1),
		nudge:  make(chan struct{}, 1),
		resErr: map[string]kubeFailure{},
	}
}

// ProtobufConfig returns a copy of cfg that talks protobuf to the API
// server (JSON stays accepted as a fallback, e.g. for CRDs).
func ProtobufConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = runtime.ContentTypeProtobuf
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return c
}

// Snapshots delivers the latest snapshot; an unread one is replaced by a
// newer one. The channel is closed when Run returns.
func (s *KubeSource) Snapshots() <-chan KubeSnapshot { return s.out }

// Latest returns the last published snapshot.
func (s *KubeSource) Latest() KubeSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// Context is the kube context this source watches.
func (s *KubeSource) Context() string { return s.opts.Context }

// Run watches until ctx is done. It returns at once when called twice.
func (s *KubeSource) Run(ctx context.Context) {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	defer close(s.out)
	if s.selErr != nil {
		s.setProbeResult(kubeFailure{msg: s.selErr.Error()}, false)
		s.publish()
		<-ctx.Done()
		return
	}

	// Pre-flight: before the first sync, find an unreachable or forbidden
	// API server quickly and retry with backoff.
	client := s.client
	for {
		var fail kubeFailure
		if client == nil {
			if s.opts.Dial == nil {
				fail = kubeFailure{msg: fmt.Sprintf("no client for context %q", s.opts.Context)}
			} else if c, err := s.opts.Dial(ctx); err != nil {
				fail = kubeFailure{msg: fmt.Sprintf("context %q: %v", s.opts.Context, err)}
			} else {
				client = c
			}
		}
		if client != nil {
			fail = s.probe(ctx, client)
		}
		if fail.msg == "" {
			s.setProbeResult(kubeFailure{}, true)
			break
		}
		wait := s.setProbeResult(fail, false)
		s.publish()
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(wait):
		}
	}

	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(s.opts.Namespace))
	s.pods = factory.InformerFor(&corev1.Pod{}, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return s.newInformer(ctx, c, "pods", &corev1.Pod{}, resync)
	})
	s.deps = factory.InformerFor(&appsv1.Deployment{}, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return s.newInformer(ctx, c, "deployments", &appsv1.Deployment{}, resync)
	})
	s.rss = factory.InformerFor(&appsv1.ReplicaSet{}, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return s.newInformer(ctx, c, "replicasets", &appsv1.ReplicaSet{}, resync)
	})
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.kick() },
		UpdateFunc: func(any, any) { s.kick() },
		DeleteFunc: func(any) { s.kick() },
	}
	// A pod change that leaves its row as it was (a label or annotation
	// the pane does not show) publishes nothing: no snapshot, no redraw.
	podHandler := cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			if s.rows.set(o, s.sel) {
				s.kick()
			}
		},
		UpdateFunc: func(_, o any) {
			if s.rows.set(o, s.sel) {
				s.kick()
			}
		},
		DeleteFunc: func(o any) {
			if s.rows.remove(o) {
				s.kick()
			}
		},
	}
	podsSynced := s.pods.HasSynced
	for resource, inf := range map[string]cache.SharedIndexInformer{"pods": s.pods, "deployments": s.deps, "replicasets": s.rss} {
		// Both only fail once the informer has started; it has not.
		_ = inf.SetTransform(trimObject)
		_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			s.onWatchError(ctx, client, resource, err)
		})
		h := cache.ResourceEventHandler(handler)
		if resource == "pods" {
			h = podHandler
		}
		reg, err := inf.AddEventHandler(h)
		if err != nil {
			s.setResErr(resource, kubeFailure{msg: fmt.Sprintf("watch %s: %v", resource, err)})
			continue
		}
		if resource == "pods" {
			// The pods' rows are built by this handler: synced means it
			// has seen the whole initial list, not only the cache.
			podsSynced = reg.HasSynced
		}
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	syncedNow := make(chan struct{})
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), s.pods.HasSynced, podsSynced, s.deps.HasSynced, s.rss.HasSynced) {
			s.mu.Lock()
			s.synced = true
			s.mu.Unlock()
			close(syncedNow)
			s.kick()
		}
	}()

	s.kick()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.nudge:
		}
		// At most one snapshot per MinInterval, but the first full list
		// is shown as soon as the caches hold it.
		if wait := s.opts.MinInterval - s.clock.Now().Sub(last); !last.IsZero() && wait > 0 && !s.syncedUnpublished() {
			select {
			case <-ctx.Done():
				return
			case <-s.clock.After(wait):
			case <-syncedNow:
			}
		}
		last = s.clock.Now()
		s.publish()
		if syncedNow != nil && s.Latest().Synced {
			syncedNow = nil // the full list is out: MinInterval holds again
			// Decoding the initial list left tens of MB of garbage: return
			// it to the OS in one pass rather than let the background
			// scavenger madvise it away in small pieces while idle.
			go debug.FreeOSMemory()
		}
	}
}

// syncedUnpublished reports whether the caches synced since the last
// published snapshot.
func (s *KubeSource) syncedUnpublished() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.synced && !s.latest.Synced
}

// kick marks that something changed; it never blocks.
func (s *KubeSource) kick() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

func (s *KubeSource) newInformer(ctx context.Context, c kubernetes.Interface, resource string, example runtime.Object, resync time.Duration) cache.SharedIndexInformer {
	ns := s.opts.Namespace
	tweak := func(o *metav1.ListOptions) {
		if resource == "pods" {
			o.LabelSelector = s.opts.Selector
		}
	}
	list := func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		tweak(&o)
		switch resource {
		case "pods":
			return c.CoreV1().Pods(ns).List(ctx, o)
		case "deployments":
			return c.AppsV1().Deployments(ns).List(ctx, o)
		default:
			return c.AppsV1().ReplicaSets(ns).List(ctx, o)
		}
	}
	wat := func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		tweak(&o)
		switch resource {
		case "pods":
			return c.CoreV1().Pods(ns).Watch(ctx, o)
		case "deployments":
			return c.AppsV1().Deployments(ns).Watch(ctx, o)
		default:
			return c.AppsV1().ReplicaSets(ns).Watch(ctx, o)
		}
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			obj, err := list(ctx, o)
			if err == nil {
				s.clearResErr(resource)
			} else if ctx.Err() == nil {
				// client-go retries "connection refused" silently, without
				// calling the watch error handler: surface it here.
				s.onWatchError(ctx, c, resource, err)
			}
			return obj, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			w, err := wat(ctx, o)
			if err == nil {
				s.clearResErr(resource)
			} else if ctx.Err() == nil {
				s.onWatchError(ctx, c, resource, err)
			}
			return w, err
		},
	}
	return cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, c), example,
		cache.SharedIndexInformerOptions{ResyncPeriod: resync, Indexers: cache.Indexers{}, ObjectDescription: resource})
}

// probe is the cheap pre-flight: one List with Limit 1 of each resource.
func (s *KubeSource) probe(ctx context.Context, c kubernetes.Interface) kubeFailure {
	ns := s.opts.Namespace
	checks := []struct {
		resource string
		list     func(ctx context.Context) error
	}{
		{"pods", func(ctx context.Context) error {
			_, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1, LabelSelector: s.opts.Selector})
			return err
		}},
		{"deployments", func(ctx context.Context) error {
			_, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{Limit: 1})
			return err
		}},
		{"replicasets", func(ctx context.Context) error {
			_, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{Limit: 1})
			return err
		}},
	}
	// All three at once (one round trip, not three, before the informers
	// start); the first failure in this order is reported.
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, s.opts.ProbeTimeout)
			defer cancel()
			errs[i] = ch.list(pctx)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			if ctx.Err() != nil {
				return kubeFailure{msg: "stopped"}
			}
			return describeKubeError(err, "list", checks[i].resource, ns, s.opts.ProbeTimeout)
		}
	}
	return kubeFailure{}
}

// setProbeResult records a probe outcome and returns the wait before the
// next try.
func (s *KubeSource) setProbeResult(f kubeFailure, ok bool) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.probeErr = kubeFailure{}
		s.resErr = map[string]kubeFailure{}
		s.failures = 0
		s.nextRetry = time.Time{}
		return 0
	}
	s.probeErr = f
	s.failures++
	wait := Backoff(s.failures)
	s.nextRetry = s.clock.Now().Add(wait)
	return wait
}

func (s *KubeSource) setResErr(resource string, f kubeFailure) {
	s.mu.Lock()
	s.resErr[resource] = f
	s.mu.Unlock()
	s.kick()
}

func (s *KubeSource) clearResErr(resource string) {
	s.mu.Lock()
	_, had := s.resErr[resource]
	delete(s.resErr, resource)
	s.mu.Unlock()
	if had {
		s.kick()
	}
}

// onWatchError surfaces a list/watch failure of a running informer and
// starts (once) the recovery probe; the informer retries on its own.
func (s *KubeSource) onWatchError(ctx context.Context, c kubernetes.Interface, resource string, err error) {
	if benignWatchError(err) {
		return
	}
	f := describeKubeError(err, "list", resource, s.opts.Namespace, s.opts.ProbeTimeout)
	s.mu.Lock()
	s.resErr[resource] = f
	start := !s.probing
	if start {
		s.probing = true
		s.failures++
		s.nextRetry = s.clock.Now().Add(Backoff(s.failures))
	}
	s.mu.Unlock()
	s.kick()
	if start {
		go s.recover(ctx, c)
	}
}

// recover probes with capped exponential backoff until the API server
// answers again, then clears the failure state.
func (s *KubeSource) recover(ctx context.Context, c kubernetes.Interface) {
	for {
		s.mu.Lock()
		wait := s.nextRetry.Sub(s.clock.Now())
		s.mu.Unlock()
		if wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-s.clock.After(wait):
			}
		}
		f := s.probe(ctx, c)
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		if f.msg == "" {
			s.probeErr = kubeFailure{}
			s.resErr = map[string]kubeFailure{}
			s.failures = 0
			s.nextRetry = time.Time{}
			s.probing = false
			s.mu.Unlock()
			s.kick()
			return
		}
		s.probeErr = f
		s.failures++
		s.nextRetry = s.clock.Now().Add(Backoff(s.failures))
		s.mu.Unlock()
		s.kick()
	}
}

func benignWatchError(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || errors.Is(err, context.Canceled)
}

// forbiddenRE parses the API server's RBAC denial message.
var forbiddenRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`User "([^"]*)" cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]*)")?`)
})

// describeKubeError turns an API error into the pane's words.
func describeKubeError(err error, verb, resource, ns string, timeout time.Duration) kubeFailure {
	switch {
	case apierrors.IsForbidden(err):
		user, what, where := "", resource, ns
		if m := forbiddenRE().FindStringSubmatch(err.Error()); m != nil {
			user, verb, what, where = m[1], m[2], m[3], m[5]
			if m[4] != "" {
				what += "." + m[4]
			}
		} else if st, ok := err.(apierrors.APIStatus); ok && st.Status().Details != nil && st.Status().Details.Kind != "" {
			what = st.Status().Details.Kind
		}
		fb := fmt.Sprintf("cannot %s %s", verb, what)
		if where != "" {
			fb += fmt.Sprintf(" in namespace %q", where)
		} else {
			fb += " cluster-wide"
		}
		if user != "" {
			fb += fmt.Sprintf(" (user %q)", user)
		}
		return kubeFailure{msg: "forbidden: " + fb, forbidden: fb}
	case apierrors.IsUnauthorized(err):
		return kubeFailure{msg: "unauthorized: the API server rejected the credentials (" + err.Error() + ")"}
	case errors.Is(err, context.DeadlineExceeded) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err):
		return kubeFailure{msg: fmt.Sprintf("API server unreachable: no answer within %s (%s %s)", timeout, verb, resource)}
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return kubeFailure{msg: "API server unreachable: " + err.Error()}
	}
	return kubeFailure{msg: fmt.Sprintf("%s %s: %v", verb, resource, err)}
}

// publish builds a snapshot from the caches and hands it over.
func (s *KubeSource) publish() {
	snap := s.build()
	s.mu.Lock()
	s.latest = snap
	s.mu.Unlock()
	publishLatest(s.out, snap)
}

func (s *KubeSource) build() KubeSnapshot {
	snap := KubeSnapshot{
		Context:   s.opts.Context,
		Namespace: s.opts.Namespace,
		Selector:  s.opts.Selector,
		Updated:   s.clock.Now(),
	}
	if s.pods != nil {
		snap.Pods, snap.Counts = s.rows.sorted()

		var rss []*appsv1.ReplicaSet
		for _, o := range s.rss.GetStore().List() {
			if rs, ok := o.(*appsv1.ReplicaSet); ok {
				rss = append(rss, rs)
			}
		}
		byOwner := map[string][]*appsv1.ReplicaSet{}
		for _, rs := range rss {
			for _, o := range rs.OwnerReferences {
				if o.Kind == "Deployment" {
					byOwner[o.Name] = append(byOwner[o.Name], rs)
				}
			}
		}
		for _, o := range s.deps.GetStore().List() {
			if d, ok := o.(*appsv1.Deployment); ok {
				snap.Deployments = append(snap.Deployments, DeploymentFrom(d, byOwner[d.Name]))
			}
		}
		sortDeployments(snap.Deployments)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	snap.Synced = s.synced
	f := s.probeErr
	if f.msg == "" {
		for _, r := range []string{"pods", "deployments", "replicasets"} {
			if e, ok := s.resErr[r]; ok {
				f = e
				break
			}
		}
	}
	if f.msg != "" {
		snap.Err, snap.Forbidden, snap.NextRetry = f.msg, f.forbidden, s.nextRetry
	}
	return snap
}
