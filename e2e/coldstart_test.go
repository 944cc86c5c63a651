package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// coldBuilds are the two ways the README builds drnav: the install command
// users run, and the release build (the same plus version stamps).
var coldBuilds = []struct{ name, ldflags string }{
	{"install", "-s -w"},
	{"release", "-s -w -X main.stampVersion=0.0.0-bench -X main.stampCommit=bench -X main.stampDate=2026-01-01T00:00:00Z"},
}

var (
	coldOnce sync.Once
	coldBins map[string]string
	coldErr  error
)

// buildCold builds every coldBuilds entry with CGO_ENABLED=0 -trimpath, as
// the README says, then copies each binary (a file the linker has just
// written maps bigger page-cache pieces and reads 4-8 MB higher in RSS than
// a copy: see the README's performance section).
func buildCold() (map[string]string, error) {
	coldOnce.Do(func() {
		dir, err := os.MkdirTemp("", "drnav-coldstart-")
		if err != nil {
			coldErr = err
			return
		}
		coldBins = map[string]string{}
		for _, b := range coldBuilds {
			raw := filepath.Join(dir, b.name+".linked")
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags="+b.ldflags, "-o", raw, ".")
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				coldErr = fmt.Errorf("go build (%s): %v\n%s", b.name, err, out)
				return
			}
			bin := filepath.Join(dir, b.name, "drnav")
			if err := copyExecutable(raw, bin); err != nil {
				coldErr = err
				return
			}
			coldBins[b.name] = bin
		}
	})
	return coldBins, coldErr
}

func copyExecutable(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return out.Close()
}

// lastInit reads GODEBUG=inittrace=1's lines: the moment the last package
// initialisation ends, from the runtime's start — where main begins.
var lastInit = regexp.MustCompile(`(?m)^init \S+ @([0-9.]+) ms, ([0-9.]+) ms clock`)

// BenchmarkColdStart measures what a person waits for before drnav does
// anything, for the README's install build and its release build:
//
//	bytes      the binary's size
//	main-ms    process start → main (package initialisation), from inittrace
//	version-ms exec → exit of `drnav version` (wall clock)
//	version-KB peak RSS of `drnav version`; list-KB, lint-KB the same
//	frame-ms   exec → the drill picker on screen: `drnav --drill` in tmux at 120x40
//
// Each figure is the median of b.N runs (use -benchtime 20x). It builds
// the binaries itself; needs tmux.
//
//	go test ./e2e -run '^$' -bench ColdStart -benchtime 20x
func BenchmarkColdStart(b *testing.B) {
	if _, err := exec.LookPath("tmux"); err != nil {
		b.Skipf("tmux not found: %v", err)
	}
	bins, err := buildCold()
	if err != nil {
		b.Fatal(err)
	}
	for _, build := range coldBuilds {
		bin := bins[build.name]
		b.Run(build.name, func(b *testing.B) {
			dir := b.TempDir()
			env := coldEnv(dir)
			// The testing package calls this function once with b.N = 1 and
			// then with the asked count: a socket of its own each time, as
			// the last one's server may still be exiting.
			sock := fmt.Sprintf("drnav-cold-%d-%s-%d", os.Getpid(), build.name, time.Now().UnixNano())
			defer exec.Command("tmux", "-L", sock, "kill-server").Run()
			if out, err := exec.Command("tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "cold",
				"-x", "120", "-y", "40", "sleep 3600").CombinedOutput(); err != nil {
				b.Fatalf("tmux new-session: %v: %s", err, out)
			}
			var mainMs, versionMs, frameMs []float64
			rss := map[string][]float64{}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m, err := initEnd(bin, env)
				if err != nil {
					b.Fatal(err)
				}
				mainMs = append(mainMs, m)
				for _, cmd := range []string{"version", "list", "lint"} {
					d, kb, err := oneShot(bin, env, cmd)
					if err != nil {
						b.Fatal(err)
					}
					if cmd == "version" {
						versionMs = append(versionMs, d)
					}
					rss[cmd] = append(rss[cmd], kb)
				}
				f, err := drillFrame(sock, dir, bin, env, i)
				if err != nil {
					b.Fatal(err)
				}
				frameMs = append(frameMs, f)
			}
			b.StopTimer()
			if st, err := os.Stat(bin); err == nil {
				b.ReportMetric(float64(st.Size()), "bytes")
			}
			b.ReportMetric(median(mainMs), "main-ms")
			b.ReportMetric(median(versionMs), "version-ms")
			b.ReportMetric(median(frameMs), "frame-ms")
			for _, cmd := range []string{"version", "list", "lint"} {
				b.ReportMetric(median(rss[cmd]), cmd+"-KB")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// coldEnv is a private state and config folder, a UTF-8 locale and nothing
// of the caller's drnav or kube settings.
func coldEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "PG"), strings.HasPrefix(k, "DRNAV_"), strings.HasPrefix(k, "GO"),
			k == "XDG_STATE_HOME", k == "XDG_CONFIG_HOME", k == "KUBECONFIG", k == "LANG", k == "LC_ALL", k == "TMUX":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"KUBECONFIG="+filepath.Join(dir, "no-kubeconfig"), "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
}

// initEnd runs `drnav version` with GODEBUG=inittrace=1 and returns when
// its last package initialisation ended (ms from the runtime's start).
func initEnd(bin string, env []string) (float64, error) {
	cmd := exec.Command(bin, "version")
	cmd.Env = append(slices.Clone(env), "GODEBUG=inittrace=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("drnav version: %v: %s", err, stderr.String())
	}
	end := 0.0
	for _, m := range lastInit.FindAllStringSubmatch(stderr.String(), -1) {
		at, err1 := strconv.ParseFloat(m[1], 64)
		took, err2 := strconv.ParseFloat(m[2], 64)
		if err1 == nil && err2 == nil && at+took > end {
			end = at + took
		}
	}
	if end == 0 {
		return 0, fmt.Errorf("drnav version printed no inittrace: %s", stderr.String())
	}
	return end, nil
}

// oneShot runs drnav with args and returns its wall time (ms) and peak RSS
// (KB, the kernel's maxrss).
func oneShot(bin string, env []string, args ...string) (ms, kb float64, err error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil && !(len(args) == 1 && args[0] == "lint") { // lint exits 1 on findings
		return 0, 0, fmt.Errorf("drnav %s: %v: %s", strings.Join(args, " "), err, out)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, fmt.Errorf("drnav %s: no rusage", strings.Join(args, " "))
	}
	return float64(d.Microseconds()) / 1000, float64(ru.Maxrss), nil
}

// drillFrame starts `drnav --drill` in a new tmux window, stamps the time
// just before the exec, polls the screen until the picker shows, and kills
// the window. It returns exec → picker in ms.
func drillFrame(sock, dir, bin string, env []string, i int) (float64, error) {
	stamp := filepath.Join(dir, fmt.Sprintf("t0-%d", i))
	var sh strings.Builder
	sh.WriteString("#!/bin/sh\n")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" || strings.ContainsAny(k, "()-. ") {
			continue
		}
		fmt.Fprintf(&sh, "export %s=%s\n", k, shq(v))
	}
	// date runs before exec in this shell: the stamp is a few hundred µs
	// early at most.
	fmt.Fprintf(&sh, "date +%%s%%N > %s\nexec %s --drill\n", shq(stamp), shq(bin))
	script := filepath.Join(dir, fmt.Sprintf("drill-%d.sh", i))
	if err := os.WriteFile(script, []byte(sh.String()), 0o755); err != nil {
		return 0, err
	}
	win := fmt.Sprintf("d%d", i)
	if out, err := exec.Command("tmux", "-L", sock, "new-window", "-d", "-t", "cold", "-n", win, script).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("tmux new-window: %v: %s", err, out)
	}
	defer exec.Command("tmux", "-L", sock, "kill-window", "-t", "cold:"+win).Run()
	deadline := time.Now().Add(waitTimeout)
	for {
		out, err := exec.Command("tmux", "-L", sock, "capture-pane", "-p", "-t", "cold:"+win).Output()
		if err != nil {
			return 0, fmt.Errorf("tmux capture-pane: %v", err)
		}
		if strings.Contains(string(out), "pick the disaster") {
			seen := time.Now()
			b, err := os.ReadFile(stamp)
			if err != nil {
				return 0, fmt.Errorf("read exec stamp: %w", err)
			}
			ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("exec stamp %q: %w", b, err)
			}
			return float64(seen.Sub(time.Unix(0, ns)).Microseconds()) / 1000, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the drill picker did not show within %s; screen:\n%s", waitTimeout, out)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
