package drill

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Names the scenarios use (config defaults; see ConfigOverrides).
const (
	AppDeployment = "ci-failure-agent"
	AppLabel      = "app=ci-failure-agent"
	DBDeployment  = "postgres"
	DatabaseName  = "app"
	AppImage      = "ci-failure-agent:1.4.2"
	BadImage      = "ci-failure-agent:bad"
	DenyPolicy    = "deny-all-ingress"
	AllowPolicy   = "allow-ci-failure-agent"
	CorruptIndex  = "orders_pkey"
)

// Scenario ids (see /work/brief/SCENARIOS.md).
const (
	ScenarioDataCenter  = "data-center-failure"
	ScenarioCorruption  = "database-corruption"
	ScenarioApplication = "application-failure"
	ScenarioNetwork     = "network-failure"
	ScenarioOutage      = "complete-outage"
)

// Scenario is one fault a drill injects.
type Scenario struct {
	ID    string
	Title string
	// story is what the pager said; at(d) is the wall-clock time d before
	// the detection time ("15:04").
	story func(at func(before time.Duration) string) string
}

// Briefing is what the trainee is told: what the pager said, its times
// counted back from the incident's detection time, so the story matches
// the clock in the header.
func (s Scenario) Briefing(detected time.Time) string {
	if s.story == nil {
		return ""
	}
	return s.story(func(before time.Duration) string {
		return detected.Add(-before).Local().Format("15:04")
	})
}

// Scenarios lists the drill scenarios, one per disaster type of the plan.
func Scenarios() []Scenario {
	return []Scenario{
		{ScenarioDataCenter, "Data center failure", func(at func(time.Duration) string) string {
			return "PAGER " + at(0) + " — CRITICAL: all health checks of region primary failing since " + at(4*time.Minute) +
				"; API server drill-primary unreachable (dial tcp 10.0.0.1:6443: connection refused). Customers report the service is down. " +
				"The failover region drill-failover is healthy but runs no application yet, and its database is empty."
		}},
		{ScenarioCorruption, "Database corruption", func(at func(time.Duration) string) string {
			return "PAGER " + at(0) + " — ERROR rate high on ci-failure-agent since " + at(12*time.Minute) +
				": \"index orders_pkey contains unexpected zero page\", duplicate order ids reported by support. " +
				"The application is up (3/3) and still writing."
		}},
		{ScenarioApplication, "Application failure", func(at func(time.Duration) string) string {
			return "PAGER " + at(0) + " — ci-failure-agent: 0/3 pods ready, CrashLoopBackOff since the deploy at " + at(10*time.Minute) +
				" (image ci-failure-agent:bad). The previous release 1.4.2 was healthy."
		}},
		{ScenarioNetwork, "Network failure", func(at func(time.Duration) string) string {
			return "PAGER " + at(0) + " — ci-failure-agent health check timing out from the ingress; pods are Running and Ready. " +
				"A change to network policies went out at " + at(35*time.Minute) + "."
		}},
		{ScenarioOutage, "Complete system outage", func(at func(time.Duration) string) string {
			return "PAGER " + at(0) + " — EVERYTHING DOWN: ci-failure-agent 0 pods, postgres 0 pods, database unreachable, " +
				"WAL archiving stalled since " + at(12*time.Minute) + ". The cluster itself answers. Start the five-phase outage procedure."
		}},
	}
}

func knownScenario(id string) bool {
	for _, s := range Scenarios() {
		if s.ID == id {
			return true
		}
	}
	return false
}

// Inject resets the environment to healthy and breaks it as the scenario
// says. It can be called before or after Start.
func (e *Simulator) Inject(id string) error {
	if !knownScenario(id) {
		return fmt.Errorf("inject %q: %w", id, errUnknownScenario)
	}
	return e.reset(id)
}

// reset rebuilds both contexts and the database for a scenario ("" = healthy).
func (e *Simulator) reset(id string) error {
	e.mu.Lock()
	e.scenario = id
	e.mu.Unlock()
	ns := e.opts.Namespace
	now := e.clk.Now()
	for _, c := range []*cluster{e.primary, e.failover} {
		c.cs.Lock()
		c.setDown(false)
		c.wipe()
		err := c.createObj(gvrNamespaces, &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: ns, CreationTimestamp: metav1.NewTime(now.Add(-90 * 24 * time.Hour))},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
		})
		if err == nil && c == e.primary {
			err = e.seedPrimary(c, id, now)
		}
		if err == nil {
			c.reconcile(now)
		}
		c.cs.Unlock()
		if err != nil {
			return fmt.Errorf("drill %s: seed %s: %w", id, c.name, err)
		}
	}
	if id == ScenarioDataCenter {
		e.primary.setDown(true)
	}
	switch id {
	case ScenarioDataCenter:
		// the failover database: up, empty, restored by the runbook
		e.db.resetState(true, 0, 40*time.Second, map[string]string{})
	case ScenarioCorruption:
		e.db.resetState(true, 212, 30*time.Second, map[string]string{
			CorruptIndex: `index "orders_pkey" contains unexpected zero page at block 17; item order invariant violated for index "orders_pkey"`,
		})
	case ScenarioOutage:
		e.db.resetState(false, 212, 12*time.Minute, map[string]string{})
	default:
		e.db.resetState(true, 212, 30*time.Second, map[string]string{})
	}
	return nil
}

// wipe removes every simulated object. Caller holds the Fake's lock.
func (c *cluster) wipe() {
	for _, k := range []struct {
		gvr schema.GroupVersionResource
		gvk schema.GroupVersionKind
	}{
		{gvrPods, gvkPod},
		{gvrReplicaSets, gvkReplicaSet},
		{gvrDeployments, gvkDeployment},
		{gvrServices, gvkService},
		{gvrNetworkPolicies, gvkNetworkPolicy},
		{gvrNamespaces, corev1.SchemeGroupVersion.WithKind("Namespace")},
	} {
		obj, err := c.tracker.List(k.gvr, k.gvk, "")
		if err != nil {
			continue
		}
		items, err := metaItems(obj)
		if err != nil {
			continue
		}
		for _, it := range items {
			_ = c.tracker.Delete(k.gvr, it.GetNamespace(), it.GetName())
		}
	}
	clear(c.plans)
}

func metaItems(list runtime.Object) ([]metav1.Object, error) {
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]metav1.Object, 0, len(objs))
	for _, o := range objs {
		m, err := meta.Accessor(o)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (c *cluster) createObj(gvr schema.GroupVersionResource, obj runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	c.stamp(m)
	return c.tracker.Create(gvr, obj, m.GetNamespace(), metav1.CreateOptions{FieldManager: "drill"})
}

// seedPrimary creates the primary context's workloads for a scenario.
func (e *Simulator) seedPrimary(c *cluster, id string, now time.Time) error {
	ns := e.opts.Namespace
	appReplicas, pgReplicas := int32(3), int32(1)
	appImages := []string{AppImage}
	appPods := podsReady
	pgPods := podsReady
	switch id {
	case ScenarioApplication:
		appImages = []string{AppImage, BadImage}
		appPods = podsCrashLoop
	case ScenarioOutage:
		appReplicas, pgReplicas = 0, 0
	}
	if err := c.seedDeployment(ns, DBDeployment, "postgres", []string{"postgres:16.4"}, pgReplicas, pgPods, appsv1.RecreateDeploymentStrategyType, 5432, now); err != nil {
		return err
	}
	if err := c.seedDeployment(ns, AppDeployment, "agent", appImages, appReplicas, appPods, appsv1.RollingUpdateDeploymentStrategyType, 8080, now); err != nil {
		return err
	}
	for _, svc := range []struct {
		name       string
		port, tgt  int32
		selectorOf string
	}{{AppDeployment, 80, 8080, AppDeployment}, {DBDeployment, 5432, 5432, DBDeployment}} {
		err := c.createObj(gvrServices, &corev1.Service{
			TypeMeta:   metav1.TypeMeta{Kind: "Service", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: svc.name, Namespace: ns, Labels: map[string]string{"app": svc.selectorOf}, CreationTimestamp: metav1.NewTime(now.Add(-30 * 24 * time.Hour))},
			Spec: corev1.ServiceSpec{
				Selector:  map[string]string{"app": svc.selectorOf},
				ClusterIP: fmt.Sprintf("10.96.%d.%d", 10+svc.port%200, svc.tgt%250),
				Ports:     []corev1.ServicePort{{Name: "main", Port: svc.port, TargetPort: intstr.FromInt32(svc.tgt), Protocol: corev1.ProtocolTCP}},
			},
		})
		if err != nil {
			return err
		}
	}
	if id == ScenarioNetwork {
		err := c.createObj(gvrNetworkPolicies, &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{Kind: "NetworkPolicy", APIVersion: "networking.k8s.io/v1"},
			ObjectMeta: metav1.ObjectMeta{Name: DenyPolicy, Namespace: ns, CreationTimestamp: metav1.NewTime(now.Add(-2 * time.Hour))},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			},
		})
		if err != nil {
			return err
		}
	}
	return nil
}

type podState int

const (
	podsReady podState = iota
	podsCrashLoop
)

func (s podState) String() string {
	if s == podsCrashLoop {
		return "crash loop"
	}
	return "ready"
}

// seedDeployment creates a deployment with one ReplicaSet per image (the last
// is current) and the current ReplicaSet's pods in the given state.
func (c *cluster) seedDeployment(ns, name, container string, images []string, replicas int32, state podState, strategy appsv1.DeploymentStrategyType, port int32, now time.Time) error {
	tmpl := func(image string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: container, Image: image,
				Ports: []corev1.ContainerPort{{ContainerPort: port, Protocol: corev1.ProtocolTCP}},
			}}},
		}
	}
	rev := int64(len(images))
	d := &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, Labels: map[string]string{"app": name},
			UID: c.newUID(), Generation: rev, CreationTimestamp: metav1.NewTime(now.Add(-30 * 24 * time.Hour)),
			Annotations: map[string]string{revisionAnnotation: fmt.Sprint(rev)},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: tmpl(images[len(images)-1]),
			Strategy: appsv1.DeploymentStrategy{Type: strategy},
		},
	}
	if strategy == appsv1.RollingUpdateDeploymentStrategyType {
		q := intstr.FromString("25%")
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &q, MaxUnavailable: &q}
	}
	if err := c.createObj(gvrDeployments, d); err != nil {
		return err
	}
	var current *appsv1.ReplicaSet
	for i, img := range images {
		v := d.DeepCopy()
		v.Spec.Template = tmpl(img)
		created := now.Add(-time.Duration(len(images)-i) * 2 * time.Hour)
		rs := c.createReplicaSet(v, int64(i+1), nil, 0, created)
		if rs == nil {
			return fmt.Errorf("create replicaset of %s", name)
		}
		if i == len(images)-1 {
			r := replicas
			rs.Spec.Replicas = &r
			c.store(gvrReplicaSets, rs)
			current = rs
		}
	}
	for range replicas {
		p := c.newPod(current, now.Add(-10*time.Minute))
		switch state {
		case podsReady:
			settleReady(p, now.Add(-9*time.Minute), c.rng.IntN(250))
		case podsCrashLoop:
			settleCrashLoop(p, now.Add(-9*time.Minute), int32(4+c.rng.IntN(3)), c.rng.IntN(250))
		}
		if err := c.tracker.Create(gvrPods, p, ns, metav1.CreateOptions{FieldManager: "drill"}); err != nil {
			return err
		}
	}
	return nil
}

func settleReady(p *corev1.Pod, t time.Time, ip int) {
	mt := metav1.NewTime(t)
	p.Spec.NodeName = nodeName
	p.Status.Phase = corev1.PodRunning
	p.Status.HostIP = "10.0.1.10"
	p.Status.PodIP = fmt.Sprintf("10.244.1.%d", 2+ip)
	p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
	p.Status.StartTime = &mt
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		setCondition(p, t, true, mt)
	}
	setContainers(p, func(cs *corev1.ContainerStatus) {
		started := true
		cs.Started = &started
		cs.Ready = true
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt}}
	})
}

func settleCrashLoop(p *corev1.Pod, t time.Time, restarts int32, ip int) {
	settleReady(p, t, ip)
	mt := metav1.NewTime(t.Add(8 * time.Minute))
	setPodReady(p, false, mt)
	setContainers(p, func(cs *corev1.ContainerStatus) {
		f := false
		cs.Started = &f
		cs.Ready = false
		cs.RestartCount = restarts
		cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: mt}}
		cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason:  "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", crashBackOff(restarts), cs.Name, p.Name),
		}}
	})
}

// ---- recovery checks ----

// deploymentReady reads a deployment straight from the store (ignoring
// reachability): desired and ready replicas, the template's images.
func (c *cluster) deploymentReady(ns, name string) (desired, ready int32, images []string, ok bool) {
	obj, err := c.tracker.Get(gvrDeployments, ns, name)
	if err != nil {
		return 0, 0, nil, false
	}
	d := obj.(*appsv1.Deployment)
	for _, ct := range d.Spec.Template.Spec.Containers {
		images = append(images, ct.Image)
	}
	return replicasOf(d.Spec.Replicas), d.Status.ReadyReplicas, images, true
}

func (c *cluster) readyReplicas(ns, name string) int32 {
	_, r, _, _ := c.deploymentReady(ns, name)
	return r
}

func (c *cluster) exists(gvr schema.GroupVersionResource, ns, name string) bool {
	_, err := c.tracker.Get(gvr, ns, name)
	return err == nil
}

// appPods describes the non-terminating pods labelled app=<name>.
func (c *cluster) appPods(ns, app string) (total, ready, crashing int) {
	obj, err := c.tracker.List(gvrPods, gvkPod, ns)
	if err != nil {
		return 0, 0, 0
	}
	for _, p := range obj.(*corev1.PodList).Items {
		if p.Labels["app"] != app || p.DeletionTimestamp != nil {
			continue
		}
		total++
		if podReady(&p) {
			ready++
		}
		if crashLooping(&p) {
			crashing++
		}
	}
	return total, ready, crashing
}

// Recovered reports whether the scenario's recovery condition holds, and
// explains what is (still) wrong or what holds.
func (e *Simulator) Recovered(id string) (bool, string) {
	if !knownScenario(id) {
		return false, fmt.Sprintf("unknown drill scenario %q", id)
	}
	ns := e.opts.Namespace
	db := e.db.state()
	var bad, good []string
	check := func(ok bool, okText, badText string) {
		if ok {
			good = append(good, okText)
		} else {
			bad = append(bad, badText)
		}
	}
	deploy := func(c *cluster, name string, want int32, label string) {
		desired, ready, _, ok := c.deploymentReady(ns, name)
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%sdeployment %s does not exist", label, name))
		case want > 0:
			check(desired == want && ready == want,
				fmt.Sprintf("%sdeployment %s ready %d/%d", label, name, ready, desired),
				fmt.Sprintf("%sdeployment %s ready %d/%d (want %d)", label, name, ready, desired, want))
		default:
			check(desired >= 1 && ready == desired,
				fmt.Sprintf("%sdeployment %s ready %d/%d", label, name, ready, desired),
				fmt.Sprintf("%sdeployment %s ready %d/%d", label, name, ready, desired))
		}
	}
	restored := func() { check(db.restored, "database restored", "database not restored from backup") }
	switch id {
	case ScenarioDataCenter:
		deploy(e.failover, AppDeployment, 0, "failover ")
		restored()
	case ScenarioCorruption:
		for _, ix := range db.corrupt {
			bad = append(bad, "index "+ix+" corrupt")
		}
		if len(db.corrupt) == 0 {
			good = append(good, "no corrupt index")
		}
		deploy(e.primary, AppDeployment, 3, "")
	case ScenarioApplication:
		_, _, images, ok := e.primary.deploymentReady(ns, AppDeployment)
		deploy(e.primary, AppDeployment, 0, "")
		if ok {
			badTag := false
			for _, im := range images {
				if strings.HasSuffix(im, ":bad") {
					badTag = true
				}
			}
			check(!badTag, "template image "+strings.Join(images, ","), "template image is still "+strings.Join(images, ","))
		}
		total, ready, crashing := e.primary.appPods(ns, AppDeployment)
		check(total > 0 && ready == total, fmt.Sprintf("%d/%d app pods ready", ready, total), fmt.Sprintf("%d/%d app pods ready", ready, total))
		check(crashing == 0, "no pod crash-looping", fmt.Sprintf("%d pod(s) in CrashLoopBackOff", crashing))
	case ScenarioNetwork:
		check(!e.primary.exists(gvrNetworkPolicies, ns, DenyPolicy), "network policy "+DenyPolicy+" removed", "network policy "+DenyPolicy+" still blocks ingress")
		check(e.primary.exists(gvrNetworkPolicies, ns, AllowPolicy), "network policy "+AllowPolicy+" present", "network policy "+AllowPolicy+" missing")
	case ScenarioOutage:
		pg := e.primary.readyReplicas(ns, DBDeployment)
		check(pg >= 1, fmt.Sprintf("postgres ready %d", pg), "postgres has no ready pod")
		restored()
		deploy(e.primary, AppDeployment, 3, "")
	}
	if len(bad) > 0 {
		return false, strings.Join(bad, "; ")
	}
	return true, strings.Join(good, "; ")
}

// ScenarioByID returns the scenario with that id.
func ScenarioByID(id string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.ID == id {
			return s, true
		}
	}
	return Scenario{}, false
}
