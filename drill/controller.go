package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

const (
	revisionAnnotation = "deployment.kubernetes.io/revision"
	hashLabel          = appsv1.DefaultDeploymentUniqueLabelKey // pod-template-hash
	nodeName           = "drill-node-1"
)

// Pod lifecycle stages of the simulated kubelet.
const (
	stagePending  = iota // created, not scheduled
	stageCreating        // scheduled, ContainerCreating
	stageRunning         // running, not yet ready (or about to crash)
	stageReady           // ready
	stageBackOff         // crashed, waiting in CrashLoopBackOff
)

// never is the next transition of a pod that has none.
var never = time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)

// podPlan is what the simulated kubelet will do next with a pod.
type podPlan struct {
	stage       int
	next        time.Time // when the next transition happens
	terminateAt time.Time // set once the pod is Terminating
}

// run reconciles every tick until ctx ends.
func (c *cluster) run(ctx context.Context, tick time.Duration, after func(now time.Time)) {
	t := c.clk.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			now := c.clk.Now()
			c.cs.Lock()
			c.reconcile(now)
			c.ticks++
			clearNow := c.ticks%64 == 0
			c.cs.Unlock()
			if clearNow {
				// the fake records every action it serves; keep memory flat
				c.cs.ClearActions()
			}
			if after != nil {
				after(now)
			}
		}
	}
}

// reconcile is one pass of the deployment, ReplicaSet, garbage-collector and
// kubelet simulation. The caller holds the Fake's lock.
func (c *cluster) reconcile(now time.Time) {
	deps := c.listDeployments()
	rss := c.listReplicaSets()
	pods := c.listPods()

	depByUID := map[types.UID]*appsv1.Deployment{}
	for _, d := range deps {
		depByUID[d.UID] = d
	}
	// garbage collection of ReplicaSets whose deployment is gone
	live := rss[:0]
	for _, rs := range rss {
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == "Deployment" && depByUID[ref.UID] == nil {
			_ = c.tracker.Delete(gvrReplicaSets, rs.Namespace, rs.Name)
			continue
		}
		live = append(live, rs)
	}
	rss = live
	rsByUID := map[types.UID]*appsv1.ReplicaSet{}
	for _, rs := range rss {
		rsByUID[rs.UID] = rs
	}

	// kubelet: advance pods, finish terminations, orphan clean-up
	seen := map[types.UID]bool{}
	podsByRS := map[types.UID][]*corev1.Pod{}
	for _, p := range pods {
		seen[p.UID] = true
		if ref := metav1.GetControllerOf(p); ref != nil && ref.Kind == "ReplicaSet" && rsByUID[ref.UID] == nil && p.DeletionTimestamp == nil {
			c.markTerminating(p)
			c.store(gvrPods, p)
		}
		if gone := c.syncPod(p, now); gone {
			continue
		}
		if ref := metav1.GetControllerOf(p); ref != nil {
			podsByRS[ref.UID] = append(podsByRS[ref.UID], p)
		}
	}
	for uid := range c.plans {
		if !seen[uid] {
			delete(c.plans, uid)
		}
	}

	// ReplicaSet controller
	for _, rs := range rss {
		c.syncReplicaSet(rs, podsByRS[rs.UID], now)
	}

	// deployment controller
	for _, d := range deps {
		var owned []*appsv1.ReplicaSet
		for _, rs := range rss {
			if ref := metav1.GetControllerOf(rs); ref != nil && ref.UID == d.UID {
				owned = append(owned, rs)
			}
		}
		c.syncDeployment(d, owned, now)
	}
}

func (c *cluster) listDeployments() []*appsv1.Deployment {
	obj, err := c.tracker.List(gvrDeployments, gvkDeployment, "")
	if err != nil {
		return nil
	}
	l := obj.(*appsv1.DeploymentList)
	out := make([]*appsv1.Deployment, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	slices.SortFunc(out, func(a, b *appsv1.Deployment) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out
}

func (c *cluster) listReplicaSets() []*appsv1.ReplicaSet {
	obj, err := c.tracker.List(gvrReplicaSets, gvkReplicaSet, "")
	if err != nil {
		return nil
	}
	l := obj.(*appsv1.ReplicaSetList)
	out := make([]*appsv1.ReplicaSet, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	slices.SortFunc(out, func(a, b *appsv1.ReplicaSet) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func (c *cluster) listPods() []*corev1.Pod {
	obj, err := c.tracker.List(gvrPods, gvkPod, "")
	if err != nil {
		return nil
	}
	l := obj.(*corev1.PodList)
	out := make([]*corev1.Pod, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	slices.SortFunc(out, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// store writes an object the controller changed.
func (c *cluster) store(gvr schema.GroupVersionResource, obj runtime.Object) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	_ = c.tracker.Update(gvr, obj, m.GetNamespace(), metav1.UpdateOptions{FieldManager: controllerManager})
}

// ---- kubelet ----

func badImage(spec *corev1.PodSpec) bool {
	for _, ct := range spec.Containers {
		if strings.HasSuffix(ct.Image, ":bad") {
			return true
		}
	}
	return false
}

// crashBackOff is the kubelet's restart back-off: 10s doubling, capped at 5m.
func crashBackOff(restarts int32) time.Duration {
	d := 10 * time.Second
	for i := int32(1); i < restarts && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// planFor returns the pod's plan, deriving one from its status for pods the
// simulation did not create (scenario set-up).
func (c *cluster) planFor(p *corev1.Pod, now time.Time) *podPlan {
	if pl, ok := c.plans[p.UID]; ok {
		return pl
	}
	pl := &podPlan{}
	switch {
	case podReady(p):
		pl.stage = stageReady
	case crashLooping(p):
		pl.stage = stageBackOff
		pl.next = now.Add(c.scaled(crashBackOff(restarts(p))))
	case p.Status.Phase == corev1.PodRunning:
		pl.stage = stageRunning
		pl.next = now.Add(c.between(500*time.Millisecond, 1500*time.Millisecond))
	case p.Spec.NodeName != "":
		pl.stage = stageCreating
		pl.next = now.Add(c.between(2*time.Second, 5*time.Second))
	default:
		pl.stage = stagePending
		pl.next = now.Add(c.between(200*time.Millisecond, 600*time.Millisecond))
	}
	c.plans[p.UID] = pl
	return pl
}

// syncPod advances one pod; it reports whether the pod is gone.
func (c *cluster) syncPod(p *corev1.Pod, now time.Time) bool {
	pl := c.planFor(p, now)
	if p.DeletionTimestamp != nil {
		if pl.terminateAt.IsZero() {
			pl.terminateAt = now.Add(c.between(2*time.Second, 5*time.Second))
		}
		if !now.Before(pl.terminateAt) {
			_ = c.tracker.Delete(gvrPods, p.Namespace, p.Name)
			delete(c.plans, p.UID)
			return true
		}
		return false
	}
	changed := false
	for i := 0; i < 4 && !now.Before(pl.next); i++ {
		c.advance(p, pl, now)
		changed = true
	}
	if changed {
		c.store(gvrPods, p)
	}
	return false
}

func (c *cluster) advance(p *corev1.Pod, pl *podPlan, now time.Time) {
	mt := metav1.NewTime(now)
	bad := badImage(&p.Spec)
	switch pl.stage {
	case stagePending:
		p.Spec.NodeName = nodeName
		setCondition(p, corev1.PodScheduled, true, mt)
		setCondition(p, corev1.PodInitialized, true, mt)
		setCondition(p, corev1.PodReady, false, mt)
		setCondition(p, corev1.ContainersReady, false, mt)
		p.Status.HostIP = "10.0.1.10"
		p.Status.StartTime = &mt
		setContainers(p, func(cs *corev1.ContainerStatus) {
			cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
		})
		pl.stage = stageCreating
		pl.next = now.Add(c.between(2*time.Second, 5*time.Second))
	case stageCreating, stageBackOff:
		p.Status.Phase = corev1.PodRunning
		if p.Status.PodIP == "" {
			ip := fmt.Sprintf("10.244.%d.%d", 1+c.rng.IntN(3), 2+c.rng.IntN(250))
			p.Status.PodIP = ip
			p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
		}
		setContainers(p, func(cs *corev1.ContainerStatus) {
			cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt}}
			started := true
			cs.Started = &started
			cs.Ready = false
		})
		pl.stage = stageRunning
		pl.next = now.Add(c.between(time.Second, 2*time.Second))
	case stageRunning:
		if bad {
			setContainers(p, func(cs *corev1.ContainerStatus) {
				started := cs.State.Running
				cs.RestartCount++
				term := &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: mt}
				if started != nil {
					term.StartedAt = started.StartedAt
				}
				cs.LastTerminationState = corev1.ContainerState{Terminated: term}
				back := crashBackOff(cs.RestartCount)
				cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
					Reason:  "CrashLoopBackOff",
					Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", back, cs.Name, p.Name),
				}}
				f := false
				cs.Started = &f
				cs.Ready = false
			})
			setPodReady(p, false, mt)
			pl.stage = stageBackOff
			pl.next = now.Add(c.scaled(crashBackOff(restarts(p))))
			return
		}
		setContainers(p, func(cs *corev1.ContainerStatus) { cs.Ready = true })
		setPodReady(p, true, mt)
		pl.stage = stageReady
		pl.next = never
	default:
		pl.next = never
	}
}

func setContainers(p *corev1.Pod, f func(*corev1.ContainerStatus)) {
	if len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
		p.Status.ContainerStatuses = make([]corev1.ContainerStatus, len(p.Spec.Containers))
		for i, ct := range p.Spec.Containers {
			p.Status.ContainerStatuses[i] = corev1.ContainerStatus{Name: ct.Name, Image: ct.Image, ImageID: "docker.io/library/" + ct.Image}
		}
	}
	for i := range p.Status.ContainerStatuses {
		f(&p.Status.ContainerStatuses[i])
	}
}

func setCondition(p *corev1.Pod, t corev1.PodConditionType, ok bool, now metav1.Time) {
	st := corev1.ConditionFalse
	if ok {
		st = corev1.ConditionTrue
	}
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			if p.Status.Conditions[i].Status != st {
				p.Status.Conditions[i].Status = st
				p.Status.Conditions[i].LastTransitionTime = now
			}
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: st, LastTransitionTime: now})
}

func setPodReady(p *corev1.Pod, ok bool, now metav1.Time) {
	setCondition(p, corev1.PodReady, ok, now)
	setCondition(p, corev1.ContainersReady, ok, now)
	if !ok {
		for i := range p.Status.ContainerStatuses {
			p.Status.ContainerStatuses[i].Ready = false
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func crashLooping(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" {
			return true
		}
	}
	return false
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n = max(n, cs.RestartCount)
	}
	return n
}

// ---- ReplicaSet controller ----

func (c *cluster) syncReplicaSet(rs *appsv1.ReplicaSet, pods []*corev1.Pod, now time.Time) {
	var active []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			active = append(active, p)
		}
	}
	want := int(replicasOf(rs.Spec.Replicas))
	for len(active) < want {
		p := c.newPod(rs, now)
		if err := c.tracker.Create(gvrPods, p, p.Namespace, metav1.CreateOptions{FieldManager: controllerManager}); err != nil {
			break
		}
		c.planFor(p, now)
		active = append(active, p)
	}
	if len(active) > want {
		// delete the least useful first: not ready, earlier stage, newest
		slices.SortStableFunc(active, func(a, b *corev1.Pod) int {
			if ra, rb := podReady(a), podReady(b); ra != rb {
				if !ra {
					return -1
				}
				return 1
			}
			if sa, sb := c.plans[a.UID].stage, c.plans[b.UID].stage; sa != sb && sa != stageBackOff && sb != stageBackOff {
				return sa - sb
			}
			return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
		})
		for _, p := range active[:len(active)-want] {
			c.markTerminating(p)
			c.store(gvrPods, p)
		}
		active = active[len(active)-want:]
	}
	st := appsv1.ReplicaSetStatus{
		Replicas:             int32(len(active)),
		FullyLabeledReplicas: int32(len(active)),
		ObservedGeneration:   rs.Generation,
	}
	var terminating int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			terminating++
		}
	}
	if terminating > 0 {
		st.TerminatingReplicas = &terminating
	}
	for _, p := range active {
		if podReady(p) {
			st.ReadyReplicas++
			st.AvailableReplicas++
		}
	}
	if !equality.Semantic.DeepEqual(rs.Status, st) {
		rs.Status = st
		c.store(gvrReplicaSets, rs)
	}
}

func (c *cluster) newPod(rs *appsv1.ReplicaSet, now time.Time) *corev1.Pod {
	tmpl := rs.Spec.Template.DeepCopy()
	t := true
	p := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              rs.Name + "-" + c.suffix(5),
			Namespace:         rs.Namespace,
			Labels:            maps.Clone(tmpl.Labels),
			Annotations:       maps.Clone(tmpl.Annotations),
			UID:               c.newUID(),
			CreationTimestamp: metav1.NewTime(now),
			Generation:        1,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID,
				Controller: &t, BlockOwnerDeletion: &t,
			}},
		},
		Spec: tmpl.Spec,
		Status: corev1.PodStatus{
			Phase:    corev1.PodPending,
			QOSClass: corev1.PodQOSBestEffort,
		},
	}
	if p.Spec.RestartPolicy == "" {
		p.Spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	return p
}

// ---- deployment controller ----

// templateHash is the pod-template-hash of a template.
func templateHash(t *corev1.PodTemplateSpec) string {
	tc := t.DeepCopy()
	delete(tc.Labels, hashLabel)
	b, _ := json.Marshal(tc)
	h := fnv.New32a()
	_, _ = h.Write(b)
	return utilrand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

func sameTemplate(a, b *corev1.PodTemplateSpec) bool {
	ac, bc := a.DeepCopy(), b.DeepCopy()
	delete(ac.Labels, hashLabel)
	delete(bc.Labels, hashLabel)
	if len(ac.Labels) == 0 {
		ac.Labels = nil
	}
	if len(bc.Labels) == 0 {
		bc.Labels = nil
	}
	return equality.Semantic.DeepEqual(ac, bc)
}

func revisionOf(m metav1.Object) int64 {
	v, err := strconv.ParseInt(m.GetAnnotations()[revisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

func setRevision(m metav1.Object, rev int64) bool {
	a := m.GetAnnotations()
	s := strconv.FormatInt(rev, 10)
	if a[revisionAnnotation] == s {
		return false
	}
	if a == nil {
		a = map[string]string{}
	}
	a[revisionAnnotation] = s
	m.SetAnnotations(a)
	return true
}

// surge returns maxSurge and maxUnavailable resolved against desired.
func surge(d *appsv1.Deployment, desired int32) (int32, int32) {
	ms := intstr.FromString("25%")
	mu := intstr.FromString("25%")
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			ms = *ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			mu = *ru.MaxUnavailable
		}
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(&ms, int(desired), true)
	if err != nil {
		s = 1
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(&mu, int(desired), false)
	if err != nil {
		u = 0
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u)
}

func (c *cluster) syncDeployment(d *appsv1.Deployment, owned []*appsv1.ReplicaSet, now time.Time) {
	desired := replicasOf(d.Spec.Replicas)
	var newRS *appsv1.ReplicaSet
	var old []*appsv1.ReplicaSet
	var maxRev int64
	for _, rs := range owned {
		maxRev = max(maxRev, revisionOf(rs))
		if newRS == nil && sameTemplate(&rs.Spec.Template, &d.Spec.Template) {
			newRS = rs
			continue
		}
		old = append(old, rs)
	}
	if d.Spec.Paused {
		c.deploymentStatus(d, newRS, owned, desired)
		return
	}
	if newRS == nil {
		newRS = c.createReplicaSet(d, maxRev+1, old, desired, now)
		if newRS == nil {
			return
		}
		owned = append(owned, newRS)
	} else if revisionOf(newRS) < maxRev {
		// rollback to an older template: that ReplicaSet becomes the newest revision
		setRevision(newRS, maxRev+1)
		c.store(gvrReplicaSets, newRS)
	}
	if setRevision(d, revisionOf(newRS)) {
		c.store(gvrDeployments, d)
	}

	scaleRS := func(rs *appsv1.ReplicaSet, n int32) {
		if replicasOf(rs.Spec.Replicas) != n {
			rs.Spec.Replicas = &n
			rs.Generation++
			c.store(gvrReplicaSets, rs)
		}
	}
	oldActive := false
	for _, rs := range old {
		if replicasOf(rs.Spec.Replicas) > 0 {
			oldActive = true
		}
	}
	switch {
	case d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType:
		if oldActive {
			for _, rs := range old {
				scaleRS(rs, 0)
			}
			break
		}
		for _, rs := range old {
			if rs.Status.Replicas > 0 || derefInt32(rs.Status.TerminatingReplicas) > 0 {
				c.deploymentStatus(d, newRS, owned, desired)
				return
			}
		}
		scaleRS(newRS, desired)
	case !oldActive:
		scaleRS(newRS, desired)
	default:
		maxSurge, maxUnavailable := surge(d, desired)
		total := int32(0)
		for _, rs := range owned {
			total += replicasOf(rs.Spec.Replicas)
		}
		nr := replicasOf(newRS.Spec.Replicas)
		switch {
		case nr > desired:
			scaleRS(newRS, desired)
		case nr < desired && total < desired+maxSurge:
			scaleRS(newRS, nr+min(desired+maxSurge-total, desired-nr))
		}
		// scale down old ReplicaSets: unhealthy first, then within maxUnavailable
		all := int32(0)
		for _, rs := range owned {
			all += replicasOf(rs.Spec.Replicas)
		}
		minAvailable := desired - maxUnavailable
		newUnavailable := replicasOf(newRS.Spec.Replicas) - newRS.Status.AvailableReplicas
		cleanup := all - minAvailable - newUnavailable
		for _, rs := range old {
			if cleanup <= 0 {
				break
			}
			r := replicasOf(rs.Spec.Replicas)
			unhealthy := r - rs.Status.AvailableReplicas
			if r == 0 || unhealthy <= 0 {
				continue
			}
			down := min(unhealthy, cleanup)
			scaleRS(rs, r-down)
			cleanup -= down
		}
		available := int32(0)
		for _, rs := range owned {
			available += min(rs.Status.AvailableReplicas, replicasOf(rs.Spec.Replicas))
		}
		if available > minAvailable {
			down := available - minAvailable
			for _, rs := range old {
				if down <= 0 {
					break
				}
				r := replicasOf(rs.Spec.Replicas)
				if r == 0 {
					continue
				}
				n := min(r, down)
				scaleRS(rs, r-n)
				down -= n
			}
		}
	}
	c.deploymentStatus(d, newRS, owned, desired)
}

func derefInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func (c *cluster) createReplicaSet(d *appsv1.Deployment, rev int64, old []*appsv1.ReplicaSet, desired int32, now time.Time) *appsv1.ReplicaSet {
	hash := templateHash(&d.Spec.Template)
	tmpl := d.Spec.Template.DeepCopy()
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[hashLabel] = hash
	sel := d.Spec.Selector.DeepCopy()
	if sel == nil {
		sel = &metav1.LabelSelector{}
	}
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[hashLabel] = hash
	replicas := int32(0)
	if len(old) == 0 {
		replicas = desired
	}
	t := true
	rs := &appsv1.ReplicaSet{
		TypeMeta: metav1.TypeMeta{Kind: "ReplicaSet", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              d.Name + "-" + hash,
			Namespace:         d.Namespace,
			Labels:            maps.Clone(tmpl.Labels),
			Annotations:       map[string]string{revisionAnnotation: strconv.FormatInt(rev, 10)},
			UID:               c.newUID(),
			CreationTimestamp: metav1.NewTime(now),
			Generation:        1,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID,
				Controller: &t, BlockOwnerDeletion: &t,
			}},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: sel, Template: *tmpl},
	}
	if _, err := c.tracker.Get(gvrReplicaSets, rs.Namespace, rs.Name); err == nil {
		rs.Name += "-" + c.suffix(3) // hash collision
	}
	if err := c.tracker.Create(gvrReplicaSets, rs, rs.Namespace, metav1.CreateOptions{FieldManager: controllerManager}); err != nil {
		return nil
	}
	return rs
}

func (c *cluster) deploymentStatus(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, owned []*appsv1.ReplicaSet, desired int32) {
	st := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, CollisionCount: d.Status.CollisionCount}
	var specTotal int32
	for _, rs := range owned {
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
		specTotal += replicasOf(rs.Spec.Replicas)
		if t := derefInt32(rs.Status.TerminatingReplicas); t > 0 {
			st.TerminatingReplicas = ptrAdd(st.TerminatingReplicas, t)
		}
	}
	if newRS != nil {
		st.UpdatedReplicas = newRS.Status.Replicas
	}
	st.UnavailableReplicas = max(0, specTotal-st.AvailableReplicas)
	_, maxUnavailable := surge(d, desired)
	complete := st.UpdatedReplicas == desired && st.Replicas == desired && st.AvailableReplicas == desired
	st.Conditions = []appsv1.DeploymentCondition{
		c.condition(d, appsv1.DeploymentAvailable, st.AvailableReplicas >= desired-maxUnavailable,
			"MinimumReplicasAvailable", "Deployment has minimum availability.",
			"MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
	}
	rsName := ""
	if newRS != nil {
		rsName = newRS.Name
	}
	if complete {
		st.Conditions = append(st.Conditions, c.condition(d, appsv1.DeploymentProgressing, true,
			"NewReplicaSetAvailable", fmt.Sprintf("ReplicaSet %q has successfully progressed.", rsName), "", ""))
	} else {
		st.Conditions = append(st.Conditions, c.condition(d, appsv1.DeploymentProgressing, true,
			"ReplicaSetUpdated", fmt.Sprintf("ReplicaSet %q is progressing.", rsName), "", ""))
	}
	if !equality.Semantic.DeepEqual(d.Status, st) {
		d.Status = st
		c.store(gvrDeployments, d)
	}
}

func ptrAdd(p *int32, n int32) *int32 {
	v := derefInt32(p) + n
	return &v
}

// condition builds a deployment condition, keeping its times when nothing changed.
func (c *cluster) condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType, ok bool, okReason, okMsg, badReason, badMsg string) appsv1.DeploymentCondition {
	st, reason, msg := corev1.ConditionTrue, okReason, okMsg
	if !ok {
		st, reason, msg = corev1.ConditionFalse, badReason, badMsg
	}
	for _, old := range d.Status.Conditions {
		if old.Type == t && old.Status == st && old.Reason == reason && old.Message == msg {
			return old
		}
	}
	now := metav1.NewTime(c.clk.Now())
	return appsv1.DeploymentCondition{Type: t, Status: st, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
}
