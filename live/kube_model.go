package live

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/drnav/drnav/internal/podstatus"
)

// Severity ranks a pod's state; higher is worse.
const (
	SeverityOK   = 0 // running and ready, or completed
	SeverityWarn = 1 // on its way: pending, creating, terminating, not ready
	SeverityFail = 2 // needs a person: crash loop, image pull, OOM, error
)

// Annotations the transform keeps; every other annotation is dropped.
const (
	AnnotationRevision    = "deployment.kubernetes.io/revision"
	AnnotationRestartedAt = "kubectl.kubernetes.io/restartedAt"
)

// Pod is one pod as the pods pane shows it.
type Pod struct {
	Name     string
	Ready    int
	Total    int
	Status   string // phase or the real reason: CrashLoopBackOff, Unschedulable, Terminating, …
	State    string // the count bucket: running, crashloop, imagepull, pending, …
	Restarts int32
	Created  time.Time
	Node     string
	Severity int
}

// StateCount is how many pods are in one state bucket.
type StateCount struct {
	State    string // running, not ready, crashloop, imagepull, oomkilled, pending, terminating, completed, failed, …
	N        int
	Severity int
}

// Deployment is one deployment with its rollout progress.
type Deployment struct {
	Name                 string
	Desired              int32
	Updated              int32
	Ready                int32
	Available            int32
	Generation, Observed int64
	NewRS                string // the ReplicaSet of the current revision
	NewReplicas          int32  // pods of the new ReplicaSet
	NewReady             int32  // ready pods of the new ReplicaSet
	OldReplicas          int32  // pods of all older ReplicaSets
	RollingOut           bool
	Revision             string
	Image                string // first container image of the template
	RestartedAt          string // kubectl rollout restart annotation, if any
}

// KubeSnapshot is what one kube context looks like right now. Pods are
// sorted worst first; Deployments by name.
type KubeSnapshot struct {
	Context     string
	Namespace   string
	Selector    string
	Pods        []Pod
	Deployments []Deployment
	Counts      []StateCount // "running" first, then worst first
	// Err says why the source cannot see the cluster (empty when fine).
	Err string
	// Forbidden names the missing permission when Err is an RBAC denial,
	// e.g. `cannot list pods in namespace "x" (user "bob")`.
	Forbidden string
	// NextRetry is when the source tries again (zero when not failing).
	NextRetry time.Time
	Synced    bool // the caches hold a full list
	Updated   time.Time
}

// Count returns the number of pods in the state bucket.
func (s KubeSnapshot) Count(state string) int {
	for _, c := range s.Counts {
		if c.State == state {
			return c.N
		}
	}
	return 0
}

// Deployment returns the named deployment.
func (s KubeSnapshot) Deployment(name string) (Deployment, bool) {
	for _, d := range s.Deployments {
		if d.Name == name {
			return d, true
		}
	}
	return Deployment{}, false
}

// PodFrom converts a pod object into the pane's row. It never panics on
// partial objects.
func PodFrom(p *corev1.Pod) Pod {
	status, ready, total, restarts := podstatus.Of(p)
	sev, state := classify(status, ready, total)
	return Pod{
		Name:     p.Name,
		Ready:    ready,
		Total:    total,
		Status:   status,
		State:    state,
		Restarts: restarts,
		Created:  p.CreationTimestamp.Time,
		Node:     p.Spec.NodeName,
		Severity: sev,
	}
}

// classify maps a status to its severity and count bucket.
func classify(status string, ready, total int) (int, string) {
	switch status {
	case "Running":
		if ready >= total {
			return SeverityOK, "running"
		}
		return SeverityWarn, "not ready"
	case "Succeeded", "Completed":
		return SeverityOK, "completed"
	case "CrashLoopBackOff", "Init:CrashLoopBackOff":
		return SeverityFail, "crashloop"
	case "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull",
		"Init:ImagePullBackOff", "Init:ErrImagePull":
		return SeverityFail, "imagepull"
	case "OOMKilled", "Init:OOMKilled":
		return SeverityFail, "oomkilled"
	case "Pending", "ContainerCreating", "PodInitializing", "Unschedulable", "SchedulingGated":
		return SeverityWarn, "pending"
	case "Terminating":
		return SeverityWarn, "terminating"
	case "Error", "Failed", "Unknown", "Evicted", "CreateContainerConfigError",
		"CreateContainerError", "RunContainerError", "ContainerCannotRun", "DeadlineExceeded":
		return SeverityFail, "failed"
	}
	switch {
	case strings.HasPrefix(status, "Init:Error"), strings.HasPrefix(status, "Init:ExitCode"),
		strings.HasPrefix(status, "Signal:"), strings.HasPrefix(status, "ExitCode:"):
		return SeverityFail, "failed"
	case strings.HasPrefix(status, "Init:"):
		return SeverityWarn, "pending"
	}
	return SeverityWarn, strings.ToLower(status)
}

// countPods returns the state buckets: running first, then worst first.
func countPods(pods []Pod) []StateCount {
	idx := map[string]int{}
	var out []StateCount
	for _, p := range pods {
		i, ok := idx[p.State]
		if !ok {
			i = len(out)
			idx[p.State] = i
			out = append(out, StateCount{State: p.State, Severity: p.Severity})
		}
		out[i].N++
	}
	slices.SortFunc(out, func(a, b StateCount) int {
		ar, br := a.State == "running", b.State == "running"
		switch {
		case ar && !br:
			return -1
		case br && !ar:
			return 1
		}
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		if c := cmp.Compare(b.N, a.N); c != 0 {
			return c
		}
		return strings.Compare(a.State, b.State)
	})
	return out
}

// DeploymentFrom computes a deployment's rollout progress from the
// ReplicaSets it owns (rss may contain others; they are ignored).
func DeploymentFrom(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) Deployment {
	desired := int32(1)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	out := Deployment{
		Name:        d.Name,
		Desired:     desired,
		Updated:     d.Status.UpdatedReplicas,
		Ready:       d.Status.ReadyReplicas,
		Available:   d.Status.AvailableReplicas,
		Generation:  d.Generation,
		Observed:    d.Status.ObservedGeneration,
		Revision:    d.Annotations[AnnotationRevision],
		RestartedAt: d.Spec.Template.Annotations[AnnotationRestartedAt],
	}
	if len(d.Spec.Template.Spec.Containers) > 0 {
		out.Image = d.Spec.Template.Spec.Containers[0].Image
	}
	var owned []*appsv1.ReplicaSet
	for _, rs := range rss {
		if ownedBy(rs, d) {
			owned = append(owned, rs)
		}
	}
	var newRS *appsv1.ReplicaSet
	if out.Revision != "" {
		for _, rs := range owned {
			if rs.Annotations[AnnotationRevision] == out.Revision {
				newRS = rs
				break
			}
		}
	}
	if newRS == nil {
		best := int64(-1)
		for _, rs := range owned {
			r, err := strconv.ParseInt(rs.Annotations[AnnotationRevision], 10, 64)
			if err != nil {
				r = 0
			}
			if r > best || (r == best && newRS != nil && rs.CreationTimestamp.After(newRS.CreationTimestamp.Time)) {
				best, newRS = r, rs
			}
		}
	}
	for _, rs := range owned {
		if rs == newRS {
			out.NewRS = rs.Name
			out.NewReplicas = rs.Status.Replicas
			out.NewReady = rs.Status.ReadyReplicas
			continue
		}
		out.OldReplicas += rs.Status.Replicas
	}
	out.RollingOut = d.Generation > d.Status.ObservedGeneration ||
		d.Status.UpdatedReplicas < desired ||
		d.Status.Replicas > d.Status.UpdatedReplicas ||
		d.Status.AvailableReplicas < d.Status.UpdatedReplicas ||
		out.OldReplicas > 0
	return out
}

func ownedBy(rs *appsv1.ReplicaSet, d *appsv1.Deployment) bool {
	for _, o := range rs.OwnerReferences {
		if o.Kind == "Deployment" && o.Name == d.Name && (o.UID == "" || d.UID == "" || o.UID == d.UID) {
			return true
		}
	}
	return false
}

// trimObject is the informers' transform: it keeps only what the panes and
// the rollout progress need, so 10k pods fit in a small heap. A pod is
// kept as its pane row (podEntry), not as a trimmed Pod: the Pod struct
// alone is ≈ 1.4 KB even when empty.
func trimObject(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return newPodEntry(o), nil
	case *appsv1.Deployment:
		return trimDeployment(o), nil
	case *appsv1.ReplicaSet:
		return trimReplicaSet(o), nil
	}
	return obj, nil
}

func keptAnnotations(in map[string]string) map[string]string {
	var out map[string]string
	for _, k := range []string{AnnotationRevision, AnnotationRestartedAt} {
		if v, ok := in[k]; ok {
			if out == nil {
				out = make(map[string]string, 2)
			}
			out[k] = v
		}
	}
	return out
}

// podEntry is what the pod informer stores of a pod: the metadata its
// store and the selector need (name, namespace, resource version, labels)
// and the pane's row, computed once when the pod arrives.
type podEntry struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	row Pod
}

func newPodEntry(p *corev1.Pod) *podEntry {
	e := &podEntry{row: PodFrom(p)}
	e.Name, e.Namespace, e.UID = p.Name, p.Namespace, p.UID
	e.ResourceVersion = p.ResourceVersion
	e.Labels = p.Labels
	return e
}

// DeepCopyObject makes podEntry a runtime.Object for the informer.
func (e *podEntry) DeepCopyObject() runtime.Object {
	c := *e
	c.ObjectMeta = *e.ObjectMeta.DeepCopy()
	return &c
}

func trimDeployment(d *appsv1.Deployment) *appsv1.Deployment {
	out := &appsv1.Deployment{}
	out.Name, out.Namespace, out.UID = d.Name, d.Namespace, d.UID
	out.ResourceVersion = d.ResourceVersion
	out.Generation = d.Generation
	out.Labels = d.Labels
	out.CreationTimestamp = d.CreationTimestamp
	out.Annotations = keptAnnotations(d.Annotations)
	out.Spec.Replicas = d.Spec.Replicas
	out.Spec.Template.Annotations = keptAnnotations(d.Spec.Template.Annotations)
	for _, c := range d.Spec.Template.Spec.Containers {
		out.Spec.Template.Spec.Containers = append(out.Spec.Template.Spec.Containers, corev1.Container{Name: c.Name, Image: c.Image})
	}
	out.Status = d.Status
	out.Status.Conditions = nil
	return out
}

func trimReplicaSet(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	out := &appsv1.ReplicaSet{}
	out.Name, out.Namespace, out.UID = rs.Name, rs.Namespace, rs.UID
	out.ResourceVersion = rs.ResourceVersion
	out.Generation = rs.Generation
	out.CreationTimestamp = rs.CreationTimestamp
	out.Annotations = keptAnnotations(rs.Annotations)
	out.OwnerReferences = rs.OwnerReferences
	out.Spec.Replicas = rs.Spec.Replicas
	out.Status = rs.Status
	out.Status.Conditions = nil
	return out
}

func sortDeployments(ds []Deployment) {
	slices.SortFunc(ds, func(a, b Deployment) int { return strings.Compare(a.Name, b.Name) })
}
