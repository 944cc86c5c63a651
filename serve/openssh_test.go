package serve

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/ui"
)

// The tests in this file use the real OpenSSH client, driven in tmux as a
// person would: keys typed with send-keys, the screen read with
// capture-pane. CI installs both (scripts/test.sh); elsewhere they are
// skipped unless CI=true.

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI but not found: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// sshKeyFile writes k's private key in OpenSSH format (0600) for ssh -i.
func sshKeyFile(t *testing.T, dir, name string) (testKey, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey()))) + " " + name + "\n"
	return testKey{signer: s, line: line}, path
}

// sshArgs is an OpenSSH command line to the test server: no config, no
// known-hosts file, a PTY.
func sshArgs(addr net.Addr, keyPath string, extra ...string) []string {
	host, port, _ := net.SplitHostPort(addr.String())
	args := []string{"ssh", "-F", "/dev/null", "-i", keyPath, "-p", port,
		"-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "SendEnv=LANG"}
	args = append(args, extra...)
	return append(args, "oncall@"+host)
}

// tmuxPane is one tmux session on a private server socket.
type tmuxPane struct {
	t      *testing.T
	socket string
	name   string
}

func newPane(t *testing.T, socket, name string, argv []string) *tmuxPane {
	t.Helper()
	p := &tmuxPane{t: t, socket: socket, name: name}
	cmd := append([]string{"-L", socket, "new-session", "-d", "-s", name, "-x", "120", "-y", "40",
		"-e", "LANG=C.UTF-8", "-e", "TERM=xterm-256color"}, argv...)
	if out, err := exec.Command("tmux", cmd...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", socket, "kill-session", "-t", name).Run() })
	return p
}

func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	args := append([]string{"-L", p.socket, "send-keys", "-t", p.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		p.t.Fatalf("send-keys: %v\n%s", err, out)
	}
}

func (p *tmuxPane) screen() string {
	out, _ := exec.Command("tmux", "-L", p.socket, "capture-pane", "-p", "-t", p.name).Output()
	return string(out)
}

// wait polls the screen until it shows every text.
func (p *tmuxPane) wait(what ...string) {
	p.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		s := p.screen()
		all := true
		for _, w := range what {
			all = all && strings.Contains(s, w)
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: screen never showed %q:\n%s", p.name, what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOpenSSHWatcherAndHandover: with the real OpenSSH client in tmux, an
// unknown key is refused; a watcher sees a step's output appear when the
// driver journals it and has its mutating keys refused; and a driver hands
// the seat to a second driver.
func TestOpenSSHWatcherAndHandover(t *testing.T) {
	requireTool(t, "tmux")
	sshBin := requireTool(t, "ssh")
	f := newFixture(t)
	dir := t.TempDir()
	watcher, watcherKey := sshKeyFile(t, dir, "cmdr@laptop")
	ann, annKey := sshKeyFile(t, dir, "ann@laptop")
	bob, bobKey := sshKeyFile(t, dir, "bob@laptop")
	_, strangerKey := sshKeyFile(t, dir, "stranger")
	srv := startServer(t, Options{
		HostKey:     filepath.Join(dir, "host_ed25519"),
		WatcherKeys: []string{writeKeys(t, dir, "watchers", watcher)},
		DriverKeys:  []string{writeKeys(t, dir, "drivers", ann, bob)},
		UI:          f.driverBuild,
		Follow:      func(ctx context.Context, id string) <-chan incident.Event { return ui.FollowIncident(ctx, f.root, id) },
	})

	// An unknown key never gets a session.
	out, err := exec.Command(sshBin, append(sshArgs(srv.Addr(), strangerKey)[1:], "watch", f.id)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Permission denied (publickey)") {
		t.Fatalf("unknown key: %v\n%s", err, out)
	}

	socket := fmt.Sprintf("drnav-serve-%d", os.Getpid())
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", socket, "kill-server").Run() })
	w := newPane(t, socket, "watcher", append(sshArgs(srv.Addr(), watcherKey, "-t"), "watch", f.id))
	first := f.rb.Steps[0].Title
	w.wait(first, "read-only")
	step := f.rb.Steps[0].ID
	for _, ev := range []incident.Event{
		{Type: incident.EventStepStarted, Step: step, Command: "echo hello"},
		{Type: incident.EventOutput, Step: step, Lines: []string{"openssh-marker-output"}},
		{Type: incident.EventStepFinished, Step: step, Exit: 0},
	} {
		if err := f.journal.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	w.wait("openssh-marker-output")
	before := f.journal.Seq()
	w.keys("s")
	w.wait("read-only: skip is disabled")
	if got := f.journal.Seq(); got != before {
		t.Errorf("a watcher's key journaled %d events", got-before)
	}

	// The local driver leaves; ann drives over SSH and hands over to bob.
	if err := f.journal.Close(); err != nil {
		t.Fatal(err)
	}
	a := newPane(t, socket, "ann", sshArgs(srv.Addr(), annKey, "-t"))
	a.wait(f.id)
	a.keys("Enter")
	a.wait(first)
	b := newPane(t, socket, "bob", sshArgs(srv.Addr(), bobKey, "-t"))
	b.wait(f.id)
	a.keys("H")
	a.wait("Hand the driver's seat to", "bob@laptop")
	a.keys("Tab")
	a.keys("Enter")
	b.wait("handed you the driver's seat")
	a.wait("you handed the driver's seat", "read-only")
	if _, driven := incident.Driver(f.root, f.id); !driven {
		t.Error("nobody holds the driver lock after the handover")
	}
	// The watcher saw it happen too: the journal has the handover.
	_, evs, _, err := incident.Read(f.root, f.id)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || ev.Type == incident.EventHandover && strings.HasPrefix(ev.Operator, "bob@laptop")
	}
	if !found {
		t.Error("no handover event naming bob")
	}
}
