package environ

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drnav/drnav/drill"
	"github.com/drnav/drnav/steps"
)

// TestContextChoicesNameTheirServer: the contexts a declare form offers
// carry their API server and their role, from a real kubeconfig (two
// contexts of one name stem told apart by server) and in the simulator.
func TestContextChoicesNameTheirServer(t *testing.T) {
	t.Parallel()
	kc := filepath.Join(t.TempDir(), "config")
	body := `apiVersion: v1
kind: Config
current-context: east-prod
clusters:
- name: east
  cluster: {server: "https://10.1.0.1:6443"}
- name: west
  cluster: {server: "https://10.2.0.1:6443"}
contexts:
- name: east-prod
  context: {cluster: east, user: admin}
- name: east-prod-dr
  context: {cluster: west, user: admin}
- name: scratch
  context: {cluster: east, user: admin}
users:
- name: admin
  user: {token: x}
`
	if err := os.WriteFile(kc, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p := steps.NewKubeProvider(kc, "", "east-prod-dr", "").(steps.KubeDescriber)
	cs, err := ContextChoices(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"east-prod":    "https://10.1.0.1:6443 · primary",
		"east-prod-dr": "https://10.2.0.1:6443 · failover",
		"scratch":      "https://10.1.0.1:6443",
	}
	if len(cs) != len(want) {
		t.Fatalf("choices %+v", cs)
	}
	for _, c := range cs {
		if want[c.Value] != c.Facts {
			t.Errorf("%s: facts %q, want %q", c.Value, c.Facts, want[c.Value])
		}
	}

	sim := drill.New(drill.Options{Dir: t.TempDir()})
	defer sim.Stop()
	d, ok := sim.KubeProvider().(steps.KubeDescriber)
	if !ok {
		t.Fatal("the simulator's contexts cannot be described")
	}
	cs, err = ContextChoices(d)
	if err != nil || len(cs) != 2 {
		t.Fatalf("drill choices %+v, %v", cs, err)
	}
	if !strings.Contains(cs[1].Facts, "10.1.0.1:6443") || !strings.Contains(cs[1].Facts, "failover") || cs[1].Value != drill.FailoverContext {
		t.Errorf("drill failover choice %+v", cs[1])
	}
}
