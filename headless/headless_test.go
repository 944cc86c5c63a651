package headless

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drnav/drnav/incident"
	"github.com/drnav/drnav/runbooks"
	"github.com/drnav/drnav/steps"
)

const testRunbook = `
id = "t"
title = "Test"
impact = "none"

[[variables]]
name = "word"
prompt = "a word"
default = "hello; touch pwned"

[[variables]]
name = "token"
prompt = "a secret"
secret = true

[[phases]]
id = "one"
title = "One"
budget = "15m"

[[steps]]
id = "echo"
title = "Echo the word"
phase = "one"
why = "to see it"
run = "echo {{word}}"

[[steps]]
id = "manual"
title = "Call someone"
phase = "one"
manual = "call"

[[steps]]
id = "change"
title = "Change something"
phase = "one"
why = "because"
destructive = true
run = "echo changed; echo {{token}}"
`

func load(t *testing.T, text string) *runbooks.Runbook {
	t.Helper()
	rb, err := runbooks.LoadFile("t.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func TestRunRefusesAndSucceeds(t *testing.T) {
	t.Parallel()
	rb := load(t, testRunbook)
	root := t.TempDir()
	dir := t.TempDir()
	vars, err := ResolveVars(context.Background(), rb, map[string]string{"token": "s3cr3t-value"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := Options{Runbook: rb, JournalRoot: root, Mode: incident.ModeLive, Vars: vars,
		Target: steps.Target{Dir: dir}}

	// Manual step without --skip-manual: refused after the first step ran.
	var out bytes.Buffer
	o := base
	o.Out = &out
	res, err := Run(context.Background(), o)
	if !errors.Is(err, ErrRefused) || res.Refused != "manual" {
		t.Fatalf("err=%v refused=%q, want manual refused\n%s", err, res.Refused, out.String())
	}
	if res.State.Status("echo") != incident.StepDone {
		t.Errorf("echo status %v", res.State.Status("echo"))
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatal("a variable value ran as code")
	}
	if !strings.Contains(out.String(), "hello; touch pwned") {
		t.Errorf("output lacks the quoted word:\n%s", out.String())
	}

	// With --skip-manual the destructive step is refused unless allowed.
	o = base
	o.SkipManual = true
	out.Reset()
	o.Out = &out
	res, err = Run(context.Background(), o)
	if !errors.Is(err, ErrRefused) || res.Refused != "change" {
		t.Fatalf("err=%v refused=%q, want change refused", err, res.Refused)
	}

	o.AllowDestructive = []string{"change"}
	out.Reset()
	res, err = Run(context.Background(), o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !res.State.Resolved || res.State.Status("manual") != incident.StepSkipped {
		t.Errorf("resolved=%v manual=%v", res.State.Resolved, res.State.Status("manual"))
	}
	// The secret never reaches the screen or the journal.
	if strings.Contains(out.String(), "s3cr3t-value") {
		t.Errorf("secret printed:\n%s", out.String())
	}
	b, err := os.ReadFile(filepath.Join(root, res.ID, incident.JournalName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cr3t-value") {
		t.Error("secret in the journal")
	}
}

func TestFailedStepStopsTheRun(t *testing.T) {
	t.Parallel()
	rb := load(t, `
id = "f"
title = "F"
impact = "x"
[[steps]]
id = "bad"
title = "Fails"
run = "echo before; exit 3"
[[steps]]
id = "after"
title = "Never"
run = "echo after"
`)
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Runbook: rb, JournalRoot: t.TempDir(), Mode: incident.ModeLive,
		Vars: map[string]string{}, Out: &out, Now: func() time.Time { return time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC) }})
	if !errors.Is(err, ErrStepFailed) || res.Failed != "bad" {
		t.Fatalf("err=%v failed=%q", err, res.Failed)
	}
	st := res.State.Step("bad")
	if st.Exit != 3 || res.State.Status("after") != incident.StepPending {
		t.Errorf("bad exit %d, after %v", st.Exit, res.State.Status("after"))
	}
	if !strings.Contains(out.String(), "✗ 1/2 bad failed (exit 3") {
		t.Errorf("progress:\n%s", out.String())
	}
}

func TestResolveVars(t *testing.T) {
	t.Parallel()
	rb := load(t, `
id = "v"
title = "V"
impact = "x"
[[variables]]
name = "deployment"
prompt = "d"
config = "deployment"
default = "fallback"
[[variables]]
name = "pod"
prompt = "p"
source = "pods:unready"
[[variables]]
name = "n"
prompt = "a number"
pattern = "[0-9]+"
default = "3"
[[steps]]
id = "s"
title = "S"
run = "echo {{deployment}} {{pod}} {{n}}"
`)
	choices := func(_ context.Context, source string) ([]string, error) {
		if source != "pods:unready" {
			t.Errorf("source %q", source)
		}
		return []string{"crashing-1", "crashing-2"}, nil
	}
	got, err := ResolveVars(context.Background(), rb, nil, map[string]string{"deployment": "from-config"}, choices)
	if err != nil {
		t.Fatal(err)
	}
	if got["deployment"] != "from-config" || got["pod"] != "crashing-1" || got["n"] != "3" {
		t.Errorf("got %v", got)
	}
	if _, err := ResolveVars(context.Background(), rb, map[string]string{"n": "x"}, nil, choices); err == nil {
		t.Error("pattern violation: want an error")
	}
	if _, err := ResolveVars(context.Background(), rb, map[string]string{"nope": "x"}, nil, choices); err == nil || !strings.Contains(err.Error(), "no variable nope") {
		t.Errorf("unknown var: %v", err)
	}
	if _, err := ResolveVars(context.Background(), rb, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "--var pod=") {
		t.Errorf("missing var: %v", err)
	}
	if _, err := ParseVars([]string{"novalue"}); err == nil {
		t.Error("ParseVars: want an error for a flag without =")
	}
}

func TestReadVarSources(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "secret")
	os.WriteFile(f, []byte("from-file\n"), 0o600)
	env := map[string]string{"SRC": "from-env"}
	got, err := ReadVarSources([]string{"a=SRC"}, []string{"b=" + f, "c=-"}, func(k string) string { return env[k] }, strings.NewReader("line1\nline2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got["a"] != "from-env" || got["b"] != "from-file" || got["c"] != "line1\nline2" {
		t.Errorf("got %q", got)
	}
	os.Chmod(f, 0o640)
	if _, err := ReadVarSources(nil, []string{"b=" + f}, nil, nil); err == nil || !strings.Contains(err.Error(), "readable by group or others") {
		t.Errorf("group-readable file: %v", err)
	}
	if _, err := ReadVarSources([]string{"a=NOPE"}, nil, func(string) string { return "" }, nil); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("unset env: %v", err)
	}
	if _, err := ReadVarSources([]string{"a=SRC", "a=SRC"}, nil, func(k string) string { return env[k] }, nil); err == nil {
		t.Error("a variable set twice accepted")
	}
}
