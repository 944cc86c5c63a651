// Package supervisor runs one shell step detached from drnav, so that the
// step outlives the operator's session: drnav re-executes itself with the
// hidden Command in a new session (no controlling terminal, so no SIGHUP when
// the SSH session drops), and the supervisor runs bash in its own process
// group with stdout and stderr going to files of the step's run folder. When
// bash ends it writes the exit status and timing to StatusName, fsynced, and
// exits. drnav follows the files while it lives; after a crash it reads them
// on resume (see ReadStatus, Alive, Tail).
//
// The script comes on the supervisor's stdin (as JSON, never on disk); bash
// gets /dev/null as stdin. SIGTERM to the supervisor ends the step's whole
// group (SIGTERM, then SIGKILL after the grace); SIGINT and SIGHUP are
// ignored.
package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drnav/drnav/internal/safefile"
)

// Command is the hidden drnav subcommand that runs the supervisor.
const Command = "__step-supervisor"

// Files of a run folder.
const (
	OutName    = "stdout.log"
	ErrName    = "stderr.log"
	StatusName = "status.json"
	PIDName    = "pid.json"
	LogName    = "supervisor.log"
)

// maxSpec bounds the spec read from stdin.
const maxSpec = 4 << 20

// Spec is what the supervisor runs, read from its stdin.
type Spec struct {
	Script string `json:"script"`
	// Timeout ends the step's group (SIGTERM, then SIGKILL after Grace)
	// even when drnav is gone; zero is none.
	Timeout time.Duration `json:"timeout_ns,omitempty"`
	Grace   time.Duration `json:"grace_ns,omitempty"`
}

// PIDs says which processes run a step (PIDName).
type PIDs struct {
	Supervisor int       `json:"supervisor"`
	Shell      int       `json:"shell"` // also the process group of the step
	Started    time.Time `json:"started"`
}

// Status is how a step's process ended (StatusName).
type Status struct {
	Exit     int       `json:"exit"`             // 128+n when killed by signal n
	Signal   string    `json:"signal,omitempty"` // the signal that killed bash
	TimedOut bool      `json:"timed_out,omitempty"`
	Stopped  bool      `json:"stopped,omitempty"` // ended by a SIGTERM to the supervisor (drnav's cancel)
	Err      string    `json:"error,omitempty"`   // bash could not be started
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
}

// Main is the supervisor process: args is the run folder. It returns the
// process exit code (0 once the status is written).
func Main(args []string, stdin io.Reader, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintf(stderr, "%s: want the run folder\n", Command)
		return 2
	}
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if err := supervise(args[0], stdin, term); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", Command, err)
		return 1
	}
	return 0
}

func supervise(dir string, stdin io.Reader, term <-chan os.Signal) error {
	data, err := io.ReadAll(io.LimitReader(stdin, maxSpec+1))
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	if len(data) > maxSpec {
		return errors.New("spec too large")
	}
	var spec Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	if spec.Grace <= 0 {
		spec.Grace = 2 * time.Second
	}
	out, err := createFile(filepath.Join(dir, OutName))
	if err != nil {
		return err
	}
	defer out.Close()
	errf, err := createFile(filepath.Join(dir, ErrName))
	if err != nil {
		return err
	}
	defer errf.Close()

	self, _ := json.Marshal(PIDs{Supervisor: os.Getpid()})
	if err := replaceFile(dir, PIDName, append(self, '\n')); err != nil {
		return fmt.Errorf("write pid: %w", err)
	}
	cmd := exec.Command("bash", "-c", spec.Script)
	cmd.Stdout, cmd.Stderr = out, errf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return writeStatus(dir, Status{Exit: 127, Err: err.Error(), Started: started, Finished: time.Now()})
	}
	pgid := cmd.Process.Pid
	pids, _ := json.Marshal(PIDs{Supervisor: os.Getpid(), Shell: pgid, Started: started})
	if err := replaceFile(dir, PIDName, append(pids, '\n')); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", Command, err) // the step runs anyway
	}

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var timeout <-chan time.Time
	if spec.Timeout > 0 {
		t := time.NewTimer(spec.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	st := Status{Started: started}
	var werr error
	select {
	case werr = <-waited:
	case <-term:
		st.Stopped = true
		werr = stopGroup(pgid, waited, spec.Grace)
	case <-timeout:
		st.TimedOut = true
		werr = stopGroup(pgid, waited, spec.Grace)
	}
	st.Finished = time.Now()
	st.Exit = 0
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				st.Exit = 128 + int(ws.Signal())
				st.Signal = ws.Signal().String()
			} else {
				st.Exit = ee.ExitCode()
			}
		} else {
			st.Exit = 1
			st.Err = werr.Error()
		}
	}
	if err := out.Sync(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: sync output: %v\n", Command, err)
	}
	if err := errf.Sync(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: sync output: %v\n", Command, err)
	}
	return writeStatus(dir, st)
}

// stopGroup ends the step's process group: SIGTERM, then SIGKILL after grace.
func stopGroup(pgid int, waited <-chan error, grace time.Duration) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	var werr error
	select {
	case werr = <-waited:
	case <-t.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		werr = <-waited
	}
	// stragglers of the group
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return werr
}

func createFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Base(path), err)
	}
	return f, nil
}

// replaceFile writes name in dir through a temporary file and a rename, so
// a reader (Stop, Alive, drnav's resume) sees the old or the new content,
// never an empty or half-written file.
func replaceFile(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	if err := safefile.WriteFileSync(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func writeStatus(dir string, st Status) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if err := replaceFile(dir, StatusName, append(data, '\n')); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ReadStatus reads how the step ended; ok is false while it has not.
func ReadStatus(dir string) (Status, bool, error) {
	var st Status
	data, err := readSmall(filepath.Join(dir, StatusName))
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("read step status: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, false, fmt.Errorf("read step status %s: %w", dir, err)
	}
	return st, true, nil
}

// AwaitStatus polls for the status for up to d (a supervisor found gone
// may still be renaming it into place).
func AwaitStatus(dir string, d time.Duration) (Status, bool, error) {
	deadline := time.Now().Add(d)
	for {
		st, ok, err := ReadStatus(dir)
		if err != nil || ok || time.Now().After(deadline) {
			return st, ok, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ReadPIDs reads which processes run the step (ok false before they started).
func ReadPIDs(dir string) (PIDs, bool) {
	var p PIDs
	data, err := readSmall(filepath.Join(dir, PIDName))
	if err != nil || json.Unmarshal(data, &p) != nil {
		return p, false
	}
	return p, true
}

// Alive reports whether the step's supervisor still runs: a process that is
// a supervisor of this folder (its pid file is checked first, then /proc is
// scanned, for a supervisor killed-over before it wrote the file).
func Alive(dir string) bool {
	if p, ok := ReadPIDs(dir); ok && p.Supervisor > 0 && isSupervisorOf(p.Supervisor, dir) {
		return true
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && isSupervisorOf(pid, dir) {
			return true
		}
	}
	return false
}

// isSupervisorOf checks /proc/PID/cmdline names Command and dir (a zombie
// has an empty cmdline: gone).
func isSupervisorOf(pid int, dir string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	hasCmd, hasDir := false, false
	for _, a := range args {
		hasCmd = hasCmd || a == Command
		hasDir = hasDir || a == dir
	}
	return hasCmd && hasDir
}

// Stop asks a step's supervisor to end the step's group (drnav's cancel).
func Stop(dir string) error {
	p, ok := ReadPIDs(dir)
	if !ok || !isSupervisorOf(p.Supervisor, dir) {
		return errors.New("the step's supervisor is gone")
	}
	return syscall.Kill(p.Supervisor, syscall.SIGTERM)
}

// tailBytes bounds how much of an output file Tail reads.
const tailBytes = 64 << 10

// Tail is the last n lines of the step's output, stderr lines prefixed "! "
// (stdout first, then stderr: their interleaving is not recorded).
func Tail(dir string, n int) []string {
	var out []string
	for _, f := range []struct{ name, prefix string }{{OutName, ""}, {ErrName, "! "}} {
		for _, l := range tailFile(filepath.Join(dir, f.name), n) {
			out = append(out, f.prefix+l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

func tailFile(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	off := max(fi.Size()-tailBytes, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	if off > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
