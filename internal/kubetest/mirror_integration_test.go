package kubetest

// The journal mirrored into the cluster and the driver Lease, on the real
// control plane. Two namespaces stand in for the two regions; a TCP proxy
// in front of the API server stands in for one bastion's network (cut: the
// bastion is partitioned, or the region it reaches is lost).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/incident/mirror"
	"github.com/drnav/drnav/internal/proctest"
)

// netProxy forwards TCP connections to the API server until cut.
type netProxy struct {
	t      testing.TB
	target string
	ln     net.Listener

	mu    sync.Mutex
	cut   bool
	delay time.Duration // before each write towards the API server
	conns map[net.Conn]bool
}

// SetDelay makes every write towards the API server wait d first (a slow
// network or server).
func (p *netProxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// copyDelayed copies src to dst, waiting the proxy's delay before each
// write.
func (p *netProxy) copyDelayed(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.delay
			p.mu.Unlock()
			if d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func newNetProxy(t testing.TB, target string) *netProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &netProxy{t: t, target: target, ln: ln, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.Cut() })
	return p
}

func (p *netProxy) Addr() string { return p.ln.Addr().String() }

func (p *netProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go func() { p.copyDelayed(up, c); up.Close(); c.Close() }()
		go func() { _, _ = io.Copy(c, up); up.Close(); c.Close() }()
	}
}

// Cut drops every connection and refuses new ones.
func (p *netProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// Restore accepts connections again.
func (p *netProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// clientVia is an admin client whose connections go through the proxy.
func clientVia(t testing.TB, rc *rest.Config, addr string) kubernetes.Interface {
	t.Helper()
	rc = rest.CopyConfig(rc)
	rc.Host = "https://" + addr
	rc.Timeout = 5 * time.Second
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Short Lease timings keep the tests quick; waits poll with long deadlines.
var testLease = mirror.LeaseOptions{Duration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: time.Second}

func leaseOpts(c kubernetes.Interface, ctxName, ns, id, identity string) mirror.LeaseOptions {
	o := testLease
	o.Client, o.Context, o.Namespace, o.ID, o.Identity = c, ctxName, ns, id, identity
	return o
}

// takeOver is bastion B: an empty state folder, the Lease once free or
// expired, the longest copy pulled and imported, the incident opened, and
// the mirror started.
func takeOver(t *testing.T, root string, targets []mirror.Target, leaseNS, id, identity string) (*incident.Journal, incident.State, *mirror.Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lease, err := mirror.AcquireLease(ctx, leaseOpts(targets[0].Client, targets[0].Name, leaseNS, id, identity))
	if err != nil {
		t.Fatalf("B: take the lease: %v", err)
	}
	best, copies, err := mirror.Pull(ctx, targets, "", id)
	if err != nil {
		lease.Release()
		t.Fatalf("B: pull: %v", err)
	}
	for _, c := range copies {
		t.Logf("B: copy in %s: %d events %s %v", c.Context, c.Events, c.Problem, c.Err)
	}
	if err := incident.PrepareRoot(root, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := incident.Import(root, id, best.Data); err != nil {
		lease.Release()
		t.Fatalf("B: import: %v", err)
	}
	j, st, _, err := incident.Open(root, id)
	if err != nil {
		lease.Release()
		t.Fatalf("B: open: %v", err)
	}
	s := mirror.Drive(j, lease, mirror.Options{Targets: targets, Writer: identity})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Close(ctx)
		_ = j.Close()
	})
	return j, st, s
}

func journalBytes(t testing.TB, j *incident.Journal) []byte {
	t.Helper()
	b, err := os.ReadFile(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// helperEnv makes the test binary bastion A (see mirrorHelperMain).
const helperEnv = "DRNAV_MIRROR_HELPER"

// mirrorHelperMain is bastion A in its own process: it declares an
// incident with the mirror and the Lease, starts a step, and prints
// "ACK seq" once an event is in every context, then "LOCAL seq" for events
// only on its own disk, and waits to be killed.
func mirrorHelperMain() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", os.Getenv("HELPER_KUBECONFIG"))
	if err != nil {
		fail(err)
	}
	rc.Host = os.Getenv("HELPER_SERVER")
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		fail(err)
	}
	nss := strings.Split(os.Getenv("HELPER_NAMESPACES"), ",")
	targets := []mirror.Target{{Name: "primary", Client: c, Namespace: nss[0]}, {Name: "failover", Client: c, Namespace: nss[1]}}
	root := os.Getenv("HELPER_ROOT")
	if err := incident.PrepareRoot(root, ""); err != nil {
		fail(err)
	}
	detected, _ := time.Parse(time.RFC3339, os.Getenv("HELPER_DETECTED"))
	j, err := incident.Create(root, incident.Declared{RunbookID: "data-center-failure", RunbookTitle: "Data center failure", Detected: detected, RTO: 4 * time.Hour})
	if err != nil {
		fail(err)
	}
	fmt.Printf("ID %s\n", j.ID())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	identity := mirror.Identity("alice", incident.Host(), os.Getpid())
	lease, err := mirror.AcquireLease(ctx, leaseOpts(c, "primary", nss[0], j.ID(), identity))
	if err != nil {
		fail(err)
	}
	s := mirror.Drive(j, lease, mirror.Options{Targets: targets, Writer: identity})
	ack := func() {
		if err := s.Mirror.Flush(ctx); err != nil {
			fail(err)
		}
		fmt.Printf("ACK %d\n", j.Seq())
	}
	ack()
	events := []incident.Event{
		{Type: incident.EventVariableSet, Name: "region", Value: "eu-west"},
		{Type: incident.EventStepFinished, Step: "assess", Exit: 0},
		{Type: incident.EventStepStarted, Step: "promote-db", Command: "sleep 3600"},
		{Type: incident.EventOutput, Step: "promote-db", Lines: []string{"promoting replica"}},
	}
	for _, ev := range events {
		if err := j.Append(ev); err != nil {
			fail(err)
		}
		ack()
	}
	// Events A has on its own disk only when it dies (maybe mirrored, maybe not).
	for i := 0; i < 3; i++ {
		if err := j.Append(incident.Event{Type: incident.EventOutput, Step: "promote-db", Lines: []string{"line " + strconv.Itoa(i)}}); err != nil {
			fail(err)
		}
		fmt.Printf("LOCAL %d\n", j.Seq())
	}
	fmt.Println("RUNNING")
	select {}
}

// TestMirrorTakeoverAfterSIGKILL is the "done when": bastion A
// drives and is killed mid-step; bastion B, with an empty state folder,
// takes over once A's Lease expires, and finds every event A had mirrored,
// the step A was running flagged interrupted on A's host, and the clock
// running from the original detection time.
func TestMirrorTakeoverAfterSIGKILL(t *testing.T) {
	cp := plane.Get(t)
	nsP, nsF := cp.NewNamespace(t), cp.NewNamespace(t)
	detected := time.Now().Add(-37 * time.Minute).Truncate(time.Second)

	rootA := t.TempDir()
	id, acked, local := runBastionA(t, cp, nsP, nsF, rootA, detected)
	ackedLines := bytes.SplitAfter(mustRead(t, filepath.Join(rootA, id, incident.JournalName)), []byte("\n"))[:acked]
	t.Logf("A killed: %d events mirrored (acknowledged), %d on its disk", acked, local)

	c := cp.Client()
	targets := []mirror.Target{{Name: "primary", Client: c, Namespace: nsP}, {Name: "failover", Client: c, Namespace: nsF}}
	rootB := filepath.Join(t.TempDir(), "state")
	j, st, _ := takeOver(t, rootB, targets, nsP, id, mirror.Identity("bob", "bastion-b", 42))

	got := journalBytes(t, j)
	for i, l := range ackedLines {
		if !bytes.Contains(got, l) {
			t.Errorf("acknowledged event %d is missing on bastion B: %s", i+1, l)
		}
	}
	step := st.Step("promote-db")
	if step.Status != incident.StepInterrupted || step.Host != "bastion-a" {
		t.Errorf("step promote-db on B: %s on host %q; want interrupted on bastion-a", step.Status, step.Host)
	}
	if !st.Detected.Equal(detected) {
		t.Errorf("detected %s on B; want the original %s", st.Detected, detected)
	}
	if st.DriverHost == "bastion-a" || st.DriverHost == "" {
		t.Errorf("B's resumed event names host %q", st.DriverHost)
	}
	// B carries on, and its events reach both regions.
	if err := j.Append(incident.Event{Type: incident.EventNote, Text: "carrying on from bastion B"}); err != nil {
		t.Fatal(err)
	}
	poll(t, 60*time.Second, "B's events in both regions", func() error {
		for _, tg := range targets {
			cp := mirror.ReadCopy(context.Background(), tg, "", id)
			if cp.Err != nil || !bytes.Equal(cp.Data, journalBytes(t, j)) {
				return fmt.Errorf("%s: %d events %s %v", tg.Name, cp.Events, cp.Problem, cp.Err)
			}
		}
		return nil
	})
}

// runBastionA starts bastion A (mirrorHelperMain, host bastion-a) on its
// own process mirroring into nsP and nsF (the Lease in nsP), waits until
// it runs its step, and kills it with SIGKILL. It returns the incident,
// how many events A had acknowledged (in both regions) and how many were
// on its disk.
func runBastionA(t *testing.T, cp *ControlPlane, nsP, nsF, rootA string, detected time.Time) (id string, acked, local int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	a := exec.Command(exe, "-test.run=^$")
	a.Env = append(os.Environ(), helperEnv+"=1", "HELPER_KUBECONFIG="+cp.Kubeconfig(), "HELPER_SERVER="+cp.Server(),
		"HELPER_NAMESPACES="+nsP+","+nsF, "HELPER_ROOT="+rootA, "HELPER_DETECTED="+detected.Format(time.RFC3339),
		incident.EnvHost+"=bastion-a", "XDG_STATE_HOME="+t.TempDir())
	var stderr proctest.Buffer
	a.Stderr = &stderr
	out, err := a.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = a.Process.Kill()
			_ = a.Wait()
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(90 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("bastion A exited before running its step: %s", stderr.String())
			}
			f := strings.Fields(l)
			switch f[0] {
			case "ID":
				id = f[1]
			case "ACK":
				acked, _ = strconv.Atoi(f[1])
			case "LOCAL":
				local, _ = strconv.Atoi(f[1])
			case "RUNNING":
				break wait
			}
		case <-deadline:
			t.Fatalf("bastion A did not start its step within 90 s: %s", stderr.String())
		}
	}
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()
	killed = true
	return id, acked, local
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMirrorPartitionedDriverNeverWrites: A, cut off from the API server,
// loses the Lease and turns read-only; B takes over; when A's network
// returns, A writes nothing (the copy is exactly B's journal).
func TestMirrorPartitionedDriverNeverWrites(t *testing.T) {
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	px := newNetProxy(t, strings.TrimPrefix(cp.Server(), "https://"))
	ca := clientVia(t, cp.AdminConfig(), px.Addr())
	targetsA := []mirror.Target{{Name: "primary", Client: ca, Namespace: ns}}

	rootA := t.TempDir()
	ja, err := incident.Create(rootA, incident.Declared{RunbookID: "partition", RunbookTitle: "Partition"})
	if err != nil {
		t.Fatal(err)
	}
	defer ja.Close()
	id := ja.ID()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	idA := mirror.Identity("alice", "bastion-a", 1)
	leaseA, err := mirror.AcquireLease(ctx, leaseOpts(ca, "primary", ns, id, idA))
	if err != nil {
		t.Fatal(err)
	}
	sa := mirror.Drive(ja, leaseA, mirror.Options{Targets: targetsA, Writer: idA, MaxBackoff: 500 * time.Millisecond})
	defer func() { _ = sa.Close(context.Background()) }()
	if err := ja.Append(incident.Event{Type: incident.EventStepStarted, Step: "drain"}); err != nil {
		t.Fatal(err)
	}
	if err := sa.Mirror.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	px.Cut()
	poll(t, 60*time.Second, "A read-only after the partition", func() error {
		if sa.ReadOnly() == nil {
			return errors.New("A still drives")
		}
		return nil
	})
	t.Logf("A: %v", sa.ReadOnly())
	if err := ja.Append(incident.Event{Type: incident.EventNote, Text: "A after the partition"}); !errors.Is(err, mirror.ErrLeaseLost) {
		t.Errorf("A's append after losing the lease: %v; want ErrLeaseLost", err)
	}

	targetsB := []mirror.Target{{Name: "primary", Client: cp.Client(), Namespace: ns}}
	jb, st, _ := takeOver(t, t.TempDir(), targetsB, ns, id, mirror.Identity("bob", "bastion-b", 2))
	if s := st.Step("drain"); s.Status != incident.StepInterrupted {
		t.Errorf("drain on B: %s; want interrupted", s.Status)
	}
	if err := jb.Append(incident.Event{Type: incident.EventNote, Text: "B drives"}); err != nil {
		t.Fatal(err)
	}
	px.Restore()
	// A's network is back: A still refuses, its mirror stays stopped.
	if err := ja.Append(incident.Event{Type: incident.EventNote, Text: "A after the network returned"}); err == nil {
		t.Error("A appended after the network returned")
	}
	sa.Mirror.Append(ja.Seq()+1, []byte(`{"seq":99,"type":"note","text":"forged"}`+"\n"))
	for _, s := range sa.Status() {
		if s.State != mirror.Stopped {
			t.Errorf("A's mirror to %s: %s; want stopped", s.Context, s.State)
		}
	}
	poll(t, 60*time.Second, "the copy equal to B's journal", func() error {
		c := mirror.ReadCopy(context.Background(), targetsB[0], "", id)
		if c.Err != nil || !bytes.Equal(c.Data, journalBytes(t, jb)) {
			return fmt.Errorf("copy: %d events %s %v", c.Events, c.Problem, c.Err)
		}
		return nil
	})
	if bytes.Contains(journalBytes(t, jb), []byte("A after")) {
		t.Error("an event of A after the partition reached B's journal")
	}
}

// TestMirrorWritersNeverInterleave races two writers (no Lease, each its
// own journal with the same declaration) on one incident, with tiny chunks:
// the copy is always one writer's journal, never a mix, and the other
// writer stops.
func TestMirrorWritersNeverInterleave(t *testing.T) {
	cp := plane.Get(t)
	ns := cp.NewNamespace(t)
	at := time.Now()
	var js [2]*incident.Journal
	for i := range js {
		j, err := incident.Create(t.TempDir(), incident.Declared{RunbookID: "race", RunbookTitle: "Race", At: at, Operator: "x", Host: "h"})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		js[i] = j
	}
	if js[0].ID() != js[1].ID() {
		t.Fatalf("ids differ: %s %s", js[0].ID(), js[1].ID())
	}
	id := js[0].ID()
	targets := []mirror.Target{{Name: "primary", Client: cp.Client(), Namespace: ns}}
	var ms [2]*mirror.Mirror
	for i, j := range js {
		ms[i] = mirror.Attach(j, mirror.Options{Targets: targets, Writer: "writer-" + strconv.Itoa(i), ChunkBytes: 1024, MaxBackoff: 200 * time.Millisecond})
		defer ms[i].Close()
	}
	var wg sync.WaitGroup
	for i, j := range js {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 150; n++ {
				if err := j.Append(incident.Event{Type: incident.EventNote, Text: fmt.Sprintf("writer %d note %d", i, n)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	settled := func(m *mirror.Mirror) (mirror.Status, bool) {
		s := m.Status()[0]
		return s, s.State == mirror.Diverged || (s.State == mirror.Mirrored && s.Mirrored == s.Head)
	}
	poll(t, 90*time.Second, "both writers settled", func() error {
		for i, m := range ms {
			if s, ok := settled(m); !ok {
				return fmt.Errorf("writer %d: %s", i, s)
			}
		}
		return nil
	})
	c := mirror.ReadCopy(context.Background(), targets[0], "", id)
	if c.Err != nil || c.Problem != "" {
		t.Fatalf("copy: %v %s", c.Err, c.Problem)
	}
	winners := 0
	for i, m := range ms {
		s, _ := settled(m)
		own := journalBytes(t, js[i])
		switch s.State {
		case mirror.Mirrored:
			winners++
			if !bytes.Equal(c.Data, own) {
				t.Errorf("writer %d mirrored, but the copy (%d events) is not its journal", i, c.Events)
			}
		case mirror.Diverged:
			t.Logf("writer %d stopped: %s", i, s.String())
		}
	}
	if winners != 1 {
		t.Errorf("%d writers mirrored their journal; want exactly 1", winners)
	}
	if bytes.Contains(c.Data, []byte("writer 0 note")) && bytes.Contains(c.Data, []byte("writer 1 note")) {
		t.Error("the copy mixes both writers' events")
	}
}

// TestMirrorPrimaryDownFailoverContinues: the primary region's API server
// unreachable, mirroring into the failover region goes on, the header says
// the primary is behind, and the primary catches up when it returns. 5,000
// events go through, most while the primary is down.
func TestMirrorPrimaryDownFailoverContinues(t *testing.T) {
	cp := plane.Get(t)
	nsP, nsF := cp.NewNamespace(t), cp.NewNamespace(t)
	target := strings.TrimPrefix(cp.Server(), "https://")
	pxP, pxF := newNetProxy(t, target), newNetProxy(t, target)
	targets := []mirror.Target{
		{Name: "primary", Client: clientVia(t, cp.AdminConfig(), pxP.Addr()), Namespace: nsP},
		{Name: "failover", Client: clientVia(t, cp.AdminConfig(), pxF.Addr()), Namespace: nsF},
	}
	j, err := incident.Create(t.TempDir(), incident.Declared{RunbookID: "outage", RunbookTitle: "Outage"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	m := mirror.Attach(j, mirror.Options{Targets: targets, Writer: "w", QueueLen: 256, MaxBackoff: time.Second})
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := 0; i < 100; i++ {
		if err := j.Append(incident.Event{Type: incident.EventOutput, Step: "s", Lines: []string{"before " + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	pxP.Cut()
	for i := 0; i < 4900; i++ {
		if err := j.Append(incident.Event{Type: incident.EventOutput, Step: "s", Lines: []string{"during " + strconv.Itoa(i), strings.Repeat("x", 100)}}); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, 90*time.Second, "failover mirrored, primary unreachable", func() error {
		s := m.Status()
		if s[1].State != mirror.Mirrored || s[0].State != mirror.Unreachable || s[0].Since.IsZero() || s[0].Behind() == 0 {
			return errors.New(mirror.Summary(s))
		}
		return nil
	})
	t.Logf("primary down: %s", mirror.Summary(m.Status()))
	if got := mirror.Summary(m.Status()); !strings.Contains(got, "failover ✓") || !strings.Contains(got, "primary unreachable since") {
		t.Errorf("header %q", got)
	}
	pxP.Restore()
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	local := journalBytes(t, j)
	for _, tg := range targets {
		c := mirror.ReadCopy(ctx, tg, "", j.ID())
		if c.Err != nil || c.Problem != "" || c.Events != 5001 || !bytes.Equal(c.Data, local) {
			t.Errorf("copy in %s: %d events, equal %v, %s %v", tg.Name, c.Events, bytes.Equal(c.Data, local), c.Problem, c.Err)
		}
	}
}

// TestMirrorRoleIsEnough binds the shipped Role to the restricted user in
// one namespace: the mirror and the Lease work there with nothing more.
// In a namespace without the binding the errors name the verb, the
// resource and the namespace, and the journal goes on locally.
func TestMirrorRoleIsEnough(t *testing.T) {
	cp := plane.Get(t)
	ns, bare := cp.NewNamespace(t), cp.NewNamespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(mirror.RoleManifest, nil, nil)
	if err != nil {
		t.Fatalf("decode the Role manifest: %v", err)
	}
	role := obj.(*rbacv1.Role)
	if _, err := cp.Client().RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "drnav-mirror"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: RestrictedUser}},
	}
	if _, err := cp.Client().RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, err := cp.RestrictedClient()
	if err != nil {
		t.Fatal(err)
	}
	j, err := incident.Create(t.TempDir(), incident.Declared{RunbookID: "rbac", RunbookTitle: "RBAC"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	setup := mirror.Setup{Targets: []mirror.Target{{Name: "primary", Client: rc, Namespace: ns}}, Namespace: ns,
		LeaseDuration: testLease.Duration, RenewDeadline: testLease.RenewDeadline, RetryPeriod: testLease.RetryPeriod, Identity: "restricted@h:1"}
	// RBAC caches may take a moment to see the new binding: poll.
	var lease *mirror.Lease
	poll(t, 60*time.Second, "the lease as the restricted user", func() error {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		lease, err = setup.TakeLease(lctx, j.ID())
		return err
	})
	s := mirror.Drive(j, lease, setup.Options())
	defer func() { _ = s.Close(context.Background()) }()
	if err := j.Append(incident.Event{Type: incident.EventNote, Text: "least privilege"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Mirror.Flush(ctx); err != nil {
		t.Fatalf("mirror as the restricted user: %v", err)
	}
	if c := mirror.ReadCopy(ctx, setup.Targets[0], "", j.ID()); c.Events != j.Seq() {
		t.Errorf("copy: %d events, want %d (%s %v)", c.Events, j.Seq(), c.Problem, c.Err)
	}

	// The namespace without the binding.
	j2, err := incident.Create(t.TempDir(), incident.Declared{RunbookID: "rbac", RunbookTitle: "RBAC"})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	m := mirror.Attach(j2, mirror.Options{Namespace: bare, Targets: []mirror.Target{{Name: "primary", Client: rc}}})
	defer m.Close()
	poll(t, 60*time.Second, "a clear error for the missing permission", func() error {
		st := m.Status()[0]
		if st.State == mirror.Unreachable && strings.Contains(st.Err, "list configmaps in namespace "+bare) && strings.Contains(st.Err, "forbidden") {
			return nil
		}
		return fmt.Errorf("status %s: %s", st, st.Err)
	})
	t.Logf("missing permission: %s", m.Status()[0].Err)
	if err := j2.Append(incident.Event{Type: incident.EventNote, Text: "still works locally"}); err != nil {
		t.Errorf("local append without the permission: %v", err)
	}
	lctx, lcancel := context.WithTimeout(ctx, 3*time.Second)
	defer lcancel()
	_, err = mirror.AcquireLease(lctx, mirror.LeaseOptions{Client: rc, Context: "primary", Namespace: bare, ID: j2.ID(), Identity: "restricted@h:1",
		Duration: testLease.Duration, RenewDeadline: testLease.RenewDeadline, RetryPeriod: testLease.RetryPeriod})
	if err == nil || !strings.Contains(err.Error(), "get leases in namespace "+bare) {
		t.Errorf("lease without the permission: %v; want an error naming get, leases and %s", err, bare)
	}
}
