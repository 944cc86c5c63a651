package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/steps"
)

// RESTConfigProvider is implemented by a real KubeProvider that can hand
// out the rest.Config of a context; Guard needs it to rebuild the clientset
// with a transport that refuses mutations.
type RESTConfigProvider = steps.RESTConfigProvider

// Guard wraps a real KubeProvider for a drill pointed at real contexts. A
// context named in cfg.Drill.AllowContexts is handed out as is. Any other
// real context gets ContextInfo.ForceDryRun, and its clientset is rebuilt
// from the provider's rest.Config (see RESTConfigProvider) through
// GuardRESTConfig, so that a mutating request without dryRun=All is refused
// before it leaves the process. A real context whose rest.Config cannot be
// had is refused rather than handed out unguarded. Simulated contexts
// (ContextInfo.Real false) pass through.
func Guard(real steps.KubeProvider, cfg config.Config) steps.KubeProvider {
	return guardProvider{real: real, cfg: cfg}
}

type guardProvider struct {
	real steps.KubeProvider
	cfg  config.Config
}

func (g guardProvider) Client(name string) (kubernetes.Interface, steps.ContextInfo, error) {
	cs, info, err := g.real.Client(name)
	if err != nil || !info.Real || g.cfg.DrillAllowsContext(info.Name) {
		return cs, info, err
	}
	info.ForceDryRun = true
	rp, ok := g.real.(RESTConfigProvider)
	if !ok {
		return nil, info, fmt.Errorf("drill guard: context %q is real and not in [drill] allow_contexts, and its provider cannot be guarded; refusing it", info.Name)
	}
	rc, err := rp.RESTConfig(name)
	if err != nil {
		return nil, info, fmt.Errorf("drill guard: context %q: %w", info.Name, err)
	}
	guarded, err := kubernetes.NewForConfig(guardRESTConfig(rc, info.Name))
	if err != nil {
		return nil, info, fmt.Errorf("drill guard: context %q: %w", info.Name, err)
	}
	return guarded, info, nil
}

// RESTConfig hands out a context's REST config, guarded as Client's
// clientset is (apply builds its own clients from it): a real context not in
// allow_contexts gets the transport that refuses mutations without
// dryRun=All.
func (g guardProvider) RESTConfig(name string) (*rest.Config, error) {
	_, info, err := g.real.Client(name)
	if err != nil {
		return nil, err
	}
	rp, ok := g.real.(RESTConfigProvider)
	if !ok {
		return nil, fmt.Errorf("drill guard: context %q has no REST config to guard", info.Name)
	}
	rc, err := rp.RESTConfig(name)
	if err != nil {
		return nil, fmt.Errorf("drill guard: context %q: %w", info.Name, err)
	}
	if !info.Real || g.cfg.DrillAllowsContext(info.Name) {
		return rc, nil
	}
	return guardRESTConfig(rc, info.Name), nil
}

// GuardRESTConfig returns a copy of cfg whose transport refuses every request
// that could change something (any method but GET, HEAD and OPTIONS) unless
// its query carries dryRun=All. The refusal happens locally: the request
// never reaches the API server.
func GuardRESTConfig(cfg *rest.Config) *rest.Config {
	return guardRESTConfig(cfg, cfg.Host)
}

func guardRESTConfig(cfg *rest.Config, name string) *rest.Config {
	c := rest.CopyConfig(cfg)
	prev := c.WrapTransport
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return &guardTransport{next: rt, name: name}
	}
	return c
}

type guardTransport struct {
	next http.RoundTripper
	name string
}

// RoundTrip implements http.RoundTripper.
func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return g.next.RoundTrip(req)
	}
	for _, v := range req.URL.Query()["dryRun"] {
		if v == "All" {
			return g.next.RoundTrip(req)
		}
	}
	if req.Method == http.MethodDelete && req.Body != nil && req.Body != http.NoBody {
		// DELETE carries its DeleteOptions (and dryRun) in the body
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("drill guard: read request body: %w", err)
		}
		if deleteDryRun(body) {
			r2 := req.Clone(req.Context())
			r2.Body = io.NopCloser(bytes.NewReader(body))
			r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			return g.next.RoundTrip(r2)
		}
		return nil, g.refusal(req)
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return nil, g.refusal(req)
}

// deleteDryRun reports whether a DELETE body (JSON or protobuf
// DeleteOptions) asks for dryRun=All. What cannot be decoded is not a dry run.
func deleteDryRun(body []byte) bool {
	var opts metav1.DeleteOptions
	if json.Unmarshal(body, &opts) == nil && slices.Contains(opts.DryRun, metav1.DryRunAll) {
		return true
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, &metav1.DeleteOptions{})
	if err != nil {
		return false
	}
	o, ok := obj.(*metav1.DeleteOptions)
	return ok && slices.Contains(o.DryRun, metav1.DryRunAll)
}

func (g *guardTransport) refusal(req *http.Request) error {
	return fmt.Errorf("refused by the drill guard: %s %s on %s without dryRun=All (drill mode may not change a real cluster; allow the context with [drill] allow_contexts)",
		req.Method, req.URL.Path, g.name)
}

// GuardDatabase wraps a real database for a drill: unless allow, Exec
// without dryRun, Reindex, Restore, CreateDatabase, DropDatabase and Swap
// are refused. A simulated database
// (Real false) passes through.
func GuardDatabase(real steps.Database, allow bool) steps.Database {
	if allow || real == nil || !real.Real() {
		return real
	}
	return guardDB{Database: real}
}

const dbRefusal = "refused: drill mode may not change a real database; allow it with [drill] allow_database = true"

type guardDB struct{ steps.Database }

func (g guardDB) Exec(ctx context.Context, database, sql string, dryRun bool) (int64, error) {
	if !dryRun {
		return 0, fmt.Errorf("exec %s: %s", firstWords(sql), dbRefusal)
	}
	return g.Database.Exec(ctx, database, sql, true)
}

func (g guardDB) Reindex(ctx context.Context, database, index string) error {
	return fmt.Errorf("reindex %s: %s", database, dbRefusal)
}

func (g guardDB) Restore(ctx context.Context, database, file string, progress func(done, total int64), out func(steps.Line)) error {
	return fmt.Errorf("restore %s into %s: %s", file, database, dbRefusal)
}

func (g guardDB) CreateDatabase(ctx context.Context, name, like string) error {
	return fmt.Errorf("create database %s: %s", name, dbRefusal)
}

func (g guardDB) DropDatabase(ctx context.Context, name string) error {
	return fmt.Errorf("drop database %s: %s", name, dbRefusal)
}

func (g guardDB) Swap(ctx context.Context, database, restored, keep string) (int, error) {
	return 0, fmt.Errorf("swap %s and %s: %s", database, restored, dbRefusal)
}

func firstWords(s string) string {
	f := strings.Fields(s)
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}
