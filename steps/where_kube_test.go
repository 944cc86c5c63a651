package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drnav/drnav/internal/where"
)

// labKubeconfig has three contexts; lab is current.
const labKubeconfig = `apiVersion: v1
kind: Config
current-context: lab
clusters:
- name: lab-cluster
  cluster: {server: "https://10.1.0.1:6443"}
- name: dr-cluster
  cluster: {server: "https://10.2.0.1:6443"}
contexts:
- name: lab
  context: {cluster: lab-cluster, user: lab-admin, namespace: perf}
- name: dr-west
  context: {cluster: dr-cluster, user: dr-admin}
- name: lab-again
  context: {cluster: lab-cluster, user: other-admin, namespace: perf}
users:
- name: lab-admin
  user: {token: lab-token-secret}
- name: dr-admin
  user: {token: dr-token-secret}
- name: other-admin
  user: {token: other-token-secret}
`

func writeTestFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func whereOf(t *testing.T, p KubeProvider, name string) where.Kube {
	t.Helper()
	d, ok := p.(KubeDescriber)
	if !ok {
		t.Fatalf("%T is not a KubeDescriber", p)
	}
	k, err := d.Where(name)
	if err != nil {
		t.Fatalf("Where(%q): %v", name, err)
	}
	return k
}

func TestWhereNamesTheCurrentContext(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	path := writeTestFile(t, t.TempDir(), "config", labKubeconfig)
	p := NewKubeProvider(path, "", "dr-west", "")
	got := whereOf(t, p, "primary")
	want := where.Kube{Context: "lab", Cluster: "lab-cluster", Server: "https://10.1.0.1:6443", Namespace: "perf", User: "lab-admin"}
	if got != want {
		t.Errorf("primary = %+v, want %+v", got, want)
	}
	if s := got.Short(); s != "lab · https://10.1.0.1:6443 · ns perf" {
		t.Errorf("Short() = %q", s)
	}
	fo := whereOf(t, p, "failover")
	if fo.Context != "dr-west" || fo.Server != "https://10.2.0.1:6443" || fo.Namespace != "default" || fo.User != "dr-admin" {
		t.Errorf("failover = %+v", fo)
	}
	if where.SameServer(got, fo) {
		t.Error("lab and dr-west reported as the same server")
	}
	if !where.SameServer(got, whereOf(t, p, "lab-again")) {
		t.Error("lab and lab-again share a server; SameServer said no")
	}
	names, err := p.(KubeDescriber).Contexts()
	if err != nil || strings.Join(names, ",") != "dr-west,lab,lab-again" {
		t.Errorf("Contexts() = %v, %v", names, err)
	}
}

func TestWhereHonoursExplicitContextAndNamespace(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	path := writeTestFile(t, t.TempDir(), "config", labKubeconfig)
	got := whereOf(t, NewKubeProvider(path, "dr-west", "", "payments"), "primary")
	if got.Context != "dr-west" || got.Server != "https://10.2.0.1:6443" || got.Namespace != "payments" {
		t.Errorf("--context dr-west -n payments: %+v", got)
	}
	if _, err := NewKubeProvider(path, "nope", "", "").(KubeDescriber).Where("primary"); err == nil ||
		!strings.Contains(err.Error(), `"nope" not found`) {
		t.Errorf("unknown context: err = %v", err)
	}
}

func TestWhereMergesKUBECONFIGFiles(t *testing.T) {
	dir := t.TempDir()
	// The first file names the current context; the second defines it.
	a := writeTestFile(t, dir, "a", `apiVersion: v1
kind: Config
current-context: staging
clusters:
- name: staging-cluster
  cluster: {server: "https://staging.example:443"}
users:
- name: stager
  user: {token: t0k}
`)
	b := writeTestFile(t, dir, "b", `apiVersion: v1
kind: Config
current-context: ignored-because-a-sets-it
contexts:
- name: staging
  context: {cluster: staging-cluster, user: stager, namespace: shop}
- name: other
  context: {cluster: staging-cluster, user: stager}
`)
	t.Setenv("KUBECONFIG", a+string(os.PathListSeparator)+b)
	got := whereOf(t, NewKubeProvider("", "", "", ""), "primary")
	want := where.Kube{Context: "staging", Cluster: "staging-cluster", Server: "https://staging.example:443", Namespace: "shop", User: "stager"}
	if got != want {
		t.Errorf("merged KUBECONFIG: %+v, want %+v", got, want)
	}
}

func TestWhereWithoutCurrentContextSaysSo(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	path := writeTestFile(t, t.TempDir(), "config", strings.Replace(labKubeconfig, "current-context: lab\n", "", 1))
	_, err := NewKubeProvider(path, "", "", "").(KubeDescriber).Where("primary")
	if err == nil || !strings.Contains(err.Error(), "no current context") {
		t.Errorf("err = %v, want one naming the missing current context", err)
	}
	// Choosing a context resolves it.
	if got := whereOf(t, NewKubeProvider(path, "lab", "", ""), "primary"); got.Server != "https://10.1.0.1:6443" {
		t.Errorf("chosen lab: %+v", got)
	}
}
