package kubetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/incident/mirror"
	"github.com/drnav/drnav/internal/tmuxtest"
)

// chainFixture is one incident declared and mirrored in-process (the
// writer, standing for a bastion) into one namespace of the real control
// plane, and what the real binary needs to read it: runbooks and a config
// whose [mirror] names the admin context and that namespace.
type chainFixture struct {
	cp     *ControlPlane
	ns     string
	bin    string
	dir    string
	rbDir  string
	conf   string
	root   string // the writer's journal folder
	target mirror.Target
}

const chainRunbook = `id = "dc2"
title = "Data center failure, watched"
impact = "region lost"
[[steps]]
id = "first"
title = "Check the first thing"
run = "true"
[[steps]]
id = "second"
title = "Do the second thing"
run = "true"
`

func newChainFixture(t *testing.T) *chainFixture {
	t.Helper()
	cp := plane.Get(t)
	f := &chainFixture{cp: cp, ns: cp.NewNamespace(t), bin: buildDrnav(t), dir: t.TempDir()}
	f.rbDir = filepath.Join(f.dir, "rb")
	f.root = filepath.Join(f.dir, "writer", "incidents")
	if err := os.MkdirAll(f.rbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.rbDir, "dc2.toml"), []byte(chainRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	f.conf = filepath.Join(f.dir, "config.toml")
	body := fmt.Sprintf("[mirror]\ncontexts = [%q]\nnamespace = %q\n", AdminContext, f.ns)
	if err := os.WriteFile(f.conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	f.target = mirror.Target{Name: AdminContext, Client: cp.Client(), Namespace: f.ns}
	return f
}

// env is a machine of its own: its own empty state and config folders.
func (f *chainFixture) env(machine string) []string {
	home := filepath.Join(f.dir, machine)
	return []string{"KUBECONFIG=" + f.cp.Kubeconfig(), "XDG_STATE_HOME=" + filepath.Join(home, "state"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config")}
}

// drnav runs the binary on machine and returns its exit code and output.
func (f *chainFixture) drnav(t *testing.T, machine string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(f.bin, append(args, "--config", f.conf)...)
	cmd.Env = append(os.Environ(), f.env(machine)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("drnav %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// declare creates the incident in the writer's folder and mirrors it.
func (f *chainFixture) declare(t *testing.T, chunkBytes int) (*incident.Journal, *mirror.Mirror) {
	t.Helper()
	j, err := incident.Create(f.root, incident.Declared{RunbookID: "dc2", RunbookTitle: "Data center failure, watched", Mode: incident.ModeLive})
	if err != nil {
		t.Fatal(err)
	}
	m := mirror.Attach(j, mirror.Options{Targets: []mirror.Target{f.target}, Writer: "writer@bastion-a:1", ChunkBytes: chunkBytes, MaxBackoff: time.Second})
	t.Cleanup(func() {
		m.Close()
		_ = j.Close()
	})
	return j, m
}

func flush(t *testing.T, m *mirror.Mirror) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustAppend(t *testing.T, j *incident.Journal, evs ...incident.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := j.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMirrorWatchFromAnyMachine: `drnav watch ID --context C` in tmux, on
// a machine with an empty state folder, follows the incident a writer
// mirrors into the cluster (small chunks, so it crosses sealed chunks):
// each step's outcome shows as it arrives, and the watcher writes
// nothing, locally or in the cluster.
func TestMirrorWatchFromAnyMachine(t *testing.T) {
	f := newChainFixture(t)
	tm := newTmux(t)
	j, m := f.declare(t, 1024)
	flush(t, m)
	id := j.ID()

	tm.start("watch", tmuxEnv(f.env("observer")...), f.bin, "watch", id, "--context", AdminContext, "--config", f.conf, "--runbooks", f.rbDir)
	s := tm.WaitFor("watch", "1 Check the first thing", "mirror: following "+AdminContext)
	if got := tmuxtest.StepLine(s, 1); !strings.HasPrefix(got, "· ") {
		t.Fatalf("step 1 before it ran: %q\n%s", got, s)
	}

	mustAppend(t, j,
		incident.Event{Type: incident.EventStepStarted, Step: "first", Command: "true"},
		incident.Event{Type: incident.EventStepFinished, Step: "first", Exit: 0, Duration: time.Second},
	)
	tm.WaitStep("watch", 1, "✓")

	// Step 2 runs long enough to fill several chunks, then fails.
	mustAppend(t, j, incident.Event{Type: incident.EventStepStarted, Step: "second", Command: "true"})
	for i := 0; i < 40; i++ {
		mustAppend(t, j, incident.Event{Type: incident.EventOutput, Step: "second", Lines: []string{"working " + strconv.Itoa(i), strings.Repeat("x", 60)}})
	}
	mustAppend(t, j, incident.Event{Type: incident.EventStepFinished, Step: "second", Exit: 1, Duration: time.Second})
	flush(t, m)
	tm.WaitStep("watch", 2, "✗")
	last := j.Seq()
	s = tm.WaitFor("watch", fmt.Sprintf("mirror: following %s ✓ (event %d)", AdminContext, last))

	c := mirror.ReadCopy(context.Background(), f.target, "", id)
	if c.Chunks < 3 {
		t.Errorf("the copy has %d chunks: the watcher did not cross a sealed chunk", c.Chunks)
	}
	local := journalBytes(t, j)
	if !bytes.Equal(c.Data, local) {
		t.Errorf("the cluster's copy (%d events) is not the writer's journal (%d)", c.Events, last)
	}
	if h, err := mirror.LeaseHolder(context.Background(), f.cp.Client(), f.ns, id); err != nil || h != "" {
		t.Errorf("the incident's Lease: holder %q, %v; the watcher must not take it", h, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(f.dir, "observer", "state", "drnav", "incidents")); len(ents) != 0 {
		t.Errorf("the watcher wrote incidents locally: %v", ents)
	}
	tm.Keys("watch", "q")
	tm.WaitFor("watch", "[exited 0]")
}

// seqOf is the seq of the first journal line containing text.
func seqOf(t *testing.T, data []byte, text string) int {
	t.Helper()
	for _, l := range bytes.SplitAfter(data, []byte("\n")) {
		if bytes.Contains(l, []byte(text)) {
			var ev incident.Event
			if err := json.Unmarshal(l, &ev); err != nil {
				t.Fatal(err)
			}
			return ev.Seq
		}
	}
	t.Fatalf("no line with %q", text)
	return 0
}

// TestMirrorVerifyReportsDivergence: `drnav report --verify` with the real
// binary against the real control plane. A copy merely behind is "behind
// by N" and exits 0; an event altered in the ConfigMap is named (broken
// link and first differing event) with exit 3, also from a machine with no
// local journal; a tail cut from the chunk is a missing tail.
func TestMirrorVerifyReportsDivergence(t *testing.T) {
	f := newChainFixture(t)
	j, m := f.declare(t, 0)
	id := j.ID()
	mustAppend(t, j, incident.Event{Type: incident.EventStepStarted, Step: "first", Command: "true"})
	for i := 0; i < 6; i++ {
		mustAppend(t, j, incident.Event{Type: incident.EventOutput, Step: "first", Lines: []string{"line " + strconv.Itoa(i)}})
	}
	mustAppend(t, j, incident.Event{Type: incident.EventStepFinished, Step: "first", Exit: 0, Duration: time.Second})
	flush(t, m)

	verify := func(machine string, args ...string) (int, string) {
		t.Helper()
		code, out := f.drnav(t, machine, append([]string{"report", "--verify", id}, args...)...)
		t.Logf("%s: drnav report --verify %s %s: exit %d\n%s", machine, id, strings.Join(args, " "), code, out)
		return code, out
	}
	code, out := verify("bastion", "--journal-dir", f.root)
	if code != 0 || !strings.Contains(out, AdminContext+":") || !strings.Contains(out, "same as local") {
		t.Fatalf("an untouched incident: exit %d\n%s", code, out)
	}

	// The mirror stops; two more events only on local disk.
	m.Close()
	mustAppend(t, j, incident.Event{Type: incident.EventNote, Text: "only here"}, incident.Event{Type: incident.EventNote, Text: "only here too"})
	code, out = verify("bastion", "--journal-dir", f.root)
	if code != 0 || !strings.Contains(out, "behind local by 2") || strings.Contains(out, "DIFFERS") || strings.Contains(out, "BROKEN") {
		t.Errorf("a copy behind by 2: exit %d, want 0 and \"behind local by 2\"\n%s", code, out)
	}

	// Someone with write access to the namespace rewrites an output line.
	ctx := context.Background()
	cms := f.cp.Client().CoreV1().ConfigMaps(f.ns)
	cm, err := cms.Get(ctx, mirror.ChunkName(id, 0), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	orig := cm.Data[mirror.DataKey]
	altered := seqOf(t, []byte(orig), `"line 3"`)
	cm.Data[mirror.DataKey] = strings.Replace(orig, `"line 3"`, `"line 3 (all fine)"`, 1)
	if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out = verify("bastion", "--journal-dir", f.root)
	want := []string{fmt.Sprintf("DIFFERS from local at event %d", altered), fmt.Sprintf("BROKEN LINK at event %d", altered),
		fmt.Sprintf("event %d (line %d): changed after it was written", altered, altered)}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("altered copy: no %q", w)
		}
	}
	if code != 3 {
		t.Errorf("altered copy: exit %d, want 3", code)
	}
	// From any machine: no local journal, the copy in one context only.
	code, out = verify("auditor", "--context", AdminContext)
	if code != 3 || !strings.Contains(out, "local: no copy on this machine") || !strings.Contains(out, fmt.Sprintf("BROKEN LINK at event %d", altered)) {
		t.Errorf("altered copy from another machine: exit %d, want 3 naming event %d\n%s", code, altered, out)
	}

	// The copy put back but for its last two events: a missing tail.
	lines := strings.SplitAfter(orig, "\n")
	cm.Data[mirror.DataKey] = strings.Join(lines[:len(lines)-3], "")
	if _, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out = verify("bastion", "--journal-dir", f.root)
	if code != 3 || !strings.Contains(out, "MISSING TAIL") || strings.Contains(out, "DIFFERS") {
		t.Errorf("a cut tail: exit %d, want 3 and MISSING TAIL\n%s", code, out)
	}
}

// dcRunbook matches the incident bastion A (mirrorHelperMain) declares.
const dcRunbook = `id = "data-center-failure"
title = "Data center failure"
impact = "region lost"
[[steps]]
id = "assess"
title = "Assess the damage"
run = "true"
[[steps]]
id = "promote-db"
title = "Promote the replica database"
run = "true"
`

// usedRe reads the elapsed time of the header's RTO bar.
var usedRe = regexp.MustCompile(`RTO \S+ \S+ ([0-9hms]+) used`)

// TestMirrorNavigatorResumeFromCluster: the navigator (the real binary in
// tmux) on bastion B, with an empty state folder, runs `drnav resume ID
// --from-cluster` for an incident whose bastion A was SIGKILLed mid-step:
// it waits for A's Lease to expire, pulls the journal, and shows the step
// A was running interrupted on bastion-a, the RTO clock counting from the
// original detection time (37 minutes ago), and the mirror in the header.
// B then holds the Lease, and its resume reaches the cluster.
func TestMirrorNavigatorResumeFromCluster(t *testing.T) {
	cp := plane.Get(t)
	tm := newTmux(t)
	nsP, nsF := cp.NewNamespace(t), cp.NewNamespace(t)
	detected := time.Now().Add(-37 * time.Minute).Truncate(time.Second)
	bin := buildDrnav(t)
	dir := t.TempDir()
	rbDir := filepath.Join(dir, "rb")
	if err := os.MkdirAll(rbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rbDir, "dc.toml"), []byte(dcRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "config.toml")
	body := fmt.Sprintf("[mirror]\ncontexts = [%q]\nnamespace = %q\nlease_duration = \"6s\"\nrenew_deadline = \"4s\"\nretry_period = \"1s\"\n", AdminContext, nsP)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	id, acked, _ := runBastionA(t, cp, nsP, nsF, t.TempDir(), detected)
	t.Logf("A killed after %d acknowledged events", acked)

	stateB := filepath.Join(dir, "bastion-b", "state")
	tm.start("b", tmuxEnv("KUBECONFIG="+cp.Kubeconfig(), "XDG_STATE_HOME="+stateB, "XDG_CONFIG_HOME="+filepath.Join(dir, "bastion-b", "config"),
		incident.EnvHost+"=bastion-b"), bin, "resume", id, "--from-cluster", "--config", conf, "--context", AdminContext, "--runbooks", rbDir)
	s := tm.WaitFor("b", "2 Promote the replica database", "mirror: "+AdminContext)
	tm.WaitStep("b", 1, "✓")
	if !strings.Contains(s, "on bastion-a") {
		tm.Keys("b", "j") // the interrupted step's detail
		s = tm.WaitFor("b", "on bastion-a")
	}
	t.Logf("bastion B's navigator:\n%s", s)
	if !strings.Contains(s, "interrupted (started") {
		t.Errorf("the step A ran is not shown interrupted:\n%s", s)
	}
	m := usedRe.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no RTO bar in the header:\n%s", s)
	}
	used, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if used < 37*time.Minute || used > 2*time.Hour {
		t.Errorf("the RTO clock shows %s used; it counts from the detection 37 minutes ago", used)
	}
	holder, err := mirror.LeaseHolder(context.Background(), cp.Client(), nsP, id)
	if err != nil || !strings.Contains(holder, "@bastion-b:") {
		t.Errorf("the Lease is held by %q (%v), want bastion B", holder, err)
	}
	tg := mirror.Target{Name: AdminContext, Client: cp.Client(), Namespace: nsP}
	poll(t, 60*time.Second, "B's resume in the cluster", func() error {
		c := mirror.ReadCopy(context.Background(), tg, "", id)
		if !bytes.Contains(c.Data, []byte(`"type":"resumed"`)) || !bytes.Contains(c.Data, []byte(`"host":"bastion-b"`)) {
			return fmt.Errorf("%d events, no resume by bastion-b", c.Events)
		}
		return nil
	})
	local, err := os.ReadFile(filepath.Join(stateB, "drnav", "incidents", id, incident.JournalName))
	if err != nil {
		t.Fatal(err)
	}
	if c := incident.CheckChain(local, id); !c.OK() || c.Events() < acked+1 {
		t.Errorf("B's journal: %d events (A acknowledged %d), breaks %v", c.Events(), acked, c.Breaks)
	}
	tm.Keys("b", "q")
	tm.WaitFor("b", "[exited 0]")
}
