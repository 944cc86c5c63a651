package incident

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/drnav/drnav/internal/safefile"
)

// EnvHost overrides the host name drnav records for this machine (a
// container's random host name says nothing to the next person).
const EnvHost = "DRNAV_HOST"

// Host is this machine as the journal names it: $DRNAV_HOST, else the host
// name, else "unknown host".
func Host() string {
	if h := os.Getenv(EnvHost); h != "" {
		return h
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "unknown host"
}

// Observe registers fn to be told of every event appended from now on, with
// its seq and its journal line (newline included), once the line is on
// disk. fn runs under the journal's lock, in seq order, so it must not
// block; it may keep line (the journal never reuses it) but not modify it.
func (j *Journal) Observe(fn func(seq int, line []byte)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.observe = fn
}

// Fence turns the journal read-only: every later Append fails with why.
// The driver calls it when it lost the right to drive (its Lease).
func (j *Journal) Fence(why error) {
	if why == nil {
		why = errors.New("fenced")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fenced == nil {
		j.fenced = why
	}
}

// Guard makes every Append ask allowed first: once it returns an error the
// journal is fenced with it (see Fence). The driver's Lease is the guard.
func (j *Journal) Guard(allowed func() error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.guard = allowed
}

// Fenced is the reason the journal was turned read-only, or nil.
func (j *Journal) Fenced() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fenced
}

// Import writes data, a journal copied from elsewhere (a cluster mirror),
// as incident id's journal under root, so Open can take it over. data must
// parse without error and start with the declared event of id. A journal
// already here is replaced only when it is a prefix of data (this machine
// saw less of the incident); anything else is refused, since it would lose
// events. It returns how many events the journal holds.
func Import(root, id string, data []byte) (int, error) {
	if err := ValidID(id); err != nil {
		return 0, err
	}
	events, good, noNL, _, _, err := parse(bytes.NewReader(data), "imported journal of "+id)
	if err != nil {
		return 0, fmt.Errorf("import journal %s: %w", id, err)
	}
	if len(events) == 0 || events[0].Type != EventDeclared || events[0].Declared == nil || events[0].Declared.ID != id {
		return 0, fmt.Errorf("import journal %s: it does not start with the declaration of %s", id, id)
	}
	data = data[:good]
	if noNL {
		data = append(bytes.Clone(data), '\n')
	}
	if _, _, err := checkRoot(root, true); err != nil {
		return 0, fmt.Errorf("import journal %s: %w", id, err)
	}
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return 0, fmt.Errorf("import journal %s: %w", id, err)
	}
	uid, err := checkIncidentDir(root, id, true)
	if err != nil {
		return 0, fmt.Errorf("import journal %s: %w", id, err)
	}
	lock, err := Acquire(root, id)
	if err != nil {
		return 0, fmt.Errorf("import journal %s: %w", id, err)
	}
	defer func() { _ = lock.Release() }()
	path := filepath.Join(dir, JournalName)
	if f, err := os.Lstat(path); err == nil && f.Mode().IsRegular() {
		local, _, _, err := readLocal(path, uid)
		if err != nil {
			return 0, fmt.Errorf("import journal %s: the local copy: %w", id, err)
		}
		if !bytes.HasPrefix(data, local) {
			return 0, fmt.Errorf("import journal %s: the local journal (%d bytes) is not a prefix of the copy (%d bytes): it would lose events; move it away first", id, len(local), len(data))
		}
	} else if err == nil {
		return 0, fmt.Errorf("import journal %s: %s is not a regular file", id, path)
	}
	tmp := path + ".import"
	_ = os.Remove(tmp)
	f, err := createFile(tmp, os.O_WRONLY|os.O_EXCL)
	if err != nil {
		return 0, fmt.Errorf("import journal %s: %w", id, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return 0, fmt.Errorf("import journal %s: %w", id, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, fmt.Errorf("import journal %s: fsync: %w", id, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("import journal %s: %w", id, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, fmt.Errorf("import journal %s: %w", id, err)
	}
	if err := syncDir(dir); err == nil {
		_ = syncDir(root)
	}
	return len(events), nil
}

// readLocal reads the good part of a local journal file.
func readLocal(path string, uid int) ([]byte, []Event, []Warning, error) {
	f, err := safefile.OpenOwned("journal", path, os.O_RDONLY, uid)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, nil, nil, err
	}
	events, good, _, warns, _, err := parse(bytes.NewReader(buf.Bytes()), path)
	if err != nil {
		return nil, nil, warns, err
	}
	return buf.Bytes()[:good], events, warns, nil
}

// Lines returns the journal lines of incident id with a seq above after,
// each with its newline, read from disk (a mirror catching up). maxBytes
// bounds the total (at least one line is returned when there is one).
func Lines(path string, after int, maxBytes int) ([][]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read journal lines: %w", err)
	}
	defer f.Close()
	events, lines, err := splitLines(f, path)
	if err != nil {
		return nil, nil, fmt.Errorf("read journal lines: %w", err)
	}
	var out [][]byte
	var seqs []int
	total := 0
	for i, ev := range events {
		if ev.Seq <= after {
			continue
		}
		if len(out) > 0 && total+len(lines[i]) > maxBytes {
			break
		}
		total += len(lines[i])
		out = append(out, lines[i])
		seqs = append(seqs, ev.Seq)
	}
	return out, seqs, nil
}

// splitLines reads a journal and returns its events with the exact line
// (newline included) each came from; invalid and torn lines are left out.
func splitLines(r io.Reader, path string) ([]Event, [][]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	var events []Event
	var lines [][]byte
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			break // a torn last line was never acknowledged
		}
		line := data[:nl+1]
		data = data[nl+1:]
		var ev Event
		if json.Unmarshal(line, &ev) != nil || ev.Type == "" {
			continue
		}
		events = append(events, ev)
		lines = append(lines, line)
	}
	return events, lines, nil
}
