package steps

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/drnav/drnav/runbooks"
)

// deadKubeconfig writes a kubeconfig whose contexts "primary" and
// "failover" (namespaces prod and dr) point at a loopback port nobody
// listens on, and returns its path and the server address.
func deadKubeconfig(t *testing.T) (string, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["dead"] = &clientcmdapi.Cluster{Server: "https://" + addr, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "not-a-real-token"}
	cfg.Contexts["primary"] = &clientcmdapi.Context{Cluster: "dead", AuthInfo: "u", Namespace: "prod"}
	cfg.Contexts["failover"] = &clientcmdapi.Context{Cluster: "dead", AuthInfo: "u", Namespace: "dr"}
	cfg.CurrentContext = "failover" // not the step's: drnav must select primary itself
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path, addr
}

func TestShellStepRunsInTheIncidentContext(t *testing.T) {
	t.Parallel()
	kubeconfig, _ := deadKubeconfig(t)
	prov := NewKubeProvider(kubeconfig, "primary", "failover", "")
	tg := Target{Kube: prov, Env: []string{"KUBECONFIG=/nonexistent"}}
	st := shellStep(`echo ctx {{context}} primary {{primary_context}} failover {{failover_context}}; ` +
		`kubectl config current-context; kubectl config view --minify -o jsonpath='{..namespace}'; echo; ` +
		`stat -c '%a' "$KUBECONFIG"; echo "$KUBECONFIG"`)
	evs := collect(t, Start(context.Background(), st, tg))
	fin := finished(t, evs)
	if fin.ExitCode != 0 {
		t.Fatalf("%+v\n%s", fin, joinLines(evs))
	}
	out := strings.Split(strings.TrimSpace(joinLines(evs)), "\n")
	want := []string{"drnav: kube context primary, namespace prod (KUBECONFIG set for this step)", "ctx primary primary primary failover failover", "primary", "prod", "600"}
	if len(out) != 6 || strings.Join(out[:5], "|") != strings.Join(want, "|") {
		t.Fatalf("output:\n%s\nwant first lines:\n%s", strings.Join(out, "\n"), strings.Join(want, "\n"))
	}
	// the started event shows the command as run, context names included
	if !strings.Contains(evs[0].Command, `ctx primary primary primary failover failover`) {
		t.Errorf("started command %q", evs[0].Command)
	}
	// the generated kubeconfig is gone once the step ended
	if _, err := os.Stat(out[5]); !os.IsNotExist(err) {
		t.Errorf("generated kubeconfig %s still there: %v", out[5], err)
	}
	// a declared variable wins over the built-in one
	tg.Vars = map[string]string{"failover_context": "dr-east"}
	evs = collect(t, Start(context.Background(), shellStep("echo {{failover_context}}"), tg))
	if got := lines(evs)[1].Text; got != "dr-east" {
		t.Errorf("declared failover_context: %q", got)
	}
}

// An interactive step (handed the terminal) runs in the same context as
// every other shell step: the generated kubeconfig, removed by cleanup.
func TestInteractiveStepRunsInTheIncidentContext(t *testing.T) {
	t.Parallel()
	kubeconfig, _ := deadKubeconfig(t)
	prov := NewKubeProvider(kubeconfig, "primary", "failover", "")
	tg := Target{Kube: prov, Env: []string{"KUBECONFIG=/nonexistent"}}
	st := shellStep(`kubectl config current-context; kubectl config view --minify -o jsonpath='{..namespace}'; echo; ` +
		`stat -c '%a' "$KUBECONFIG"; echo "$KUBECONFIG"`)
	st.Interactive = true
	cmd, cleanup, err := InteractiveCommand(st, tg)
	if err != nil {
		t.Fatal(err)
	}
	outb, err := cmd.Output()
	if err != nil {
		cleanup()
		t.Fatalf("%v: %s", err, outb)
	}
	out := strings.Split(strings.TrimSpace(string(outb)), "\n")
	if len(out) != 4 || strings.Join(out[:3], "|") != "primary|prod|600" {
		cleanup()
		t.Fatalf("output:\n%s\nwant primary, prod, 600 and the kubeconfig's path", outb)
	}
	if _, err := os.Stat(out[3]); err != nil {
		t.Errorf("generated kubeconfig before cleanup: %v", err)
	}
	cleanup()
	if _, err := os.Stat(out[3]); !os.IsNotExist(err) {
		t.Errorf("generated kubeconfig %s still there after cleanup: %v", out[3], err)
	}
}

func TestShellStepGetsLibpqEnvironment(t *testing.T) {
	t.Parallel()
	db, err := NewDatabase("postgres://app_user:s3cr3t-pw@db.example:6543/appdb?sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	st := shellStep(`echo "$PGHOST $PGPORT $PGDATABASE $PGUSER $PGSSLMODE $PGCONNECT_TIMEOUT"; echo "pw=$PGPASSWORD"`)
	evs := collect(t, Start(context.Background(), st, Target{DB: db}))
	got := joinLines(evs)
	if !strings.Contains(got, "db.example 6543 appdb app_user require 10\n") || strings.Contains(got, "s3cr3t-pw") {
		t.Errorf("output:\n%s", got)
	}
	if strings.Contains(evs[0].Command, "s3cr3t") {
		t.Error("password in the command")
	}
}

// TestShippedShellStepsFailWithoutCluster runs every non-interactive shell
// step of the shipped runbooks whose command calls kubectl against a
// cluster that does not answer: each must fail, and must have reached the
// dead server through drnav's kubeconfig.
func TestShippedShellStepsFailWithoutCluster(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		if os.Getenv("DRNAV_REQUIRE_PG") == "1" {
			t.Fatal("kubectl not on PATH")
		}
		t.Skip("kubectl not on PATH")
	}
	t.Parallel()
	kubeconfig, addr := deadKubeconfig(t)
	prov := NewKubeProvider(kubeconfig, "primary", "failover", "")
	rbs, err := runbooks.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: drnav-test\n")
	ran := 0
	for _, rb := range rbs {
		vars := map[string]string{}
		for _, v := range rb.Variables {
			val := v.Default
			switch {
			case v.Name == "failover_context" || v.Name == "primary_context":
				val = strings.TrimSuffix(v.Name, "_context")
			case val == "" && (strings.Contains(v.Name, "manifest") || strings.Contains(v.Name, "dir") || strings.Contains(v.Name, "backup")):
				val = dir // a path that exists: kubectl gets as far as the server
			case val == "":
				val = "x"
			}
			vars[v.Name] = val
		}
		for _, st := range rb.Steps {
			if st.Kind() != runbooks.ActionShell || st.Interactive || !strings.Contains(st.Run, "kubectl") {
				continue
			}
			st.Timeout = runbooks.Duration{Duration: time.Minute}
			ran++
			evs := collect(t, Start(context.Background(), st, Target{Kube: prov, Vars: vars, Dir: dir, Env: []string{"KUBECONFIG=/nonexistent"}}))
			fin := finished(t, evs)
			out := joinLines(evs)
			if fin.ExitCode == 0 {
				t.Errorf("%s/%s succeeded with no cluster:\n$ %s\n%s", rb.ID, st.ID, evs[0].Command, out)
				continue
			}
			if !strings.Contains(out, addr) {
				t.Errorf("%s/%s failed without reaching the dead server %s (wrong kubeconfig?):\n%s", rb.ID, st.ID, addr, out)
			}
		}
	}
	if ran < 5 {
		t.Errorf("only %d shipped kubectl steps ran", ran)
	}
}
