package kubetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/incident/mirror"
	"github.com/drnav/drnav/internal/proctest"
)

var drnavBin struct {
	once sync.Once
	path string
	err  error
}

// buildDrnav builds the drnav binary once per test binary (with the race
// detector when this binary has it, so the compiled packages are reused).
func buildDrnav(t *testing.T) string {
	t.Helper()
	drnavBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "drnav-kubetest-bin-")
		if err != nil {
			drnavBin.err = err
			return
		}
		drnavBin.path = filepath.Join(dir, "drnav")
		args := []string{"build", "-o", drnavBin.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/drnav/drnav")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			drnavBin.err = fmt.Errorf("go build drnav: %v\n%s", err, out)
		}
	})
	if drnavBin.err != nil {
		t.Fatal(drnavBin.err)
	}
	return drnavBin.path
}

// TestMirrorDrnavRunTakeover is the walk-through with the real binary:
// `drnav run` on bastion A is killed with SIGKILL mid-step; `drnav run
// --resume ID --from-cluster` on bastion B, with an empty state folder,
// waits for A's Lease to expire, pulls the journal from the cluster and
// carries on: every event that had reached the cluster is there, and the
// step A was running is interrupted, on bastion-a.
func TestMirrorDrnavRunTakeover(t *testing.T) {
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	bin := buildDrnav(t)
	dir := t.TempDir()
	rbDir := filepath.Join(dir, "rb")
	if err := os.MkdirAll(rbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rb := `id = "dc"
title = "Data center failure"
impact = "region lost"
[[steps]]
id = "note"
title = "Quick"
run = "echo quick"
[[steps]]
id = "promote"
title = "Promote the replica"
run = "echo begun; sleep 20"
`
	if err := os.WriteFile(filepath.Join(rbDir, "dc.toml"), []byte(rb), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "config.toml")
	body := fmt.Sprintf("[mirror]\ncontexts = [%q]\nnamespace = %q\nlease_duration = \"6s\"\nrenew_deadline = \"4s\"\nretry_period = \"1s\"\n", AdminContext, ns)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	bastion := func(name string, args ...string) (*exec.Cmd, *proctest.Buffer, *proctest.Buffer, string) {
		home := filepath.Join(dir, name)
		cmd := exec.Command(bin, append(args, "--runbooks", rbDir, "--config", conf, "--context", AdminContext)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig(), "XDG_STATE_HOME="+filepath.Join(home, "state"),
			"XDG_CONFIG_HOME="+filepath.Join(home, "config"), incident.EnvHost+"="+name)
		var out, errb proctest.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		return cmd, &out, &errb, filepath.Join(home, "state", "drnav", "incidents")
	}

	a, outA, errA, rootA := bastion("bastion-a", "run", "dc")
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = a.Process.Kill()
			_ = a.Wait()
		}
	}()
	poll(t, 90*time.Second, "A running the promote step", func() error {
		if !strings.Contains(outA.String(), "begun") {
			return fmt.Errorf("stdout %q stderr %q", outA.String(), errA.String())
		}
		return nil
	})
	ents, err := os.ReadDir(rootA)
	if err != nil || len(ents) != 1 {
		t.Fatalf("A's incidents: %v %v", ents, err)
	}
	id := ents[0].Name()
	tg := mirror.Target{Name: AdminContext, Client: cp.Client(), Namespace: ns}
	var atKill mirror.Copy
	poll(t, 60*time.Second, "A's step_started in the cluster", func() error {
		atKill = mirror.ReadCopy(context.Background(), tg, "", id)
		if !bytes.Contains(atKill.Data, []byte(`"type":"step_started","step":"promote"`)) {
			return fmt.Errorf("%d events in the cluster (%s %v)", atKill.Events, atKill.Problem, atKill.Err)
		}
		return nil
	})
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()
	killed = true
	atKill = mirror.ReadCopy(context.Background(), tg, "", id) // what A got into the cluster, all told

	b, outB, errB, rootB := bastion("bastion-b", "run", "dc", "--resume", id, "--from-cluster")
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Wait() }()
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		_ = b.Process.Kill()
		<-done
		t.Fatalf("B did not finish within 120 s:\n%s\n%s", outB, errB)
	}
	t.Logf("B exit %d\nstdout:\n%s\nstderr:\n%s", b.ProcessState.ExitCode(), outB, errB)
	if !strings.Contains(errB.String(), "took over "+id) {
		t.Errorf("B did not say it took over %s", id)
	}
	if !strings.Contains(outB.String(), "promote was interrupted on bastion-a") {
		t.Errorf("B does not say the step was interrupted on bastion-a")
	}
	local, err := os.ReadFile(filepath.Join(rootB, id, incident.JournalName))
	if err != nil {
		t.Fatalf("B's journal: %v", err)
	}
	if !bytes.HasPrefix(local, atKill.Data) {
		t.Errorf("B's journal does not start with the %d events A had in the cluster", atKill.Events)
	}
	st, _, _, err := incident.Read(rootB, id)
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Step("promote"); s.Status != incident.StepInterrupted || s.RanElsewhere(st.DriverHost) != "bastion-a" {
		t.Errorf("promote on B: %s, host %q (driver %q); want interrupted on bastion-a", s.Status, s.Host, st.DriverHost)
	}
	if st.DriverHost != "bastion-b" {
		t.Errorf("the last driver is %q, want bastion-b", st.DriverHost)
	}
	// From anywhere: an observer with an empty state folder lists and
	// reports the incident from the cluster.
	observe := func(args ...string) string {
		home := filepath.Join(dir, "observer")
		cmd := exec.Command(bin, append(args, "--config", conf)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig(), "XDG_STATE_HOME="+filepath.Join(home, "state"),
			"XDG_CONFIG_HOME="+filepath.Join(home, "config"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("drnav %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := observe("incidents", "--context", AdminContext); !strings.Contains(out, id) || !strings.Contains(out, "dc") {
		t.Errorf("incidents --context:\n%s", out)
	}
	if out := observe("report", id, "--context", AdminContext); !strings.Contains(out, "the driver on bastion-a went away") {
		t.Errorf("report --context does not name bastion-a:\n%s", out)
	}
	// B's resume reached the cluster before B let go.
	if c := mirror.ReadCopy(context.Background(), tg, "", id); !bytes.Equal(c.Data, local) {
		t.Errorf("the cluster holds %d events, B's journal %d", c.Events, st.LastSeq)
	}
}
