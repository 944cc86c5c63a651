package incident

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCreatePermissionsAndID(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "incidents")
	j := mustCreate(t, root, outageDeclared(ModeLive))
	if want := "20261125-2007-complete-outage"; j.ID() != want {
		t.Errorf("id = %q, want %q", j.ID(), want)
	}
	j2 := mustCreate(t, root, outageDeclared(ModeLive))
	if want := "20261125-2007-complete-outage-2"; j2.ID() != want {
		t.Errorf("second id = %q, want %q", j2.ID(), want)
	}
	for path, want := range map[string]os.FileMode{
		root:                                 0o700,
		j.Dir():                              0o700,
		j.Path():                             0o600,
		filepath.Join(j.Dir(), lockName):     0o600,
		filepath.Join(j.Dir(), lockInfoName): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	st := j.State()
	if st.ID != j.ID() || st.RunbookID != "complete-outage" || st.Mode != ModeLive || !st.Detected.Equal(t0) || st.RTO != 4*hour {
		t.Errorf("declared state wrong: %+v", st)
	}
}

func TestSecretNeverWritten(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	j := mustCreate(t, root, outageDeclared(ModeLive))
	appendAll(t, j,
		Event{Type: EventVariableSet, Name: "password", Value: "hunter2-secret", Secret: true},
		Event{Type: EventVariableSet, Name: "backup", Value: "/backups/latest.sql"},
	)
	data, err := os.ReadFile(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "hunter2") {
		t.Fatalf("secret value written to the journal:\n%s", data)
	}
	st := j.State()
	v, ok := st.Variable("password")
	if !ok || v.Value != SecretMask || !v.Secret {
		t.Errorf("secret variable = %+v", v)
	}
	if v, _ := st.Variable("backup"); v.Value != "/backups/latest.sql" {
		t.Errorf("backup = %+v", v)
	}
}

func TestOutputTailCut(t *testing.T) {
	t.Parallel()
	j := mustCreate(t, t.TempDir(), outageDeclared(ModeLive))
	lines := make([]string, 120)
	for i := range lines {
		lines[i] = fmt.Sprint("line ", i)
	}
	appendAll(t, j, Event{Type: EventStepStarted, Step: "restore"}, Event{Type: EventOutput, Step: "restore", Lines: lines})
	tail := j.State().Steps["restore"].Tail
	if len(tail) != MaxTailLines || tail[0] != "line 70" || tail[49] != "line 119" {
		t.Errorf("tail = %d lines from %q", len(tail), tail[0])
	}
}

func TestTornTailAndGarbage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		damage    string // appended to the journal after 3 good events
		more      string // then this (after a newline in damage, a good line)
		wantWarns int
		truncated bool
	}{
		{name: "torn tail", damage: `{"seq":4,"time":"2026-11-25T20:30:00Z","type":"no`, wantWarns: 1, truncated: true},
		{name: "garbage middle", damage: "garbage \x00 line\n", more: `{"seq":4,"time":"2026-11-25T20:31:00Z","type":"note","text":"after garbage"}` + "\n", wantWarns: 1},
		{name: "garbage and torn", damage: "{not json}\n", more: `{"seq":4,"ty`, wantWarns: 2, truncated: true},
		{name: "empty", damage: "", wantWarns: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			j, err := Create(root, outageDeclared(ModeLive))
			if err != nil {
				t.Fatal(err)
			}
			appendAll(t, j, stepRun("list-pods", "assess", minute, minute, 0, nil)[:2]...)
			id := j.ID()
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(filepath.Join(root, id, JournalName), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(tc.damage + tc.more); err != nil {
				t.Fatal(err)
			}
			f.Close()

			j2, st, warns, err := Open(root, id)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer j2.Close()
			if len(warns) != tc.wantWarns {
				t.Errorf("warnings = %v, want %d", warns, tc.wantWarns)
			}
			if st.Status("list-pods") != StepInterrupted {
				t.Errorf("list-pods = %s, want interrupted", st.Status("list-pods"))
			}
			if len(st.Steps["list-pods"].Tail) != 2 {
				t.Errorf("earlier output lost: %v", st.Steps["list-pods"].Tail)
			}
			if tc.more != "" && !tc.truncated && (len(st.Notes) != 1 || st.Notes[0].Text != "after garbage") {
				t.Errorf("event after garbage lost: %+v", st.Notes)
			}
			appendAll(t, j2, Event{Type: EventNote, Text: "resumed fine"})
			st2, _, warns2, err := Read(root, id)
			if err != nil {
				t.Fatal(err)
			}
			wantAfter := 0
			if strings.Contains(tc.name, "garbage") {
				wantAfter = 1 // the garbage line stays (nothing is ever removed but a torn tail)
			}
			if len(warns2) != wantAfter {
				t.Errorf("after append: warnings %v, want %d", warns2, wantAfter)
			}
			if last := st2.Notes[len(st2.Notes)-1].Text; last != "resumed fine" {
				t.Errorf("last note = %q", last)
			}
		})
	}
}

func TestListLatestRead(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	d1 := outageDeclared(ModeLive)
	j1 := mustCreate(t, root, d1)
	appendAll(t, j1, Event{Type: EventResolved, Time: at(2 * hour), Text: "back"})
	d2 := outageDeclared(ModeDrill)
	d2.At = at(3 * hour)
	d2.RunbookID = "database-corruption"
	j2 := mustCreate(t, root, d2)
	appendAll(t, j2, Event{Type: EventStepStarted, Time: at(3*hour + minute), Step: "x"})
	if err := os.Mkdir(filepath.Join(root, "not-an-incident"), 0o700); err != nil {
		t.Fatal(err)
	}
	list, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != j2.ID() || list[1].ID != j1.ID() {
		t.Fatalf("list = %+v", list)
	}
	if !list[1].Resolved || list[0].Resolved || list[0].Mode != ModeDrill || !list[1].LastEvent.Equal(at(2*hour)) {
		t.Errorf("summaries wrong: %+v", list)
	}
	latest, err := Latest(root)
	if err != nil || latest.ID != j2.ID() {
		t.Errorf("latest = %+v, %v", latest, err)
	}
	// While j2 drives, a reader sees the step running; once closed, interrupted.
	st, _, _, err := Read(root, j2.ID())
	if err != nil || st.Status("x") != StepRunning {
		t.Errorf("read while driven: %s, %v", st.Status("x"), err)
	}
	if err := j2.Close(); err != nil {
		t.Fatal(err)
	}
	st, _, _, err = Read(root, j2.ID())
	if err != nil || st.Status("x") != StepInterrupted {
		t.Errorf("read after close: %s, %v", st.Status("x"), err)
	}
	if _, err := Latest(t.TempDir()); !errors.Is(err, ErrNoIncident) {
		t.Errorf("latest of empty root: %v", err)
	}
}

func TestFollow(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	j := mustCreate(t, root, outageDeclared(ModeLive))
	appendAll(t, j, Event{Type: EventNote, Text: "one"})
	// A half-written line at the end is waited for: it is there before
	// Follow starts, so the poll that delivers seq 2 has seen it.
	f, err := os.OpenFile(j.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(`{"seq":3,"time":"2026-11-25T20:10:00Z","type":"no`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evc, errc := Follow(ctx, root, j.ID(), 1)
	next := func() Event {
		t.Helper()
		select {
		case ev := <-evc:
			return ev
		case err := <-errc:
			t.Fatalf("follow error: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("no event from Follow within 10s")
		}
		return Event{}
	}
	if ev := next(); ev.Seq != 2 || ev.Text != "one" {
		t.Fatalf("first = %+v", ev)
	}
	if _, err := f.WriteString(`te","text":"two"}` + "\n"); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Seq != 3 || ev.Text != "two" {
		t.Fatalf("second = %+v", ev)
	}
	// Garbage is reported and skipped.
	if _, err := f.WriteString("garbage\n" + `{"seq":4,"time":"2026-11-25T20:11:00Z","type":"note","text":"three"}` + "\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		var w Warning
		if !errors.As(err, &w) {
			t.Errorf("want a Warning, got %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no warning for garbage")
	}
	if ev := next(); ev.Seq != 4 || ev.Text != "three" {
		t.Fatalf("third = %+v", ev)
	}
	cancel()
	for range evc {
	}
}

// --- child processes -------------------------------------------------------

const helperEnv = "DRNAV_INCIDENT_HELPER"

// TestHelperWriter is not a test: run as a child process by the crash and
// lock tests, it drives a journal until killed.
func TestHelperWriter(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	root, id := os.Getenv("DRNAV_ROOT"), os.Getenv("DRNAV_ID")
	out := bufio.NewWriter(os.Stdout)
	switch mode {
	case "lock":
		l, err := Acquire(root, id)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin
		_ = l.Release()
		os.Exit(0)
	case "write":
		seed, _ := strconv.ParseInt(os.Getenv("DRNAV_SEED"), 10, 64)
		rng := rand.New(rand.NewSource(seed))
		j, _, _, err := Open(root, id)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		ack := func(ev Event) {
			if err := j.Append(ev); err != nil {
				fmt.Fprintln(out, "error", err)
				out.Flush()
				os.Exit(2)
			}
			fmt.Fprintln(out, "ack", j.Seq())
			out.Flush()
		}
		tornAfter := -1
		if rng.Intn(4) == 0 {
			tornAfter = rng.Intn(6)
		}
		for n := 0; ; n++ {
			step := fmt.Sprintf("s%d", rng.Intn(5))
			ack(Event{Type: EventStepStarted, Step: step, Phase: "assess", Command: "run"})
			ack(Event{Type: EventOutput, Step: step, Lines: []string{"line"}})
			if n == tornAfter {
				// Simulate a write torn by the crash: half a line, then wait to be killed.
				f, err := os.OpenFile(j.Path(), os.O_WRONLY|os.O_APPEND, 0)
				if err == nil {
					_, _ = f.WriteString(`{"seq":999999,"time":"2026-11-25T20:`)
					_ = f.Sync()
				}
				fmt.Fprintln(out, "torn")
				out.Flush()
				select {}
			}
			ack(Event{Type: EventStepFinished, Step: step, Exit: 0, Duration: time.Millisecond})
		}
	}
}

func helperCmd(t *testing.T, mode, root, id string, seed int64) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "DRNAV_ROOT="+root, "DRNAV_ID="+id, fmt.Sprint("DRNAV_SEED=", seed), "GORACE=atexit_sleep_ms=0")
	return cmd
}

// closedIncident declares a live outage incident in a new folder and closes
// its journal (no driver holds it), returning the folder and the id.
func closedIncident(t *testing.T) (root, id string) {
	t.Helper()
	root = t.TempDir()
	j, err := Create(root, outageDeclared(ModeLive))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return root, j.ID()
}

func TestLockContention(t *testing.T) {
	t.Parallel()
	root, id := closedIncident(t)
	cmd := helperCmd(t, "lock", root, id, 0)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("child: %q %v", line, err)
	}
	_, err = Acquire(root, id)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("acquire while child holds it: %v", err)
	}
	if le.PID != cmd.Process.Pid || le.Since.IsZero() {
		t.Errorf("locked error = %+v, want pid %d", le, cmd.Process.Pid)
	}
	if !strings.Contains(le.Error(), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("message %q lacks the pid", le.Error())
	}
	if _, _, _, err := Open(root, id); !errors.As(err, &le) {
		t.Errorf("open while locked: %v", err)
	}
	if info, driven := Driver(root, id); !driven || info.PID != cmd.Process.Pid {
		t.Errorf("driver = %+v %v", info, driven)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	l, err := Acquire(root, id)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

// TestCrashSafety SIGKILLs a writer child at random points, again and again,
// on the same journal: every event the child acknowledged must be there,
// the journal must open, and no step may be left running.
// Two lanes, each on its own journal, share the 200 runs to keep the test
// short on two cores.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for lane := range 2 {
		t.Run(fmt.Sprint("lane", lane), func(t *testing.T) {
			t.Parallel()
			crashLane(t, int64(42+lane), 100)
		})
	}
}

func crashLane(t *testing.T, seed int64, runs int) {
	root, id := closedIncident(t)
	rng := rand.New(rand.NewSource(seed))
	acked := map[int]bool{}
	torn := 0
	for run := 0; run < runs; run++ {
		cmd := helperCmd(t, "write", root, id, rng.Int63())
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// Wait for the child's first acknowledgement, then kill it after a
		// random delay of microseconds to milliseconds.
		first := true
		deadline := time.After(90 * time.Second)
		for first {
			select {
			case l := <-lines:
				handleLine(t, l, acked, &torn)
				first = false
			case <-done:
				t.Fatalf("run %d: child exited before acknowledging anything", run)
			case <-deadline:
				t.Fatalf("run %d: child never acknowledged", run)
			}
		}
		time.Sleep(time.Duration(rng.Intn(3000)) * time.Microsecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		_ = cmd.Wait()
		close(lines)
		for l := range lines {
			handleLine(t, l, acked, &torn)
		}

		j, st, _, err := Open(root, id)
		if err != nil {
			t.Fatalf("run %d: open after kill: %v", run, err)
		}
		for stepID, s := range st.Steps {
			if s.Status == StepRunning {
				t.Fatalf("run %d: step %s running after reopen", run, stepID)
			}
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
	_, events, warns, err := Read(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings after all runs (torn tails must have been truncated): %v", warns)
	}
	have := map[int]bool{}
	for _, ev := range events {
		have[ev.Seq] = true
	}
	for seq := range acked {
		if !have[seq] {
			t.Errorf("acknowledged event %d lost", seq)
		}
	}
	if len(acked) < runs {
		t.Errorf("only %d acknowledgements over %d runs", len(acked), runs)
	}
	t.Logf("%d runs, %d acknowledged events, %d torn writes, %d events in the journal", runs, len(acked), torn, len(events))
}

func handleLine(t *testing.T, l string, acked map[int]bool, torn *int) {
	t.Helper()
	switch {
	case strings.HasPrefix(l, "ack "):
		n, err := strconv.Atoi(strings.TrimPrefix(l, "ack "))
		if err != nil {
			t.Fatalf("bad ack %q", l)
		}
		acked[n] = true
	case l == "torn":
		*torn++
	case strings.HasPrefix(l, "error"):
		t.Fatalf("child: %s", l)
	}
}

func TestOperatorWithoutUserVariables(t *testing.T) {
	t.Setenv("USER", "")
	t.Setenv("LOGNAME", "")
	if got := currentUser(); got == "" {
		t.Fatal("no operator when $USER and $LOGNAME are unset (cron, some tmux sessions)")
	}
}

// Events out of sequence make the journal refused, never silently skipped;
// a gap left by a skipped garbage line is tolerated.
func TestSeqValidated(t *testing.T) {
	t.Parallel()
	decl := `{"seq":1,"time":"2026-11-25T20:00:00Z","type":"declared","declared":{"runbook_id":"rb","mode":"live"}}` + "\n"
	note := func(seq string) string {
		return `{"seq":` + seq + `,"time":"2026-11-25T20:01:00Z","type":"note","text":"n"}` + "\n"
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"overflow", decl + note("9223372036854775807"), "out of range"},
		{"negative", decl + note("-3"), "out of range"},
		{"repeat", decl + note("2") + note("2"), "out of order"},
		{"gap", decl + note("2") + note("5"), "2 events missing"},
		{"gap after garbage", decl + "garbage\n" + note("3"), ""},
	} {
		root := t.TempDir()
		id := "inc"
		if err := os.MkdirAll(filepath.Join(root, id), 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(root, id, JournalName)
		if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, _, rerr := Read(root, id)
		j, _, _, oerr := Open(root, id)
		if tc.want == "" {
			if rerr != nil || oerr != nil {
				t.Errorf("%s: read %v, open %v", tc.name, rerr, oerr)
			}
			if j != nil {
				j.Close()
			}
			continue
		}
		var ce *CorruptError
		if !errors.As(rerr, &ce) || !strings.Contains(rerr.Error(), tc.want) {
			t.Errorf("%s: read error %v, want %q", tc.name, rerr, tc.want)
		}
		if !errors.As(oerr, &ce) {
			t.Errorf("%s: open error %v", tc.name, oerr)
		}
		if j != nil {
			j.Close()
		}
		if b, _ := os.ReadFile(path); string(b) != tc.body {
			t.Errorf("%s: a refused journal was written to", tc.name)
		}
	}
}

// A complete last event without its newline is kept (and the line ended
// before the next append); a byte-order mark is skipped.
func TestLastLineWithoutNewlineAndBOM(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	id := "inc"
	if err := os.MkdirAll(filepath.Join(root, id), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, id, JournalName)
	body := "\xEF\xBB\xBF" + `{"seq":1,"time":"2026-11-25T20:00:00Z","type":"declared","declared":{"runbook_id":"rb","mode":"live"}}` + "\n" +
		`{"seq":2,"time":"2026-11-25T20:01:00Z","type":"step_started","step":"a"}` + "\n" +
		`{"seq":3,"time":"2026-11-25T20:02:00Z","type":"step_finished","step":"a"}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := List(root)
	if err != nil || len(list) != 1 || list[0].RunbookID != "rb" {
		t.Fatalf("list %+v %v", list, err)
	}
	j, st, _, err := Open(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status("a") != StepDone {
		t.Errorf("step a is %s, want done (its finish was the last line)", st.Status("a"))
	}
	if err := j.Append(Event{Type: EventNote, Text: "after"}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	st2, events, warns, err := Read(root, id)
	if err != nil || len(warns) != 0 || st2.Status("a") != StepDone || events[len(events)-1].Text != "after" {
		t.Errorf("after reopen: %v %v %v %+v", st2.Status("a"), warns, err, events)
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", ".", "..", "a/b", "../x", ".hidden", "-flag", "a\x00b", "a\nb", strings.Repeat("x", 201)} {
		if ValidID(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
		if _, _, _, err := Open(t.TempDir(), bad); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
	for _, good := range []string{"20261125-2003-database-corruption", "inc-2", "x"} {
		if err := ValidID(good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}
