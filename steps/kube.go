package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"mvdan.cc/sh/v3/syntax"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"

	"github.com/drnav/drnav/internal/podstatus"
	"github.com/drnav/drnav/runbooks"
)

// Kubernetes names drnav uses.
const (
	FieldManager        = "drnav"
	RestartedAtKey      = "kubectl.kubernetes.io/restartedAt"
	RevisionAnnotation  = "deployment.kubernetes.io/revision"
	rolloutPollInterval = time.Second
)

// kubeTarget is a resolved client for one action.
type kubeTarget struct {
	cs     kubernetes.Interface
	info   ContextInfo
	ns     string
	dryRun bool
	// restConfig is set for a real context whose provider hands out REST
	// configs: apply then goes through cli-runtime's resource.Builder.
	restConfig func() (*rest.Config, error)
}

func resolveKube(t Target, contextName, namespace string) (kubeTarget, error) {
	if t.Kube == nil {
		return kubeTarget{}, errors.New("no Kubernetes access configured (no kubeconfig / kube provider)")
	}
	if contextName == "" {
		contextName = "primary"
	}
	cs, info, err := t.Kube.Client(contextName)
	if err != nil {
		return kubeTarget{}, fmt.Errorf("kube context %s: %w", contextName, err)
	}
	ns := namespace
	if ns == "" {
		ns = info.Namespace
	}
	if ns == "" {
		ns = t.Namespace
	}
	if ns == "" {
		ns = "default"
	}
	k := kubeTarget{cs: cs, info: info, ns: ns, dryRun: t.DryRun || info.ForceDryRun}
	if rp, ok := t.Kube.(RESTConfigProvider); ok && info.Real {
		k.restConfig = func() (*rest.Config, error) { return rp.RESTConfig(contextName) }
	}
	return k, nil
}

func (k kubeTarget) dryRunOpt() []string {
	if k.dryRun {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// kubectl builds the equivalent kubectl line.
func (k kubeTarget) kubectl(args ...string) string {
	parts := []string{"kubectl"}
	if k.info.Name != "" {
		parts = append(parts, "--context", shq(k.info.Name))
	}
	parts = append(parts, "-n", shq(k.ns))
	for _, a := range args {
		parts = append(parts, shq(a))
	}
	if k.dryRun {
		parts = append(parts, "--dry-run=server")
	}
	return strings.Join(parts, " ")
}

// safeWordRE matches words that need no quoting in a shell.
var safeWordRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`) })

// shq quotes a word for display when needed.
func shq(s string) string {
	if safeWordRE().MatchString(s) {
		return s
	}
	q, err := syntax.Quote(s, syntax.LangBash)
	if err != nil {
		return strconv.Quote(s)
	}
	return q
}

func runKube(ctx context.Context, r *Run, st runbooks.Step, t Target) Event {
	a := st.K8s
	k, err := resolveKube(t, a.Context, a.Namespace)
	if err != nil {
		if berr := r.begin(Event{Command: "k8s " + a.Action, DryRun: t.DryRun}); berr != nil {
			return notStarted(berr)
		}
		return Event{ExitCode: ExitFailed, Err: err.Error()}
	}
	need := func(what, v string) error {
		if v == "" {
			return fmt.Errorf("k8s %s: %s is required", a.Action, what)
		}
		return nil
	}
	var fn func() error
	switch a.Action {
	case runbooks.K8sScale:
		if a.Replicas == nil {
			err = fmt.Errorf("k8s scale: replicas is required")
			break
		}
		err = need("deployment", a.Deployment)
		n := int32(*a.Replicas)
		fn = func() error { return kubeScale(ctx, r, k, a.Deployment, n) }
	case runbooks.K8sRestart:
		err = need("deployment", a.Deployment)
		fn = func() error { return kubeRestart(ctx, r, k, a.Deployment) }
	case runbooks.K8sUndo:
		err = need("deployment", a.Deployment)
		fn = func() error { return kubeUndo(ctx, r, k, a.Deployment) }
	case runbooks.K8sRolloutStatus:
		err = need("deployment", a.Deployment)
		fn = func() error { return kubeRolloutStatus(ctx, r, k, a.Deployment) }
	case runbooks.K8sDeletePod:
		err = need("pod", a.Pod)
		fn = func() error { return kubeDeletePod(ctx, r, k, a.Pod) }
	case runbooks.K8sListPods:
		fn = func() error { return kubeListPods(ctx, r, k, a.Selector, t) }
	case runbooks.K8sApply:
		err = need("path", a.Path)
		fn = func() error { return kubeApply(ctx, r, k, a.Path) }
	case runbooks.K8sNetworkPolicies:
		fn = func() error { return kubeListNetPol(ctx, r, k, t) }
	case runbooks.K8sDeleteNetPolicy:
		err = need("policy", a.Policy)
		fn = func() error { return kubeDeleteNetPol(ctx, r, k, a.Policy) }
	default:
		err = fmt.Errorf("unknown k8s action %q", a.Action)
	}
	if kubeReadOnly(a.Action) {
		k.dryRun = false
	}
	desc, equiv := KubePreview(*a, k.info.Name, k.ns, k.dryRun)
	if berr := r.begin(Event{Command: orStr(desc, "k8s "+a.Action), Equivalent: equiv, DryRun: k.dryRun}); berr != nil {
		return notStarted(berr)
	}
	if err != nil {
		return Event{ExitCode: ExitFailed, Err: err.Error()}
	}
	if k.dryRun {
		r.print(Stdout, "server-side dry run: the API server validates the change without persisting it")
	}
	if err := fn(); err != nil {
		if ctx.Err() != nil {
			code, msg := ctxExit(ctx, "k8s "+a.Action)
			return Event{ExitCode: code, Err: msg + ": " + err.Error()}
		}
		return Event{ExitCode: ExitFailed, Err: err.Error()}
	}
	return Event{ExitCode: ExitOK}
}

// kubeReadOnly reports whether a Kubernetes action only reads (it never
// runs as a dry run).
func kubeReadOnly(action string) bool {
	switch action {
	case runbooks.K8sRolloutStatus, runbooks.K8sListPods, runbooks.K8sNetworkPolicies:
		return true
	}
	return false
}

// KubePreview is how a Kubernetes action is described, in words (desc) and
// as the kubectl line that does the same (equiv), in namespace ns and, when
// contextName is set, that kube context; dryRun marks a server-side dry run
// (read-only actions never are). A run journals these two lines and the
// navigator previews the step with them before it runs: one wording for
// both. Both are "" for an action that cannot run (unknown, or a scale
// without replicas).
func KubePreview(a runbooks.K8sAction, contextName, ns string, dryRun bool) (desc, equiv string) {
	k := kubeTarget{info: ContextInfo{Name: contextName}, ns: ns, dryRun: dryRun && !kubeReadOnly(a.Action)}
	switch a.Action {
	case runbooks.K8sScale:
		if a.Replicas == nil {
			return "", ""
		}
		n := *a.Replicas
		desc = fmt.Sprintf("scale deployment %s in %s to %d replicas", a.Deployment, k.ns, n)
		equiv = k.kubectl("scale", "deployment/"+a.Deployment, fmt.Sprintf("--replicas=%d", n))
	case runbooks.K8sRestart:
		desc = fmt.Sprintf("restart deployment %s in %s (rolling)", a.Deployment, k.ns)
		equiv = k.kubectl("rollout", "restart", "deployment/"+a.Deployment)
	case runbooks.K8sUndo:
		desc = fmt.Sprintf("roll back deployment %s in %s to its previous revision", a.Deployment, k.ns)
		equiv = k.kubectl("rollout", "undo", "deployment/"+a.Deployment)
	case runbooks.K8sRolloutStatus:
		desc = fmt.Sprintf("wait for the rollout of deployment %s in %s", a.Deployment, k.ns)
		equiv = k.kubectl("rollout", "status", "deployment/"+a.Deployment)
	case runbooks.K8sDeletePod:
		desc = fmt.Sprintf("delete pod %s in %s (its controller recreates it)", a.Pod, k.ns)
		equiv = k.kubectl("delete", "pod", a.Pod)
	case runbooks.K8sListPods:
		desc = fmt.Sprintf("list pods in %s", k.ns)
		args := []string{"get", "pods"}
		if a.Selector != "" {
			desc += " matching " + a.Selector
			args = append(args, "-l", a.Selector)
		}
		equiv = k.kubectl(args...)
	case runbooks.K8sApply:
		desc = fmt.Sprintf("server-side apply %s to %s (field manager %s)", a.Path, k.ns, FieldManager)
		equiv = k.kubectl("apply", "--server-side", "--field-manager="+FieldManager, "-f", a.Path)
	case runbooks.K8sNetworkPolicies:
		desc = fmt.Sprintf("list network policies in %s", k.ns)
		equiv = k.kubectl("get", "networkpolicies")
	case runbooks.K8sDeleteNetPolicy:
		desc = fmt.Sprintf("delete network policy %s in %s", a.Policy, k.ns)
		equiv = k.kubectl("delete", "networkpolicy", a.Policy)
	default:
		return "", ""
	}
	if k.dryRun {
		desc = "[dry run] " + desc
	}
	if contextName != "" {
		desc += " (context " + contextName + ")"
	}
	return desc, equiv
}

func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func kubeScale(ctx context.Context, r *Run, k kubeTarget, name string, n int32) error {
	d, err := k.cs.AppsV1().Deployments(k.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("scale deployment %s: %w", name, err)
	}
	var cur int32 = 1
	if d.Spec.Replicas != nil {
		cur = *d.Spec.Replicas
	}
	sc := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: k.ns},
		Spec:       autoscalingv1.ScaleSpec{Replicas: n},
	}
	if _, err := k.cs.AppsV1().Deployments(k.ns).UpdateScale(ctx, name, sc, metav1.UpdateOptions{DryRun: k.dryRunOpt(), FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("scale deployment %s: %w", name, err)
	}
	r.print(Stdout, fmt.Sprintf("deployment.apps/%s scaled (replicas %d → %d)%s", name, cur, n, dryNote(k)))
	return nil
}

func dryNote(k kubeTarget) string {
	if k.dryRun {
		return " (server dry run)"
	}
	return ""
}

// deploymentKind is what kubectl's polymorphic helpers are asked for.
var deploymentKind = appsv1.SchemeGroupVersion.WithKind("Deployment").GroupKind()

// dryRunStrategy is kubectl's dry-run mode for this target: server-side
// (dryRun=All on every mutation) for a dry run or a guarded drill context.
func (k kubeTarget) dryRunStrategy() cmdutil.DryRunStrategy {
	if k.dryRun {
		return cmdutil.DryRunServer
	}
	return cmdutil.DryRunNone
}

// kubeRestart is kubectl rollout restart: kubectl's object restarter sets
// the restartedAt annotation (and refuses a paused deployment), and the
// change goes as a strategic merge patch of the original against the result.
func kubeRestart(ctx context.Context, r *Run, k kubeTarget, name string) error {
	d, err := k.cs.AppsV1().Deployments(k.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("restart deployment %s: %w", name, err)
	}
	// The restarter encodes with apiVersion and kind; the original must
	// carry them too or the patch would name them as changes.
	d.APIVersion, d.Kind = appsv1.SchemeGroupVersion.String(), "Deployment"
	orig, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("restart deployment %s: %w", name, err)
	}
	modified, err := polymorphichelpers.ObjectRestarterFn(d.DeepCopy())
	if err != nil {
		return fmt.Errorf("restart deployment %s: %w", name, err)
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(orig, modified, appsv1.Deployment{})
	if err != nil {
		return fmt.Errorf("restart deployment %s: patch: %w", name, err)
	}
	if _, err := k.cs.AppsV1().Deployments(k.ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{DryRun: k.dryRunOpt(), FieldManager: "kubectl-rollout"}); err != nil {
		return fmt.Errorf("restart deployment %s: %w", name, err)
	}
	r.print(Stdout, fmt.Sprintf("deployment.apps/%s restarted%s", name, dryNote(k)))
	return nil
}

// kubeUndo is kubectl rollout undo: kubectl's rollbacker restores the
// previous revision's template and its annotations (change-cause among
// them), refuses a paused deployment and skips a template already in place.
func kubeUndo(ctx context.Context, r *Run, k kubeTarget, name string) error {
	d, err := k.cs.AppsV1().Deployments(k.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("undo deployment %s: %w", name, err)
	}
	cs, err := k.kubectlClient(ctx)
	if err != nil {
		return fmt.Errorf("undo deployment %s: %w", name, err)
	}
	hv, err := polymorphichelpers.HistoryViewerFor(deploymentKind, cs)
	if err != nil {
		return fmt.Errorf("undo deployment %s: %w", name, err)
	}
	history, err := withContext(ctx, func() (map[int64]runtime.Object, error) { return hv.GetHistory(k.ns, name) })
	if err != nil {
		return fmt.Errorf("undo deployment %s: history: %w", name, err)
	}
	// The revision kubectl's "previous" means (the second newest), named so
	// the output can say where the deployment went. With fewer than two
	// revisions 0 lets the rollbacker give kubectl's own answer.
	revs := make([]int64, 0, len(history))
	for v := range history {
		revs = append(revs, v)
	}
	slices.Sort(revs)
	var to int64
	if len(revs) >= 2 {
		to = revs[len(revs)-2]
	}
	rb, err := polymorphichelpers.RollbackerFor(deploymentKind, cs)
	if err != nil {
		return fmt.Errorf("undo deployment %s: %w", name, err)
	}
	res, err := withContext(ctx, func() (string, error) { return rb.Rollback(d, nil, to, k.dryRunStrategy()) })
	if err != nil {
		return fmt.Errorf("undo deployment %s: %w", name, err)
	}
	if !strings.HasPrefix(res, "rolled back") {
		r.print(Stdout, fmt.Sprintf("deployment.apps/%s %s%s", name, res, dryNote(k)))
		return nil
	}
	r.print(Stdout, fmt.Sprintf("deployment.apps/%s rolled back to revision %d%s", name, to, dryNote(k)))
	if rs, ok := history[to].(*appsv1.ReplicaSet); ok {
		if cause := rs.Annotations[polymorphichelpers.ChangeCauseAnnotation]; cause != "" {
			r.print(Stdout, "  change-cause: "+cause)
		}
		for _, c := range rs.Spec.Template.Spec.Containers {
			r.print(Stdout, fmt.Sprintf("  container %s image %s", c.Name, c.Image))
		}
	}
	return nil
}

// kubectlClient is the clientset for kubectl's helpers (history viewer,
// rollbacker), which send their requests with context.TODO. For a real
// context it is built from a copy of the REST config whose transport gives
// every request ctx: once the step is cancelled nothing more is sent and a
// request in flight is aborted, so a PATCH cannot land after the user
// cancelled. The drill simulator's clientsets send nothing over the wire;
// they are used as they are.
func (k kubeTarget) kubectlClient(ctx context.Context) (kubernetes.Interface, error) {
	if k.restConfig == nil {
		return k.cs, nil
	}
	cfg, err := k.restConfig()
	if err != nil {
		return nil, fmt.Errorf("kube context %s: %w", k.info.Name, err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(next http.RoundTripper) http.RoundTripper { return ctxRoundTripper{ctx: ctx, next: next} })
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube context %s: %w", k.info.Name, err)
	}
	return cs, nil
}

// ctxRoundTripper sends each request with ctx in place of the context it
// came with (kubectl's helpers give context.TODO, which never ends), and
// sends nothing once ctx has ended.
type ctxRoundTripper struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t ctxRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.ctx.Err(); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(req.WithContext(t.ctx))
}

// withContext runs fn, which takes no context (kubectl's helpers use
// context.TODO), and returns when it does or when ctx ends, whichever is
// first. A call left behind finishes on its own, its result dropped; with
// kubectlClient's clientset it is aborted as well.
func withContext[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case res := <-ch:
		return res.v, res.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// rolloutState judges a deployment with kubectl's status viewer (the
// messages of kubectl rollout status).
func rolloutState(d *appsv1.Deployment) (msg string, done bool, err error) {
	sv, err := polymorphichelpers.StatusViewerFor(deploymentKind)
	if err != nil {
		return "", false, err
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		return "", false, fmt.Errorf("deployment %s: %w", d.Name, err)
	}
	msg, done, err = sv.Status(&unstructured.Unstructured{Object: obj}, 0)
	return strings.TrimSpace(msg), done, err
}

func kubeRolloutStatus(ctx context.Context, r *Run, k kubeTarget, name string) error {
	last := ""
	tk := time.NewTicker(rolloutPollInterval)
	defer tk.Stop()
	for {
		d, err := k.cs.AppsV1().Deployments(k.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("rollout status %s: %s", name, orStr(last, "no status yet"))
			}
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("rollout status %s: %w", name, err)
			}
			msg := "error reading deployment: " + err.Error() + " (retrying)"
			if msg != last {
				r.print(Stderr, msg)
				last = msg
			}
		} else {
			msg, done, serr := rolloutState(d)
			if serr != nil {
				return serr
			}
			if msg != last {
				r.print(Stdout, msg)
				last = msg
			}
			if done {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rollout status %s: %s", name, last)
		case <-tk.C:
		}
	}
}

func kubeDeletePod(ctx context.Context, r *Run, k kubeTarget, pod string) error {
	if err := k.cs.CoreV1().Pods(k.ns).Delete(ctx, pod, metav1.DeleteOptions{DryRun: k.dryRunOpt()}); err != nil {
		return fmt.Errorf("delete pod %s: %w", pod, err)
	}
	r.print(Stdout, fmt.Sprintf("pod %q deleted%s", pod, dryNote(k)))
	return nil
}

func kubeDeleteNetPol(ctx context.Context, r *Run, k kubeTarget, name string) error {
	if err := k.cs.NetworkingV1().NetworkPolicies(k.ns).Delete(ctx, name, metav1.DeleteOptions{DryRun: k.dryRunOpt()}); err != nil {
		return fmt.Errorf("delete network policy %s: %w", name, err)
	}
	r.print(Stdout, fmt.Sprintf("networkpolicy.networking.k8s.io %q deleted%s", name, dryNote(k)))
	return nil
}

// PodStatus is the STATUS column kubectl shows (CrashLoopBackOff, Terminating…).
func PodStatus(p *corev1.Pod) string {
	status, _, _, _ := podstatus.Of(p)
	return status
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podCrashLooping(p *corev1.Pod) bool {
	for _, c := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if c.State.Waiting != nil && c.State.Waiting.Reason == "CrashLoopBackOff" {
			return true
		}
	}
	return false
}

func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func kubeListPods(ctx context.Context, r *Run, k kubeTarget, selector string, t Target) error {
	list, err := k.cs.CoreV1().Pods(k.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	if len(list.Items) == 0 {
		r.print(Stdout, fmt.Sprintf("No resources found in %s namespace.", k.ns))
		return nil
	}
	pods := list.Items
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	now := nowOf(t)
	rows := [][]string{{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}}
	for i := range pods {
		p := &pods[i]
		ready, restarts := 0, int32(0)
		for _, c := range p.Status.ContainerStatuses {
			if c.Ready {
				ready++
			}
			restarts += c.RestartCount
		}
		total := len(p.Spec.Containers)
		if total == 0 {
			total = len(p.Status.ContainerStatuses)
		}
		rows = append(rows, []string{p.Name, fmt.Sprintf("%d/%d", ready, total), PodStatus(p), strconv.Itoa(int(restarts)), age(p.CreationTimestamp, now)})
	}
	printTable(r, rows)
	return nil
}

func kubeListNetPol(ctx context.Context, r *Run, k kubeTarget, t Target) error {
	list, err := k.cs.NetworkingV1().NetworkPolicies(k.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list network policies: %w", err)
	}
	if len(list.Items) == 0 {
		r.print(Stdout, fmt.Sprintf("No resources found in %s namespace.", k.ns))
		return nil
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	now := nowOf(t)
	rows := [][]string{{"NAME", "POD-SELECTOR", "POLICY-TYPES", "AGE"}}
	for _, np := range items {
		sel := metav1.FormatLabelSelector(&np.Spec.PodSelector)
		if sel == "<none>" {
			sel = "<none> (all pods)"
		}
		var pt []string
		for _, x := range np.Spec.PolicyTypes {
			pt = append(pt, string(x))
		}
		rows = append(rows, []string{np.Name, sel, orStr(strings.Join(pt, ","), "-"), age(np.CreationTimestamp, now)})
	}
	printTable(r, rows)
	return nil
}

func nowOf(t Target) time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// printTable prints rows aligned in columns, one output line each.
func printTable(r *Run, rows [][]string) {
	for _, l := range formatTable(rows) {
		r.print(Stdout, l)
	}
}

func formatTable(rows [][]string) []string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 3, ' ', 0)
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	_ = tw.Flush()
	lines := splitLines(strings.TrimRight(b.String(), "\n"))
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

// NewKubeProvider loads kubeconfig as kubectl does (KUBECONFIG, ~/.kube/config,
// or the explicit path). "primary" resolves to the primary context (the
// current context when empty), "failover" to the failover context, any other
// name to that context. A non-empty namespace overrides the context's.
func NewKubeProvider(kubeconfig, primary, failover, namespace string) KubeProvider {
	return NewKubeProviderWith(KubeProviderOptions{Kubeconfig: kubeconfig, Primary: primary, Failover: failover, Namespace: namespace})
}

// ClientConfigFor returns the clientcmd config that selects one kube context
// ("" = the kubeconfig's current context). drnav's CLI builds it from
// kubectl's own flags (cli-runtime's ConfigFlags), so --as, --token, --server
// and the rest behave exactly as in kubectl.
type ClientConfigFor func(contextName string) clientcmd.ClientConfig

// KubeProviderOptions configure NewKubeProviderWith.
type KubeProviderOptions struct {
	Primary, Failover string
	// ClientConfig selects a context; nil means kubeconfig's loading rules
	// with Kubeconfig and Namespace below.
	ClientConfig          ClientConfigFor
	Kubeconfig, Namespace string
	// WrapConfig adjusts every REST config before a clientset is built
	// (the drill production guard installs its transport here).
	WrapConfig func(*rest.Config) *rest.Config
}

// NewKubeProviderWith is NewKubeProvider with every option.
func NewKubeProviderWith(o KubeProviderOptions) KubeProvider {
	if o.ClientConfig == nil {
		kubeconfig, namespace := o.Kubeconfig, o.Namespace
		o.ClientConfig = func(name string) clientcmd.ClientConfig {
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			if kubeconfig != "" {
				rules.ExplicitPath = kubeconfig
			}
			overrides := &clientcmd.ConfigOverrides{CurrentContext: name}
			if namespace != "" {
				overrides.Context.Namespace = namespace
			}
			return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
		}
	}
	return &kubeProvider{opts: o, clients: map[string]kubeEntry{}}
}

type kubeEntry struct {
	cs   kubernetes.Interface
	info ContextInfo
}

type kubeProvider struct {
	opts KubeProviderOptions

	mu      sync.Mutex
	clients map[string]kubeEntry
}

// Contexts lists the kubeconfig's context names, sorted.
func (p *kubeProvider) Contexts() ([]string, error) {
	raw, err := p.opts.ClientConfig("").RawConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// resolve maps "primary", "failover" or a context name to the kubeconfig
// context it means, and checks the context exists.
func (p *kubeProvider) resolve(name string) (string, error) {
	ctxName := name
	switch name {
	case "primary", "":
		ctxName = p.opts.Primary
	case "failover":
		if p.opts.Failover == "" {
			return "", errors.New("no failover context configured (set failover_context in the config, or --failover-context)")
		}
		ctxName = p.opts.Failover
	}
	raw, err := p.opts.ClientConfig(ctxName).RawConfig()
	if err != nil {
		return "", fmt.Errorf("load kubeconfig: %w", err)
	}
	if ctxName == "" {
		ctxName = raw.CurrentContext
		if ctxName == "" {
			return "", errors.New("kubeconfig has no current context and no primary_context is configured")
		}
	}
	if _, ok := raw.Contexts[ctxName]; !ok {
		return "", fmt.Errorf("kube context %q not found in kubeconfig", ctxName)
	}
	return ctxName, nil
}

// RESTConfig is the REST config of a context (protobuf for core types), for
// callers that build their own clients: the live panes' informers and the
// drill production guard.
func (p *kubeProvider) RESTConfig(name string) (*rest.Config, error) {
	resolved, err := p.resolve(name)
	if err != nil {
		return nil, err
	}
	rc, _, err := p.restConfig(resolved)
	return rc, err
}

func (p *kubeProvider) restConfig(resolved string) (*rest.Config, string, error) {
	cc := p.opts.ClientConfig(resolved)
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kube context %q: %w", resolved, err)
	}
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	rc.UserAgent = "drnav"
	if p.opts.WrapConfig != nil {
		rc = p.opts.WrapConfig(rc)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kube context %q: namespace: %w", resolved, err)
	}
	return rc, ns, nil
}

func (p *kubeProvider) Client(name string) (kubernetes.Interface, ContextInfo, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.clients[name]; ok {
		return e.cs, e.info, nil
	}
	resolved, err := p.resolve(name)
	if err != nil {
		return nil, ContextInfo{}, err
	}
	rc, ns, err := p.restConfig(resolved)
	if err != nil {
		return nil, ContextInfo{}, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, ContextInfo{}, fmt.Errorf("kube context %q: %w", resolved, err)
	}
	info := ContextInfo{Name: resolved, Namespace: ns, Real: true}
	p.clients[name] = kubeEntry{cs: cs, info: info}
	return cs, info, nil
}
