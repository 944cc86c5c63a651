package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// maxRSS is the peak memory allowed to drnav answering one hostile file
// (normal build). maxOverBaseline bounds what a hostile file adds to the peak
// of a drnav that only prints its version, in any build: the race detector
// (CI's test build) inflates the baseline itself by about 50 MB.
const (
	maxRSS          = 100 << 20
	maxOverBaseline = 30 << 20
)

// hostileRun runs drnav (this test binary) on a hostile input and returns
// its exit code, output and peak RSS. A hang fails the test (the process is
// killed after a generous deadline).
func hostileRun(t *testing.T, env []string, args ...string) (int, string, string, int64) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	hwm := filepath.Join(t.TempDir(), "hwm")
	cmd.Env = append(append(os.Environ(), "DRNAV_TEST_AS_DRNAV=1", "DRNAV_TEST_HWM_FILE="+hwm), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("drnav %v hung (killed after 60s)\n%s", args, errb.String())
	}
	// VmHWM of the child, as it reported it at exit ("12345 kB").
	b, err := os.ReadFile(hwm)
	if err != nil {
		t.Fatalf("the child reported no peak RSS: %v", err)
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(string(b), "kB")), 10, 64)
	if err != nil {
		t.Fatalf("peak RSS %q: %v", b, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String(), kb * 1024
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

func nestingBomb(depth int) []byte {
	var b bytes.Buffer
	b.WriteString("x=")
	for i := 0; i < depth; i++ {
		b.WriteString("{a=")
	}
	b.WriteString("1")
	for i := 0; i < depth; i++ {
		b.WriteString("}")
	}
	b.WriteString("\n")
	return b.Bytes()
}

func bigLine(n int) []byte {
	b := bytes.Repeat([]byte("a"), n)
	b = append([]byte("# "), b...)
	return append(b, '\n')
}

// TestHostileFiles answers every hostile runbook, config and journal with a
// one-line error (or tolerates it) in bounded time and under 100 MB of peak
// memory, measured as the child's maximum resident set size.
func TestHostileFiles(t *testing.T) {
	dir := isolate(t)
	root := journalDir(dir)
	stateEnv := []string{"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	type tc struct {
		name  string
		setup func(t *testing.T, d string) []string // returns drnav's args
		code  int                                   // want exit code (-1: non-zero)
		want  string                                // in stderr (or stdout)
	}
	journalDecl := func(seq int, extra string) []byte {
		return []byte(fmt.Sprintf(`{"seq":%d,"time":"2026-11-25T20:00:00Z","type":"declared","declared":{"id":"x","runbook_id":"local","runbook_title":"Local procedure","mode":"live","detected":"2026-11-25T20:00:00Z","rto_ns":3600000000000,"rpo_ns":900000000000}}`, seq) + extra)
	}
	cases := []tc{
		{"runbook FIFO", func(t *testing.T, d string) []string {
			writeRunbook(t, d, localRunbook)
			mkfifo(t, filepath.Join(d, "rb", "fifo.toml"))
			return []string{"lint", filepath.Join(d, "rb")}
		}, 1, "not a regular file (a FIFO)"},
		{"runbook FIFO beside a good one: list", func(t *testing.T, d string) []string {
			writeRunbook(t, d, localRunbook)
			mkfifo(t, filepath.Join(d, "rb", "fifo.toml"))
			return []string{"list", "--runbooks", filepath.Join(d, "rb")}
		}, 0, "broken runbook skipped"},
		{"runbook /dev/zero", func(t *testing.T, d string) []string {
			writeRunbook(t, d, localRunbook)
			if err := os.Symlink("/dev/zero", filepath.Join(d, "rb", "zero.toml")); err != nil {
				t.Fatal(err)
			}
			return []string{"lint", filepath.Join(d, "rb")}
		}, 1, "a character device"},
		{"runbook nesting bomb", func(t *testing.T, d string) []string {
			writeFile(t, filepath.Join(d, "rb", "bomb.toml"), string(nestingBomb(10000)), 0o600)
			return []string{"lint", filepath.Join(d, "rb")}
		}, 1, "nest deeper than"},
		{"runbook 50 MB line", func(t *testing.T, d string) []string {
			writeFile(t, filepath.Join(d, "rb", "big.toml"), string(bigLine(50<<20)), 0o600)
			return []string{"lint", filepath.Join(d, "rb")}
		}, 1, "too large"},
		{"config FIFO", func(t *testing.T, d string) []string {
			mkfifo(t, filepath.Join(d, "config.toml"))
			return []string{"incidents", "--config", filepath.Join(d, "config.toml")}
		}, 1, "not a regular file (a FIFO)"},
		{"config /dev/zero", func(t *testing.T, d string) []string {
			if err := os.Symlink("/dev/zero", filepath.Join(d, "config.toml")); err != nil {
				t.Fatal(err)
			}
			return []string{"incidents", "--config", filepath.Join(d, "config.toml")}
		}, 1, "a character device"},
		{"config nesting bomb", func(t *testing.T, d string) []string {
			writeFile(t, filepath.Join(d, "config.toml"), string(nestingBomb(10000)), 0o600)
			return []string{"incidents", "--config", filepath.Join(d, "config.toml")}
		}, 1, "nest deeper than"},
		{"config 50 MB line", func(t *testing.T, d string) []string {
			writeFile(t, filepath.Join(d, "config.toml"), string(bigLine(50<<20)), 0o600)
			return []string{"incidents", "--config", filepath.Join(d, "config.toml")}
		}, 1, "too large"},
		{"journal FIFO: report", func(t *testing.T, d string) []string {
			if err := os.MkdirAll(filepath.Join(root, "fifo-inc"), 0o700); err != nil {
				t.Fatal(err)
			}
			mkfifo(t, filepath.Join(root, "fifo-inc", "journal.jsonl"))
			return []string{"report", "fifo-inc"}
		}, 1, "not a regular file (a FIFO)"},
		{"journal FIFO: resume", func(t *testing.T, d string) []string {
			writeRunbook(t, d, localRunbook)
			return []string{"run", "local", "--runbooks", filepath.Join(d, "rb"), "--resume", "fifo-inc"}
		}, 1, "not a regular file (a FIFO)"},
		{"journal FIFO: incidents", func(t *testing.T, d string) []string {
			return []string{"incidents"}
		}, 0, "unreadable"},
		{"journal /dev/zero", func(t *testing.T, d string) []string {
			if err := os.MkdirAll(filepath.Join(root, "zero-inc"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/dev/zero", filepath.Join(root, "zero-inc", "journal.jsonl")); err != nil {
				t.Fatal(err)
			}
			return []string{"report", "zero-inc"}
		}, 1, "symbolic link: refusing to follow it"}, // journals are opened without following links
		{"journal 50 MB line", func(t *testing.T, d string) []string {
			writeFile(t, filepath.Join(root, "big-inc", "journal.jsonl"), string(append(journalDecl(1, "\n"), bigLine(50<<20)...)), 0o600)
			return []string{"report", "big-inc"}
		}, 1, "line longer than"},
		{"journal seq overflow", func(t *testing.T, d string) []string {
			j := journalDecl(1, "\n")
			j = append(j, `{"seq":9223372036854775807,"time":"2026-11-25T20:01:00Z","type":"note","text":"x"}`+"\n"...)
			writeFile(t, filepath.Join(root, "seq-inc", "journal.jsonl"), string(j), 0o600)
			writeRunbook(t, d, localRunbook)
			return []string{"run", "local", "--runbooks", filepath.Join(d, "rb"), "--resume", "seq-inc"}
		}, 1, "out of range"},
		{"journal seq gap", func(t *testing.T, d string) []string {
			j := journalDecl(1, "\n")
			j = append(j, `{"seq":5,"time":"2026-11-25T20:01:00Z","type":"note","text":"x"}`+"\n"...)
			writeFile(t, filepath.Join(root, "gap-inc", "journal.jsonl"), string(j), 0o600)
			return []string{"report", "gap-inc"}
		}, 1, "3 events missing"},
		{"journal BOM", func(t *testing.T, d string) []string {
			writeFile(t, filepath.Join(root, "bom-inc", "journal.jsonl"), string(append([]byte("\xEF\xBB\xBF"), journalDecl(1, "\n")...)), 0o600)
			return []string{"incidents"}
		}, 0, "bom-inc  "},
		{"journal without trailing newline", func(t *testing.T, d string) []string {
			j := journalDecl(1, "\n")
			j = append(j, `{"seq":2,"time":"2026-11-25T20:01:00Z","type":"step_started","step":"hello","command":"echo hello"}`+"\n"...)
			j = append(j, `{"seq":3,"time":"2026-11-25T20:02:00Z","type":"step_finished","step":"hello"}`...)
			writeFile(t, filepath.Join(root, "nonl-inc", "journal.jsonl"), string(j), 0o600)
			writeRunbook(t, d, localRunbook)
			return []string{"run", "local", "--runbooks", filepath.Join(d, "rb"), "--resume", "nonl-inc"}
		}, 0, "hello already done"},
		{"empty incident id", func(t *testing.T, d string) []string {
			writeRunbook(t, d, localRunbook)
			return []string{"run", "local", "--runbooks", filepath.Join(d, "rb"), "--resume", ""}
		}, 1, "incident id is empty"},
		{"incident id with ..", func(t *testing.T, d string) []string {
			return []string{"report", ".."}
		}, 1, `incident id ".." is not an incident`},
		{"incident id with /", func(t *testing.T, d string) []string {
			writeRunbook(t, d, localRunbook)
			return []string{"run", "local", "--runbooks", filepath.Join(d, "rb"), "--resume", "a/../../x"}
		}, 1, "is not allowed in an id"},
	}
	_, _, _, baseline := hostileRun(t, stateEnv, "version")
	t.Logf("baseline (drnav version): peak RSS %.1f MB", float64(baseline)/(1<<20))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			args := c.setup(t, d)
			before := snapshot(t, root)
			code, out, errs, rss := hostileRun(t, stateEnv, args...)
			t.Logf("%s: exit %d, peak RSS %.1f MB", c.name, code, float64(rss)/(1<<20))
			if !raceEnabled && rss >= maxRSS {
				t.Errorf("peak RSS %d bytes, want < %d", rss, maxRSS)
			}
			if rss-baseline >= maxOverBaseline {
				t.Errorf("peak RSS %d bytes is %d over the baseline %d, want < %d", rss, rss-baseline, baseline, maxOverBaseline)
			}
			if (c.code == -1 && code == 0) || (c.code != -1 && code != c.code) {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errs)
			}
			if !strings.Contains(errs+out, c.want) {
				t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", c.want, out, errs)
			}
			if code != 0 && !strings.HasPrefix(args[0], "lint") {
				if n := strings.Count(strings.TrimSpace(errs), "\n"); n != 0 {
					t.Errorf("error is %d lines, want one:\n%s", n+1, errs)
				}
			}
			if strings.HasPrefix(args[0], "run") && code != 0 {
				if after := snapshot(t, root); after != before {
					t.Errorf("a refused resume wrote to the state folder:\nbefore %s\nafter  %s", before, after)
				}
			}
		})
	}
	// A lock file was never created outside the state folder.
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("an id with .. reached outside the state folder")
	}
}

// snapshot lists every file under root with its size (a refused resume
// must leave it as it was).
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			fmt.Fprintf(&b, "%s:%d ", strings.TrimPrefix(p, root), fi.Size())
		}
		return nil
	})
	return b.String()
}
