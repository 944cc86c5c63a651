package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/drnav/drnav/runbooks"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/cli/golden")

const cliRunbooks = "testdata/cli/runbooks"

// complete runs cobra's hidden __complete entry point (what every shell's
// completion script calls) and returns the offered values (descriptions
// dropped) and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	code, out, errs := drnav(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d\n%s", args, code, errs)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("__complete %v: no directive line:\n%s", args, out)
	}
	var vals []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		vals = append(vals, v)
	}
	return vals, last
}

// twoStepRunbook is a runbook whose run stops, quickly and without a
// cluster, at a refused destructive step: an open incident.
const twoStepRunbook = `id = "two"
title = "Two steps"
impact = "none"
[[steps]]
id = "first"
title = "Say hello"
run = "echo hello"
` + refusedStep

// refusedStep is a destructive step: a run without --allow-destructive
// stops there, the incident left open.
const refusedStep = `[[steps]]
id = "change"
title = "Change something"
why = "test"
destructive = true
run = "true"
`

// openIncident runs twoStepRunbook into an open incident and returns the
// runbooks folder and the incident's id.
func openIncident(t *testing.T, dir string) (string, string) {
	t.Helper()
	rbDir := writeRunbook(t, dir, twoStepRunbook)
	if code, out, errs := drnav(t, "run", "two", "--runbooks", rbDir); code != exitFailed {
		t.Fatalf("run: exit %d, want %d (refused)\n%s\n%s", code, exitFailed, out, errs)
	}
	code, out, errs := drnav(t, "incidents", "-o", "json")
	if code != 0 {
		t.Fatalf("incidents: exit %d: %s", code, errs)
	}
	var list incidentListOutput
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("incidents -o json: %v, %d items\n%s", err, len(list.Items), out)
	}
	return rbDir, list.Items[0].ID
}

func TestCompleteRunbookIDs(t *testing.T) {
	isolate(t)
	rbs, err := runbooks.Load("")
	if err != nil {
		t.Fatal(err)
	}
	vals, dir := complete(t, "run", "")
	if dir != ":4" { // ShellCompDirectiveNoFileComp
		t.Errorf("run: directive %s, want :4", dir)
	}
	for _, rb := range rbs {
		has := strings.Contains(" "+strings.Join(vals, " ")+" ", " "+rb.ID+" ")
		if cadence := rb.Kind == runbooks.KindCadence; has == cadence {
			t.Errorf("run completes %s: %v (a cadence is not run): %v", rb.ID, has, vals)
		}
	}
	vals, _ = complete(t, "run", "data")
	if strings.Join(vals, " ") != "data-center-failure database-corruption" {
		t.Errorf("run data<TAB>: %v", vals)
	}
	if vals, _ = complete(t, "run", "database-corruption", ""); len(vals) != 0 {
		t.Errorf("run takes one runbook, yet offers %v", vals)
	}
	// lint: ids (all of them), files when none matches; --runbooks honoured.
	vals, dir = complete(t, "lint", "--runbooks", cliRunbooks, "")
	if strings.Join(vals, " ") != "broken restart-app" || dir != ":0" {
		t.Errorf("lint --runbooks: %v %s", vals, dir)
	}
	if vals, dir = complete(t, "lint", "./"); len(vals) != 0 || dir != ":0" {
		t.Errorf("lint ./: %v %s, want file completion", vals, dir)
	}
	// import: Markdown files.
	if vals, dir := complete(t, "import", ""); strings.Join(vals, " ") != "md markdown" || dir != ":8" {
		t.Errorf("import: %v %s, want Markdown file completion", vals, dir)
	}
	// --allow-destructive: the runbook's destructive steps.
	vals, _ = complete(t, "run", "restart-app", "--runbooks", cliRunbooks, "--allow-destructive", "")
	if strings.Join(vals, " ") != "all restart" {
		t.Errorf("--allow-destructive: %v", vals)
	}
}

func TestCompleteIncidentIDs(t *testing.T) {
	dir := isolate(t)
	rbDir, id := openIncident(t, dir)
	for _, cmd := range []string{"resume", "watch", "report"} {
		vals, d := complete(t, cmd, "")
		if len(vals) != 1 || vals[0] != id || d != ":36" { // NoFileComp|KeepOrder
			t.Errorf("%s: %v %s, want [%s] :36", cmd, vals, d, id)
		}
		if vals, _ := complete(t, cmd, id, ""); len(vals) != 0 {
			t.Errorf("%s takes one id, yet offers %v", cmd, vals)
		}
	}
	if vals, _ := complete(t, "run", "two", "--runbooks", rbDir, "--resume", ""); len(vals) != 1 || vals[0] != id {
		t.Errorf("run --resume: %v", vals)
	}
	if vals, _ := complete(t, "run", "other", "--resume", ""); len(vals) != 0 {
		t.Errorf("run other --resume offers another runbook's incident: %v", vals)
	}
	// --journal-dir is honoured: an empty folder has none.
	if vals, _ := complete(t, "report", "--journal-dir", t.TempDir(), ""); len(vals) != 0 {
		t.Errorf("report --journal-dir EMPTY: %v", vals)
	}
}

func TestCompleteContexts(t *testing.T) {
	dir := isolate(t)
	for _, flag := range []string{"--context", "--failover-context"} {
		vals, d := complete(t, "run", "x", flag, "")
		if strings.Join(vals, " ") != "lab lab-alias west" || d != ":4" {
			t.Errorf("%s: %v %s", flag, vals, d)
		}
	}
	if vals, _ := complete(t, "--context", "w"); strings.Join(vals, " ") != "west" {
		t.Errorf("navigator --context w: %v", vals)
	}
	// --kubeconfig wins over KUBECONFIG.
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("apiVersion: v1\nkind: Config\ncontexts:\n- name: solo\n  context: {cluster: c}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if vals, _ := complete(t, "resume", "--kubeconfig", other, "--context", ""); strings.Join(vals, " ") != "solo" {
		t.Errorf("--kubeconfig: %v", vals)
	}
	// Commands that never reach a cluster have no kubectl flags.
	if code, _, _ := drnav(t, "list", "--context", "lab"); code != exitUsage {
		t.Errorf("list --context: exit %d, want %d", code, exitUsage)
	}
}

// TestCompleteNamespaces asks the context's API server (here a stand-in
// answering only the namespace list) through client-go.
func TestCompleteNamespaces(t *testing.T) {
	dir := isolate(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/namespaces" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[`+
			`{"metadata":{"name":"default"}},{"metadata":{"name":"payments"}},{"metadata":{"name":"platform"}}]}`)
	}))
	defer srv.Close()
	kc := filepath.Join(dir, "fake")
	body := fmt.Sprintf("apiVersion: v1\nkind: Config\ncurrent-context: f\nclusters:\n- name: f\n  cluster: {server: %q}\ncontexts:\n- name: f\n  context: {cluster: f, user: u}\nusers:\n- name: u\n  user: {token: t}\n", srv.URL)
	if err := os.WriteFile(kc, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	vals, d := complete(t, "run", "x", "--kubeconfig", kc, "-n", "p")
	if strings.Join(vals, " ") != "payments platform" || d != ":4" {
		t.Errorf("-n p: %v %s", vals, d)
	}
	if vals, _ := complete(t, "--kubeconfig", kc, "--namespace", ""); len(vals) != 3 {
		t.Errorf("--namespace: %v", vals)
	}
}

// TestCompleteNamespacesNeverHangs: an API server that accepts and never
// answers completes nothing, in about the timeout.
func TestCompleteNamespacesNeverHangs(t *testing.T) {
	dir := isolate(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn // read nothing, answer nothing
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	kc := filepath.Join(dir, "silent")
	body := fmt.Sprintf("apiVersion: v1\nkind: Config\ncurrent-context: s\nclusters:\n- name: s\n  cluster: {server: \"https://%s\"}\ncontexts:\n- name: s\n  context: {cluster: s, user: u}\nusers:\n- name: u\n  user: {token: t}\n", ln.Addr())
	if err := os.WriteFile(kc, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	vals, d := complete(t, "run", "x", "--kubeconfig", kc, "-n", "")
	took := time.Since(start)
	if len(vals) != 0 || d != ":4" {
		t.Errorf("namespaces from a silent server: %v %s", vals, d)
	}
	if took > namespaceCompletionTimeout+20*time.Second {
		t.Errorf("namespace completion took %v (timeout %v)", took, namespaceCompletionTimeout)
	}
}

// TestCompletionInBash sources the generated bash script in a real bash,
// with this test binary as drnav on PATH, and completes as bash would.
func TestCompletionInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := isolate(t)
	_, id := openIncident(t, dir)
	code, script, errs := drnav(t, "completion", "bash")
	if code != 0 || !strings.Contains(script, "__start_drnav") {
		t.Fatalf("completion bash: exit %d: %s", code, errs)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(bin, "drnav")); err != nil {
		t.Fatal(err)
	}
	scriptFile := filepath.Join(dir, "drnav.bash")
	if err := os.WriteFile(scriptFile, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	// compl LINE completes the last word of LINE as bash does on TAB. The
	// script wants bash-completion's _get_comp_words_by_ref; without that
	// package a stand-in splits the line the same way (no = or : here).
	prog := `[ -r /usr/share/bash-completion/bash_completion ] && source /usr/share/bash-completion/bash_completion
if ! declare -F _get_comp_words_by_ref >/dev/null; then
  _get_comp_words_by_ref() {
    cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"
    words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
  }
fi
source "$1"
complete -p drnav
compl() {
  COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
  read -r -a COMP_WORDS <<<"$COMP_LINE"
  [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  __start_drnav drnav "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s|' "$1"; printf '%s ' "${COMPREPLY[@]}"; printf '\n'
}
compl "drnav ru"
compl "drnav run databa"
compl "drnav resume "
compl "drnav report 2"
compl "drnav run x --context w"
`
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog, "bash", scriptFile)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "DRNAV_TEST_RUN_CLI=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"complete -o default -F __start_drnav drnav",
		"drnav ru|run \n",
		"drnav run databa|database-corruption \n",
		"drnav resume |" + id + " \n",
		"drnav report 2|" + id + " \n",
		"drnav run x --context w|west \n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("bash completion lacks %q:\n%s", want, got)
		}
	}
	// The other shells' scripts are generated too.
	for _, sh := range []string{"zsh", "fish", "powershell"} {
		if code, out, errs := drnav(t, "completion", sh); code != 0 || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d, %d bytes: %s", sh, code, len(out), errs)
		}
	}
}

// TestMachineReadableOutput parses every -o json and -o yaml output back
// into its type and compares it with a golden file.
func TestMachineReadableOutput(t *testing.T) {
	dir := isolate(t)
	// The database the report names, the same on every machine.
	t.Setenv("PGHOST", "/run/postgresql")
	t.Setenv("PGPORT", "5432")
	t.Setenv("PGDATABASE", "app")
	t.Setenv("PGUSER", "drnav")
	rbDir, id := openIncident(t, dir)
	cases := []struct {
		name   string
		args   []string
		code   int
		into   func() any
		schema bool // golden of the schema (values vary by run)
	}{
		{"list", []string{"list", "--runbooks", cliRunbooks}, 0, func() any { return &runbookListOutput{} }, false},
		{"lint", []string{"lint", cliRunbooks}, exitFailed, func() any { return &lintOutput{} }, false},
		{"incidents", []string{"incidents"}, 0, func() any { return &incidentListOutput{} }, true},
		// incident.StepStatus only marshals: the report parses back generically.
		{"report", []string{"report", id, "--runbooks", rbDir}, 0, func() any { return &map[string]any{} }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := drnav(t, append(tc.args, "-o", "json")...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errs)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("-o json does not parse: %v\n%s", err, out)
			}
			if doc["apiVersion"] != apiVersion || doc["kind"] == "" {
				t.Errorf("apiVersion %v, kind %v", doc["apiVersion"], doc["kind"])
			}
			typed := tc.into()
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(typed); err != nil {
				t.Errorf("-o json does not decode into %T: %v", typed, err)
			}
			// yaml carries the same document.
			_, yout, _ := drnav(t, append(tc.args, "-o", "yaml")...)
			fromYAML := tc.into()
			if err := yaml.UnmarshalStrict([]byte(yout), fromYAML); err != nil {
				t.Errorf("-o yaml does not decode: %v\n%s", err, yout)
			}
			if !tc.schema {
				a, _ := json.Marshal(typed)
				b, _ := json.Marshal(fromYAML)
				if !bytes.Equal(a, b) {
					t.Errorf("yaml and json differ:\n%s\n%s", a, b)
				}
			}
			golden := out
			if tc.schema {
				golden = schemaOf(doc)
			}
			checkGolden(t, filepath.Join("testdata", "cli", "golden", tc.name+".json.golden"), golden)
		})
	}
	// report --format json is -o json; --format md stays Markdown.
	_, a, _ := drnav(t, "report", id, "--runbooks", rbDir, "--format", "json")
	var r map[string]any
	if err := json.Unmarshal([]byte(a), &r); err != nil || r["apiVersion"] != apiVersion || r["kind"] != kindReport || r["id"] != id {
		t.Errorf("report --format json: %v\n%s", err, a)
	}
	if _, md, _ := drnav(t, "report", id, "--runbooks", rbDir); !strings.HasPrefix(md, "#") {
		t.Errorf("report default is not Markdown:\n%.200s", md)
	}
	for _, args := range [][]string{{"list", "-o", "xml"}, {"incidents", "-o", "wide"}, {"lint", "-o", "md"}, {"report", "-o", "pdf"}} {
		if code, _, errs := drnav(t, args...); code != exitUsage || !strings.Contains(errs, "json or yaml") {
			t.Errorf("%v: exit %d: %s", args, code, errs)
		}
	}
}

// TestLintByRunbookID: lint takes runbook ids as well as paths.
func TestLintByRunbookID(t *testing.T) {
	isolate(t)
	code, out, _ := drnav(t, "lint", "database-corruption", "-o", "json")
	var res lintOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || res.Runbooks != 1 {
		t.Errorf("lint database-corruption: exit %d, %v, %+v", code, err, res)
	}
	code, out, _ = drnav(t, "lint", "--runbooks", cliRunbooks, "broken", "-o", "json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitFailed || res.Errors != 2 || res.Warnings != 0 {
		t.Errorf("lint broken: exit %d, %v, %+v", code, err, res)
	}
	if code, out, _ := drnav(t, "lint", "no-such-runbook"); code != exitFailed || !strings.Contains(out, "no-such-runbook") {
		t.Errorf("lint no-such-runbook: exit %d: %s", code, out)
	}
}

// schemaOf is the document's shape: one "path: type" line per field
// (array elements merged as path[]), with apiVersion and kind's values.
func schemaOf(doc any) string {
	seen := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, e)
			}
			return
		case []any:
			seen[path+": array"] = true
			for _, e := range t {
				walk(path+"[]", e)
			}
			return
		case string:
			if path == "apiVersion" || path == "kind" {
				seen[fmt.Sprintf("%s: string %q", path, t)] = true
				return
			}
			seen[path+": string"] = true
		case float64:
			seen[path+": number"] = true
		case bool:
			seen[path+": bool"] = true
		case nil:
			seen[path+": null"] = true
		}
	}
	walk("", doc)
	lines := make([]string, 0, len(seen))
	for l := range seen {
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (rerun with -update if intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestExitCodes: each documented code comes out of a command that should
// give it, and run --help and the README document every one. (128+n:
// TestRunSignalsLeaveTheStepRunning.)
func TestExitCodes(t *testing.T) {
	dir := isolate(t)
	rbDir := writeRunbook(t, dir, twoStepRunbook)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"list"}, exitOK},
		{[]string{"run", "two", "--runbooks", rbDir, "--allow-destructive", "all"}, exitOK},
		{[]string{"run", "two", "--runbooks", rbDir}, exitFailed}, // destructive step refused
		{[]string{"lint", cliRunbooks}, exitFailed},
		{[]string{"report", "no-such-incident"}, exitFailed},
		{[]string{"lsit"}, exitUsage},
		{[]string{"run", "two", "--no-such-flag"}, exitUsage},
		{[]string{"run", "two", "--report", "pdf"}, exitUsage},
		{[]string{"incidents", "extra"}, exitUsage},
	} {
		if code, _, errs := drnav(t, tc.args...); code != tc.want {
			t.Errorf("drnav %v: exit %d, want %d\n%s", tc.args, code, tc.want, errs)
		}
	}
	_, help, _ := drnav(t, "run", "--help")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{fmt.Sprint(exitOK), fmt.Sprint(exitFailed), fmt.Sprint(exitUsage), fmt.Sprint(exitVerify), fmt.Sprintf("%d+n", exitSignalBase)} {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(code) + ` +\S`).MatchString(help) {
			t.Errorf("run --help does not document exit code %s:\n%s", code, help)
		}
		if !strings.Contains(string(readme), "| "+code+" |") {
			t.Errorf("README does not document exit code %s", code)
		}
	}
}

func TestMistypedCommandSuggestsOne(t *testing.T) {
	isolate(t)
	if code, _, errs := drnav(t, "--frob"); code != exitUsage || !strings.HasPrefix(errs, "drnav: unknown flag: --frob\n") {
		t.Errorf("exit %d: %q", code, errs)
	}
	code, _, errs := drnav(t, "incidnets")
	if code != exitUsage || !strings.Contains(errs, "Did you mean this?\n\tincidents") {
		t.Errorf("exit %d: %s", code, errs)
	}
	if code, _, errs := drnav(t, "--drill", "extra"); code != exitUsage || !strings.Contains(errs, `unknown command "extra"`) {
		t.Errorf("exit %d: %s", code, errs)
	}
}

func TestVersionFlag(t *testing.T) {
	isolate(t)
	_, flagOut, _ := drnav(t, "--version")
	_, cmdOut, _ := drnav(t, "version")
	if flagOut != cmdOut {
		t.Errorf("--version %q and version %q differ", flagOut, cmdOut)
	}
	for _, want := range []string{"drnav " + version + "\n", "commit: ", "built: ", "go:     go1."} {
		if !strings.Contains(flagOut, want) {
			t.Errorf("--version lacks %q:\n%s", want, flagOut)
		}
	}
}

func TestBuildInfo(t *testing.T) {
	vcs := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		name                   string
		version, commit, date  string
		bi                     *debug.BuildInfo
		wantVersion, wantLines string
	}{
		{"stamped", "1.2.0", "feedface", "2026-11-30", vcs, "1.2.0", "commit: feedface\n  built:  2026-11-30\n  go:     go1.99"},
		{"build info", "", "", "", vcs, version, "commit: 0123456789abcdef (modified)\n  built:  2026-12-01T10:00:00Z\n  go:     go1.99"},
		{"tagged module", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "1.3.0", "commit: unknown\n  built:  unknown"},
		{"pseudo-version", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201100000-0123456789ab+dirty"}}, version, "commit: unknown"},
		{"nothing", "", "", "", nil, version, "commit: unknown\n  built:  unknown"},
	} {
		b := newBuildInfo(tc.version, tc.commit, tc.date, tc.bi)
		s := b.String()
		if b.Version != tc.wantVersion || !strings.HasPrefix(s, "drnav "+tc.wantVersion+"\n") || !strings.Contains(s, tc.wantLines) {
			t.Errorf("%s: %+v\n%s", tc.name, b, s)
		}
	}
}
