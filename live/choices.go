package live

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

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

// Choices lists the values a variable's live source offers, best candidate
// first: pods (not Ready first), unready pods only, deployments, network
// policies, or backup files (newest first). It is a one-off read for the
// declare screen and headless runs, not a pane source.
func Choices(ctx context.Context, q ChoiceQuery, source string) ([]string, error) {
	switch source {
	case "backups":
		return backupChoices(q.BackupDir)
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
		var unready, ready []string
		for i := range list.Items {
			p := &list.Items[i]
			if choiceReady(p) {
				ready = append(ready, p.Name)
			} else {
				unready = append(unready, p.Name)
			}
		}
		sort.Strings(unready)
		sort.Strings(ready)
		names = unready
		if source == "pods" {
			names = append(names, ready...)
		}
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
	return names, nil
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

func backupChoices(dir string) ([]string, error) {
	if dir == "" {
		return nil, fmt.Errorf("no backup folder configured ([backup] dir)")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	type file struct {
		path string
		mod  int64
	}
	var files []file
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{filepath.Join(dir, e.Name()), info.ModTime().UnixNano()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod > files[j].mod })
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.path
	}
	return out, nil
}
