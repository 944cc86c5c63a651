package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/drnav/drnav/runbooks"
)

// TestKubePreviewIsTheRunsLine: a Kubernetes step not yet run previews the
// kubectl line the run journals (steps.KubePreview): apply is server-side,
// placeholders are filled in and a named context is kept.
func TestKubePreviewIsTheRunsLine(t *testing.T) {
	t.Parallel()
	m := renderModel(200, 40, false)
	m.rb.Steps = append(m.rb.Steps,
		runbooks.Step{ID: "apply", Title: "Apply the failover manifests", K8s: &runbooks.K8sAction{Action: runbooks.K8sApply, Path: "manifests/{{pod}}"}},
		runbooks.Step{ID: "undo", Title: "Roll back", K8s: &runbooks.K8sAction{Action: runbooks.K8sUndo, Context: "failover", Namespace: "shop", Deployment: "web"}},
	)
	for _, c := range []struct{ step, want string }{
		{"apply", "≈ kubectl -n default apply --server-side --field-manager=drnav -f manifests/agent-7d9f-abc"},
		{"undo", "≈ kubectl --context failover -n shop rollout undo deployment/web"},
	} {
		m.selectStep(c.step)
		got := ansi.Strip(strings.Join(m.detailLines(200), "\n"))
		if !strings.Contains(got, c.want) {
			t.Errorf("step %s previews\n%s\nwant a line %q", c.step, got, c.want)
		}
	}
}
