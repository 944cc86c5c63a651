package steps

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drnav/drnav/internal/proctest"
	"github.com/drnav/drnav/runbooks"
)

// collect reads every event of a run until the channel closes.
func collect(t *testing.T, r *Run) []Event {
	t.Helper()
	var evs []Event
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev, ok := <-r.Events():
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-timeout:
			t.Fatal("run did not finish within 60s")
		}
	}
}

func finished(t *testing.T, evs []Event) Event {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	last := evs[len(evs)-1]
	if last.Kind != EventFinished {
		t.Fatalf("last event is %s, want finished", last.Kind)
	}
	for _, e := range evs[:len(evs)-1] {
		if e.Kind == EventFinished {
			t.Fatal("finished event before the last one")
		}
	}
	return last
}

func lines(evs []Event) []Line {
	var out []Line
	for _, e := range evs {
		out = append(out, e.Lines...)
	}
	return out
}

func shellStep(cmd string) runbooks.Step {
	return runbooks.Step{ID: "s", Title: "shell", Run: cmd}
}

func TestShellExitCodesAndStreams(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		cmd      string
		code     int
		stdout   []string
		stderr   []string
		errMatch string
	}{
		{name: "ok", cmd: "echo hello; echo world", code: 0, stdout: []string{"hello", "world"}},
		{name: "exit code", cmd: "echo out; echo err >&2; exit 3", code: 3, stdout: []string{"out"}, stderr: []string{"err"}, errMatch: "code 3"},
		{name: "pipefail", cmd: "false | true", code: 1, errMatch: "code 1"},
		{name: "no trailing newline", cmd: "printf 'a\\nb'", code: 0, stdout: []string{"a", "b"}},
		{name: "killed by signal", cmd: "kill -9 $$", code: 137},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			evs := collect(t, Start(context.Background(), shellStep(tc.cmd), Target{}))
			if evs[0].Kind != EventStarted || evs[0].Command != tc.cmd {
				t.Fatalf("first event %+v, want started with the command", evs[0])
			}
			fin := finished(t, evs)
			if fin.ExitCode != tc.code {
				t.Fatalf("exit %d, want %d (err %q)", fin.ExitCode, tc.code, fin.Err)
			}
			if tc.errMatch != "" && !strings.Contains(fin.Err, tc.errMatch) {
				t.Fatalf("err %q, want it to contain %q", fin.Err, tc.errMatch)
			}
			var out, errs []string
			for _, l := range lines(evs) {
				if l.Stream == Stdout {
					out = append(out, l.Text)
				} else {
					errs = append(errs, l.Text)
				}
			}
			if strings.Join(out, "|") != strings.Join(tc.stdout, "|") {
				t.Fatalf("stdout %q, want %q", out, tc.stdout)
			}
			if strings.Join(errs, "|") != strings.Join(tc.stderr, "|") {
				t.Fatalf("stderr %q, want %q", errs, tc.stderr)
			}
			if fin.TotalLines != int64(len(tc.stdout)+len(tc.stderr)) {
				t.Fatalf("total lines %d", fin.TotalLines)
			}
		})
	}
}

func TestShellEnvDirAndBatching(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tg := Target{Env: []string{"DRNAV_X=42"}, Dir: dir}
	evs := collect(t, Start(context.Background(), shellStep(`echo "$DRNAV_X"; pwd; seq 1 2000`), tg))
	fin := finished(t, evs)
	if fin.ExitCode != 0 {
		t.Fatalf("exit %d %s", fin.ExitCode, fin.Err)
	}
	ls := lines(evs)
	if ls[0].Text != "42" || ls[1].Text != dir {
		t.Fatalf("env/dir lines %q %q", ls[0].Text, ls[1].Text)
	}
	if len(ls) != 2002 || fin.TotalLines != 2002 {
		t.Fatalf("got %d lines, total %d", len(ls), fin.TotalLines)
	}
	outputs := 0
	for _, e := range evs {
		if e.Kind == EventOutput {
			outputs++
		}
	}
	if outputs > 2002/FlushLines+10 || outputs < 1 {
		t.Fatalf("%d output events for 2002 lines: not batched", outputs)
	}
}

func TestShellTimeout(t *testing.T) {
	t.Parallel()
	st := shellStep("echo started; sleep 30")
	st.Timeout = runbooks.Duration{Duration: 300 * time.Millisecond}
	fin := finished(t, collect(t, Start(context.Background(), st, Target{})))
	if fin.ExitCode != ExitTimeout {
		t.Fatalf("exit %d, want 124 (%s)", fin.ExitCode, fin.Err)
	}
	if !strings.Contains(fin.Err, "timed out") {
		t.Fatalf("err %q", fin.Err)
	}
}

func TestShellCancelKillsGrandchildren(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	// A grandchild that ignores SIGTERM, in the background, then a wait.
	cmd := `(trap '' TERM; sleep 300 & echo $! > ` + pidFile + `.tmp; mv ` + pidFile + `.tmp ` + pidFile + `; wait) & echo ready; wait`
	r := Start(context.Background(), shellStep(cmd), Target{})
	pid := proctest.PIDFile(t, pidFile, 20*time.Second)
	if proctest.Gone(pid) {
		t.Fatal("grandchild not running before cancel")
	}
	r.Cancel()
	fin := finished(t, collect(t, r))
	if fin.ExitCode != ExitCancelled {
		t.Fatalf("exit %d, want 130 (%s)", fin.ExitCode, fin.Err)
	}
	proctest.WaitGone(t, pid, 10*time.Second, "the grandchild, after the cancel,")
}

func TestShellShowOnlyAndDryRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	st := shellStep("touch " + marker)
	st.ID = "rb/touch"

	evs := collect(t, Start(context.Background(), st, Target{ShellMode: ShellShowOnly}))
	fin := finished(t, evs)
	if !evs[0].ShownOnly || fin.ExitCode != 0 || fin.Err != "" {
		t.Fatalf("show only: started %+v finished %+v", evs[0], fin)
	}
	if ls := lines(evs); len(ls) != 1 || !strings.Contains(ls[0].Text, "shown, not run") {
		t.Fatalf("show only lines %+v", ls)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("show-only step ran")
	}

	evs = collect(t, Start(context.Background(), st, Target{DryRun: true}))
	if fin := finished(t, evs); !evs[0].DryRun || fin.ExitCode != 0 {
		t.Fatalf("dry run: %+v %+v", evs[0], fin)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("dry-run step ran")
	}

	allow := func(id string) bool { return id == "rb/touch" }
	fin = finished(t, collect(t, Start(context.Background(), st, Target{ShellMode: ShellShowOnly, AllowShell: allow})))
	if fin.ExitCode != 0 || fin.ShownOnly {
		t.Fatalf("allowed: %+v", fin)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("allowed step did not run")
	}
}

func TestUnknownPlaceholderFails(t *testing.T) {
	t.Parallel()
	fin := finished(t, collect(t, Start(context.Background(), shellStep("echo {{nope}}"), Target{Vars: map[string]string{"x": "1"}})))
	if fin.ExitCode != ExitFailed || !strings.Contains(fin.Err, "{{nope}}") {
		t.Fatalf("%+v", fin)
	}
}

func TestShellCommandQuoting(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cmd     string
		vars    map[string]string
		want    string
		wantErr string
	}{
		{cmd: "echo {{a}}", vars: map[string]string{"a": "x; rm -rf /"}, want: "echo 'x; rm -rf /'"},
		{cmd: "echo {{ a }}", vars: map[string]string{"a": "plain"}, want: "echo plain"},
		{cmd: "echo '{{a}}'", vars: map[string]string{"a": "x"}, wantErr: "inside single quotes"},
		{cmd: `echo "{{a}}"`, vars: map[string]string{"a": "x"}, wantErr: "inside double quotes"},
		{cmd: "echo {{b}}", vars: map[string]string{"a": "x"}, wantErr: "unknown placeholder {{b}}"},
		{cmd: "echo {{a}}", vars: map[string]string{"a": "x\x00y"}, wantErr: "NUL"},
		{cmd: `echo $'it\'s {{a}}'`, vars: map[string]string{"a": "x"}, wantErr: "ANSI-C quotes"},
		{cmd: `echo "$(printf %s {{a}})"`, vars: map[string]string{"a": "$(id) x"}, want: `echo "$(printf %s '$(id) x')"`},
	}
	for _, tc := range cases {
		got, err := ShellCommand(tc.cmd, tc.vars)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.cmd, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.cmd, got, err, tc.want)
		}
	}
}

func TestExpandEveryField(t *testing.T) {
	t.Parallel()
	n := 2
	st := runbooks.Step{ID: "x", Title: "scale {{dep}}",
		K8s:    &runbooks.K8sAction{Action: "scale", Deployment: "{{dep}}", Namespace: "{{ns}}", Replicas: &n},
		Verify: &runbooks.Verify{Deployment: "{{dep}}", PodsReady: "app={{dep}}"}}
	got, err := Expand(st, map[string]string{"dep": "web", "ns": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if got.K8s.Deployment != "web" || got.K8s.Namespace != "prod" || got.Verify.PodsReady != "app=web" || got.Title != "scale web" {
		t.Fatalf("%+v %+v", got.K8s, got.Verify)
	}
	if st.K8s.Deployment != "{{dep}}" {
		t.Fatal("Expand changed its input")
	}
	if _, err := Expand(runbooks.Step{ID: "y", SQL: &runbooks.SQLAction{Action: "query", Query: "select {{q}}"}}, nil); err == nil {
		t.Fatal("unknown placeholder in sql accepted")
	}
}

func TestInteractive(t *testing.T) {
	t.Parallel()
	st := shellStep("exit {{code}}")
	st.Interactive = true
	cmd, cleanup, err := InteractiveCommand(st, Target{Vars: map[string]string{"code": "7"}})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	started := time.Now()
	ev := FinishInteractive(cmd.Run(), started)
	if ev.Kind != EventFinished || ev.ExitCode != 7 {
		t.Fatalf("%+v", ev)
	}
	if _, _, err := InteractiveCommand(st, Target{ShellMode: ShellShowOnly}); err != ErrShownOnly {
		t.Fatalf("show only: %v", err)
	}
	if ev := FinishInteractive(nil, started); ev.ExitCode != 0 || ev.Err != "" {
		t.Fatalf("%+v", ev)
	}
}

func TestSlowConsumerCoalesces(t *testing.T) {
	t.Parallel()
	r := Start(context.Background(), shellStep("seq 1 50000"), Target{})
	fin := r.Wait() // nobody reads events while the step runs
	if fin.ExitCode != 0 || fin.TotalLines != 50000 {
		t.Fatalf("%+v", fin)
	}
	evs := collect(t, r)
	finished(t, evs)
	ls := lines(evs)
	if len(ls) == 0 || ls[len(ls)-1].Text != "50000" {
		t.Fatalf("last line not delivered (%d lines)", len(ls))
	}
	if len(evs) > 200 {
		t.Fatalf("%d events queued for a slow consumer: not coalesced", len(evs))
	}
	tail := r.Tail(3)
	if len(tail) != 3 || tail[2].Text != "50000" || tail[0].Text != "49998" {
		t.Fatalf("tail %+v", tail)
	}
}

func TestRingBounds(t *testing.T) {
	t.Parallel()
	var g ring
	for i := 0; i < RingLines*2; i++ {
		g.add(Line{Text: strconv.Itoa(i)})
	}
	if g.n != RingLines || g.tail(1)[0].Text != strconv.Itoa(RingLines*2-1) {
		t.Fatalf("n %d", g.n)
	}
	big := strings.Repeat("x", 1<<20)
	for i := 0; i < 10; i++ {
		g.add(Line{Text: big})
	}
	if g.bytes > RingBytes {
		t.Fatalf("ring holds %d bytes", g.bytes)
	}
}

func BenchmarkFlood(b *testing.B) {
	b.ReportAllocs()
	var retained int
	for i := 0; i < b.N; i++ {
		r := Start(context.Background(), shellStep("seq 1 1000000"), Target{})
		var n int
		for ev := range r.Events() {
			n += len(ev.Lines)
			if ev.Kind == EventFinished && ev.TotalLines != 1000000 {
				b.Fatalf("total %d", ev.TotalLines)
			}
		}
		retained = r.Retained()
		if len(r.Tail(RingLines+1)) > RingLines {
			b.Fatal("ring unbounded")
		}
	}
	b.ReportMetric(float64(retained), "retained-B")
	b.ReportMetric(float64(RingLines), "max-lines")
}

// TestSecretVariablesReachShellThroughTheEnvironment: a secret placeholder
// becomes a quoted "$DRNAV_VAR_name" reference, the value travels in the
// environment, and the bash command line (visible to every account in
// /proc/PID/cmdline) never holds it; the value still works in the command,
// spaces and quotes included.
func TestSecretVariablesReachShellThroughTheEnvironment(t *testing.T) {
	t.Parallel()
	secret := `s3cr3t 'with' "quotes" $(id)`
	dir := t.TempDir()
	st := shellStep(`tr '\0' ' ' < /proc/$$/cmdline > ` + filepath.Join(dir, "cmdline") + `; printf '%s' {{tok}} | wc -c; [ {{tok}} = "$DRNAV_VAR_tok" ] && echo same; echo {{plain}}`)
	tg := Target{Vars: map[string]string{"tok": secret, "plain": "visible"}, Secrets: []string{"tok"}}
	evs := collect(t, Start(context.Background(), st, tg))
	if fin := finished(t, evs); fin.ExitCode != 0 {
		t.Fatalf("exit %d: %s %v", fin.ExitCode, fin.Err, lines(evs))
	}
	var out []string
	for _, l := range lines(evs) {
		out = append(out, strings.TrimSpace(l.Text))
	}
	if got := strings.Join(out, "|"); got != strconv.Itoa(len(secret))+"|same|visible" {
		t.Errorf("output %q", got)
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), "s3cr3t") || !strings.Contains(string(cmdline), `"$DRNAV_VAR_tok"`) {
		t.Errorf("bash command line: %q", cmdline)
	}
	if evs[0].Kind != EventStarted || strings.Contains(evs[0].Command, "s3cr3t") || !strings.Contains(evs[0].Command, "visible") {
		t.Errorf("started command %q", evs[0].Command)
	}
	st.Interactive = true
	cmd, cleanup, err := InteractiveCommand(st, tg)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if strings.Contains(strings.Join(cmd.Args, " "), "s3cr3t") {
		t.Errorf("interactive argv holds the secret: %q", cmd.Args)
	}
	if SecretEnvName("db.pass-word") != "DRNAV_VAR_db_pass_word" {
		t.Errorf("SecretEnvName = %s", SecretEnvName("db.pass-word"))
	}
}

// TestBackgroundHolderDoesNotHoldTheStep: a background process that keeps
// the output pipe open after the shell exits gets a short grace, not the
// step: the step ends with the shell (the drain of a gone group is bounded
// separately).
func TestBackgroundHolderDoesNotHoldTheStep(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	r := Start(context.Background(), shellStep("sleep 600 & echo $! > "+pidFile+"; echo started"), Target{})
	done := make(chan Event, 1)
	go func() { done <- r.Wait() }()
	select {
	case fin := <-done:
		if fin.ExitCode != 0 {
			t.Fatalf("%+v", fin)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the step waited for its background process")
	}
	ls := lines(collect(t, r))
	if len(ls) == 0 || ls[0].Text != "started" {
		t.Fatalf("output %+v", ls)
	}
}
