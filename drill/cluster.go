package drill

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
)

// Resources the simulator manages.
var (
	gvrDeployments     = appsv1.SchemeGroupVersion.WithResource("deployments")
	gvrReplicaSets     = appsv1.SchemeGroupVersion.WithResource("replicasets")
	gvrPods            = corev1.SchemeGroupVersion.WithResource("pods")
	gvrServices        = corev1.SchemeGroupVersion.WithResource("services")
	gvrNamespaces      = corev1.SchemeGroupVersion.WithResource("namespaces")
	gvrNetworkPolicies = networkingv1.SchemeGroupVersion.WithResource("networkpolicies")

	gvkDeployment    = appsv1.SchemeGroupVersion.WithKind("Deployment")
	gvkReplicaSet    = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	gvkPod           = corev1.SchemeGroupVersion.WithKind("Pod")
	gvkService       = corev1.SchemeGroupVersion.WithKind("Service")
	gvkNetworkPolicy = networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy")
)

const controllerManager = "kube-controller-manager"

// cluster is one simulated kube context: a fake clientset whose reactors
// behave like an API server (uids, generations, graceful pod deletion, the
// scale subresource, server-side dry-run, unreachability) plus the state of the
// controller simulation.
type cluster struct {
	name    string
	cs      *simClientset
	tracker k8stesting.ObjectTracker
	clk     clock.WithTicker
	speed   float64
	host    string // shown in connection errors

	down atomic.Bool

	watchMu sync.Mutex
	watches map[*cutWatch]struct{}

	// Guarded by cs.Fake's lock (held by every client request and by the
	// controller while it reconciles).
	rng   *rand.Rand
	plans map[types.UID]*podPlan
	seq   uint64
	ticks int
}

func newCluster(name, host string, clk clock.WithTicker, speed float64, seed int64) *cluster {
	cs := newSimClientset()
	c := &cluster{
		name:    name,
		cs:      cs,
		tracker: cs.Tracker(),
		clk:     clk,
		speed:   speed,
		host:    host,
		watches: map[*cutWatch]struct{}{},
		rng:     rand.New(rand.NewPCG(uint64(seed), uint64(len(name)))),
		plans:   map[types.UID]*podPlan{},
	}
	base := k8stesting.ObjectReaction(c.tracker)
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return c.react(a, base)
	})
	cs.PrependWatchReactor("*", c.reactWatch)
	return c
}

// scaled turns a realistic duration into simulated (wall-clock) time.
func (c *cluster) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

// between picks a realistic duration in [lo, hi] and scales it.
func (c *cluster) between(lo, hi time.Duration) time.Duration {
	d := lo
	if hi > lo {
		d += time.Duration(c.rng.Int64N(int64(hi - lo)))
	}
	return c.scaled(d)
}

func (c *cluster) newUID() types.UID {
	c.seq++
	return types.UID(fmt.Sprintf("%08x-drill-%s-%012d", c.rng.Uint32(), c.name[len(c.name)-1:], c.seq))
}

// suffix is a kube-style random name suffix.
func (c *cluster) suffix(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[c.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// setDown makes every API call fail (or succeed again) and cuts open watches
// so informers notice.
func (c *cluster) setDown(down bool) {
	c.down.Store(down)
	if !down {
		return
	}
	c.watchMu.Lock()
	ws := make([]*cutWatch, 0, len(c.watches))
	for w := range c.watches {
		ws = append(ws, w)
	}
	c.watchMu.Unlock()
	for _, w := range ws {
		w.Stop()
	}
}

// refused is the error a client sees when the API server cannot be reached,
// shaped like client-go's own (url.Error around a dial OpError).
func (c *cluster) refused(a k8stesting.Action) error {
	path := "/api/v1/" + a.GetResource().Resource
	if g := a.GetResource().Group; g != "" {
		path = "/apis/" + g + "/" + a.GetResource().Version + "/" + a.GetResource().Resource
	}
	return &url.Error{
		Op:  verbMethod(a.GetVerb()),
		URL: "https://" + c.host + path,
		Err: &net.OpError{Op: "dial", Net: "tcp", Addr: c.addr(), Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
	}
}

func (c *cluster) addr() net.Addr {
	a, err := net.ResolveTCPAddr("tcp", c.host)
	if err != nil {
		return &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 6443}
	}
	return a
}

func verbMethod(verb string) string {
	switch verb {
	case "create":
		return "Post"
	case "update":
		return "Put"
	case "patch":
		return "Patch"
	case "delete", "delete-collection":
		return "Delete"
	}
	return "Get"
}

func (c *cluster) reactWatch(a k8stesting.Action) (bool, watch.Interface, error) {
	if c.down.Load() {
		return true, nil, c.refused(a)
	}
	var opts metav1.ListOptions
	if wa, ok := a.(k8stesting.WatchActionImpl); ok {
		opts = wa.ListOptions
	}
	inner, err := c.tracker.Watch(a.GetResource(), a.GetNamespace(), opts)
	if err != nil {
		return true, nil, err
	}
	w := newCutWatch(inner, func(w *cutWatch) {
		c.watchMu.Lock()
		delete(c.watches, w)
		c.watchMu.Unlock()
	})
	c.watchMu.Lock()
	c.watches[w] = struct{}{}
	c.watchMu.Unlock()
	return true, w, nil
}

func isDryRun(opts []string) bool { return slices.Contains(opts, metav1.DryRunAll) }

// react is the API-server behaviour in front of the fake's object tracker.
// It runs with the Fake's lock held.
func (c *cluster) react(a k8stesting.Action, base k8stesting.ReactionFunc) (bool, runtime.Object, error) {
	if c.down.Load() {
		return true, nil, c.refused(a)
	}
	gvr := a.GetResource()
	if a.GetSubresource() == "scale" && (gvr == gvrDeployments || gvr == gvrReplicaSets) {
		obj, err := c.scaleSubresource(a)
		return true, obj, err
	}
	switch act := a.(type) {
	case k8stesting.CreateActionImpl:
		if act.GetSubresource() != "" {
			return false, nil, nil
		}
		if isDryRun(act.CreateOptions.DryRun) {
			m, err := meta.Accessor(act.Object)
			if err != nil {
				return true, nil, err
			}
			if _, err := c.tracker.Get(gvr, act.Namespace, m.GetName()); err == nil {
				return true, nil, apierrors.NewAlreadyExists(gvr.GroupResource(), m.GetName())
			}
			return true, act.Object, nil
		}
		if m, err := meta.Accessor(act.Object); err == nil {
			c.stamp(m)
		}
		return base(act)
	case k8stesting.UpdateActionImpl:
		if isDryRun(act.UpdateOptions.DryRun) {
			m, err := meta.Accessor(act.Object)
			if err != nil {
				return true, nil, err
			}
			if _, err := c.tracker.Get(gvr, act.Namespace, m.GetName()); err != nil {
				return true, nil, err
			}
			return true, act.Object, nil
		}
		return c.mutate(a, gvr, act.Namespace, nameOf(act.Object), base)
	case k8stesting.PatchActionImpl:
		if isDryRun(act.PatchOptions.DryRun) {
			obj, err := c.dryRunPatch(act)
			return true, obj, err
		}
		return c.mutate(a, gvr, act.Namespace, act.Name, base)
	case k8stesting.DeleteActionImpl:
		if isDryRun(act.DeleteOptions.DryRun) {
			obj, err := c.tracker.Get(gvr, act.Namespace, act.Name)
			return true, obj, err
		}
		if gvr == gvrPods {
			return c.deletePod(act, base)
		}
		return base(act)
	}
	return false, nil, nil
}

func nameOf(obj runtime.Object) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	return m.GetName()
}

// stamp sets what the API server sets on create.
func (c *cluster) stamp(m metav1.Object) {
	if m.GetUID() == "" {
		m.SetUID(c.newUID())
	}
	if ts := m.GetCreationTimestamp(); ts.IsZero() {
		m.SetCreationTimestamp(metav1.NewTime(c.clk.Now()))
	}
	if m.GetGeneration() == 0 {
		m.SetGeneration(1)
	}
}

// mutate runs an update/patch/apply and then fixes up what the API server
// would have: uid and timestamps on objects created by apply, a generation
// bump when a deployment's spec changed, and the status subresource kept.
func (c *cluster) mutate(a k8stesting.Action, gvr schema.GroupVersionResource, ns, name string, base k8stesting.ReactionFunc) (bool, runtime.Object, error) {
	old, oldErr := c.tracker.Get(gvr, ns, name)
	handled, obj, err := base(a)
	if err != nil || !handled {
		return handled, obj, err
	}
	cur, err := c.tracker.Get(gvr, ns, name)
	if err != nil {
		return true, obj, nil
	}
	m, err := meta.Accessor(cur)
	if err != nil {
		return true, obj, nil
	}
	fix := false
	if m.GetUID() == "" || oldErr != nil {
		c.stamp(m)
		fix = true
	}
	if gvr == gvrDeployments && oldErr == nil && a.GetSubresource() == "" {
		od, nd := old.(*appsv1.Deployment), cur.(*appsv1.Deployment)
		if !equality.Semantic.DeepEqual(od.Spec, nd.Spec) && nd.Generation <= od.Generation {
			nd.Generation = od.Generation + 1
			fix = true
		}
		if !equality.Semantic.DeepEqual(od.Status, nd.Status) {
			nd.Status = od.Status
			fix = true
		}
	}
	if !fix {
		return true, obj, nil
	}
	if err := c.tracker.Update(gvr, cur, ns, metav1.UpdateOptions{FieldManager: "kube-apiserver"}); err != nil {
		return true, nil, fmt.Errorf("store %s/%s: %w", gvr.Resource, name, err)
	}
	return true, cur, nil
}

// deletePod deletes gracefully: the pod is marked Terminating and the
// simulated kubelet removes it seconds later. A zero grace period deletes now.
func (c *cluster) deletePod(act k8stesting.DeleteActionImpl, base k8stesting.ReactionFunc) (bool, runtime.Object, error) {
	if g := act.DeleteOptions.GracePeriodSeconds; g != nil && *g == 0 {
		return base(act)
	}
	obj, err := c.tracker.Get(gvrPods, act.Namespace, act.Name)
	if err != nil {
		return true, nil, err
	}
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp == nil {
		c.markTerminating(pod)
		if err := c.tracker.Update(gvrPods, pod, pod.Namespace, metav1.UpdateOptions{FieldManager: "kube-apiserver"}); err != nil {
			return true, nil, fmt.Errorf("delete pod %s: %w", act.Name, err)
		}
	}
	return true, pod, nil
}

func (c *cluster) markTerminating(pod *corev1.Pod) {
	now := metav1.NewTime(c.clk.Now())
	grace := int64(30)
	pod.DeletionTimestamp = &now
	pod.DeletionGracePeriodSeconds = &grace
	setPodReady(pod, false, now)
}

// dryRunPatch computes a patch's result without storing it.
func (c *cluster) dryRunPatch(act k8stesting.PatchActionImpl) (runtime.Object, error) {
	gvr := act.GetResource()
	obj, err := c.tracker.Get(gvr, act.Namespace, act.Name)
	if err != nil {
		if act.PatchType != types.ApplyPatchType || !apierrors.IsNotFound(err) {
			return nil, err
		}
		// apply that would create: decode the configuration as the typed object.
		var tm metav1.TypeMeta
		if err := json.Unmarshal(act.Patch, &tm); err != nil {
			return nil, fmt.Errorf("decode apply configuration: %w", err)
		}
		newObj, err := scheme.Scheme.New(tm.GroupVersionKind())
		if err != nil {
			return nil, fmt.Errorf("apply configuration kind %s: %w", tm.Kind, err)
		}
		if err := json.Unmarshal(act.Patch, newObj); err != nil {
			return nil, fmt.Errorf("decode apply configuration: %w", err)
		}
		return newObj, nil
	}
	return patchObject(obj, act.PatchType, act.Patch)
}

// patchObject applies a patch to a copy of obj.
func patchObject(obj runtime.Object, pt types.PatchType, patch []byte) (runtime.Object, error) {
	old, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var modified []byte
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, fmt.Errorf("decode json patch: %w", err)
		}
		modified, err = p.Apply(old)
		if err != nil {
			return nil, fmt.Errorf("apply json patch: %w", err)
		}
	case types.MergePatchType:
		modified, err = jsonpatch.MergePatch(old, patch)
		if err != nil {
			return nil, fmt.Errorf("apply merge patch: %w", err)
		}
	case types.StrategicMergePatchType, types.ApplyPatchType:
		modified, err = strategicpatch.StrategicMergePatch(old, patch, obj)
		if err != nil {
			return nil, fmt.Errorf("apply strategic merge patch: %w", err)
		}
	default:
		return nil, fmt.Errorf("patch type %s is not supported", pt)
	}
	out := obj.DeepCopyObject()
	// reset before unmarshalling so removed fields are gone
	fresh, err := scheme.Scheme.New(out.GetObjectKind().GroupVersionKind())
	if err == nil {
		out = fresh
	}
	if err := json.Unmarshal(modified, out); err != nil {
		return nil, fmt.Errorf("decode patched object: %w", err)
	}
	return out, nil
}

// scaleSubresource serves get/update/patch of deployments/scale and
// replicasets/scale, which the fake tracker does not.
func (c *cluster) scaleSubresource(a k8stesting.Action) (runtime.Object, error) {
	gvr := a.GetResource()
	ns := a.GetNamespace()
	var name string
	var dryRun []string
	switch act := a.(type) {
	case k8stesting.GetActionImpl:
		name = act.Name
	case k8stesting.UpdateActionImpl:
		name = nameOf(act.Object)
		dryRun = act.UpdateOptions.DryRun
	case k8stesting.PatchActionImpl:
		name = act.Name
		dryRun = act.PatchOptions.DryRun
	default:
		return nil, fmt.Errorf("%s %s/scale is not simulated", a.GetVerb(), gvr.Resource)
	}
	obj, err := c.tracker.Get(gvr, ns, name)
	if err != nil {
		return nil, err
	}
	scale := toScale(obj)
	var want *autoscalingv1.Scale
	switch act := a.(type) {
	case k8stesting.GetActionImpl:
		return scale, nil
	case k8stesting.UpdateActionImpl:
		s, ok := act.Object.(*autoscalingv1.Scale)
		if !ok {
			return nil, fmt.Errorf("update %s/scale: unexpected object %T", gvr.Resource, act.Object)
		}
		want = s
	case k8stesting.PatchActionImpl:
		pt := act.PatchType
		if pt == types.ApplyPatchType {
			pt = types.MergePatchType
		}
		p, err := patchObject(scale, pt, act.Patch)
		if err != nil {
			return nil, fmt.Errorf("patch %s/scale: %w", gvr.Resource, err)
		}
		s, ok := p.(*autoscalingv1.Scale)
		if !ok {
			return nil, fmt.Errorf("patch %s/scale: unexpected object %T", gvr.Resource, p)
		}
		want = s
	}
	if want.Spec.Replicas < 0 {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.replicas: must be greater than or equal to 0, got %d", want.Spec.Replicas))
	}
	r := want.Spec.Replicas
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o.Spec.Replicas == nil || *o.Spec.Replicas != r {
			o.Spec.Replicas = &r
			o.Generation++
		}
	case *appsv1.ReplicaSet:
		if o.Spec.Replicas == nil || *o.Spec.Replicas != r {
			o.Spec.Replicas = &r
			o.Generation++
		}
	}
	if isDryRun(dryRun) {
		return toScale(obj), nil
	}
	if err := c.tracker.Update(gvr, obj, ns, metav1.UpdateOptions{FieldManager: "kube-apiserver"}); err != nil {
		return nil, fmt.Errorf("scale %s/%s: %w", gvr.Resource, name, err)
	}
	return toScale(obj), nil
}

func toScale(obj runtime.Object) *autoscalingv1.Scale {
	s := &autoscalingv1.Scale{TypeMeta: metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"}}
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		s.ObjectMeta = metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, UID: o.UID, CreationTimestamp: o.CreationTimestamp}
		s.Spec.Replicas = replicasOf(o.Spec.Replicas)
		s.Status.Replicas = o.Status.Replicas
		sel = o.Spec.Selector
	case *appsv1.ReplicaSet:
		s.ObjectMeta = metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, UID: o.UID, CreationTimestamp: o.CreationTimestamp}
		s.Spec.Replicas = replicasOf(o.Spec.Replicas)
		s.Status.Replicas = o.Status.Replicas
		sel = o.Spec.Selector
	}
	if sel != nil {
		if ls, err := metav1.LabelSelectorAsSelector(sel); err == nil {
			s.Status.Selector = ls.String()
		}
	}
	return s
}

func replicasOf(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// cutWatch forwards a tracker watch through an unbounded queue (the fake's
// watcher panics when 100 events are left unread) and can be cut when the
// context becomes unreachable.
type cutWatch struct {
	inner  watch.Interface
	out    chan watch.Event
	stop   chan struct{}
	once   sync.Once
	onStop func(*cutWatch)
}

func newCutWatch(inner watch.Interface, onStop func(*cutWatch)) *cutWatch {
	w := &cutWatch{inner: inner, out: make(chan watch.Event), stop: make(chan struct{}), onStop: onStop}
	go w.run()
	return w
}

func (w *cutWatch) run() {
	defer close(w.out)
	defer w.inner.Stop()
	var queue []watch.Event
	in := w.inner.ResultChan()
	for {
		var out chan watch.Event
		var next watch.Event
		if len(queue) > 0 {
			out = w.out
			next = queue[0]
		}
		select {
		case ev, ok := <-in:
			if !ok {
				in = nil
				if len(queue) == 0 {
					return
				}
				continue
			}
			queue = append(queue, ev)
		case out <- next:
			queue = queue[1:]
			if in == nil && len(queue) == 0 {
				return
			}
		case <-w.stop:
			return
		}
	}
}

func (w *cutWatch) Stop() {
	w.once.Do(func() {
		close(w.stop)
		w.onStop(w)
	})
}

func (w *cutWatch) ResultChan() <-chan watch.Event { return w.out }

// errUnknownScenario is returned by Inject and Recovered.
var errUnknownScenario = errors.New("unknown drill scenario")
