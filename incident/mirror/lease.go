package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaseOptions configure the driver Lease of one incident.
type LeaseOptions struct {
	Client    kubernetes.Interface
	Context   string // the kube context, for messages
	Namespace string
	ID        string // the incident
	Identity  string // user@host:pid
	// Duration, RenewDeadline and RetryPeriod are leader election's
	// (15 s, 10 s and 5 s when 0).
	Duration, RenewDeadline, RetryPeriod time.Duration
	// OnLost is called once, from its own goroutine, when the Lease is
	// lost (not when it is released).
	OnLost func(why error)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger receives leader election's and client-go's logs (none when
	// nil); they never go through klog's global logger.
	Logger *slog.Logger
}

// Lease is this process's hold on an incident's driver Lease.
type Lease struct {
	opts   LeaseOptions
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	started   bool
	lastAck   time.Time // when the last successful write of the record was sent
	lost      error
	releasing bool
	lostc     chan struct{}
}

// DefaultLease* are the Lease timings when none are configured.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 5 * time.Second
)

// ackLock records when a write of our record succeeded.
type ackLock struct {
	resourcelock.Interface
	l *Lease
}

func (a ackLock) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	sent := a.l.opts.Now()
	err := a.Interface.Create(ctx, ler)
	a.l.ack(sent, err)
	return err
}

func (a ackLock) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	sent := a.l.opts.Now()
	err := a.Interface.Update(ctx, ler)
	if ler.HolderIdentity == a.Identity() {
		a.l.ack(sent, err)
	}
	return err
}

func (l *Lease) ack(sent time.Time, err error) {
	if err != nil {
		return
	}
	l.mu.Lock()
	if sent.After(l.lastAck) {
		l.lastAck = sent
	}
	l.mu.Unlock()
}

// AcquireLease takes incident id's driver Lease, waiting while another
// process holds it (until it is released or expires), until ctx ends. Once
// held it is renewed in the background until Release, or lost.
func AcquireLease(ctx context.Context, opts LeaseOptions) (*Lease, error) {
	if opts.Duration <= 0 {
		opts.Duration = DefaultLeaseDuration
	}
	if opts.RenewDeadline <= 0 {
		opts.RenewDeadline = DefaultRenewDeadline
	}
	if opts.RetryPeriod <= 0 {
		opts.RetryPeriod = DefaultRetryPeriod
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Lease{opts: opts, done: make(chan struct{}), lostc: make(chan struct{})}
	lock, err := resourcelock.NewWithLabels(resourcelock.LeasesResourceLock, opts.Namespace, LeaseName(opts.ID),
		opts.Client.CoreV1(), opts.Client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: opts.Identity},
		map[string]string{LabelApp: AppName, LabelIncident: ObjectBase(opts.ID)})
	if err != nil {
		return nil, fmt.Errorf("lease of incident %s: %w", opts.ID, err)
	}
	acquired := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            ackLock{Interface: lock, l: l},
		LeaseDuration:   opts.Duration,
		RenewDeadline:   opts.RenewDeadline,
		RetryPeriod:     opts.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            LeaseName(opts.ID),
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				l.mu.Lock()
				l.started = true
				l.mu.Unlock()
				close(acquired)
			},
			OnStoppedLeading: func() { l.stopped() },
		},
	})
	if err != nil {
		return nil, fmt.Errorf("lease of incident %s: %w", opts.ID, err)
	}
	runCtx, cancel := context.WithCancel(withLogger(context.Background(), opts.Logger))
	l.cancel = cancel
	go func() {
		defer close(l.done)
		le.Run(runCtx)
	}()
	select {
	case <-acquired:
		return l, nil
	case <-ctx.Done():
		l.release()
		holder := le.GetLeader()
		what := fmt.Sprintf("lease %s/%s in %s", opts.Namespace, LeaseName(opts.ID), opts.Context)
		if holder == "" {
			hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			rec, err := l.Holder(hctx)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("%s not acquired: %w", what, err)
			}
			holder = rec
		}
		if holder != "" {
			return nil, fmt.Errorf("%s is held by %s: %w", what, holder, ctx.Err())
		}
		return nil, fmt.Errorf("%s not acquired: %w", what, ctx.Err())
	}
}

// Holder reads who holds the Lease now ("" when nobody).
func (l *Lease) Holder(ctx context.Context) (string, error) {
	return LeaseHolder(ctx, l.opts.Client, l.opts.Namespace, l.opts.ID)
}

// LeaseHolder reads who holds incident id's Lease ("" when nobody, or
// when it expired).
func LeaseHolder(ctx context.Context, c kubernetes.Interface, ns, id string) (string, error) {
	ls, err := c.CoordinationV1().Leases(ns).Get(ctx, LeaseName(id), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		if apierrors.IsForbidden(err) {
			return "", fmt.Errorf("not allowed to get leases in namespace %s: %w", ns, err)
		}
		return "", fmt.Errorf("get lease %s/%s: %w", ns, LeaseName(id), err)
	}
	if ls.Spec.HolderIdentity == nil || *ls.Spec.HolderIdentity == "" {
		return "", nil
	}
	if ls.Spec.RenewTime != nil && ls.Spec.LeaseDurationSeconds != nil &&
		time.Since(ls.Spec.RenewTime.Time) > time.Duration(*ls.Spec.LeaseDurationSeconds)*time.Second {
		return "", nil
	}
	return *ls.Spec.HolderIdentity, nil
}

func (l *Lease) stopped() {
	l.mu.Lock()
	if l.releasing || l.lost != nil {
		l.mu.Unlock()
		return
	}
	if !l.started {
		l.mu.Unlock()
		return
	}
	l.lost = fmt.Errorf("lost the driver lease %s/%s in %s (not renewed within %s): another machine may drive now",
		l.opts.Namespace, LeaseName(l.opts.ID), l.opts.Context, l.opts.RenewDeadline)
	why := l.lost
	close(l.lostc)
	l.mu.Unlock()
	if l.opts.OnLost != nil {
		go l.opts.OnLost(why)
	}
}

// ErrLeaseLost is wrapped by Held's error once the Lease is gone.
var ErrLeaseLost = errors.New("driver lease lost")

// Held is nil while this process may act as the driver: the Lease is held
// and was renewed within the renew deadline (so before anyone else can
// take it over). Once it returns an error it always does.
func (l *Lease) Held() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return fmt.Errorf("%w: %w", ErrLeaseLost, l.lost)
	}
	if l.releasing {
		return fmt.Errorf("%w: released", ErrLeaseLost)
	}
	if age := l.opts.Now().Sub(l.lastAck); age > l.opts.RenewDeadline {
		l.lost = fmt.Errorf("the driver lease %s/%s in %s was last renewed %s ago (deadline %s): another machine may drive now",
			l.opts.Namespace, LeaseName(l.opts.ID), l.opts.Context, age.Round(time.Second), l.opts.RenewDeadline)
		why := l.lost
		close(l.lostc)
		if l.opts.OnLost != nil {
			go l.opts.OnLost(why)
		}
		return fmt.Errorf("%w: %w", ErrLeaseLost, why)
	}
	return nil
}

// Lost is closed when the Lease is lost.
func (l *Lease) Lost() <-chan struct{} { return l.lostc }

// Release gives the Lease up (so another machine need not wait for it to
// expire) and stops renewing it.
func (l *Lease) Release() {
	l.release()
}

func (l *Lease) release() {
	l.mu.Lock()
	l.releasing = true
	l.mu.Unlock()
	l.cancel()
	<-l.done
}

// withLogger gives ctx a logger of its own for client-go and leader
// election, so they never read klog's global one (which main replaces
// once its log file is open).
func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	if l == nil {
		return klog.NewContext(ctx, logr.Discard())
	}
	return klog.NewContext(ctx, logr.FromSlogHandler(l.Handler()))
}
