package drill

import (
	"context"
	"errors"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
)

// TestSimClientsetGroups: every API group drnav's steps call (typed apply's
// kinds, leases, scale) is served by the simulated context's object store,
// with server-side apply; a group the drill does not simulate answers with
// an error instead of panicking.
func TestSimClientsetGroups(t *testing.T) {
	e := startEnv(t, "")
	cs := client(t, e, "primary")
	ctx := context.Background()
	apply := metav1.ApplyOptions{FieldManager: "drnav", Force: true}
	ns := "default"

	if _, err := cs.BatchV1().Jobs(ns).Apply(ctx, batchv1ac.Job("backup", ns).WithSpec(batchv1ac.JobSpec().WithParallelism(1)), apply); err != nil {
		t.Errorf("batch/v1 Job apply: %v", err)
	}
	if _, err := cs.RbacV1().Roles(ns).Apply(ctx, rbacv1ac.Role("reader", ns), apply); err != nil {
		t.Errorf("rbac/v1 Role apply: %v", err)
	}
	if _, err := cs.PolicyV1().PodDisruptionBudgets(ns).Apply(ctx, policyv1ac.PodDisruptionBudget("app", ns), apply); err != nil {
		t.Errorf("policy/v1 PodDisruptionBudget apply: %v", err)
	}
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Apply(ctx, autoscalingv2ac.HorizontalPodAutoscaler("app", ns), apply); err != nil {
		t.Errorf("autoscaling/v2 HorizontalPodAutoscaler apply: %v", err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Apply(ctx, corev1ac.ConfigMap("flags", ns).WithData(map[string]string{"a": "1"}), apply); err != nil {
		t.Errorf("v1 ConfigMap apply: %v", err)
	}
	if cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "flags", metav1.GetOptions{}); err != nil || cm.Data["a"] != "1" {
		t.Errorf("v1 ConfigMap after apply: %v %v", cm, err)
	}
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: ns}}
	if _, err := cs.CoordinationV1().Leases(ns).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Errorf("coordination/v1 Lease create: %v", err)
	}
	if _, err := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("networking/v1 list: %v", err)
	}
	if _, err := cs.AutoscalingV1().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("autoscaling/v1 list: %v", err)
	}
	if _, err := cs.AppsV1().Deployments(ns).GetScale(ctx, AppDeployment, metav1.GetOptions{}); err != nil {
		t.Errorf("apps/v1 scale: %v", err)
	}

	_, err := cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if !errors.Is(err, errNotSimulated) {
		t.Errorf("storage/v1 (not simulated): err = %v, want errNotSimulated", err)
	}
}
