package drill

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/steps"
)

// apiServer stands in for a real API server and counts requests.
type apiServer struct {
	*httptest.Server
	mu       sync.Mutex
	mutating int // non-GET requests without dryRun=All
	dryRun   int // non-GET requests with dryRun=All
	reads    int
}

func newAPIServer(t *testing.T) *apiServer {
	s := &apiServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		switch {
		case r.Method == http.MethodGet:
			s.reads++
		case r.URL.Query().Get("dryRun") == "All", r.Method == http.MethodDelete && deleteDryRun(reqBody):
			s.dryRun++
		default:
			s.mutating++
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		var body any
		switch {
		case strings.HasSuffix(r.URL.Path, "/scale"):
			body = &autoscalingv1.Scale{TypeMeta: metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"}, ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"}, Spec: autoscalingv1.ScaleSpec{Replicas: 3}}
		case strings.Contains(r.URL.Path, "/pods/"):
			body = &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}}
		default:
			body = &appsv1.Deployment{TypeMeta: metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"}, ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"}}
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) counts() (reads, dryRun, mutating int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads, s.dryRun, s.mutating
}

// mutateAll tries a scale, a pod delete and a patch, with or without dry-run,
// and returns how many were refused.
func mutateAll(t *testing.T, cs kubernetes.Interface, dryRun bool) (refused int) {
	t.Helper()
	ctx := context.Background()
	var dr []string
	if dryRun {
		dr = []string{metav1.DryRunAll}
	}
	sc := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"}, Spec: autoscalingv1.ScaleSpec{Replicas: 0}}
	errs := []error{}
	_, err := cs.AppsV1().Deployments("default").UpdateScale(ctx, "app", sc, metav1.UpdateOptions{DryRun: dr})
	errs = append(errs, err)
	errs = append(errs, cs.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{DryRun: dr}))
	_, err = cs.AppsV1().Deployments("default").Patch(ctx, "app", types.StrategicMergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{DryRun: dr})
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			if !strings.Contains(err.Error(), "refused by the drill guard") {
				t.Errorf("unexpected error: %v", err)
			}
			refused++
		}
	}
	return refused
}

func TestGuardRESTConfigRefusesMutationsLocally(t *testing.T) {
	t.Parallel()
	srv := newAPIServer(t)
	cs, err := kubernetes.NewForConfig(GuardRESTConfig(&rest.Config{Host: srv.URL}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments("default").Get(context.Background(), "app", metav1.GetOptions{}); err != nil {
		t.Fatalf("get through the guard: %v", err)
	}
	if n := mutateAll(t, cs, false); n != 3 {
		t.Errorf("refused %d of 3 mutations", n)
	}
	if _, _, m := srv.counts(); m != 0 {
		t.Fatalf("%d mutating requests reached the server", m)
	}
	if n := mutateAll(t, cs, true); n != 0 {
		t.Errorf("refused %d dry-run requests", n)
	}
	reads, dry, m := srv.counts()
	if reads != 1 || dry != 3 || m != 0 {
		t.Errorf("server saw reads=%d dryRun=%d mutating=%d, want 1/3/0", reads, dry, m)
	}
}

// realProvider is a provider for real contexts backed by the test server.
type realProvider struct{ host string }

func (p realProvider) RESTConfig(string) (*rest.Config, error) {
	return &rest.Config{Host: p.host}, nil
}

func (p realProvider) Client(name string) (kubernetes.Interface, steps.ContextInfo, error) {
	rc, _ := p.RESTConfig(name)
	cs, err := kubernetes.NewForConfig(rc)
	return cs, steps.ContextInfo{Name: name, Namespace: "default", Real: true}, err
}

func TestGuardProvider(t *testing.T) {
	t.Parallel()
	srv := newAPIServer(t)
	cfg := config.Default()
	cfg.Drill.AllowContexts = []string{"staging"}
	g := Guard(realProvider{host: srv.URL}, cfg)

	cs, info, err := g.Client("prod")
	if err != nil {
		t.Fatal(err)
	}
	if !info.ForceDryRun {
		t.Error("prod context not forced to dry-run")
	}
	if n := mutateAll(t, cs, false); n != 3 {
		t.Errorf("prod: refused %d of 3", n)
	}
	if _, _, m := srv.counts(); m != 0 {
		t.Fatalf("prod: %d mutating requests reached the server", m)
	}

	cs, info, err = g.Client("staging")
	if err != nil {
		t.Fatal(err)
	}
	if info.ForceDryRun {
		t.Error("allowed context forced to dry-run")
	}
	if n := mutateAll(t, cs, false); n != 0 {
		t.Errorf("staging: refused %d", n)
	}
	if _, _, m := srv.counts(); m != 3 {
		t.Errorf("staging: %d mutating requests reached the server, want 3", m)
	}

	// The REST configs apply builds its clients from are guarded alike.
	rc, err := g.(steps.RESTConfigProvider).RESTConfig("prod")
	if err != nil {
		t.Fatal(err)
	}
	cs, err = kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if n := mutateAll(t, cs, false); n != 3 {
		t.Errorf("prod REST config: refused %d of 3", n)
	}
	if _, _, m := srv.counts(); m != 3 {
		t.Errorf("prod REST config: %d mutating requests reached the server, want the 3 of staging only", m)
	}
	rc, err = g.(steps.RESTConfigProvider).RESTConfig("staging")
	if err != nil {
		t.Fatal(err)
	}
	if cs, err = kubernetes.NewForConfig(rc); err != nil {
		t.Fatal(err)
	}
	if n := mutateAll(t, cs, false); n != 0 {
		t.Errorf("staging REST config: refused %d", n)
	}
	if _, err := Guard(struct{ steps.KubeProvider }{realProvider{host: srv.URL}}, cfg).(steps.RESTConfigProvider).RESTConfig("prod"); err == nil {
		t.Error("a REST config that cannot be guarded was handed out")
	}

	if _, _, err := Guard(struct{ steps.KubeProvider }{realProvider{host: srv.URL}}, cfg).Client("prod"); err == nil {
		t.Error("a real context that cannot be guarded was handed out")
	}

	// the simulator passes through untouched
	e := New(Options{Speed: 100, Dir: t.TempDir()})
	t.Cleanup(e.Stop)
	_, info, err = Guard(e.KubeProvider(), cfg).Client("primary")
	if err != nil || info.ForceDryRun || info.Real {
		t.Errorf("simulated context through the guard: %+v %v", info, err)
	}
}

// countingDB is a "real" database that counts changes.
type countingDB struct {
	steps.Database
	changes int
}

func (d *countingDB) Real() bool { return true }
func (d *countingDB) Exec(context.Context, string, string, bool) (int64, error) {
	d.changes++
	return 1, nil
}
func (d *countingDB) Reindex(context.Context, string, string) error { d.changes++; return nil }
func (d *countingDB) Restore(context.Context, string, string, func(int64, int64), func(steps.Line)) error {
	d.changes++
	return nil
}

func (d *countingDB) CreateDatabase(context.Context, string, string) error { d.changes++; return nil }
func (d *countingDB) DropDatabase(context.Context, string) error           { d.changes++; return nil }
func (d *countingDB) Swap(context.Context, string, string, string) (int, error) {
	d.changes++
	return 0, nil
}

func TestGuardDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	real := &countingDB{}
	g := GuardDatabase(real, false)
	if _, err := g.Exec(ctx, "app", "delete from orders", false); err == nil || !strings.Contains(err.Error(), "allow_database = true") {
		t.Errorf("exec: %v", err)
	}
	if err := g.Reindex(ctx, "app", ""); err == nil {
		t.Error("reindex allowed")
	}
	if err := g.Restore(ctx, "app", "/backups/latest.sql", nil, nil); err == nil {
		t.Error("restore allowed")
	}
	if err := g.CreateDatabase(ctx, "app_scratch", "app"); err == nil {
		t.Error("create database allowed")
	}
	if err := g.DropDatabase(ctx, "app_scratch"); err == nil {
		t.Error("drop database allowed")
	}
	if _, err := g.Swap(ctx, "app", "app_restore", "app_damaged"); err == nil {
		t.Error("swap allowed")
	}
	if real.changes != 0 {
		t.Fatalf("%d changes reached the real database", real.changes)
	}
	if _, err := g.Exec(ctx, "app", "delete from orders", true); err != nil || real.changes != 1 {
		t.Errorf("dry-run exec: %v (changes %d)", err, real.changes)
	}
	if GuardDatabase(real, true) != steps.Database(real) {
		t.Error("allowed database was wrapped")
	}
}
