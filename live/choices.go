package live

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ChoiceQuery says where the values of a variable's live source come from.
type ChoiceQuery struct {
	Client    kubernetes.Interface // nil: Kubernetes sources report an error
	Namespace string
	Selector  string // label selector of the application's pods
	BackupDir string
}

// Choice is one value a live source offers, with the facts that help pick
// it: a pod's READY, STATUS, restarts and age; a backup's time and age.
type Choice struct {
	Value string
	Facts string
}

// Values are the choices' values, in order.
func Values(cs []Choice) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Value
	}
	return out
}

// Choices lists the values a variable's live source offers (the values of
// ChoiceFacts).
func Choices(ctx context.Context, q ChoiceQuery, source string) ([]string, error) {
	cs, err := ChoiceFacts(ctx, q, source)
	return Values(cs), err
}

// ChoiceFacts lists the values a variable's live source offers with their
// facts, best candidate first: pods (not Ready first), unready pods only,
// deployments, network policies, or backup dump files (newest first). It is
// a one-off read for the declare screen and headless runs, not a pane
// source.
func ChoiceFacts(ctx context.Context, q ChoiceQuery, source string) ([]Choice, error) {
	now := time.Now()
	switch source {
	case "backups":
		return backupChoices(q.BackupDir, now)
	case "pods", "pods:unready", "deployments", "networkpolicies":
	default:
		return nil, fmt.Errorf("live source %q offers no choices here", source)
	}
	if q.Client == nil {
		return nil, fmt.Errorf("no Kubernetes context to list %s from", source)
	}
	var names []string
	switch source {
	case "pods", "pods:unready":
		list, err := q.Client.CoreV1().Pods(q.Namespace).List(ctx, metav1.ListOptions{LabelSelector: q.Selector})
		if err != nil {
			return nil, fmt.Errorf("list pods %s in %s: %w", q.Selector, q.Namespace, err)
		}
		var unready, ready []Choice
		for i := range list.Items {
			p := &list.Items[i]
			c := Choice{Value: p.Name, Facts: podFacts(PodFrom(p), now)}
			if choiceReady(p) {
				ready = append(ready, c)
			} else {
				unready = append(unready, c)
			}
		}
		byValue := func(a, b Choice) int { return strings.Compare(a.Value, b.Value) }
		slices.SortFunc(unready, byValue)
		slices.SortFunc(ready, byValue)
		if source == "pods" {
			unready = append(unready, ready...)
		}
		return unready, nil
	case "deployments":
		list, err := q.Client.AppsV1().Deployments(q.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list deployments in %s: %w", q.Namespace, err)
		}
		for _, d := range list.Items {
			names = append(names, d.Name)
		}
		sort.Strings(names)
	case "networkpolicies":
		list, err := q.Client.NetworkingV1().NetworkPolicies(q.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list network policies in %s: %w", q.Namespace, err)
		}
		for _, np := range list.Items {
			names = append(names, np.Name)
		}
		sort.Strings(names)
	}
	out := make([]Choice, len(names))
	for i, n := range names {
		out[i] = Choice{Value: n}
	}
	return out, nil
}

// podFacts is "0/1 CrashLoopBackOff · 7 restarts · 12m", as kubectl get
// pods shows it.
func podFacts(p Pod, now time.Time) string {
	f := fmt.Sprintf("%d/%d %s", p.Ready, p.Total, p.Status)
	if p.Restarts > 0 {
		f += fmt.Sprintf(" · %d restarts", p.Restarts)
	}
	if !p.Created.IsZero() {
		f += " · " + ageText(now.Sub(p.Created))
	}
	return f
}

// ageText is a kubectl-style age: 45s, 12m, 3h, 2d.
func ageText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// notDump marks files kept beside backups that are not backups themselves.
var notDump = []string{".meta", ".md5", ".sha1", ".sha256", ".sig", ".asc", ".json", ".log", ".txt", ".tmp", ".partial", ".lock"}

func isDump(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	for _, ext := range notDump {
		if strings.HasSuffix(strings.ToLower(name), ext) {
			return false
		}
	}
	return true
}

func choiceReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func backupChoices(dir string, now time.Time) ([]Choice, error) {
	if dir == "" {
		return nil, fmt.Errorf("no backup folder configured ([backup] dir)")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		if e.IsDir() || !isDump(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{filepath.Join(dir, e.Name()), info.ModTime()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.After(files[j].mod) })
	out := make([]Choice, len(files))
	for i, f := range files {
		out[i] = Choice{Value: f.path, Facts: f.mod.Local().Format("2006-01-02 15:04") + " · " + ageText(now.Sub(f.mod)) + " ago"}
	}
	return out, nil
}
