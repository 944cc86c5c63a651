package live

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func choicePod(name string, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "a"}},
		Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

func TestChoices(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset(
		choicePod("b-ok", true), choicePod("a-ok", true), choicePod("z-crash", false),
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns", Labels: map[string]string{"app": "x"}}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: "ns"}},
	)
	dir := t.TempDir()
	now := time.Now()
	for i, name := range []string{"old.sql", "new.sql", "mid.sql"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		age := map[int]time.Duration{0: 48 * time.Hour, 1: time.Minute, 2: time.Hour}[i]
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	q := ChoiceQuery{Client: client, Namespace: "ns", Selector: "app=a", BackupDir: dir}
	cases := []struct {
		source string
		want   []string
	}{
		{"pods:unready", []string{"z-crash"}},
		{"pods", []string{"z-crash", "a-ok", "b-ok"}},
		{"networkpolicies", []string{"deny-all"}},
		{"backups", []string{filepath.Join(dir, "new.sql"), filepath.Join(dir, "mid.sql"), filepath.Join(dir, "old.sql")}},
	}
	for _, c := range cases {
		got, err := Choices(context.Background(), q, c.source)
		if err != nil {
			t.Fatalf("%s: %v", c.source, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %v, want %v", c.source, got, c.want)
		}
	}
	if _, err := Choices(context.Background(), ChoiceQuery{}, "pods"); err == nil {
		t.Error("no client: want an error")
	}
	if _, err := Choices(context.Background(), q, "bogus"); err == nil {
		t.Error("unknown source: want an error")
	}
}

// TestChoiceFacts: pods come with READY, STATUS, restarts and age, failing
// first; backups with their time and age, newest first, and files kept
// beside the dumps (.meta, checksums) are not offered.
func TestChoiceFacts(t *testing.T) {
	t.Parallel()
	crash := choicePod("web-crash", false)
	crash.CreationTimestamp = metav1.NewTime(time.Now().Add(-12 * time.Minute))
	crash.Spec.Containers = []corev1.Container{{Name: "app"}}
	crash.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 7,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	client := fake.NewClientset(crash, choicePod("web-ok", true))
	cs, err := ChoiceFacts(context.Background(), ChoiceQuery{Client: client, Namespace: "ns", Selector: "app=a"}, "pods")
	if err != nil || len(cs) != 2 {
		t.Fatalf("pods: %v %+v", err, cs)
	}
	if cs[0].Value != "web-crash" || cs[0].Facts != "0/1 CrashLoopBackOff · 7 restarts · 12m" {
		t.Errorf("failing pod first with its facts: %+v", cs[0])
	}

	dir := t.TempDir()
	now := time.Now()
	for i, name := range []string{"old.sql", "new.sql.gz", "new.sql.gz.meta", "new.sql.gz.sha256", ".partial.sql"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		at := now.Add(-3 * time.Hour)
		if i > 0 {
			at = now.Add(-10 * time.Minute)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	bs, err := ChoiceFacts(context.Background(), ChoiceQuery{BackupDir: dir}, "backups")
	if err != nil {
		t.Fatal(err)
	}
	if got := Values(bs); !reflect.DeepEqual(got, []string{filepath.Join(dir, "new.sql.gz"), filepath.Join(dir, "old.sql")}) {
		t.Errorf("backups %q: want the two dumps, newest first", got)
	}
	if want := now.Add(-10*time.Minute).Local().Format("2006-01-02 15:04") + " · 10m ago"; len(bs) > 0 && bs[0].Facts != want {
		t.Errorf("backup facts %q, want %q", bs[0].Facts, want)
	}
}
