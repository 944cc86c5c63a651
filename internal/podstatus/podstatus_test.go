package podstatus

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(mutate func(p *corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "proxy"}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", Ready: true, RestartCount: 2, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
				{Name: "proxy", Ready: false, RestartCount: 1, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			},
		},
	}
	mutate(p)
	return p
}

func TestOf(t *testing.T) {
	t.Parallel()
	always := corev1.ContainerRestartPolicyAlways
	started := true
	now := metav1.Now()
	tests := []struct {
		name         string
		mutate       func(p *corev1.Pod)
		status       string
		ready, total int
		restarts     int32
	}{
		{"running, one of two ready", func(p *corev1.Pod) {}, "Running", 1, 2, 3},
		{"crash loop in the second container", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[1].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
		}, "CrashLoopBackOff", 1, 2, 3},
		{"unschedulable", func(p *corev1.Pod) {
			p.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}}
		}, "Unschedulable", 0, 2, 0},
		{"started sidecar does not hold the pod in Init", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "mesh", RestartPolicy: &always}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "mesh", Ready: true, Started: &started, RestartCount: 4,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}, "Running", 1, 2, 7},
		{"init container failing", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Spec.InitContainers = []corev1.Container{{Name: "migrate"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate",
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}}}
		}, "Init:ExitCode:3", 0, 2, 3},
		{"killed by a signal", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Signal: 9}}
		}, "Signal:9", 0, 2, 3},
		{"terminating", func(p *corev1.Pod) { p.DeletionTimestamp = &now }, "Terminating", 1, 2, 3},
		{"node lost", func(p *corev1.Pod) { p.DeletionTimestamp = &now; p.Status.Reason = "NodeLost" }, "Unknown", 1, 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ready, total, restarts := Of(pod(tt.mutate))
			if status != tt.status || ready != tt.ready || total != tt.total || restarts != tt.restarts {
				t.Errorf("got %q %d/%d restarts %d, want %q %d/%d restarts %d",
					status, ready, total, restarts, tt.status, tt.ready, tt.total, tt.restarts)
			}
		})
	}
}
