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
	"github.com/drnav/drnav/internal/tmuxtest"
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
// server at addr with key (a terminal, no config, no known-hosts file).
func (tm *term) sshWindow(name, addr, key string) {
	tm.t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		tm.t.Fatal(err)
	}
	tm.Start(name, tmuxtest.Env(),
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
run     = "echo begun-$((40+2)); while [ ! -e ` + shq(gate) + ` ]; do sleep 0.1; done; echo written >> ` + shq(marker) + `; echo step-done-marker"
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

// serveDrop is drnav serve in tmux with two driver keys (ann, bob) and the
// serve-drop runbook; ann has declared an incident in live mode, started
// its gated shell step, and her ssh client has died with its terminal.
type serveDrop struct {
	tm           *term
	addr         string
	keys         map[string]string
	gate, marker string
	root, id     string
}

func (d *serveDrop) events() []incident.Event {
	d.tm.t.Helper()
	_, evs, _, err := incident.Read(d.root, d.id)
	if err != nil {
		d.tm.t.Fatalf("read journal: %v", err)
	}
	return evs
}

func (d *serveDrop) driven() bool { _, ok := incident.Driver(d.root, d.id); return ok }

// finishes counts the step_finished events of the gated step.
func (d *serveDrop) finishes() []incident.Event {
	var out []incident.Event
	for _, ev := range d.events() {
		if ev.Type == incident.EventStepFinished && ev.Step == "slow" {
			out = append(out, ev)
		}
	}
	return out
}

// openGate lets the step end and waits for its marker.
func (d *serveDrop) openGate() {
	d.tm.t.Helper()
	if err := os.WriteFile(d.gate, nil, 0o600); err != nil {
		d.tm.t.Fatal(err)
	}
	eventually(d.tm.t, waitTimeout, "the step to write the marker", func() bool {
		b, _ := os.ReadFile(d.marker)
		return len(b) > 0
	})
}

// bobSeesTheStepDone connects bob once the lock is free; he resumes the
// incident and sees the step done, run once.
func (d *serveDrop) bobSeesTheStepDone() {
	t := d.tm.t
	t.Helper()
	d.tm.sshWindow("bob", d.addr, d.keys["bob@laptop"])
	d.tm.WaitFor("bob", "Open incidents", d.id)
	d.tm.Keys("bob", "Enter")
	d.tm.WaitStep("bob", 1, "✓")
	if !d.driven() {
		t.Error("bob holds no driver lock")
	}
	if b, _ := os.ReadFile(d.marker); string(b) != "written\n" {
		t.Errorf("marker %q: the step ran other than once", b)
	}
	if fs := d.finishes(); len(fs) != 1 || fs[0].Exit != 0 || fs[0].Err != "" {
		t.Errorf("step_finished events %+v, want one with exit 0", fs)
	}
}

// serverLog is the server's log file.
func (d *serveDrop) serverLog() string {
	d.tm.t.Helper()
	b, err := os.ReadFile(filepath.Join(d.tm.state, "drnav", "drnav.log"))
	if err != nil {
		d.tm.t.Fatal(err)
	}
	return string(b)
}

// startServeDrop runs drnav serve with grace, lets ann run the gated step
// over the real OpenSSH client, kills her client mid-step and waits until
// the server recorded her disconnection.
func startServeDrop(t *testing.T, grace time.Duration) *serveDrop {
	t.Helper()
	requireOpenSSH(t)
	tm := newTerm(t, 120, 40)
	drivers, keys := driverKeys(t, tm.dir, "ann@laptop", "bob@laptop")
	d := &serveDrop{tm: tm, keys: keys, gate: filepath.Join(tm.dir, "gate"), marker: filepath.Join(tm.dir, "marker"),
		root: filepath.Join(tm.state, "drnav", "incidents")}
	tm.start("srv", "serve", "--listen", "127.0.0.1:0", "--driver-keys", drivers, "--grace", grace.String(),
		"--runbooks", serveRunbook(t, tm.dir, d.gate, d.marker), "--host-key", filepath.Join(tm.dir, "host_ed25519"))
	d.addr = tm.WaitRegexp("srv", regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`))[1]

	// ann declares the incident in live mode and runs the gated step.
	tm.sshWindow("ann", d.addr, keys["ann@laptop"])
	tm.WaitFor("ann", "pick the disaster", "Serve drop")
	tm.Keys("ann", "Enter")
	tm.WaitFor("ann", "Choose the mode explicitly", "LIVE")
	tm.Keys("ann", "l")
	tm.WaitFor("ann", "Declare: Serve drop", "Detection time")
	tm.Keys("ann", "Enter")
	tm.WaitFor("ann", "1 Write the marker slowly", "enter run step")
	tm.Keys("ann", "Enter")
	tm.WaitFor("ann", "begun-42")
	list, err := incident.List(d.root)
	if err != nil || len(list) != 1 {
		t.Fatalf("incidents: %v %+v", err, list)
	}
	d.id = list[0].ID
	if !d.driven() {
		t.Fatal("ann's session holds no driver lock")
	}
	for _, ev := range d.events() {
		if ev.Type == incident.EventStepStarted && ev.Step == "slow" && ev.RunDir == "" {
			t.Errorf("the step does not run under the supervisor (no run folder): %+v", ev)
		}
	}

	// Her terminal goes, and her ssh client with it, mid-step.
	tm.KillWindow("ann")
	eventually(t, waitTimeout, "the server to record ann's disconnection", func() bool {
		conns, err := incident.ReadConnections(d.root, d.id)
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
	return d
}

// TestServeDriverDropsMidStep: ann's connection drops while her step runs
// (it waits for a gate file); then the gate opens. The server has kept her
// seat (the driver lock) and followed the step, which runs under its
// supervisor: it finishes, its step_finished (exit 0) is journaled by the
// seat's holder (no resume in between), the lock is free after the grace
// period, and bob, connecting then, sees the step done and not run again. A
// dropped connection is no error in the server's log or on its terminal.
func TestServeDriverDropsMidStep(t *testing.T) {
	t.Parallel()
	const grace = 20 * time.Second
	d := startServeDrop(t, grace)
	if !d.driven() {
		t.Fatal("the driver lock was released when ann's connection dropped (the seat is kept for the grace period)")
	}
	if _, err := os.Stat(d.marker); err == nil {
		t.Fatal("the step ended before the drop")
	}

	d.openGate()
	var finished incident.Event
	eventually(t, waitTimeout, "step_finished in the journal", func() bool {
		fs := d.finishes()
		if len(fs) > 0 {
			finished = fs[0]
		}
		return len(fs) > 0
	})
	for _, ev := range d.events() {
		if ev.Type == incident.EventResumed && ev.Seq < finished.Seq {
			t.Errorf("the incident was resumed before the step's finish was journaled: %+v", ev)
		}
	}

	eventually(t, grace+waitTimeout, "the lock to be released after the grace period", func() bool { return !d.driven() })
	d.bobSeesTheStepDone()

	// A dropped connection is no error: nothing on the server's terminal
	// (wish's own logger writes there), no error in its log file.
	if s := d.tm.Screen("srv"); strings.Contains(strings.ToLower(s), "error") {
		t.Errorf("the server's terminal shows an error:\n%s", s)
	}
	log := d.serverLog()
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, `"level":"ERROR"`) {
			t.Errorf("server log: %s", l)
		}
	}
	if !strings.Contains(log, "step finished while its driver was away") {
		t.Errorf("the server log does not say it followed the step to its end:\n%s", log)
	}
}

// TestServeGraceEndsMidStep: ann's connection drops while her step runs,
// and the grace period ends before the step does. The lock is freed, the
// step runs on under its supervisor, and its outcome is read from its run
// folder when bob resumes the incident: step_finished with exit 0, noted as
// finished while nobody drove.
func TestServeGraceEndsMidStep(t *testing.T) {
	t.Parallel()
	d := startServeDrop(t, 2*time.Second)
	eventually(t, waitTimeout, "the lock to be released after the grace period", func() bool { return !d.driven() })
	if _, err := os.Stat(d.marker); err == nil {
		t.Fatal("the step ended before the grace period did")
	}
	if !strings.Contains(d.serverLog(), "step left to its supervisor") {
		t.Errorf("the server log does not say it left the step to its supervisor:\n%s", d.serverLog())
	}
	d.openGate()
	if fs := d.finishes(); len(fs) != 0 {
		t.Fatalf("step_finished journaled with nobody holding the seat: %+v", fs)
	}
	d.bobSeesTheStepDone()
	note := false
	for _, ev := range d.events() {
		note = note || ev.Type == incident.EventNote && strings.HasPrefix(ev.Text, "finished while you were away: exit 0")
	}
	if !note {
		t.Error("no note that the step finished while nobody drove")
	}
}

// TestServeDriverReturnsMidStep: ann's connection drops while her step runs
// and she connects again before it ends. The seat stays with the server
// until the step ends (its finish journaled), then comes back to her new
// session: the lock is held throughout and the incident is never resumed.
func TestServeDriverReturnsMidStep(t *testing.T) {
	t.Parallel()
	d := startServeDrop(t, 10*time.Minute)
	d.tm.sshWindow("ann2", d.addr, d.keys["ann@laptop"])
	d.tm.WaitFor("ann2", "Open incidents", d.id)
	if !d.driven() {
		t.Fatal("the lock was released while ann's step ran")
	}
	d.openGate()
	d.tm.WaitFor("ann2", "handed you the driver's seat")
	d.tm.WaitStep("ann2", 1, "✓")
	if !d.driven() {
		t.Fatal("nobody holds the lock after ann got her seat back")
	}
	if fs := d.finishes(); len(fs) != 1 || fs[0].Exit != 0 {
		t.Errorf("step_finished events %+v, want one with exit 0", fs)
	}
	for _, ev := range d.events() {
		if ev.Type == incident.EventResumed {
			t.Errorf("the incident was resumed (the lock was released and taken again): %+v", ev)
		}
	}
	d.tm.Keys("ann2", "q")
	eventually(t, waitTimeout, "the lock to be released when ann quits", func() bool { return !d.driven() })
}
