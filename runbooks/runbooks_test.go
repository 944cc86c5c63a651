package runbooks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/drnav/drnav/config"
)

func TestShippedRunbooksLintClean(t *testing.T) {
	t.Parallel()
	rbs, findings := LintPaths(nil, LintOptions{Now: testNow, Strict: true})
	for _, f := range findings {
		t.Errorf("finding: %s", formatFinding(f))
	}
	var ids []string
	for _, rb := range rbs {
		ids = append(ids, rb.ID)
	}
	want := []string{"annual-audit", "application-failure", "backup-verification", "communication-plan",
		"complete-outage", "data-center-failure", "database-corruption", "monthly-dr-drill", "network-failure"}
	slices.Sort(ids)
	if !slices.Equal(ids, want) {
		t.Fatalf("shipped ids = %v, want %v", ids, want)
	}
}

func TestEmbedded(t *testing.T) {
	t.Parallel()
	rbs, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	same, err := Load("")
	if err != nil || len(same) != len(rbs) {
		t.Fatalf("Load(\"\") = %d runbooks, %v; want %d", len(same), err, len(rbs))
	}
	docs := []string{"RUNBOOK_OPERATIONS.md", "SECURITY_BEST_PRACTICES.md", "PRODUCTION_DEPLOYMENT.md"}
	for _, rb := range rbs {
		t.Run(rb.ID, func(t *testing.T) {
			if rb.File != EmbeddedPrefix+rb.ID+".toml" {
				t.Errorf("File = %q, want %q", rb.File, EmbeddedPrefix+rb.ID+".toml")
			}
			if rb.Version != "1.0" || rb.LastUpdated != "2025-01-01" || rb.NextReview != "2027-04-01" {
				t.Errorf("version/dates = %q %q %q", rb.Version, rb.LastUpdated, rb.NextReview)
			}
			if !slices.Equal(rb.Related, docs) {
				t.Errorf("related = %v", rb.Related)
			}
			isScenario := slices.Contains(KnownScenarios(), rb.ID)
			if isScenario && rb.Scenario != rb.ID || !isScenario && rb.Scenario != "" {
				t.Errorf("scenario = %q", rb.Scenario)
			}
			if rb.Line < 1 {
				t.Errorf("runbook line = %d", rb.Line)
			}
			for i, s := range rb.Steps {
				if s.Line <= rb.Line {
					t.Errorf("step %s line = %d", s.ID, s.Line)
				}
				if i > 0 && s.Line <= rb.Steps[i-1].Line {
					t.Errorf("step %s line %d not after the previous step's", s.ID, s.Line)
				}
				if s.Why == "" || s.Expect == "" {
					t.Errorf("step %s lacks why or expect", s.ID)
				}
				if n := len(s.Hints); n < 1 || n > 3 {
					t.Errorf("step %s has %d hints, want 1-3", s.ID, n)
				}
				if !slices.ContainsFunc(s.Hints, func(h Hint) bool { return h.When == "" }) {
					t.Errorf("step %s has only conditional hints: one must hold in every case", s.ID)
				}
				if s.Kind() == ActionSQL && s.SQL.Action == SQLRestore && s.SQL.Method != RestoreScratch && !s.Critical {
					t.Errorf("restore step %s is not critical (only a scratch restore, which changes nothing, may be)", s.ID)
				}
				if s.Kind() == ActionShell && strings.Contains(s.Run, "exec -it") != s.Interactive {
					t.Errorf("step %s: exec -it and interactive disagree", s.ID)
				}
				if _, err := ShellRefs(s.Run); s.Kind() == ActionShell && err != nil {
					t.Errorf("step %s: %v", s.ID, err)
				}
			}
			for _, v := range rb.Variables {
				if v.Line <= rb.Line {
					t.Errorf("variable %s line = %d", v.Name, v.Line)
				}
			}
		})
	}
}

// summarize writes a typed step as "verb field=value … [destructive] [critical]".
func summarize(s *Step) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	addInt := func(k string, v *int) {
		if v != nil {
			parts = append(parts, fmt.Sprintf("%s=%d", k, *v))
		}
	}
	verify := func(prefix string, v *Verify) {
		if v == nil {
			return
		}
		add(prefix+"context", v.Context)
		add(prefix+"deployment", v.Deployment)
		addInt(prefix+"replicas", v.Replicas)
		addInt(prefix+"ready", v.Ready)
		add(prefix+"pods_ready", v.PodsReady)
		add(prefix+"no_crashloop", v.NoCrashLoop)
	}
	switch s.Kind() {
	case ActionK8s:
		a := s.K8s
		parts = append(parts, "k8s", a.Action)
		add("deployment", a.Deployment)
		addInt("replicas", a.Replicas)
		add("pod", a.Pod)
		add("selector", a.Selector)
		add("path", a.Path)
		add("policy", a.Policy)
		add("context", a.Context)
	case ActionSQL:
		a := s.SQL
		parts = append(parts, "sql", a.Action)
		add("file", a.File)
		add("database", a.Database)
		add("method", a.Method)
		if a.ReportOnly {
			parts = append(parts, "report_only")
		}
	case ActionWait:
		parts = append(parts, "wait")
		verify("", s.Wait)
	default:
		return ""
	}
	verify("verify.", s.Verify)
	if s.Destructive {
		parts = append(parts, "destructive")
	}
	if s.Critical {
		parts = append(parts, "critical")
	}
	return strings.Join(parts, " ")
}

// TestScenarioContract pins the typed steps of the scenario runbooks to
// /work/brief/SCENARIOS.md, which the drill simulator is built against.
func TestScenarioContract(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"data-center-failure": {
			"k8s apply path={{failover_manifests}} context=failover destructive",
			"k8s rollout-status deployment={{deployment}} context=failover",
			"sql restore file={{backup}} method=load destructive critical",
			"sql amcheck",
			"wait context=failover pods_ready={{app_label}}",
		},
		"database-corruption": {
			"sql amcheck report_only",
			"k8s scale deployment={{deployment}} replicas=0 verify.replicas=0 destructive",
			"sql restore file={{backup}} method=swap destructive critical",
			"sql amcheck",
			"k8s scale deployment={{deployment}} replicas=3 verify.ready=3 destructive",
		},
		"application-failure": {
			"k8s list-pods selector={{app_label}}",
			"k8s delete-pod pod={{failing_pod}} destructive",
			"k8s undo deployment={{deployment}} destructive",
			"k8s rollout-status deployment={{deployment}}",
			"k8s restart deployment={{deployment}} destructive",
			"k8s rollout-status deployment={{deployment}}",
			"wait pods_ready={{app_label}} no_crashloop={{app_label}}",
		},
		"network-failure": {
			"k8s list-networkpolicies",
			"k8s delete-networkpolicy policy={{policy}} destructive",
			"k8s apply path={{network_policy}} destructive",
		},
		"complete-outage": {
			"k8s list-pods",
			"k8s scale deployment={{db_deployment}} replicas=1 verify.ready=1 destructive",
			"sql restore file={{backup}} method=swap destructive critical",
			"sql amcheck",
			"k8s scale deployment={{deployment}} replicas=3 verify.ready=3 destructive",
			"k8s rollout-status deployment={{deployment}}",
		},
	}
	rbs, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, rb := range rbs {
		w, ok := want[rb.Scenario]
		if !ok {
			continue
		}
		var got []string
		for i := range rb.Steps {
			if s := summarize(&rb.Steps[i]); s != "" {
				got = append(got, s)
			}
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s typed steps:\n%s\nwant:\n%s", rb.ID, strings.Join(got, "\n"), strings.Join(w, "\n"))
		}
	}
	// Live-source variables the scenarios rely on.
	sources := map[string]map[string]string{
		"application-failure": {"failing_pod": SourceUnreadyPods},
		"network-failure":     {"policy": SourceNetworkPolicies, "pod": SourcePods},
	}
	byID := map[string]*Runbook{}
	for _, rb := range rbs {
		byID[rb.ID] = rb
	}
	for id, vars := range sources {
		for name, src := range vars {
			v, ok := byID[id].VariableByName(name)
			if !ok || v.Source != src {
				t.Errorf("%s: variable %s = %+v, want source %q", id, name, v, src)
			}
		}
	}
	// Data-center failure: the DNS update is a manual step between amcheck and the final wait.
	dc := byID["data-center-failure"]
	dns := slices.IndexFunc(dc.Steps, func(s Step) bool { return s.Kind() == ActionManual && strings.Contains(s.Title, "DNS") })
	amcheck := slices.IndexFunc(dc.Steps, func(s Step) bool { return s.Kind() == ActionSQL && s.SQL.Action == SQLAmcheck })
	wait := slices.IndexFunc(dc.Steps, func(s Step) bool { return s.Kind() == ActionWait })
	if !(amcheck < dns && dns < wait) {
		t.Errorf("data-center-failure: DNS step at %d, want between amcheck %d and wait %d", dns, amcheck, wait)
	}
	// Complete outage: the five phases and the phase of each typed step.
	co := byID["complete-outage"]
	var phases []string
	for _, p := range co.Phases {
		phases = append(phases, p.ID+"="+FormatDuration(p.Budget.Duration))
	}
	if got := strings.Join(phases, " "); got != "assess=15m failover=30m restore=2h service=30m normal=30m" {
		t.Errorf("complete-outage phases = %s", got)
	}
	var typedPhases []string
	for i := range co.Steps {
		if summarize(&co.Steps[i]) != "" {
			typedPhases = append(typedPhases, co.Steps[i].Phase)
		}
	}
	if got := strings.Join(typedPhases, " "); got != "assess failover restore restore service service" {
		t.Errorf("complete-outage typed step phases = %s", got)
	}
}

// TestConfigKeys keeps ConfigKeys in step with config.Config.Values.
func TestConfigKeys(t *testing.T) {
	t.Parallel()
	var keys []string
	for k := range config.Default().Values() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mine := slices.Sorted(slices.Values(ConfigKeys()))
	if !slices.Equal(keys, mine) {
		t.Errorf("ConfigKeys() = %v, config.Values() keys = %v", mine, keys)
	}
}

const overdueRunbook = `id = "old"
title = "Old runbook"
version = "1.0"
last_updated = "2025-01-01"
next_review = "2025-04-01"

[[steps]]
id = "one"
title = "One"
manual = "x"
`

func TestReviewOverdue(t *testing.T) {
	t.Parallel()
	rb, err := LoadFile("old.toml", []byte(overdueRunbook))
	if err != nil {
		t.Fatalf("LoadFile: %v (an overdue review must not stop loading)", err)
	}
	tests := []struct {
		name   string
		now    time.Time
		strict bool
		want   []string
	}{
		{"before", time.Date(2025, 3, 31, 23, 59, 0, 0, time.UTC), false, nil},
		{"on the day", time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), false, []string{"warning: old.toml:5: next_review: review overdue since 2025-04-01"}},
		{"later", testNow, false, []string{"warning: old.toml:5: next_review: review overdue since 2025-04-01"}},
		{"strict", testNow, true, []string{"old.toml:5: next_review: review overdue since 2025-04-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, f := range Lint([]*Runbook{rb}, LintOptions{Now: tt.now, Strict: tt.strict}) {
				got = append(got, formatFinding(f))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings = %q, want %q", got, tt.want)
			}
			since, overdue := rb.ReviewOverdue(tt.now)
			if overdue != (tt.want != nil) {
				t.Errorf("ReviewOverdue = %v, %v", since, overdue)
			}
			if overdue && since.Format(time.DateOnly) != "2025-04-01" {
				t.Errorf("since = %v", since)
			}
		})
	}
	if _, overdue := (&Runbook{NextReview: "soon"}).ReviewOverdue(testNow); overdue {
		t.Error("an invalid next_review must not be overdue")
	}
}

func TestPlaceholders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"kubectl delete pod {{pod}} -n {{namespace}}", []string{"pod", "namespace"}},
		{"{{a}}{{b}}{{a}}", []string{"a", "b"}},
		{"{{1bad}} {{.go.template}} {{}} {{ a-b }} {{a.b}} {single}", nil},
		{"{{ spaced }} {{\ttab}} {{x }}", []string{"spaced", "tab", "x"}},
		{"{{{x}}}", []string{"x"}},
		{"{{a1}} {{_b}} {{c}}} {{d} {{e}}", []string{"a1", "_b", "c", "e"}},
		{"{{", nil},
	}
	for _, tt := range tests {
		if got := Placeholders(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Placeholders(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	got, err := Expand("kubectl delete pod {{pod}} -n {{ns}}", map[string]string{"pod": "a b", "ns": "it's"}, quote)
	if err != nil || got != `kubectl delete pod 'a b' -n 'it'\''s'` {
		t.Errorf("Expand = %q, %v", got, err)
	}
	got, err = Expand("{{x}}/{{x}}", map[string]string{"x": "v"}, nil)
	if err != nil || got != "v/v" {
		t.Errorf("Expand = %q, %v", got, err)
	}
	_, err = Expand("{{a}} {{b}} {{a}}", map[string]string{}, nil)
	if err == nil || err.Error() != "no value for a, b" {
		t.Errorf("Expand missing: %v", err)
	}
}

func TestResolveKeepsUnknown(t *testing.T) {
	t.Parallel()
	got, missing := Resolve("{{ a }} {{b}} {{.x}} {{b}}", func(n string) (string, bool) { return "A", n == "a" })
	if got != "A {{b}} {{.x}} {{b}}" || !slices.Equal(missing, []string{"b"}) {
		t.Errorf("Resolve = %q, %q", got, missing)
	}
}

func TestShellRefs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd, wantErr string
		refs         int
	}{
		{cmd: "kubectl -n {{ns}} delete pod {{pod}}", refs: 2},
		{cmd: "echo no placeholders 'here'", refs: 0},
		{cmd: "echo '{{a}}'", wantErr: "inside single quotes"},
		{cmd: `echo "x {{a}}"`, wantErr: "inside double quotes"},
		// The old hand lexer ended the quotes at \' and took {{a}} as bare.
		{cmd: `echo $'it\'s {{a}}'`, wantErr: "ANSI-C quotes"},
		{cmd: "echo `echo {{a}}`", wantErr: "inside backquotes"},
		{cmd: "cat <<EOF\n{{a}}\nEOF", wantErr: "here-document"},
		{cmd: `echo \{{a}}`, wantErr: "backslash"},
		{cmd: `echo \\{{a}}`, refs: 1},
		// A command substitution starts a fresh quoting context.
		{cmd: `echo "$(printf %s {{a}})"`, refs: 1},
		{cmd: `diff <(cat {{a}}) "{{b}}"`, wantErr: "{{b}} is inside double quotes"},
		{cmd: "echo {{a}} 'unclosed", wantErr: "does not parse as bash"},
		{cmd: `kubectl get pods -o go-template='{{.metadata.name}}' -l {{sel}}`, refs: 1},
	}
	for _, tt := range tests {
		refs, err := ShellRefs(tt.cmd)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ShellRefs(%q) err = %v, want %q", tt.cmd, err, tt.wantErr)
			}
		case err != nil || len(refs) != tt.refs:
			t.Errorf("ShellRefs(%q) = %v, %v; want %d refs", tt.cmd, refs, err, tt.refs)
		}
	}
}

func TestStepPlaceholders(t *testing.T) {
	t.Parallel()
	three := 3
	s := Step{
		Title:  "Scale {{ignored_title}}",
		K8s:    &K8sAction{Action: K8sScale, Deployment: "{{deployment}}", Namespace: "{{namespace}}", Replicas: &three},
		Verify: &Verify{PodsReady: "{{app_label}}", Deployment: "{{deployment}}", SQL: "select {{q}}"},
	}
	want := []string{"namespace", "deployment", "app_label", "q"}
	if got := s.Placeholders(); !slices.Equal(got, want) {
		t.Errorf("Placeholders = %q, want %q", got, want)
	}
	run := Step{Run: "echo {{a}}", HTTP: &HTTPAction{URL: "{{url}}"}, Wait: &Verify{URL: "{{u2}}"}, SQL: &SQLAction{File: "{{f}}"}}
	if got := run.Placeholders(); !slices.Equal(got, []string{"a", "f", "url", "u2"}) {
		t.Errorf("Placeholders = %q", got)
	}
}

func TestVariableValidate(t *testing.T) {
	t.Parallel()
	v := Variable{Name: "db", Pattern: "[a-z_]+"}
	if err := v.Validate("app_db"); err != nil {
		t.Errorf("valid value: %v", err)
	}
	// Anchored: a partial match is not enough.
	for _, bad := range []string{"app db", "App", "x; DROP DATABASE app", ""} {
		if err := v.Validate(bad); err == nil {
			t.Errorf("Validate(%q) = nil, want an error", bad)
		}
	}
	if err := v.Validate("x;y"); err == nil || err.Error() != `variable db: the value given does not match pattern [a-z_]+` || strings.Contains(err.Error(), "x;y") {
		t.Errorf("error = %v", err)
	}
	if err := (Variable{Name: "free"}).Validate("anything at all"); err != nil {
		t.Errorf("no pattern: %v", err)
	}
	if err := (Variable{Name: "broken", Pattern: "("}).Validate("x"); err == nil {
		t.Error("broken pattern must fail")
	}
	// The loader compiles the pattern once; Validate uses it.
	rb, err := LoadFile("v.toml", []byte("id = \"v\"\ntitle = \"V\"\n[[variables]]\nname = \"n\"\npattern = \"a|b\"\n[[steps]]\nid = \"s\"\ntitle = \"S\"\nmanual = \"{{n}}\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rb.Variables[0].re == nil || rb.Variables[0].Validate("ab") == nil || rb.Variables[0].Validate("b") != nil {
		t.Error("loaded pattern is not compiled and anchored")
	}
}

func TestKeyLines(t *testing.T) {
	t.Parallel()
	text := `id = "x" # comment = no
"quoted key" = 1
a.b = 2
s = '''
[[steps]]
id = "fake"
'''

[[steps]]
id = "one"
run = """say "hi \""" """
k8s = { action = "scale" }

[steps.verify]
ready = 3

[[steps]]
hints = [
  "x = y",
  """
multi = line
""",
  { text = "a, [b]", when = "c" }, "d", # e, f
]
title = "two"

[[steps.checks]]
name = "c1"

[[steps.checks]]
name = "c2"
`
	got := keyLines(text)
	want := map[string]int{
		"id": 1, "quoted key": 2, "a": 3, "a.b": 3, "s": 4,
		"steps": 9, "steps[1]": 9, "steps[1].id": 10, "steps[1].run": 11, "steps[1].k8s": 12,
		"steps[1].verify": 14, "steps[1].verify.ready": 15,
		"steps[2]": 17, "steps[2].hints": 18, "steps[2].title": 25,
		"steps[2].hints[1]": 19, "steps[2].hints[2]": 20, "steps[2].hints[3]": 23, "steps[2].hints[4]": 23,
		"steps[2].checks": 27, "steps[2].checks[1]": 27, "steps[2].checks[1].name": 28,
		"steps[2].checks[2]": 30, "steps[2].checks[2].name": 31,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("line of %s = %d, want %d", k, got[k], n)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %s at line %d", k, got[k])
		}
	}
}

func TestLoadFSAndDuplicates(t *testing.T) {
	t.Parallel()
	good := func(id string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(fmt.Sprintf("id = %q\ntitle = \"T\"\n\n[[steps]]\nid = \"s\"\ntitle = \"S\"\nmanual = \"m\"\n", id))}
	}
	fsys := fstest.MapFS{
		"rb/a.toml":       good("same"),
		"rb/b.toml":       good("same"),
		"rb/c.toml":       good("other"),
		"rb/notes.md":     {Data: []byte("not a runbook")},
		"rb/sub/d.toml":   good("nested"),
		"rb/broken.toml":  {Data: []byte("id = \n")},
		"ok/only.toml":    good("only"),
		"ok/ignored.yaml": {Data: []byte("x")},
	}
	rbs, err := LoadFS(fsys, "ok", "mem:")
	if err != nil || len(rbs) != 1 || rbs[0].File != "mem:only.toml" {
		t.Fatalf("LoadFS(ok) = %v, %v", rbs, err)
	}
	rbs, err = LoadFS(fsys, "rb", "mem:")
	var fs Findings
	if !errors.As(err, &fs) {
		t.Fatalf("error %v is not Findings", err)
	}
	want := "mem:b.toml:1: id: duplicate runbook id \"same\" (also in mem:a.toml:1)\n" +
		"mem:broken.toml:1: syntax error: expected value but found '\\n' instead"
	if err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	var ids []string
	for _, rb := range rbs {
		ids = append(ids, rb.ID)
	}
	if !slices.Equal(ids, []string{"same", "other"}) {
		t.Errorf("runbooks without errors = %v", ids)
	}
	if _, err := LoadFS(fsys, "missing", "mem:"); err == nil {
		t.Error("missing folder: no error")
	}
}

func TestLoadDirAndLintPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("a.toml", overdueRunbook)
	bad := write("b.toml", "id = \"b\"\ntitle = \"B\"\n[[steps]]\nid = \"s\"\ntitle = \"S\"\nrun = \"echo {{nope}}\"\n")
	rbs, err := LoadDir(dir)
	if err == nil || err.Error() != bad+":6: steps[1].run: undeclared variable \"nope\"" {
		t.Errorf("LoadDir error = %v", err)
	}
	if len(rbs) != 1 || rbs[0].ID != "old" {
		t.Errorf("LoadDir runbooks = %v", rbs)
	}
	if _, err := Load(filepath.Join(dir, "nope")); err == nil {
		t.Error("Load of a missing folder: no error")
	}
	syntax := write("c.toml.txt", "[[")
	rbs, findings := LintPaths([]string{dir, syntax, filepath.Join(dir, "missing.toml")}, LintOptions{Now: testNow})
	var got []string
	for _, f := range findings {
		got = append(got, formatFinding(f))
	}
	want := []string{ // sorted by file, then line
		"warning: " + filepath.Join(dir, "a.toml") + ":5: next_review: review overdue since 2025-04-01",
		bad + ":6: steps[1].run: undeclared variable \"nope\"",
		syntax + ":1: syntax error: unexpected end of table name (table names cannot be empty)",
		filepath.Join(dir, "missing.toml") + ": no such file or folder",
	}
	if !slices.Equal(got, want) {
		t.Errorf("LintPaths findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(rbs) != 2 {
		t.Errorf("LintPaths returned %d runbooks, want the 2 that parsed", len(rbs))
	}
}

func TestFindingString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    Finding
		want string
	}{
		{Finding{File: "a.toml", Line: 3, Field: "id", Message: "missing"}, "a.toml:3: id: missing"},
		{Finding{File: "a.toml", Message: "no such file"}, "a.toml: no such file"},
		{Finding{File: "a.toml", Line: 1, Message: "syntax error: x"}, "a.toml:1: syntax error: x"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	fs := Findings{{File: "a", Line: 1, Message: "w", Severity: Warning}, {File: "a", Line: 2, Message: "e"}}
	if !fs.HasErrors() || len(fs.Errors()) != 1 || fs.Error() != "a:1: w\na:2: e" {
		t.Errorf("Findings: %v %v %q", fs.HasErrors(), fs.Errors(), fs.Error())
	}
	if Warning.String() != "warning" || Error.String() != "error" {
		t.Error("Severity.String")
	}
}

func TestGoodRunbooks(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "good", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no good runbooks: %v", err)
	}
	for _, f := range files {
		_, findings := LintPaths([]string{f}, LintOptions{Now: testNow, Strict: true})
		for _, x := range findings {
			t.Errorf("%s", formatFinding(x))
		}
	}
}

// TestFormatExample keeps the complete example of FORMAT.md valid and equal
// to testdata/good/complete.toml.
func TestFormatExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "## Complete example")
	if !ok {
		t.Fatal("FORMAT.md has no '## Complete example' section")
	}
	_, after, ok = strings.Cut(after, "```toml\n")
	example, _, ok2 := strings.Cut(after, "```\n")
	if !ok || !ok2 {
		t.Fatal("no toml block in the complete example")
	}
	good, err := os.ReadFile(filepath.Join("testdata", "good", "complete.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if example != string(good) {
		t.Error("FORMAT.md's complete example differs from testdata/good/complete.toml")
	}
	rb, err := LoadFile("FORMAT.md", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	// Every action kind and every verb appears in the example.
	kinds := map[string]bool{}
	for i := range rb.Steps {
		s := &rb.Steps[i]
		kinds[s.Kind().String()] = true
		switch s.Kind() {
		case ActionK8s:
			kinds["k8s "+s.K8s.Action] = true
		case ActionSQL:
			kinds["sql "+s.SQL.Action] = true
		}
	}
	for _, k := range []string{"shell", "manual", "k8s", "sql", "http", "wait"} {
		if !kinds[k] {
			t.Errorf("the example has no %s step", k)
		}
	}
	for _, v := range K8sVerbs() {
		if !kinds["k8s "+v] {
			t.Errorf("the example has no k8s %s step", v)
		}
	}
	for _, v := range SQLVerbs() {
		if !kinds["sql "+v] {
			t.Errorf("the example has no sql %s step", v)
		}
	}
}
