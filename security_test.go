package main

// Tests written as an attacker with a second account on the same bastion
// would probe drnav (issue 15): planted links, folders prepared by another
// uid, forged incidents, secrets looked for everywhere they could leak,
// escape sequences in every printed form, and a colleague in the share
// group watching from their own account.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drnav/drnav/incident"
)

// followOnce tails a journal as `drnav watch` does and prints the first
// event's type.
func followOnce(root, id string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	evs, errs := incident.Follow(ctx, root, id, 0)
	select {
	case ev, ok := <-evs:
		if ok {
			fmt.Println(ev.Type)
			return 0
		}
	case err := <-errs:
		fmt.Fprintln(os.Stderr, err)
	}
	return 1
}

const nobody = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to prepare files owned by another uid (CI runs as root)")
	}
}

// drnavIn runs the CLI in-process with stdin.
func drnavIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, path, body string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func stateDir(dir string) string   { return filepath.Join(dir, "state", "drnav") }
func journalDir(dir string) string { return filepath.Join(stateDir(dir), "incidents") }

const localRunbook = `id = "local"
title = "Local procedure"
impact = "none"
[[steps]]
id = "hello"
title = "Say hello"
run = "echo hello"
`

// TestPlantedLogLinkIsRefused: a drnav.log link planted in the state folder
// must not make drnav append to its target.
func TestPlantedLogLinkIsRefused(t *testing.T) {
	dir := isolate(t)
	victim := writeFile(t, filepath.Join(dir, "victim"), "precious\n", 0o600)
	rb := writeFile(t, filepath.Join(dir, "rb", "local.toml"), localRunbook, 0o600)
	if err := os.MkdirAll(stateDir(dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(stateDir(dir), "drnav.log")); err != nil {
		t.Fatal(err)
	}
	code, _, errs := drnav(t, "run", "local", "--runbooks", filepath.Dir(rb))
	if code == 0 || !strings.Contains(errs, "symbolic link") {
		t.Errorf("run with a planted log link: exit %d, stderr %q; want a refusal naming the link", code, errs)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("victim changed through the log link: %q", b)
	}
}

// TestStateFolderOfAnotherAccountIsRefused: a state or journal folder
// prepared by another uid (or writable by others) is refused with its path
// and the fix, and nothing is written into it.
func TestStateFolderOfAnotherAccountIsRefused(t *testing.T) {
	needRoot(t)
	rb := localRunbook
	for _, c := range []struct {
		name string
		prep func(t *testing.T, dir string)
		want string
	}{
		{"state folder owned by nobody", func(t *testing.T, dir string) {
			os.MkdirAll(stateDir(dir), 0o700)
			os.Chown(stateDir(dir), nobody, nobody)
		}, "owned by uid 65534"},
		{"journal folder owned by nobody", func(t *testing.T, dir string) {
			os.MkdirAll(journalDir(dir), 0o700)
			os.Chown(journalDir(dir), nobody, nobody)
		}, "owned by uid 65534"},
		{"journal folder writable by others", func(t *testing.T, dir string) {
			os.MkdirAll(journalDir(dir), 0o700)
			os.Chmod(journalDir(dir), 0o777)
		}, "chmod go-w"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := isolate(t)
			rbPath := writeFile(t, filepath.Join(dir, "rb", "local.toml"), rb, 0o600)
			c.prep(t, dir)
			code, _, errs := drnav(t, "run", "local", "--runbooks", filepath.Dir(rbPath))
			if code == 0 || !strings.Contains(errs, c.want) || !strings.Contains(errs, filepath.Join(dir, "state")) {
				t.Errorf("exit %d, stderr %q; want a refusal with the path and %q", code, errs, c.want)
			}
			if entries, _ := os.ReadDir(journalDir(dir)); len(entries) > 0 {
				t.Errorf("an incident was written into the untrusted folder: %v", entries)
			}
		})
	}
}

// TestConfigWritableByOthersIsRefused: a config anyone can edit (it sets
// notify_command, [env], workdir) is refused, as is one owned by another
// account.
func TestConfigWritableByOthersIsRefused(t *testing.T) {
	dir := isolate(t)
	cfg := writeFile(t, filepath.Join(dir, "config", "drnav", "config.toml"), "namespace = \"x\"\n", 0o666)
	code, _, errs := drnav(t, "incidents")
	if code == 0 || !strings.Contains(errs, "writable by group or others") || !strings.Contains(errs, cfg) {
		t.Errorf("world-writable config: exit %d, %q", code, errs)
	}
	os.Chmod(cfg, 0o600)
	os.Chmod(filepath.Dir(cfg), 0o777)
	code, _, errs = drnav(t, "incidents")
	if code == 0 || !strings.Contains(errs, "config folder") {
		t.Errorf("config in a world-writable folder: exit %d, %q", code, errs)
	}
	os.Chmod(filepath.Dir(cfg), 0o700)
	if os.Geteuid() == 0 {
		os.Chown(cfg, nobody, nobody)
		code, _, errs = drnav(t, "incidents")
		if code == 0 || !strings.Contains(errs, "owned by uid 65534") {
			t.Errorf("config owned by nobody: exit %d, %q", code, errs)
		}
	}
}

// TestTildeAndRelativePaths: journal_dir = "~/…" is under the home folder;
// a relative journal_dir or XDG_STATE_HOME is refused clearly.
func TestTildeAndRelativePaths(t *testing.T) {
	dir := isolate(t)
	t.Setenv("HOME", filepath.Join(dir, "home"))
	writeFile(t, filepath.Join(dir, "config", "drnav", "config.toml"), "journal_dir = \"~/drnav-incidents\"\n", 0o600)
	code, out, errs := drnav(t, "incidents")
	want := filepath.Join(dir, "home", "drnav-incidents")
	if code != 0 || !strings.Contains(out, want) {
		t.Errorf("~ journal_dir: exit %d, %q %q; want %s", code, out, errs, want)
	}
	writeFile(t, filepath.Join(dir, "config", "drnav", "config.toml"), "journal_dir = \"incidents\"\n", 0o600)
	if code, _, errs := drnav(t, "incidents"); code == 0 || !strings.Contains(errs, "relative path") {
		t.Errorf("relative journal_dir: exit %d, %q", code, errs)
	}
	os.Remove(filepath.Join(dir, "config", "drnav", "config.toml"))
	t.Setenv("XDG_STATE_HOME", "state")
	if code, _, errs := drnav(t, "incidents"); code == 0 || !strings.Contains(errs, "XDG_STATE_HOME") {
		t.Errorf("relative XDG_STATE_HOME: exit %d, %q", code, errs)
	}
}

// forge writes a journal for incident id under root as the declared event
// an attacker would write.
func forge(t *testing.T, root, id string, decl map[string]any, more ...map[string]any) string {
	t.Helper()
	d := filepath.Join(root, id)
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	decl["id"] = id
	lines := []map[string]any{{"seq": 1, "type": "declared", "time": time.Now().Add(time.Hour).Format(time.RFC3339Nano), "declared": decl}}
	for i, m := range more {
		m["seq"] = i + 2
		m["time"] = time.Now().Add(time.Hour).Format(time.RFC3339Nano)
		lines = append(lines, m)
	}
	var b bytes.Buffer
	for _, l := range lines {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	writeFile(t, filepath.Join(d, incident.JournalName), b.String(), 0o600)
	return d
}

// TestForgedIncidentAndPlantedLinks: an incident folder another account
// owns is not listed (nor picked by resume/report/watch); the runbook file a
// journal names is never loaded; a planted lock link does not make the
// read-only `incidents` create a file; planted journal and lock-info links
// are refused by resume.
func TestForgedIncidentAndPlantedLinks(t *testing.T) {
	needRoot(t)
	dir := isolate(t)
	rbPath := writeFile(t, filepath.Join(dir, "rb", "local.toml"), localRunbook, 0o600)
	if code, out, errs := drnav(t, "run", "local", "--runbooks", filepath.Dir(rbPath)); code != 0 {
		t.Fatalf("run: %d %s %s", code, out, errs)
	}
	root := journalDir(dir)
	list, err := incident.List(root)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	real := list[0].ID

	// A forged incident, newest, owned by nobody, naming a runbook file.
	evil := writeFile(t, filepath.Join(dir, "evil", "evil.toml"), strings.ReplaceAll(localRunbook, "Say hello", "FORGED-STEP"), 0o644)
	fd := forge(t, root, "29991231-2359-local", map[string]any{"runbook_id": "local", "runbook_title": "FORGED", "runbook_file": evil, "mode": "live"})
	filepath.Walk(fd, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, nobody, nobody) })
	code, out, _ := drnav(t, "incidents")
	if code != 0 || strings.Contains(out, "29991231") || !strings.Contains(out, real) {
		t.Errorf("incidents lists the forged incident or loses the real one: %d\n%s", code, out)
	}
	if code, out, _ := drnav(t, "report"); code != 0 || strings.Contains(out, "FORGED") {
		t.Errorf("report picked the forged incident: %d\n%s", code, out)
	}
	if code, _, errs := drnav(t, "report", "29991231-2359-local"); code == 0 || !strings.Contains(errs, "planted") && !strings.Contains(errs, "not by you") {
		t.Errorf("report of the forged incident by id: exit %d, %q", code, errs)
	}
	os.RemoveAll(fd)

	// A journal of our own naming a runbook file: the file is never loaded.
	forge(t, root, "29991231-2358-other", map[string]any{"runbook_id": "other", "runbook_title": "Other", "runbook_file": evil, "mode": "live"})
	code, out, errs := drnav(t, "report", "29991231-2358-other")
	if code != 0 || strings.Contains(out, "FORGED-STEP") {
		t.Errorf("report loaded the runbook file the journal names: %d %q\n%s", code, errs, out)
	}
	if _, _, err := incidentRunbook(nil, incident.State{RunbookID: "local", RunbookFile: evil}); err == nil || !strings.Contains(err.Error(), "--runbooks") {
		t.Errorf("incidentRunbook with a journal's file: %v, want refusal naming --runbooks", err)
	}
	os.RemoveAll(filepath.Join(root, "29991231-2358-other"))

	// A planted lock link: `incidents` (read-only) must not create its target.
	target := filepath.Join(dir, "created-through-lock")
	lock := filepath.Join(root, real, "lock")
	os.Remove(lock)
	if err := os.Symlink(target, lock); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := drnav(t, "incidents"); code != 0 {
		t.Errorf("incidents: %d %s", code, errs)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Errorf("incidents created %s through a planted lock link", target)
	}
	code, _, errs = drnav(t, "run", "local", "--runbooks", filepath.Dir(rbPath), "--resume", real)
	if code == 0 || !strings.Contains(errs, "symbolic link") {
		t.Errorf("resume through a lock link: exit %d, %q", code, errs)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Errorf("resume created %s through a planted lock link", target)
	}
	os.Remove(lock)

	// Planted lock-info and journal links: resume refuses, victims intact.
	for _, name := range []string{"lock.json", incident.JournalName} {
		victim := writeFile(t, filepath.Join(dir, "victim-"+name), "precious\n", 0o600)
		p := filepath.Join(root, real, name)
		saved, _ := os.ReadFile(p)
		os.Remove(p)
		if err := os.Symlink(victim, p); err != nil {
			t.Fatal(err)
		}
		code, _, errs := drnav(t, "run", "local", "--runbooks", filepath.Dir(rbPath), "--resume", real)
		if code == 0 || !strings.Contains(errs, "symbolic link") {
			t.Errorf("%s link: resume exit %d, %q", name, code, errs)
		}
		if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
			t.Errorf("%s link: victim changed to %q", name, b)
		}
		os.Remove(p)
		if saved != nil {
			writeFile(t, p, string(saved), 0o600)
		}
	}

	// A path-like id never escapes the journal folder.
	if code, _, errs := drnav(t, "report", "../../../etc"); code == 0 || !strings.Contains(errs, "incident id") {
		t.Errorf("report ../../../etc: exit %d, %q", code, errs)
	}
}

// Planted secrets: each must never appear in stdout, stderr, the journal,
// the log, either report, or a child's command line.
const (
	secretToken = "tok-Q7vLx2Rm9Kp4Wz" // single line, via --var-env
	pemHead     = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
	pemTail     = "Zx8Jq3Vw6Ny1Lt5Hc0Bf7Gd2Ks4Pm9Ra"
	envSecret   = "envsec-Hy3Nq8Lc5Tw1Xb" // [env] entry marked secret
	cutFirst    = "CUTHALF1xYz"           // across the 64 KiB line cut
	cutSecond   = "CUTHALF2qWe"
)

var pemSecret = "-----BEGIN PRIVATE KEY-----\n" + pemHead + "\n" + pemTail + "\n-----END PRIVATE KEY-----"

const secretRunbook = `id = "secrets"
title = "Secrets"
impact = "none"

[[variables]]
name = "token"
prompt = "API token"
secret = true
pattern = "tok-[A-Za-z0-9]+"

[[variables]]
name = "pem"
prompt = "Private key"
secret = true

[[variables]]
name = "cut"
prompt = "Secret across the cut"
secret = true

[[steps]]
id = "print"
title = "Print the secrets"
run = """
cat /proc/$$/cmdline > "$CMDLINE_DIR/print"
printf '%s\n' {{token}}
printf '%s\n' {{pem}}
echo "$UPSTREAM_AUTH"
"""

[[steps]]
id = "cut"
title = "A long line cut at 64 KiB with a secret across the cut"
run = """
cat /proc/$$/cmdline > "$CMDLINE_DIR/cut"
head -c 65525 /dev/zero | tr '\\0' a; printf '%s' {{cut}}; head -c 1000 /dev/zero | tr '\\0' b; echo
"""
`

func TestSecretsNeverLeave(t *testing.T) {
	dir := isolate(t)
	rbPath := writeFile(t, filepath.Join(dir, "rb", "secrets.toml"), secretRunbook, 0o600)
	cmdlines := filepath.Join(dir, "cmdlines")
	os.MkdirAll(cmdlines, 0o700)
	writeFile(t, filepath.Join(dir, "config", "drnav", "config.toml"), fmt.Sprintf(`
[env]
CMDLINE_DIR = %q
UPSTREAM_AUTH = { value = %q, secret = true }
`, cmdlines, envSecret), 0o600)
	pemFile := writeFile(t, filepath.Join(dir, "pem"), pemSecret+"\n", 0o600)
	t.Setenv("API_TOKEN_SRC", secretToken)
	args := []string{"run", "secrets", "--runbooks", filepath.Dir(rbPath), "--var-env", "token=API_TOKEN_SRC",
		"--var-file", "pem=" + pemFile, "--var-file", "cut=-", "--report", "md"}
	code, out, errs := drnavIn(t, cutFirst+cutSecond+"\n", args...)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	list, err := incident.List(journalDir(dir))
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	id := list[0].ID
	_, js, _ := drnav(t, "report", "--format", "json", id)
	_, md, _ := drnav(t, "report", id)
	journal, _ := os.ReadFile(filepath.Join(journalDir(dir), id, incident.JournalName))
	logf, _ := os.ReadFile(filepath.Join(stateDir(dir), "drnav.log"))
	places := map[string]string{"stdout": out, "stderr": errs, "journal": string(journal), "log": string(logf),
		"report md": md, "report json": js}
	for _, name := range []string{"print", "cut"} {
		b, err := os.ReadFile(filepath.Join(cmdlines, name))
		if err != nil {
			t.Fatalf("child %s wrote no cmdline: %v", name, err)
		}
		places["cmdline of child "+name] = string(b)
		if name == "print" && !strings.Contains(string(b), `"$DRNAV_VAR_token"`) {
			t.Errorf("child cmdline does not reference the secret through the environment: %q", b)
		}
	}
	for where, text := range places {
		for _, s := range []string{secretToken, pemHead, pemTail, envSecret, cutFirst, cutSecond} {
			if strings.Contains(text, s) {
				t.Errorf("secret %q leaked into %s", s, where)
			}
		}
	}
	// The output really was there, masked (the test would pass vacuously
	// if the steps printed nothing).
	if !strings.Contains(out, "│ ***") || !strings.Contains(string(journal), "***") {
		t.Errorf("no masked output seen:\n%s", out)
	}
	if !strings.Contains(out, "line truncated") {
		t.Errorf("the long line was not cut:\n%.2000s", out)
	}

	// A pattern mismatch names the variable, never the value.
	bad := "tok_NOT-valid-Secret-9f"
	t.Setenv("API_TOKEN_SRC", bad)
	code, out, errs = drnavIn(t, "x\n", args...)
	if code == 0 || strings.Contains(out+errs, bad) || !strings.Contains(errs, "variable token") {
		t.Errorf("pattern mismatch: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	// A secret file others can read is refused.
	os.Chmod(pemFile, 0o644)
	t.Setenv("API_TOKEN_SRC", secretToken)
	code, _, errs = drnavIn(t, "x\n", args...)
	if code == 0 || !strings.Contains(errs, "readable by group or others") {
		t.Errorf("group-readable secret file: exit %d, %q", code, errs)
	}
}

const escapeRunbook = `id = "esc"
title = "Escapes \u001b]0;TITLE\u0007 here"
impact = "none \u001b[2J"
[[steps]]
id = "out"
title = "Output with escapes"
run = "printf 'a\\033]52;c;cGF3bmVk\\007b\\033[2Jc\\033[1Ad\\rE\\x9b31m\\n'"
`

// TestEscapesNeutralisedInEveryPrintedForm: escape sequences from step
// output, the journal (notes, operator from $USER) and runbooks never reach
// the terminal raw: headless progress, report md, incidents, list, and
// their -o json and -o yaml.
func TestEscapesNeutralisedInEveryPrintedForm(t *testing.T) {
	dir := isolate(t)
	t.Setenv("USER", "ev\x1b[31mil\x1b]0;x\x07")
	rbPath := writeFile(t, filepath.Join(dir, "rb", "esc.toml"), escapeRunbook, 0o600)
	rbs := filepath.Dir(rbPath)
	raw := func(where, s string) {
		t.Helper()
		for _, c := range []string{"\x1b", "\x07", "\r", "\u009b", "\u202e", "\u0085"} {
			if strings.Contains(s, c) {
				t.Errorf("%s carries a raw control %q:\n%q", where, c, s)
			}
		}
	}
	code, out, errs := drnav(t, "run", "esc", "--runbooks", rbs)
	if code != 0 {
		t.Fatalf("run: %d %s %s", code, out, errs)
	}
	raw("headless run", out+errs)
	if !strings.Contains(out, `a\x1b]52;c;cGF3bmVk\x07b`) {
		t.Errorf("escaped output not shown visibly:\n%s", out)
	}
	id := ""
	if l, _ := incident.List(journalDir(dir)); len(l) == 1 {
		id = l[0].ID
	}
	// A note with escapes, appended as the navigator would.
	j, _, _, err := incident.Open(journalDir(dir), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(incident.Event{Type: incident.EventNote, Text: "note \x1b[8mhidden\x1b[0m\x1b]8;;http://x\x07 \u202eright-to-left\u0085"}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	for _, args := range [][]string{{"report", id, "--runbooks", rbs}, {"report", id}, {"report", "--format", "json", id}, {"incidents"}, {"list", "--runbooks", rbs},
		{"report", id, "-o", "yaml"}, {"incidents", "-o", "json"}, {"incidents", "-o", "yaml"},
		{"list", "--runbooks", rbs, "-o", "json"}, {"list", "--runbooks", rbs, "-o", "yaml"}, {"lint", rbs, "-o", "yaml"}} {
		code, out, errs := drnav(t, args...)
		if code != 0 {
			t.Errorf("%v: exit %d %s", args, code, errs)
		}
		raw(strings.Join(args, " "), out+errs)
	}
	if _, out, _ := drnav(t, "incidents"); !strings.Contains(out, `ev\x1b[31mil`) && !strings.Contains(out, "evil") {
		t.Errorf("incidents lost the operator:\n%s", out)
	}
}

// TestShareGroupColleagueWatches: with share_group, a member of the group
// reads (report, incidents, follow as watch does) an incident from their own
// account; they cannot drive it or write to it, and a non-member cannot read
// it at all.
func TestShareGroupColleagueWatches(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd not installed")
	}
	suffix := strconv.Itoa(os.Getpid() % 100000)
	group, colleague, outsider := "drnavg"+suffix, "drnavc"+suffix, "drnavo"+suffix
	mustRun(t, "groupadd", group)
	t.Cleanup(func() { exec.Command("groupdel", group).Run() })
	mustRun(t, "useradd", "-M", "-N", "-G", group, colleague)
	t.Cleanup(func() { exec.Command("userdel", colleague).Run() })
	mustRun(t, "useradd", "-M", "-N", outsider)
	t.Cleanup(func() { exec.Command("userdel", outsider).Run() })

	// A journal folder reachable by others: /tmp/x (0755)/incidents.
	base, err := os.MkdirTemp("", "drnav-share-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	root := filepath.Join(base, "incidents")
	// The test binary, where the other accounts can run it.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := writeFile(t, filepath.Join(base, "drnav.test"), string(self), 0o755)

	dir := isolate(t)
	rbPath := writeFile(t, filepath.Join(dir, "rb", "local.toml"), localRunbook, 0o600)
	writeFile(t, filepath.Join(dir, "config", "drnav", "config.toml"),
		fmt.Sprintf("journal_dir = %q\nshare_group = %q\n", root, group), 0o600)
	if code, out, errs := drnav(t, "run", "local", "--runbooks", filepath.Dir(rbPath)); code != 0 {
		t.Fatalf("run: %d %s %s", code, out, errs)
	}
	list, err := incident.List(root)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	id := list[0].ID
	g, _ := user.LookupGroup(group)
	gid, _ := strconv.Atoi(g.Gid)
	for p, want := range map[string]os.FileMode{
		root:                                     0o750 | os.ModeSetgid | os.ModeDir,
		filepath.Join(root, id):                  0o750 | os.ModeSetgid | os.ModeDir,
		filepath.Join(root, id, "journal.jsonl"): 0o640,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want || int(fi.Sys().(*syscall.Stat_t).Gid) != gid {
			t.Errorf("%s: mode %v gid %d, want %v gid %d", p, fi.Mode(), fi.Sys().(*syscall.Stat_t).Gid, want, gid)
		}
	}
	// The driver holds the lock while the colleague looks; the lock itself
	// stays the owner's alone.
	j, _, _, err := incident.Open(root, id)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if fi, err := os.Stat(filepath.Join(root, id, "lock")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v, want 0600", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(root, id, "lock.json")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("lock information: %v %v, want 0640", fi, err)
	}

	as := func(name string, args ...string) (int, string, string) {
		home, _ := os.MkdirTemp("", "drnav-home-")
		defer os.RemoveAll(home)
		return runAs(t, bin, name, home, args...)
	}
	code, out, errs := as(colleague, "report", "--journal-dir", root, id)
	if code != 0 || !strings.Contains(out, "Local procedure") {
		t.Errorf("colleague report: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = as(colleague, "incidents", "--journal-dir", root)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "(pid ") {
		t.Errorf("colleague incidents (with the driver shown): exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = as(colleague, "follow-test", root, id)
	if code != 0 || !strings.Contains(out, "declared") {
		t.Errorf("colleague follow (as watch): exit %d\n%s\n%s", code, out, errs)
	}
	// Read-only: the colleague can neither drive nor write.
	code, _, errs = as(colleague, "run", "local", "--journal-dir", root, "--resume", id, "--runbooks", filepath.Dir(rbPath))
	if code == 0 || !strings.Contains(errs, "not by you") {
		t.Errorf("colleague resume: exit %d, %q; want refused", code, errs)
	}
	if f, err := os.OpenFile(filepath.Join(root, id, incident.JournalName), os.O_WRONLY, 0); err == nil {
		f.Close() // root can; the check is the mode above
	}
	// Someone outside the group sees nothing.
	code, _, errs = as(outsider, "report", "--journal-dir", root, id)
	if code == 0 || !strings.Contains(errs, "permission denied") {
		t.Errorf("outsider report: exit %d, %q; want permission denied", code, errs)
	}
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// runAs runs the CLI (the test binary bin) as account name with HOME=home
// (created for it; "" leaves HOME unset).
func runAs(t *testing.T, bin, name, home string, args ...string) (int, string, string) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	ugid, _ := strconv.Atoi(u.Gid)
	groups := []uint32{}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			n, _ := strconv.Atoi(s)
			groups = append(groups, uint32(n))
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"DRNAV_TEST_RUN_CLI=1", "PATH=" + os.Getenv("PATH"), "USER=" + name}
	cmd.Dir = "/"
	if home != "" {
		os.Chown(home, uid, ugid)
		cmd.Env = append(cmd.Env, "HOME="+home)
		cmd.Dir = home
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(ugid), Groups: groups}}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run as %s: %v", name, err)
	}
	return code, o.String(), e.String()
}

// TestNoHOMEUsesTheAccountDatabase: a run with HOME unset (system service,
// cron) keeps its state under the home the account database gives, never in
// a shared temp folder another account could have prepared. Run as nobody,
// whose home does not exist: the run fails naming it, and nothing appears in
// the temp folder.
func TestNoHOMEUsesTheAccountDatabase(t *testing.T) {
	needRoot(t)
	u, err := user.Lookup("nobody")
	if err != nil || u.HomeDir == "" {
		t.Skip("no nobody account with a home in the account database")
	}
	if _, err := os.Stat(u.HomeDir); err == nil {
		t.Skipf("nobody's home %s exists: the run would write there", u.HomeDir)
	}
	base, err := os.MkdirTemp("", "drnav-nohome-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := writeFile(t, filepath.Join(base, "drnav.test"), string(self), 0o755)
	rb := writeFile(t, filepath.Join(base, "rb", "local.toml"), localRunbook, 0o644)
	os.Chmod(filepath.Dir(rb), 0o755)
	before, _ := os.ReadDir(os.TempDir())
	code, out, errs := runAs(t, bin, "nobody", "", "run", "local", "--runbooks", filepath.Dir(rb))
	if code == 0 || !strings.Contains(errs, u.HomeDir) {
		t.Errorf("run as nobody without HOME: exit %d, stderr %q; want a failure naming %s", code, errs, u.HomeDir)
	}
	if strings.Contains(out+errs, os.TempDir()+"/drnav") {
		t.Errorf("state in the temp folder: %s %s", out, errs)
	}
	after, _ := os.ReadDir(os.TempDir())
	for _, e := range after {
		if fi, err := os.Lstat(filepath.Join(os.TempDir(), e.Name())); err == nil && fsafeUID(fi) == nobody && !contains(before, e.Name()) {
			t.Errorf("nobody's run created %s in the temp folder", e.Name())
		}
	}
}

func fsafeUID(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

func contains(entries []os.DirEntry, name string) bool {
	for _, e := range entries {
		if e.Name() == name {
			return true
		}
	}
	return false
}
