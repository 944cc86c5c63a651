package serve

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"

	"github.com/drnav/drnav/config"
	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/supervisor"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
	"github.com/drnav/drnav/ui"
)

// waitFor is generous: the CI machine has two loaded cores.
const waitFor = 90 * time.Second

// testKey is a client key and its authorized_keys line.
type testKey struct {
	signer gossh.Signer
	line   string
}

func newKey(t testing.TB, comment string) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey()))) + " " + comment + "\n"
	return testKey{signer: s, line: line}
}

func writeKeys(t testing.TB, dir, name string, keys ...testKey) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# test keys\n")
	for _, k := range keys {
		b.WriteString(k.line)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fixture is an open incident (its driver holds the lock) and what the
// server's UI builder needs to watch it, built like drnav serve does.
type fixture struct {
	root    string
	id      string
	rb      *runbooks.Runbook
	journal *incident.Journal
	rbs     []*runbooks.Runbook
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	rbs, err := runbooks.Load("")
	if err != nil {
		t.Fatal(err)
	}
	var rb *runbooks.Runbook
	for _, r := range rbs {
		if r.Kind != runbooks.KindCadence && len(r.Steps) > 0 {
			rb = r
			break
		}
	}
	if rb == nil {
		t.Fatal("no procedure runbook shipped")
	}
	root := t.TempDir()
	j, err := incident.Create(root, incident.Declared{RunbookID: rb.ID, RunbookTitle: rb.Title, Mode: incident.ModeDrill, RTO: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return &fixture{root: root, id: j.ID(), rb: rb, journal: j, rbs: rbs}
}

func (f *fixture) build(ctx context.Context, r Request) (ui.Options, error) {
	return watchOptions(ctx, f.root, f.id, f.rbs, r)
}

// watchOptions are the options of a session following incident r.Incident
// (def when none is named) under root.
func watchOptions(ctx context.Context, root, def string, rbs []*runbooks.Runbook, r Request) (ui.Options, error) {
	id := r.Incident
	if id == "" {
		id = def
	}
	if _, _, _, err := incident.Read(root, id); err != nil {
		return ui.Options{}, errors.New("no incident " + id)
	}
	return ui.Options{
		Runbooks:    rbs,
		Config:      config.Default(),
		JournalRoot: root,
		Mode:        ui.ModeDrill,
		ReadOnly:    r.Role != RoleDriver,
		Follow:      ui.FollowIncident(ctx, root, id),
	}, nil
}

// driverBuild is the UI builder of drnav serve for drivers (the picker with
// the open incidents, drill mode); watch sessions get f.build.
func (f *fixture) driverBuild(ctx context.Context, r Request) (ui.Options, error) {
	if r.Role != RoleDriver || r.Watch {
		return f.build(ctx, r)
	}
	open, err := ui.OpenIncidentsAs(f.root, r.Label())
	if err != nil {
		return ui.Options{}, err
	}
	cfg := config.Default()
	target := steps.BaseTarget(cfg) // a drill's, without simulator: shell steps shown only
	target.ShowShellOnly(nil, "")
	return ui.Options{Runbooks: f.rbs, Config: cfg, JournalRoot: f.root, Mode: ui.ModeDrill,
		Drill: &ui.Environment{Context: "drill-sim", Database: "simulated", Target: &target}, Open: open, Operator: r.Label()}, nil
}

// quit presses q and waits for the session to end; failure says why.
func (tm *term) quit(failure string) {
	tm.t.Helper()
	tm.send("q")
	select {
	case <-tm.done:
	case <-time.After(waitFor):
		tm.t.Fatal(failure)
	}
}

// waitUnlocked polls until nobody holds the fixture incident's driver lock.
func (f *fixture) waitUnlocked(t *testing.T, within time.Duration, failure string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if _, driven := incident.Driver(f.root, f.id); !driven {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(failure)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connectDriver opens a driver's terminal session and waits for the picker
// listing the fixture's incident.
func (f *fixture) connectDriver(t *testing.T, srv *Server, k testKey) (*gossh.Client, *term) {
	t.Helper()
	c := connect(t, srv, k)
	tm := openTerm(t, c, "", 120, 40)
	tm.waitScreen(f.id)
	return c, tm
}

// serveAs starts drnav serve on the fixture's incident with a fresh host
// key and keys let in as role (their keys file is returned, so a test can
// rewrite it). The UI is o.UI, else f.build for watchers and f.driverBuild
// for drivers.
func (f *fixture) serveAs(t testing.TB, role Role, o Options, keys ...testKey) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	o.HostKey = filepath.Join(dir, "host_ed25519")
	var keysFile string
	switch role {
	case RoleDriver:
		keysFile = writeKeys(t, dir, "drivers", keys...)
		o.DriverKeys = []string{keysFile}
		if o.UI == nil {
			o.UI = f.driverBuild
		}
	default:
		keysFile = writeKeys(t, dir, "watchers", keys...)
		o.WatcherKeys = []string{keysFile}
		if o.UI == nil {
			o.UI = f.build
		}
	}
	return startServer(t, o), keysFile
}

// connect dials srv with k, failing the test when the key is refused; the
// client is closed when the test ends, if not before.
func connect(t testing.TB, srv *Server, k testKey) *gossh.Client {
	t.Helper()
	c, _, err := dial(srv.Addr().String(), k)
	if err != nil {
		t.Fatalf("key refused: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func startServer(t testing.TB, o Options) *Server {
	t.Helper()
	o.Listen = "127.0.0.1:0"
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

func dial(addr string, k testKey) (*gossh.Client, gossh.PublicKey, error) {
	var hostKey gossh.PublicKey
	cfg := &gossh.ClientConfig{
		User: "oncall",
		Auth: []gossh.AuthMethod{gossh.PublicKeys(k.signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error {
			hostKey = key
			return nil
		},
		Timeout: waitFor,
	}
	c, err := gossh.Dial("tcp", addr, cfg)
	return c, hostKey, err
}

// term is an SSH session with a PTY rendered by a terminal emulator.
type term struct {
	t    testing.TB
	sess *gossh.Session
	emu  *vt.SafeEmulator
	mu   sync.Mutex
	in   io.WriteCloser
	done chan error
	// bytes counts what the server sent
	bytes atomic.Int64
}

type counter struct{ n *atomic.Int64 }

func (c counter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

func openTerm(t testing.TB, c *gossh.Client, cmd string, w, h int) *term {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, sess: sess, emu: vt.NewSafeEmulator(w, h), done: make(chan error, 1)}
	tm.in, err = sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	sess.Stdout = io.MultiWriter(tm.emu, counter{&tm.bytes})
	sess.Stderr = tm.emu
	if err := sess.RequestPty("xterm-256color", h, w, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	// the emulator answers the program's terminal queries like a terminal
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := tm.emu.Read(buf)
			if n > 0 {
				tm.send(string(buf[:n]))
			}
			if err != nil {
				return
			}
		}
	}()
	if cmd == "" {
		err = sess.Shell()
	} else {
		err = sess.Start(cmd)
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() { tm.done <- sess.Wait() }()
	t.Cleanup(func() {
		_ = sess.Close()
		// ends the reply goroutine (Emulator.Close races with Read)
		if c, ok := tm.emu.InputPipe().(io.Closer); ok {
			_ = c.Close()
		}
	})
	return tm
}

func (tm *term) send(s string) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	_, _ = tm.in.Write([]byte(s))
}

func (tm *term) screen() string { return ansi.Strip(tm.emu.Render()) }

// waitScreen polls the emulated screen until it shows every text.
func (tm *term) waitScreen(what ...string) {
	tm.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		s := tm.screen()
		ok := true
		for _, w := range what {
			if !strings.Contains(s, w) {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("screen never showed %q:\n%s", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWatcherSeesChecklistAndCannotMutate(t *testing.T) {
	f := newFixture(t)
	watcher := newKey(t, "ann@laptop")
	srv, _ := f.serveAs(t, RoleWatcher, Options{}, watcher)
	tm := openTerm(t, connect(t, srv, watcher), "", 120, 40)
	first := f.rb.Steps[0].Title
	tm.waitScreen(first, "read-only")

	// the driver runs the first step; the watcher sees its output appear
	step := f.rb.Steps[0].ID
	for _, ev := range []incident.Event{
		{Type: incident.EventStepStarted, Step: step, Command: "echo hello"},
		{Type: incident.EventOutput, Step: step, Lines: []string{"serve-test-marker-output"}},
	} {
		if err := f.journal.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	tm.waitScreen("serve-test-marker-output")

	// mutating keys are refused with their reason, and nothing is journaled
	before := f.journal.Seq()
	tm.send("s")
	tm.waitScreen("read-only: skip is disabled")
	tm.send("x")
	tm.waitScreen("read-only: cancel is disabled")
	if got := f.journal.Seq(); got != before {
		t.Errorf("journal grew from %d to %d events after a watcher's keys", before, got)
	}
	// the driver still holds the lock
	if _, driven := incident.Driver(f.root, f.id); !driven {
		t.Error("the driver lost the lock")
	}

	// the window follows the client's resizes
	tm.emu.Resize(90, 30)
	if err := tm.sess.WindowChange(30, 90); err != nil {
		t.Fatal(err)
	}
	tm.waitScreen(first)

	tm.quit("session did not end after q")
}

func TestUnknownKeyRefused(t *testing.T) {
	f := newFixture(t)
	known, stranger := newKey(t, "ann"), newKey(t, "mallory")
	srv, keysFile := f.serveAs(t, RoleWatcher, Options{}, known)
	c, _, err := dial(srv.Addr().String(), stranger)
	if err == nil {
		c.Close()
		t.Fatal("an unknown key was let in")
	}
	if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("refusal: %v", err)
	}
	// a key added to the file is accepted at the next connection
	writeKeys(t, filepath.Dir(keysFile), filepath.Base(keysFile), known, stranger)
	c, _, err = dial(srv.Addr().String(), stranger)
	if err != nil {
		t.Fatalf("a key added to the file is refused: %v", err)
	}
	c.Close()
}

func TestNoPTYAndCommands(t *testing.T) {
	f := newFixture(t)
	k := newKey(t, "ann")
	srv, _ := f.serveAs(t, RoleWatcher, Options{}, k)
	c := connect(t, srv, k)
	for _, tc := range []struct {
		cmd, want string
	}{
		{"watch " + f.id, "has no terminal"},
		{"", "has no terminal"},
		{"bash -i", "no shell"},
		{"watch ../../etc", "not an incident id"},
	} {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		if tc.cmd == "" {
			var b strings.Builder
			sess.Stdout, sess.Stderr = &b, &b
			if err := sess.Shell(); err != nil {
				t.Fatal(err)
			}
			err = sess.Wait()
			out = []byte(b.String())
		} else {
			out, err = sess.CombinedOutput(tc.cmd)
		}
		var ee *gossh.ExitError
		if !errors.As(err, &ee) || ee.ExitStatus() == 0 {
			t.Errorf("%q: exit %v, want a failure", tc.cmd, err)
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%q: output %q, want %q", tc.cmd, out, tc.want)
		}
		sess.Close()
	}
}

func TestHostKeyCreatedOnceAndReused(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	k := newKey(t, "ann")
	keys := writeKeys(t, dir, "watchers", k)
	path := filepath.Join(dir, "state", "drnav", "host_ed25519")
	var seen []string
	for i := 0; i < 2; i++ {
		s, err := New(Options{Listen: "127.0.0.1:0", HostKey: path, WatcherKeys: []string{keys}, UI: f.build})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Serve() }()
		c, hk, err := dial(s.Addr().String(), k)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		seen = append(seen, gossh.FingerprintSHA256(hk))
		if seen[i] != s.HostKeyFingerprint() {
			t.Errorf("client saw %s, server says %s", seen[i], s.HostKeyFingerprint())
		}
		if hk.Type() != gossh.KeyAlgoED25519 {
			t.Errorf("host key type %s", hk.Type())
		}
		_ = s.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("host key mode %04o", fi.Mode().Perm())
		}
	}
	if seen[0] != seen[1] {
		t.Errorf("host key changed across restarts: %s then %s", seen[0], seen[1])
	}
	// a key others can read is refused, as sshd does
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Listen: "127.0.0.1:0", HostKey: path, WatcherKeys: []string{keys}, UI: f.build}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a 0644 host key: %v", err)
	}
}

func TestListenLoopbackUnlessAllowed(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:2222", false, true},
		{"[::1]:2222", false, true},
		{"localhost:2222", false, true},
		{":2222", false, false},
		{"0.0.0.0:2222", false, false},
		{"10.1.2.3:2222", false, false},
		{"bastion.example:2222", false, false},
		{"0.0.0.0:2222", true, true},
		{"nonsense", true, false},
	} {
		err := CheckListen(tc.addr, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckListen(%q, %v) = %v", tc.addr, tc.remote, err)
		}
	}
}

// TestValidIncidentID checks the hand-written check against the grammar it
// replaced, ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$, at the edges.
func TestValidIncidentID(t *testing.T) {
	grammar := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	for _, s := range []string{
		"", "a", "Z", "0", "20261201-2200-db", "a.b_c-d", ".hidden", "-x", "_x", "x/y", "../x", "x y",
		"a\x00", "é", "aé", "a\n", strings.Repeat("a", 127), strings.Repeat("a", 128), strings.Repeat("a", 129),
		"a" + strings.Repeat(".", 127), "a" + strings.Repeat("-", 128),
	} {
		if got, want := validIncidentID(s), grammar.MatchString(s); got != want {
			t.Errorf("validIncidentID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseCommandAndClientTerminal(t *testing.T) {
	if w, id, err := parseCommand([]string{"watch", "20261201-2200-db"}); err != nil || !w || id != "20261201-2200-db" {
		t.Errorf("watch ID: %v %q %v", w, id, err)
	}
	for _, bad := range [][]string{{"sh"}, {"watch", "a", "b"}, {"watch", "../x"}, {"watch", ".hidden"}, {"report", "x"}} {
		if _, _, err := parseCommand(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if a, nc := clientTerminal([]string{"LANG=C", "NO_COLOR=1"}); !a || !nc {
		t.Errorf("LANG=C NO_COLOR: ascii %v nocolor %v", a, nc)
	}
	if a, nc := clientTerminal([]string{"LANG=en_GB.UTF-8"}); a || nc {
		t.Errorf("UTF-8: ascii %v nocolor %v", a, nc)
	}
	if a, _ := clientTerminal(nil); a {
		t.Error("no locale sent should mean UTF-8")
	}
}

// TestDriversShareTheOneDriverLock: a driver key gets the navigator and
// takes the incident's lock by opening it; a second driver is told who
// drives; when the first session ends the lock is released and the second
// driver can take the seat.
func TestDriversShareTheOneDriverLock(t *testing.T) {
	f := newFixture(t)
	if err := f.journal.Close(); err != nil { // the local driver leaves
		t.Fatal(err)
	}
	ann, bob := newKey(t, "ann@laptop"), newKey(t, "bob@laptop")
	srv, _ := f.serveAs(t, RoleDriver, Options{}, ann, bob)
	first := f.rb.Steps[0].Title
	connect := func(k testKey) *term { _, tm := f.connectDriver(t, srv, k); return tm }
	a := connect(ann)
	a.send("\r") // the open incident is listed first
	a.waitScreen(first)
	if strings.Contains(a.screen(), "read-only") {
		t.Errorf("a driver got the read-only view:\n%s", a.screen())
	}
	li, driven := incident.Driver(f.root, f.id)
	if !driven {
		t.Fatal("the driving session holds no lock")
	}
	// The lock and the resume name the key's person, not the server's account.
	if !strings.HasPrefix(li.User, "ann@laptop (") {
		t.Errorf("lock held by %q, want ann's key", li.User)
	}
	if st, _, _, err := incident.Read(f.root, f.id); err != nil || len(st.Resumes) == 0 ||
		!strings.HasPrefix(st.Resumes[len(st.Resumes)-1].Operator, "ann@laptop (") {
		t.Errorf("resumed by %+v (%v), want ann's key", st.Resumes, err)
	}

	b := connect(bob)
	b.send("\r")
	b.waitScreen("is driven by")

	a.quit("session did not end after q")
	f.waitUnlocked(t, waitFor, "the lock was not released when the driver's session ended")
	b.send("\r")
	b.waitScreen(first)
	if _, driven := incident.Driver(f.root, f.id); !driven {
		t.Fatal("the second driver holds no lock")
	}
	b.quit("session did not end after q")
}

// TestWatcherIdleOutput measures what an idle watcher costs on the wire when
// nothing happens in the incident (the header clock still ticks): the issue's
// target is at most 1 KB/s.
func TestWatcherIdleOutput(t *testing.T) {
	f := newFixture(t)
	k := newKey(t, "ann")
	srv, _ := f.serveAs(t, RoleWatcher, Options{}, k)
	c := connect(t, srv, k)
	tm := openTerm(t, c, "", 120, 40)
	tm.waitScreen(f.rb.Steps[0].Title, "read-only")
	const window = 5 * time.Second
	start := tm.bytes.Load()
	time.Sleep(window)
	n := tm.bytes.Load() - start
	perSec := float64(n) / window.Seconds()
	t.Logf("idle watcher: %d bytes in %s (%.0f B/s)", n, window, perSec)
	if perSec > 1024 {
		t.Errorf("idle watcher receives %.0f B/s, want at most 1024", perSec)
	}
}

// TestConnectionsRecorded: a watcher's connection and disconnection land in
// the incident's participants file (through the same incident functions
// drnav serve uses) and the report lists the watcher.
func TestConnectionsRecorded(t *testing.T) {
	f := newFixture(t)
	k := newKey(t, "ann@laptop")
	srv, _ := f.serveAs(t, RoleWatcher, Options{
		Incident: func() (string, error) { return f.id, nil },
		Record: func(id string, c incident.Connection) error {
			return incident.RecordConnection(f.root, id, c)
		},
	}, k)
	c := connect(t, srv, k)
	tm := openTerm(t, c, "", 120, 40)
	tm.waitScreen(f.rb.Steps[0].Title, "read-only")
	read := func() []incident.Connection {
		conns, err := incident.ReadConnections(f.root, f.id)
		if err != nil {
			t.Fatal(err)
		}
		return conns
	}
	if conns := read(); len(conns) != 1 || conns[0].Event != "connected" || conns[0].Name != "ann@laptop" ||
		conns[0].Role != "watcher" || !strings.HasPrefix(conns[0].Fingerprint, "SHA256:") || conns[0].Remote == "" {
		t.Fatalf("after connecting: %+v", conns)
	}
	c.Close()
	deadline := time.Now().Add(waitFor)
	for len(read()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("disconnection never recorded: %+v", read())
		}
		time.Sleep(50 * time.Millisecond)
	}
	conns := read()
	if conns[1].Event != "disconnected" || conns[1].Fingerprint != conns[0].Fingerprint {
		t.Fatalf("second record %+v", conns[1])
	}
	st, _, _, err := incident.Read(f.root, f.id)
	if err != nil {
		t.Fatal(err)
	}
	r, err := incident.Report(st, f.rb, 0, 0, time.Now()).WithParticipants(f.root)
	if err != nil {
		t.Fatal(err)
	}
	md := incident.RenderMarkdown(r)
	if len(r.Participants) != 1 || r.Participants[0].Connected || r.Participants[0].Sessions != 1 ||
		!strings.Contains(md, "## Participants") || !strings.Contains(md, "ann@laptop (watcher, SHA256:") {
		t.Errorf("report participants %+v; markdown:\n%s", r.Participants, md)
	}
}

// TestHandoverBetweenDrivers: ann drives, bob is connected with a driver
// key; ann hands the seat to bob. The journal and its lock move without
// being released (the lock is held at every check), the handover is
// journaled by bob, ann watches read-only from then on, and the lock is
// released only when bob leaves.
func TestHandoverBetweenDrivers(t *testing.T) {
	f := newFixture(t)
	if err := f.journal.Close(); err != nil {
		t.Fatal(err)
	}
	ann, bob := newKey(t, "ann@laptop"), newKey(t, "bob@laptop")
	srv, _ := f.serveAs(t, RoleDriver, Options{
		Follow: func(ctx context.Context, id string) <-chan incident.Event { return ui.FollowIncident(ctx, f.root, id) },
		Record: func(id string, c incident.Connection) error {
			return incident.RecordConnection(f.root, id, c)
		},
	}, ann, bob)
	connect := func(k testKey) *term { _, tm := f.connectDriver(t, srv, k); return tm }
	held := func(when string) {
		t.Helper()
		if _, driven := incident.Driver(f.root, f.id); !driven {
			t.Fatalf("%s: nobody holds the driver lock", when)
		}
	}
	first := f.rb.Steps[0].Title
	a := connect(ann)
	a.send("\r")
	a.waitScreen(first)
	held("ann drives")
	b := connect(bob) // stays in the picker

	a.send("H")
	a.waitScreen("Hand the driver's seat to", "bob@laptop")
	a.send("\t") // from Cancel to Hand over
	a.send("\r")
	b.waitScreen("handed you the driver's seat", first)
	a.waitScreen("you handed the driver's seat", "read-only")
	held("after the handover")

	_, evs, _, err := incident.Read(f.root, f.id)
	if err != nil {
		t.Fatal(err)
	}
	var ho *incident.Event
	for i := range evs {
		if evs[i].Type == incident.EventHandover {
			ho = &evs[i]
		}
	}
	if ho == nil || !strings.HasPrefix(ho.From, "ann@laptop (") || !strings.HasPrefix(ho.Operator, "bob@laptop (") {
		t.Fatalf("handover event %+v", ho)
	}
	for _, ev := range evs {
		if ev.Type == incident.EventResumed && ev.Seq > ho.Seq {
			t.Errorf("a resumed event after the handover (the lock was released and taken again): %+v", ev)
		}
	}
	// ann watches: her mutating keys are refused, and leaving keeps bob's lock.
	a.send("s")
	a.waitScreen("read-only: skip is disabled")
	a.quit("ann's session did not end after q")
	held("after ann left")
	b.quit("bob's session did not end after q")
	f.waitUnlocked(t, waitFor, "the lock was not released when bob left")
	conns, err := incident.ReadConnections(f.root, f.id)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, c := range conns {
		names[c.Name]++
	}
	if names["ann@laptop"] != 2 || names["bob@laptop"] != 2 {
		t.Errorf("connections recorded %+v", conns)
	}
}

// TestDroppedDriverKeepsTheSeat: a driver's connection drops; the lock is
// kept, another driver is told who drives, and the same key's next session
// gets the seat back without the lock being released. A second drop with
// nobody coming back frees the lock after the grace period.
func TestDroppedDriverKeepsTheSeat(t *testing.T) {
	f := newFixture(t)
	if err := f.journal.Close(); err != nil {
		t.Fatal(err)
	}
	ann, bob := newKey(t, "ann@laptop"), newKey(t, "bob@laptop")
	grace := 20 * time.Second
	srv, _ := f.serveAs(t, RoleDriver, Options{Grace: grace}, ann, bob)
	driven := func() bool { _, d := incident.Driver(f.root, f.id); return d }
	connect := func(k testKey) (*gossh.Client, *term) { return f.connectDriver(t, srv, k) }
	first := f.rb.Steps[0].Title
	c, a := connect(ann)
	a.send("\r")
	a.waitScreen(first)
	c.Close() // the link drops
	<-a.done

	_, b := connect(bob)
	b.send("\r")
	b.waitScreen("is driven by") // the seat is kept for ann
	if !driven() {
		t.Fatal("the lock was released when the connection dropped")
	}

	c2, a2 := connect(ann)
	a2.waitScreen("handed you the driver's seat", first)
	if !driven() {
		t.Fatal("nobody holds the lock after ann came back")
	}
	_, evs, _, err := incident.Read(f.root, f.id)
	if err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for _, ev := range evs {
		if ev.Type == incident.EventResumed {
			resumed++
		}
	}
	if resumed != 1 { // the first open only: the seat came back without a re-open
		t.Errorf("%d resumed events, want 1", resumed)
	}

	// Dropped again and nobody comes back: free after the grace period.
	c2.Close()
	<-a2.done
	f.waitUnlocked(t, grace+waitFor, "the lock was never released after the grace period")
	b.send("\r")
	b.waitScreen(first)
}

// TestReadOnlyCommands: "incidents" and "report [ID]" run without a
// terminal for any authorized key and print what the builder writes;
// anything else after them is refused.
func TestReadOnlyCommands(t *testing.T) {
	f := newFixture(t)
	k := newKey(t, "cmdr")
	var got [][]string
	var mu sync.Mutex
	srv, _ := f.serveAs(t, RoleWatcher, Options{
		Exec: func(_ context.Context, args []string, w io.Writer) error {
			mu.Lock()
			got = append(got, args)
			mu.Unlock()
			if args[0] == "report" && len(args) == 2 && args[1] != f.id {
				return errors.New("no incident " + args[1])
			}
			_, err := io.WriteString(w, "printed: "+strings.Join(args, " ")+"\n")
			return err
		},
	}, k)
	c := connect(t, srv, k)
	run := func(cmd string) (string, int) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		out, err := sess.CombinedOutput(cmd)
		var ee *gossh.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &ee):
			return string(out), ee.ExitStatus()
		}
		t.Fatalf("%q: %v", cmd, err)
		return "", -1
	}
	if out, code := run("incidents"); code != 0 || out != "printed: incidents\n" {
		t.Errorf("incidents: exit %d, %q", code, out)
	}
	if out, code := run("report " + f.id); code != 0 || out != "printed: report "+f.id+"\n" {
		t.Errorf("report: exit %d, %q", code, out)
	}
	if out, code := run("report nope-1"); code == 0 || !strings.Contains(out, "no incident nope-1") {
		t.Errorf("report of an unknown id: exit %d, %q", code, out)
	}
	for _, bad := range []string{"report ../../etc", "incidents --all", "report a b"} {
		if out, code := run(bad); code == 0 || !strings.Contains(out, "usage") {
			t.Errorf("%q: exit %d, %q", bad, code, out)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Errorf("Exec ran %d times (%v), want 3: refused commands must not reach it", len(got), got)
	}
}

// TestProgramError: a quit, or a program killed because its connection
// closed, is a normal end of a session; a panic, or a kill with the
// connection still open, is an error worth logging.
func TestProgramError(t *testing.T) {
	closed := context.Canceled
	killedByConn := fmt.Errorf("%w: %w", tea.ErrProgramKilled, context.Canceled)
	for _, tc := range []struct {
		name       string
		err, conn  error
		wantLogged bool
	}{
		{"quit", nil, nil, false},
		{"quit as the link drops", nil, closed, false},
		{"connection closed", killedByConn, closed, false},
		{"killed with the connection open", killedByConn, nil, true},
		{"killed for another reason", tea.ErrProgramKilled, closed, true},
		{"panic as the link drops", fmt.Errorf("%w: %w", tea.ErrProgramKilled, tea.ErrProgramPanic), closed, true},
		{"output failed", errors.New("write: broken pipe"), nil, true},
	} {
		if got := programError(tc.err, tc.conn); (got != nil) != tc.wantLogged {
			t.Errorf("%s: programError = %v, want logged %v", tc.name, got, tc.wantLogged)
		}
	}
}

// TestDroppedMidStepFollowed: in process and under the race detector, a
// driver's connection drops while a real shell step runs under the
// supervisor (it waits for a gate file). The server keeps the seat and
// follows the step: once the gate opens, its finish (exit 0) is journaled
// with the lock still held, and the same key's next session gets the seat
// back without a resume.
func TestDroppedMidStepFollowed(t *testing.T) {
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	rbDir := filepath.Join(dir, "runbooks")
	if err := os.MkdirAll(rbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	toml := `id = "gated"
title = "Gated step"
impact = "None: a test fixture"
summary = "A shell step that waits for a file."
kind = "procedure"

[[steps]]
id = "wait"
title = "Wait for the gate"
why = "It outlives its driver's connection."
expect = "It ends once the gate exists."
run = "echo begun-$((40+2)); while [ ! -e '` + gate + `' ]; do sleep 0.05; done; echo step-ended"
timeout = "2m"
hints = ["Open the gate."]

[[steps]]
id = "tell"
title = "Tell the team"
why = "A manual step."
expect = "The team knows."
manual = "Post it."
hints = ["Be brief."]
`
	if err := os.WriteFile(filepath.Join(rbDir, "gated.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	rbs, err := runbooks.Load(rbDir)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "incidents")
	j, err := incident.Create(root, incident.Declared{RunbookID: "gated", RunbookTitle: "Gated step", Mode: incident.ModeLive, RTO: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{root: root, id: j.ID(), rb: rbs[0], rbs: rbs}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sup := &steps.Supervisor{Exe: exe, Args: []string{supervisor.Command}}
	ann := newKey(t, "ann@laptop")
	srv := startServer(t, Options{
		HostKey:    filepath.Join(dir, "host_ed25519"),
		DriverKeys: []string{writeKeys(t, dir, "drivers", ann)},
		Grace:      10 * time.Minute,
		Record:     func(id string, c incident.Connection) error { return incident.RecordConnection(root, id, c) },
		UI: func(ctx context.Context, r Request) (ui.Options, error) {
			open, err := ui.OpenIncidentsAs(root, r.Label())
			if err != nil {
				return ui.Options{}, err
			}
			// A LIVE target with no cluster or database: real bash steps.
			target := steps.BaseTarget(config.Default())
			return ui.Options{Runbooks: rbs, Config: config.Default(), JournalRoot: root, Mode: ui.ModeLive,
				Live: &ui.Environment{Context: "none", Database: "none", Target: &target}, Open: open, Operator: r.Label(), Supervisor: sup}, nil
		},
	})
	driven := func() bool { _, d := incident.Driver(root, f.id); return d }
	events := func() []incident.Event {
		_, evs, _, err := incident.Read(root, f.id)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	poll := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(waitFor)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	c, a := f.connectDriver(t, srv, ann)
	a.send("\r")
	a.waitScreen("Wait for the gate", "enter run step")
	a.send("\r")
	a.waitScreen("begun-42")
	c.Close() // the link drops mid-step
	<-a.done
	poll("ann's disconnection recorded", func() bool {
		conns, _ := incident.ReadConnections(root, f.id)
		return len(conns) == 2 && conns[1].Event == "disconnected"
	})
	if !driven() {
		for _, ev := range events() {
			t.Logf("%+v", ev)
		}
		t.Fatalf("the lock was released when the connection dropped mid-step:\n%s", a.screen())
	}

	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	poll("the step's finish journaled", func() bool {
		for _, ev := range events() {
			if ev.Type == incident.EventStepFinished && ev.Step == "wait" {
				return true
			}
		}
		return false
	})
	var out []string
	for _, ev := range events() {
		switch {
		case ev.Type == incident.EventStepFinished && (ev.Exit != 0 || ev.Err != ""):
			t.Errorf("step_finished %+v, want exit 0", ev)
		case ev.Type == incident.EventOutput:
			out = append(out, ev.Lines...)
		}
	}
	if !slices.Contains(out, "step-ended") {
		t.Errorf("the step's last output line was not journaled: %q", out)
	}
	if !driven() {
		t.Fatal("the lock was released before the grace period ended")
	}

	_, a2 := f.connectDriver(t, srv, ann)
	a2.waitScreen("handed you the driver's seat", "Tell the team")
	resumed := 0
	for _, ev := range events() {
		if ev.Type == incident.EventResumed {
			resumed++
		}
	}
	if resumed != 1 { // ann's first open only
		t.Errorf("%d resumed events, want 1", resumed)
	}
	a2.quit("ann's second session did not end after q")
	f.waitUnlocked(t, waitFor, "the lock was not released when ann quit")
}

// An authorized keys file others can write is refused, as sshd's
// StrictModes does: whoever can write the drivers' file could add a key.
func TestWritableKeyFileRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ann := newKey(t, "ann")
	p := writeKeys(t, dir, "drivers", ann)
	if err := CheckKeyFiles([]string{p}); err != nil {
		t.Fatalf("a 0600 file is refused: %v", err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	err := CheckKeyFiles([]string{p})
	if err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("a world-writable keys file: err = %v", err)
	}
	key := ann.signer.PublicKey()
	if _, ok, err := lookupKey(key, []string{p}, nil); ok || err == nil {
		t.Fatalf("a key in a world-writable file was looked up: ok=%v err=%v", ok, err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckKeyFiles([]string{fifo}); err == nil {
		t.Fatal("a FIFO as keys file was read")
	}
}
