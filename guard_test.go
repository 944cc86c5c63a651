package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

// apiRecorder stands in for an API server: it answers scale requests and
// records every request's method and dryRun parameter.
type apiRecorder struct {
	mu       sync.Mutex
	requests []string // "METHOD path dryRun=…"
}

func (r *apiRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests = append(r.requests, req.Method+" "+req.URL.Path+" dryRun="+req.URL.Query().Get("dryRun"))
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Scale", "apiVersion": "autoscaling/v1",
		"metadata": map[string]any{"name": "ci-failure-agent", "namespace": "default"},
		"spec":     map[string]any{"replicas": 3}, "status": map[string]any{"replicas": 3},
	})
}

func (r *apiRecorder) mutating() (withoutDryRun, dryRun int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range r.requests {
		if strings.HasPrefix(q, "GET ") {
			continue
		}
		if strings.HasSuffix(q, "dryRun=All") {
			dryRun++
		} else {
			withoutDryRun++
		}
	}
	return
}

func writeKubeconfig(t *testing.T, dir, server string) string {
	t.Helper()
	p := filepath.Join(dir, "kubeconfig")
	body := `apiVersion: v1
kind: Config
clusters:
- name: staging
  cluster: {server: ` + server + `}
users:
- name: u
  user: {token: abc}
contexts:
- name: staging
  context: {cluster: staging, user: u, namespace: default}
current-context: staging
`
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDrillOnARealContextIsGuarded proves the production guard as main wires
// it: a drill pointed at a real context (kubectl's --context) that is not in
// [drill] allow_contexts sends mutations only as server-side dry runs; an
// allow-listed one really mutates.
func TestDrillOnARealContextIsGuarded(t *testing.T) {
	dir := isolate(t)
	rec := &apiRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	kc := writeKubeconfig(t, dir, srv.URL)

	scale := runbooks.Step{ID: "stop", Title: "scale", Destructive: true, Why: "test",
		K8s: &runbooks.K8sAction{Action: runbooks.K8sScale, Deployment: "ci-failure-agent", Replicas: new(int)}}

	for _, allow := range []bool{false, true} {
		*rec = apiRecorder{}
		o := newCmdOpts()
		o.drill = true
		ctxName, kubeconfig := "staging", kc
		o.kube.Context, o.kube.KubeConfig = &ctxName, &kubeconfig
		cfg := config.Default()
		cfg.PrimaryContext = "staging"
		if allow {
			cfg.Drill.AllowContexts = []string{"staging"}
		}
		a := &app{}
		env, err := a.environment(context.Background(), o, cfg, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		fin := steps.Start(context.Background(), scale, *env.Target).Wait()
		without, dry := rec.mutating()
		t.Logf("allow=%v exit=%d err=%q requests=%v", allow, fin.ExitCode, fin.Err, rec.requests)
		if !allow && (without != 0 || dry == 0) {
			t.Errorf("not allow-listed: %d mutating requests without dryRun=All, %d with; want 0 and ≥1", without, dry)
		}
		if allow && without == 0 {
			t.Errorf("allow-listed context: the scale was not really sent")
		}
		env.Close()
	}
}
