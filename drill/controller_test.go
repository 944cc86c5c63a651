package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

func TestBadImageCrashLoopsAndUndoRecovers(t *testing.T) {
	t.Parallel()
	e := startEnv(t, "")
	cs := client(t, e, "primary")
	ctx := context.Background()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"agent","image":%q}]}}}}`, BadImage)
	if _, err := cs.AppsV1().Deployments("default").Patch(ctx, AppDeployment, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// the rollout creates one surge pod that crash-loops; the old pods stay
	eventually(t, waitLong, func() string {
		s := summarize(t, cs, AppDeployment)
		if s.crash == 0 {
			return fmt.Sprintf("no crash loop yet (%+v)", s)
		}
		if s.ready != 3 {
			return fmt.Sprintf("old pods should stay ready: %d", s.ready)
		}
		return ""
	})
	l, _ := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: AppLabel})
	var restartsBefore int32
	for _, p := range l.Items {
		if crashLooping(&p) {
			restartsBefore = restarts(&p)
			if podReady(&p) {
				t.Error("crash-looping pod is Ready")
			}
		}
	}
	eventually(t, waitLong, func() string {
		l, _ := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: AppLabel})
		for _, p := range l.Items {
			if badImage(&p.Spec) && restarts(&p) > restartsBefore {
				return ""
			}
		}
		return "restart count does not grow"
	})
	if msg := rolledOut(deployment(t, cs, AppDeployment)); msg == "" {
		t.Fatal("a crash-looping rollout reports done")
	}
	// undo: put revision 1's template back, as kubectl rollout undo does
	if rev1 := revision1(t, cs); rev1 == nil {
		t.Fatal("no revision 1")
	} else {
		restoreTemplate(t, cs, rev1)
	}
	eventually(t, waitLong, func() string {
		if msg := rolledOut(deployment(t, cs, AppDeployment)); msg != "" {
			return msg
		}
		if s := summarize(t, cs, AppDeployment); s.crash != 0 || s.ready != 3 || s.total != 3 {
			return fmt.Sprintf("%+v", s)
		}
		return ""
	})
	if d := deployment(t, cs, AppDeployment); d.Annotations[revisionAnnotation] != "3" {
		t.Errorf("after undo the deployment is at revision %s, want 3 (revision 1 reused)", d.Annotations[revisionAnnotation])
	}
}

func TestApplicationFailureUndoRecovers(t *testing.T) {
	t.Parallel()
	e := startEnv(t, ScenarioApplication)
	cs := client(t, e, "primary")
	rev1 := revision1(t, cs)
	if rev1 == nil || replicasOf(rev1.Spec.Replicas) != 0 || rev1.Spec.Template.Spec.Containers[0].Image != AppImage {
		t.Fatalf("revision 1 should be the scaled-down %s ReplicaSet: %+v", AppImage, rev1)
	}
	restoreTemplate(t, cs, rev1)
	eventually(t, waitLong, func() string {
		if ok, why := e.Recovered(ScenarioApplication); !ok {
			return why
		}
		return ""
	})
}

func TestInformersSeeTheSimulation(t *testing.T) {
	t.Parallel()
	e := startEnv(t, "")
	cs := client(t, e, "primary")
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace("default"))
	pods := f.Core().V1().Pods().Informer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced) {
		t.Fatal("informer did not sync")
	}
	if n := len(pods.GetStore().List()); n != 4 {
		t.Fatalf("informer sees %d pods, want 4 (3 app + postgres)", n)
	}
	scale(t, cs, AppDeployment, 5)
	eventually(t, waitLong, func() string {
		ready := 0
		for _, o := range pods.GetStore().List() {
			if p := o.(*corev1.Pod); p.Labels["app"] == AppDeployment && podReady(p) {
				ready++
			}
		}
		if ready != 5 {
			return fmt.Sprintf("informer sees %d ready app pods", ready)
		}
		return ""
	})
	// an unreachable context cuts the watch: the informer stops getting news
	e.primary.setDown(true)
	if _, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("list succeeded on an unreachable context")
	}
}

func TestServerSideApplyAndDryRun(t *testing.T) {
	t.Parallel()
	e := startEnv(t, ScenarioDataCenter)
	fo := client(t, e, "failover")
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join(e.ConfigOverrides()["failover_manifests"], "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.ToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	var ac appsv1ac.DeploymentApplyConfiguration
	if err := json.Unmarshal(js, &ac); err != nil {
		t.Fatal(err)
	}
	ac.WithNamespace("default")
	// a dry run changes nothing
	if _, err := fo.AppsV1().Deployments("default").Apply(ctx, &ac, metav1.ApplyOptions{FieldManager: "drnav", DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("dry-run apply: %v", err)
	}
	if _, err := fo.AppsV1().Deployments("default").Get(ctx, AppDeployment, metav1.GetOptions{}); err == nil {
		t.Fatal("dry-run apply created the deployment")
	}
	d, err := fo.AppsV1().Deployments("default").Apply(ctx, &ac, metav1.ApplyOptions{FieldManager: "drnav"})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if d.UID == "" || d.Generation != 1 || len(d.ManagedFields) == 0 {
		t.Errorf("applied deployment uid=%q generation=%d managedFields=%d", d.UID, d.Generation, len(d.ManagedFields))
	}
	eventually(t, waitLong, func() string {
		if ok, why := e.Recovered(ScenarioDataCenter); ok || why != "database not restored from backup" {
			return why
		}
		return ""
	})
	// dry-run scale and delete change nothing either
	sc, err := fo.AppsV1().Deployments("default").GetScale(ctx, AppDeployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Spec.Replicas = 0
	if _, err := fo.AppsV1().Deployments("default").UpdateScale(ctx, AppDeployment, sc, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if err := fo.AppsV1().Deployments("default").Delete(ctx, AppDeployment, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if d := deployment(t, fo, AppDeployment); replicasOf(d.Spec.Replicas) != 3 {
		t.Errorf("dry-run scale changed replicas to %d", replicasOf(d.Spec.Replicas))
	}
}

// revision1 is the app's ReplicaSet of revision 1 (nil when there is none).
func revision1(t *testing.T, cs kubernetes.Interface) *appsv1.ReplicaSet {
	t.Helper()
	rss, err := cs.AppsV1().ReplicaSets("default").List(context.Background(), metav1.ListOptions{LabelSelector: AppLabel})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rss.Items {
		if rss.Items[i].Annotations[revisionAnnotation] == "1" {
			return &rss.Items[i]
		}
	}
	return nil
}

// restoreTemplate puts rs's pod template back on the app's deployment, as
// kubectl rollout undo does (without the pod-template-hash label).
func restoreTemplate(t *testing.T, cs kubernetes.Interface, rs *appsv1.ReplicaSet) {
	t.Helper()
	tmpl := rs.Spec.Template.DeepCopy()
	delete(tmpl.Labels, hashLabel)
	data, err := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": tmpl}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments("default").Patch(context.Background(), AppDeployment, types.JSONPatchType, data, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}
