package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/internal/proctest"
	"github.com/drnav/drnav/internal/supervisor"
)

// drnavProc starts drnav (this test binary) as a separate process.
func drnavProc(t *testing.T, args ...string) (*exec.Cmd, *proctest.Buffer, *proctest.Buffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "DRNAV_TEST_AS_DRNAV=1")
	var out, errb proctest.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out, &errb
}

// journalEvents reads an incident's journal raw (no driver lock involved).
func journalEvents(t *testing.T, root, id string) []incident.Event {
	t.Helper()
	f, err := os.Open(filepath.Join(root, id, incident.JournalName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []incident.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev incident.Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			evs = append(evs, ev)
		}
	}
	return evs
}

// onlyIncident is the id of the single incident under root, once it exists.
func onlyIncident(t *testing.T, root string, deadline time.Time) string {
	t.Helper()
	for {
		ents, _ := os.ReadDir(root)
		for _, e := range ents {
			if e.IsDir() {
				if _, err := os.Stat(filepath.Join(root, e.Name(), incident.JournalName)); err == nil {
					return e.Name()
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no incident was declared")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, deadline time.Time, cond func() bool) {
	t.Helper()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeRunbook(t *testing.T, dir, body string) string {
	t.Helper()
	return filepath.Dir(writeFile(t, filepath.Join(dir, "rb", "rb.toml"), body, 0o600))
}

// A signal to a headless run journals one signalled event, exits 128+n,
// prints how to resume, and leaves the running step running: it is never
// marked failed, and the resume records its real exit code (read from its
// status file, or by following it again when it still runs); nothing runs
// twice.
func TestRunSignalsLeaveTheStepRunning(t *testing.T) {
	for _, tc := range []struct {
		sig          syscall.Signal
		name         string
		stillRunning bool // resume while the step still runs
	}{
		{syscall.SIGTERM, "SIGTERM", false},
		{syscall.SIGINT, "SIGINT", true},
		{syscall.SIGHUP, "SIGHUP", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := isolate(t)
			root := filepath.Join(dir, "state", "drnav", "incidents")
			counter := filepath.Join(dir, "counter")
			gate := filepath.Join(dir, "gate")
			const secret = "hunter2-pa55"
			rbDir := writeRunbook(t, dir, `id = "slow"
title = "A slow step"
impact = "none"
[[variables]]
name = "token"
prompt = "token"
secret = true
[[steps]]
id = "slow"
title = "Slow"
run = "echo begun; while [ ! -e `+gate+` ]; do sleep 0.05; done; echo slow >> `+counter+`; echo token {{token}}; echo finished-slow"
[[steps]]
id = "after"
title = "After"
run = "echo after >> `+counter+`"
`)
			deadline := time.Now().Add(60 * time.Second)
			cmd, out, errb := drnavProc(t, "run", "slow", "--runbooks", rbDir, "--var", "token="+secret)
			id := onlyIncident(t, root, deadline)
			waitFor(t, "the step's output", deadline, func() bool { return strings.Contains(out.String(), "begun") })
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if want := 128 + int(tc.sig); code != want {
				t.Fatalf("exit %d (%v), want %d\n%s\n%s", code, err, want, out, errb)
			}
			if !strings.Contains(errb.String(), "resume with: drnav run slow --resume "+id) {
				t.Errorf("no resume hint:\n%s", errb)
			}
			evs := journalEvents(t, root, id)
			sigs := 0
			for _, ev := range evs {
				if ev.Type == incident.EventSignalled {
					sigs++
					if ev.Signal != tc.name || ev.Step != "slow" || ev.PID == 0 || ev.Operator == "" {
						t.Errorf("signalled event %+v", ev)
					}
				}
				if ev.Type == incident.EventStepFinished {
					t.Errorf("a step was finished by the signal: %+v", ev)
				}
			}
			if sigs != 1 {
				t.Errorf("%d signalled events", sigs)
			}
			if !tc.stillRunning {
				if err := os.WriteFile(gate, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				// the step runs to its end without drnav
				for {
					m, _ := filepath.Glob(filepath.Join(root, id, "steps", "*", supervisor.StatusName))
					if len(m) == 1 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("the step's status file never appeared:\n%s\ndrnav stdout:\n%s", runFolder(root, id), out)
					}
					time.Sleep(20 * time.Millisecond)
				}
			} else {
				go func() {
					time.Sleep(300 * time.Millisecond)
					_ = os.WriteFile(gate, nil, 0o600)
				}()
			}
			code, rout, rerr := drnav(t, "run", "slow", "--runbooks", rbDir, "--resume", id, "--var", "token="+secret)
			if code != 0 {
				t.Fatalf("resume: exit %d\n%s\n%s\nrun folder:\n%s", code, rout, rerr, runFolder(root, id))
			}
			if tc.stillRunning {
				if !strings.Contains(rout, "still running (detached): following it again") || !strings.Contains(rout, "finished-slow") {
					t.Errorf("resume did not follow the running step:\n%s", rout)
				}
			} else if !strings.Contains(rout, "slow finished while you were away: exit 0 at") {
				t.Errorf("resume did not report the real outcome:\n%s", rout)
			}
			if jb, _ := os.ReadFile(filepath.Join(root, id, incident.JournalName)); strings.Contains(string(jb), secret) || !strings.Contains(string(jb), "token ***") {
				t.Errorf("the step's output is not in the journal, or its secret is not masked:\n%s", jb)
			}
			if strings.Contains(rout, secret) {
				t.Errorf("secret printed on resume:\n%s", rout)
			}
			b, _ := os.ReadFile(counter)
			if string(b) != "slow\nafter\n" {
				t.Errorf("side effects %q, want each step once", b)
			}
			st, _, _, err := incident.Read(root, id)
			if err != nil {
				t.Fatal(err)
			}
			if s := st.Step("slow"); s.Status != incident.StepDone || s.Attempts != 1 || !s.WasInterrupted {
				t.Errorf("slow step %+v", s)
			}
		})
	}
}

// TestCrashStepRunner SIGKILLs drnav at random points between a step's
// intent, its start and its finish, with a side-effect counter every step
// appends to. After each kill: every side effect has its step_started in
// the journal (nothing runs before it is journalled); after the resume: no
// step ran twice, and every step whose process ended has its real exit code
// in the journal. DRNAV_CRASH_KILLS sets the number of kills (default 16);
// four kills run at a time (the time is spent waiting for processes).
func TestCrashStepRunner(t *testing.T) {
	kills := 16
	if v := os.Getenv("DRNAV_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("DRNAV_CRASH_KILLS=%q", v)
		}
		kills = n
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d, %d kills", seed, kills)
	dir := isolate(t)
	root := filepath.Join(dir, "state", "drnav", "incidents")
	type result struct {
		stats crashStats
		err   error
	}
	results := make(chan result, kills)
	sem := make(chan struct{}, 4)
	for k := 0; k < kills; k++ {
		sem <- struct{}{}
		go func(k int) {
			defer func() { <-sem }()
			st, err := crashOnce(t, dir, root, k, time.Duration(rand.New(rand.NewSource(seed+int64(k))).Intn(700))*time.Millisecond)
			results <- result{st, err}
		}(k)
	}
	var total crashStats
	for k := 0; k < kills; k++ {
		r := <-results
		if r.err != nil {
			t.Error(r.err)
		}
		total.finishedAway += r.stats.finishedAway
		total.notStarted += r.stats.notStarted
		total.declared += r.stats.declared
		total.ran += r.stats.ran
	}
	t.Logf("%d kills: %d incidents declared before the kill, %d step processes ran, %d finished while drnav was away (real exit code journalled on resume), %d steps journalled but never started (left interrupted, not run)",
		kills, total.declared, total.ran, total.finishedAway, total.notStarted)
}

type crashStats struct{ declared, ran, finishedAway, notStarted int }

// crashOnce runs one kill: a fresh runbook and incident, drnav killed after
// delay, the checks, one resume, the checks again.
func crashOnce(t *testing.T, dir, root string, k int, delay time.Duration) (crashStats, error) {
	const nSteps = 2
	var stats crashStats
	kdir := filepath.Join(dir, strconv.Itoa(k))
	counter := filepath.Join(kdir, "counter")
	rbID := fmt.Sprintf("crash%d", k)
	var body strings.Builder
	fmt.Fprintf(&body, "id = %q\ntitle = \"Crash\"\nimpact = \"none\"\n", rbID)
	for i := 0; i < nSteps; i++ {
		fmt.Fprintf(&body, "[[steps]]\nid = \"s%d\"\ntitle = \"Step %d\"\nrun = \"echo s%d >> %s\"\n", i, i, i, counter)
	}
	rbDir := writeRunbook(t, kdir, body.String())
	cmd, _, _ := drnavProc(t, "run", rbID, "--runbooks", rbDir)
	// The kill comes a random delay after the incident folder appears, so
	// it falls between the steps' intents, starts and finishes.
	id := ""
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	for id == "" {
		ents, _ := os.ReadDir(root)
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), "-"+rbID) {
				id = e.Name()
			}
		}
		select {
		case <-exited:
			if id == "" {
				return stats, fmt.Errorf("kill %d: drnav exited before declaring", k)
			}
		case <-time.After(2 * time.Millisecond):
		}
	}
	time.Sleep(delay)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	if _, err := os.Stat(filepath.Join(root, id, incident.JournalName)); err != nil {
		return stats, nil // killed between the folder and its journal
	}
	stats.declared++
	deadline := time.Now().Add(60 * time.Second)
	// Let detached steps end (a supervisor started just before the kill).
	for {
		runs, _ := filepath.Glob(filepath.Join(root, id, "steps", "*"))
		alive := false
		for _, r := range runs {
			alive = alive || supervisor.Alive(r)
		}
		if !alive {
			break
		}
		if time.Now().After(deadline) {
			return stats, fmt.Errorf("kill %d: supervisors did not end", k)
		}
		time.Sleep(20 * time.Millisecond)
	}
	effects := readEffects(t, counter)
	started := map[string]bool{}
	for _, ev := range journalEvents(t, root, id) {
		if ev.Type == incident.EventStepStarted {
			started[ev.Step] = true
		}
	}
	for step := range effects {
		if !started[step] {
			return stats, fmt.Errorf("kill %d: step %s ran but its step_started is not in the journal", k, step)
		}
	}
	rcmd, rout, rerr := drnavProc(t, "run", rbID, "--runbooks", rbDir, "--resume", id)
	_ = rcmd.Wait()
	code := rcmd.ProcessState.ExitCode()
	effects = readEffects(t, counter)
	for step, n := range effects {
		if n > 1 {
			return stats, fmt.Errorf("kill %d: step %s ran %d times\n%s\n%s", k, step, n, rout, rerr)
		}
	}
	stats.ran = len(effects)
	st, _, _, err := incident.Read(root, id)
	if err != nil {
		return stats, fmt.Errorf("kill %d: %v", k, err)
	}
	for _, sid := range st.StepOrder {
		ss := st.Steps[sid]
		if ss.RunDir == "" {
			continue
		}
		status, ok, _ := supervisor.ReadStatus(filepath.Join(root, id, ss.RunDir))
		if !ok {
			if effects[sid] > 0 {
				return stats, fmt.Errorf("kill %d: step %s ran but no status was recorded", k, sid)
			}
			if ss.Status != incident.StepInterrupted {
				return stats, fmt.Errorf("kill %d: step %s never ran yet is %s", k, sid, ss.Status)
			}
			stats.notStarted++
			continue
		}
		if ss.Status != incident.StepDone || ss.Exit != status.Exit {
			return stats, fmt.Errorf("kill %d: step %s ended with exit %d but the journal says %s exit %d\n%s\n%s", k, sid, status.Exit, ss.Status, ss.Exit, rout, rerr)
		}
		if ss.WasInterrupted {
			stats.finishedAway++
		}
	}
	if code == 0 {
		for i := 0; i < nSteps; i++ {
			if n := effects[fmt.Sprintf("s%d", i)]; n != 1 {
				return stats, fmt.Errorf("kill %d: completed resume but step s%d ran %d times", k, i, n)
			}
		}
	}
	return stats, nil
}

func newest(t *testing.T, root string, before []os.DirEntry) string {
	t.Helper()
	old := map[string]bool{}
	for _, e := range before {
		old[e.Name()] = true
	}
	after, _ := os.ReadDir(root)
	for _, e := range after {
		if !old[e.Name()] {
			return e.Name()
		}
	}
	t.Fatal("no new incident")
	return ""
}

func readEffects(t *testing.T, counter string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(counter)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		m[l]++
	}
	return m
}

// runFolder shows the files of an incident's run folders (diagnostics).
func runFolder(root, id string) string {
	runs, _ := filepath.Glob(filepath.Join(root, id, "steps", "*", "*"))
	var b strings.Builder
	for _, r := range runs {
		data, _ := os.ReadFile(r)
		fmt.Fprintf(&b, "%s: %q\n", filepath.Base(r), data)
	}
	return b.String()
}
