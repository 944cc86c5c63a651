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
