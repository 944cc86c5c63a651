package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drnav/drnav/incident"
)

// requireOpenSSH skips the test when ssh or ssh-keygen is missing, unless
// CI=true makes it a failure.
func requireOpenSSH(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required under CI but not found: %v", tool, err)
			}
			t.Skipf("%s not found: %v", tool, err)
		}
	}
}

// driverKeys makes an ed25519 key per name with ssh-keygen (the comment is
// the name) and an authorized_keys file listing them; it returns the file
// and the private keys by name.
func driverKeys(t *testing.T, dir string, names ...string) (string, map[string]string) {
	t.Helper()
	var lines []string
	keys := map[string]string{}
	for i, name := range names {
		path := filepath.Join(dir, fmt.Sprintf("key%d", i))
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		pub, err := os.ReadFile(path + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimSpace(string(pub)))
		keys[name] = path
	}
	file := filepath.Join(dir, "drivers")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, keys
}

// sshWindow opens window name running the OpenSSH client to the drnav
// server at addr with key (a terminal, no config, no known-hosts file). The
// window closes when ssh exits.
func (tm *term) sshWindow(name, addr, key string) {
	tm.t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		tm.t.Fatal(err)
	}
	tm.tmux("new-window", "-d", "-t", "e2e", "-n", name, "-e", "LANG=C.UTF-8",
		"ssh", "-F", "/dev/null", "-i", key, "-p", port, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "SendEnv=LANG",
		"-t", "oncall@"+host)
}

// eventually polls cond until it holds, failing with what after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(pollInterval)
	}
}

// serveRunbook writes a runbook whose first shell step waits until the file
// gate exists, then appends a line to marker; then a manual step.
func serveRunbook(t *testing.T, dir, gate, marker string) string {
	t.Helper()
	rbDir := filepath.Join(dir, "runbooks")
	if err := os.MkdirAll(rbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	toml := `id      = "serve-drop"
title   = "Serve drop"
impact  = "None: an end-to-end test fixture"
summary = "A shell step that outlives its driver's connection, then a manual step."
kind    = "procedure"

[[steps]]
id      = "slow"
title   = "Write the marker slowly"
why     = "A step that runs on while its driver's connection drops."
expect  = "The marker file holds one line."
run     = "echo step-begun; while [ ! -e ` + shq(gate) + ` ]; do sleep 0.1; done; echo written >> ` + shq(marker) + `; echo step-done-marker"
timeout = "2m"
hints   = ["Wait for it."]

[[steps]]
id     = "tell"
title  = "Tell the team"
why    = "A manual step."
expect = "The team knows."
manual = "Post in the incident channel."
hints  = ["Be brief."]
`
	if err := os.WriteFile(filepath.Join(rbDir, "serve-drop.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return rbDir
}

// TestServeDriverDropsMidStep: ann drives an incident over drnav serve with
// the real OpenSSH client, starts a shell step that waits for a gate file,
// and her ssh client dies with its terminal mid-step; then the gate opens. The server keeps her seat
// (the driver lock) and follows the step, which runs under its supervisor:
// it finishes, its step_finished (exit 0) is journaled by the seat's holder
// (no resume in between), the lock is free after the grace period, and bob,
// connecting then, sees the step done and not run again. A dropped
// connection is no error in the server's log or on its terminal.
func TestServeDriverDropsMidStep(t *testing.T) {
	t.Parallel()
	requireOpenSSH(t)
	tm := newTerm(t, 120, 40)
	drivers, keys := driverKeys(t, tm.dir, "ann@laptop", "bob@laptop")
	gate, marker := filepath.Join(tm.dir, "gate"), filepath.Join(tm.dir, "marker")
	const grace = 20 * time.Second
	tm.start("srv", "serve", "--listen", "127.0.0.1:0", "--driver-keys", drivers, "--grace", grace.String(),
		"--runbooks", serveRunbook(t, tm.dir, gate, marker), "--host-key", filepath.Join(tm.dir, "host_ed25519"))
	addr := tm.waitRegexp("srv", regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`))[1]

	// ann declares the incident in live mode and runs the slow step.
	tm.sshWindow("ann", addr, keys["ann@laptop"])
	tm.waitFor("ann", "pick the disaster", "Serve drop")
	tm.keys("ann", "Enter")
	tm.waitFor("ann", "Choose the mode explicitly", "LIVE")
	tm.keys("ann", "l")
	tm.waitFor("ann", "Declare: Serve drop", "Detection time")
	tm.keys("ann", "Enter")
	tm.waitFor("ann", "1 Write the marker slowly", "enter run step")
	tm.keys("ann", "Enter")
	tm.waitFor("ann", "step-begun")

	root := filepath.Join(tm.state, "drnav", "incidents")
	list, err := incident.List(root)
	if err != nil || len(list) != 1 {
		t.Fatalf("incidents: %v %+v", err, list)
	}
	id := list[0].ID
	events := func() []incident.Event {
		t.Helper()
		_, evs, _, err := incident.Read(root, id)
		if err != nil {
			t.Fatalf("read journal: %v", err)
		}
		return evs
	}
	driven := func() bool { _, d := incident.Driver(root, id); return d }
	if !driven() {
		t.Fatal("ann's session holds no driver lock")
	}

	// Her terminal goes, and her ssh client with it, mid-step.
	tm.tmux("kill-window", "-t", "e2e:ann")
	eventually(t, waitTimeout, "the server to record ann's disconnection", func() bool {
		conns, err := incident.ReadConnections(root, id)
		if err != nil {
			t.Fatalf("participants: %v", err)
		}
		for _, c := range conns {
			if c.Name == "ann@laptop" && c.Event == "disconnected" {
				return true
			}
		}
		return false
	})
	if !driven() {
		t.Fatal("the driver lock was released when ann's connection dropped (the seat is kept for the grace period)")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the step ended before the drop")
	}

	// The step goes on, finishes, and its finish is journaled by the seat's
	// holder.
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitTimeout, "the step to write the marker", func() bool {
		b, _ := os.ReadFile(marker)
		return len(b) > 0
	})
	var finished *incident.Event
	eventually(t, waitTimeout, "step_finished in the journal", func() bool {
		for _, ev := range events() {
			if ev.Type == incident.EventStepFinished && ev.Step == "slow" {
				finished = &ev
				return true
			}
		}
		return false
	})
	if finished.Exit != 0 || finished.Err != "" {
		t.Errorf("step_finished %+v, want exit 0", finished)
	}
	var started *incident.Event
	for _, ev := range events() {
		switch {
		case ev.Type == incident.EventStepStarted && ev.Step == "slow":
			started = &ev
		case ev.Type == incident.EventResumed && ev.Seq < finished.Seq:
			t.Errorf("the incident was resumed before the step's finish was journaled: %+v", ev)
		}
	}
	if started == nil || started.RunDir == "" {
		t.Errorf("the step did not run under the supervisor (no run folder): %+v", started)
	}

	// Free after the grace period; bob takes the seat and sees the outcome.
	eventually(t, grace+waitTimeout, "the lock to be released after the grace period", func() bool { return !driven() })
	tm.sshWindow("bob", addr, keys["bob@laptop"])
	tm.waitFor("bob", "Open incidents", id)
	tm.keys("bob", "Enter")
	tm.waitStep("bob", 1, "✓")
	if !driven() {
		t.Error("bob holds no driver lock")
	}
	if b, _ := os.ReadFile(marker); string(b) != "written\n" {
		t.Errorf("marker %q: the step ran other than once", b)
	}
	n := 0
	for _, ev := range events() {
		if ev.Type == incident.EventStepFinished && ev.Step == "slow" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d step_finished events for the step, want 1", n)
	}

	// A dropped connection is no error: nothing on the server's terminal
	// (wish's own logger writes there), no error in its log file.
	if s := tm.screen("srv"); strings.Contains(strings.ToLower(s), "error") {
		t.Errorf("the server's terminal shows an error:\n%s", s)
	}
	logText, err := os.ReadFile(filepath.Join(tm.state, "drnav", "drnav.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(logText), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) {
			t.Errorf("server log: %s", l)
		}
	}
	if !strings.Contains(string(logText), "step finished while its driver was away") {
		t.Errorf("the server log does not say it followed the step to its end:\n%s", logText)
	}
}
