package incident

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/drnav/drnav/internal/safefile"
)

// JournalName is the journal file inside an incident's folder.
const JournalName = "journal.jsonl"

// ErrNoIncident is returned by Latest when no open incident exists.
var ErrNoIncident = errors.New("no open incident")

// Warning is a problem found while reading a journal that loses nothing
// acknowledged: a torn last line or a garbage line, both skipped.
type Warning struct {
	Line int // 1-based line number in the file
	Msg  string
}

func (w Warning) Error() string { return fmt.Sprintf("journal line %d: %s", w.Line, w.Msg) }

// Journal is one incident's journal opened by its driver. Append is safe for
// concurrent use.
type Journal struct {
	root, id, path string

	mu    sync.Mutex
	f     *os.File
	lock  *Lock
	seq   int
	size  int64 // end of the last good line
	state State
	// link is LinkOf the last event's line: the next event's Prev.
	link string

	// observe is told of every event once it is on disk (see Observe).
	observe func(seq int, line []byte)
	// fenced, once set, refuses every append (see Fence).
	fenced error
	// guard, when set, is asked before every append (see Guard).
	guard func() error
}

// ID is the incident id.
func (j *Journal) ID() string { return j.id }

// Dir is the incident's folder.
func (j *Journal) Dir() string { return filepath.Join(j.root, j.id) }

// Path is the journal file.
func (j *Journal) Path() string { return j.path }

// Seq is the sequence number of the last event appended.
func (j *Journal) Seq() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq
}

// State is a copy of the live state: every event appended folded in.
func (j *Journal) State() State {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state.Clone()
}

var slugRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9]+`) })

func slug(s string) string {
	s = slugRe().ReplaceAllString(string(bytes.ToLower([]byte(s))), "-")
	s = string(bytes.Trim([]byte(s), "-"))
	if s == "" {
		return "incident"
	}
	return s
}

// Create declares a new incident: it makes <root>/<id>/ (0700), takes the
// driver lock, and appends the declared event. The id is the declaration
// time and the runbook id, e.g. 20261125-2003-database-corruption, with a
// -2, -3… suffix when taken. Operator and SSHClient default to $USER and
// $SSH_CONNECTION.
func Create(root string, decl Declared) (*Journal, error) {
	if decl.At.IsZero() {
		decl.At = time.Now()
	}
	if decl.Detected.IsZero() {
		decl.Detected = decl.At
	}
	if decl.Mode == "" {
		decl.Mode = ModeLive
	}
	if decl.Operator == "" {
		decl.Operator = currentUser()
	}
	if decl.SSHClient == "" {
		decl.SSHClient = sshClient()
	}
	if decl.Host == "" {
		decl.Host = Host()
	}
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		if err := safefile.MkdirPrivate("journal folder", root); err != nil {
			return nil, err
		}
	}
	_, share, err := checkRoot(root, true)
	if err != nil {
		return nil, err
	}
	dirMode := fs.FileMode(0o700)
	if share {
		dirMode = 0o750 | fs.ModeSetgid
	}
	base := decl.At.Format("20060102-1504") + "-" + slug(decl.RunbookID)
	id := ""
	for n := 1; n < 1000; n++ {
		cand := base
		if n > 1 {
			cand = base + "-" + strconv.Itoa(n)
		}
		err := os.Mkdir(filepath.Join(root, cand), 0o700)
		if err == nil {
			id = cand
			if err := os.Chmod(filepath.Join(root, cand), dirMode); err != nil {
				return nil, fmt.Errorf("create incident folder: %w", err)
			}
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create incident folder: %w", err)
		}
	}
	if id == "" {
		return nil, fmt.Errorf("create incident folder: %s: too many incidents with that name", base)
	}
	decl.ID = id
	lock, err := AcquireAs(root, id, decl.Operator)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(root, id, JournalName)
	f, err := createFile(path, os.O_WRONLY|os.O_EXCL|os.O_APPEND)
	if err != nil {
		_ = lock.Release()
		return nil, fmt.Errorf("create journal: %w", err)
	}
	if err := syncDir(filepath.Join(root, id)); err == nil {
		_ = syncDir(root)
	}
	j := &Journal{root: root, id: id, path: path, f: f, lock: lock}
	d := decl
	if err := j.Append(Event{Type: EventDeclared, Time: decl.At, Declared: &d}); err != nil {
		_ = j.Close()
		return nil, err
	}
	return j, nil
}

// Open takes over driving an existing incident: it takes the lock (a
// *LockedError when someone else drives it), reads the journal, truncates a
// torn last line away, and appends a resumed event, so every step that was
// running is interrupted (its outcome is unknown; it is never re-run by
// itself). The warnings say what was skipped.
func Open(root, id string) (*Journal, State, []Warning, error) { return OpenAs(root, id, "") }

// OpenAs is Open with operator named as the new driver in the lock and the
// resumed event (drnav serve: the SSH key's name); empty means the
// process's user.
func OpenAs(root, id, operator string) (*Journal, State, []Warning, error) {
	if operator == "" {
		operator = currentUser()
	}
	uid, err := checkIncidentDir(root, id, true) // validates the id first
	if err != nil {
		return nil, State{}, nil, err
	}
	lock, err := AcquireAs(root, id, operator)
	if err != nil {
		return nil, State{}, nil, err
	}
	path := filepath.Join(root, id, JournalName)
	f, err := safefile.OpenOwned("journal", path, os.O_RDWR, uid)
	if err != nil {
		_ = lock.Release()
		return nil, State{}, nil, fmt.Errorf("open journal %s: %w", id, err)
	}
	fail := func(err error) (*Journal, State, []Warning, error) {
		f.Close()
		_ = lock.Release()
		return nil, State{}, nil, err
	}
	events, good, noNL, warns, link, err := parse(f, path)
	if err != nil {
		return fail(fmt.Errorf("open journal %s: %w", id, err))
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("open journal %s: %w", id, err))
	}
	if good < fi.Size() {
		if err := f.Truncate(good); err != nil {
			return fail(fmt.Errorf("truncate torn line of journal %s: %w", id, err))
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return fail(fmt.Errorf("seek journal %s: %w", id, err))
	}
	if noNL {
		// A complete last event without its newline: keep it, end the line.
		if _, err := f.Write([]byte{'\n'}); err != nil {
			return fail(fmt.Errorf("end the last line of journal %s: %w", id, err))
		}
		good++
	}
	if good < fi.Size() || noNL {
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("sync journal %s: %w", id, err))
		}
	}
	j := &Journal{root: root, id: id, path: path, f: f, lock: lock, size: good, state: Replay(events), link: link}
	if len(events) > 0 {
		j.seq = events[len(events)-1].Seq
	}
	if err := j.Append(Event{Type: EventResumed, Operator: operator, SSHClient: sshClient(), PID: os.Getpid(), Host: Host()}); err != nil {
		_ = j.Close()
		return nil, State{}, warns, err
	}
	return j, j.State(), warns, nil
}

// Read reads an incident's journal without writing to it (observers, reports).
// When nobody drives it, steps still running are shown interrupted.
func Read(root, id string) (State, []Event, []Warning, error) {
	events, warns, err := readJournal(root, id)
	if err != nil {
		return State{}, nil, warns, fmt.Errorf("read journal %s: %w", id, err)
	}
	st := Replay(events)
	if _, driven := Driver(root, id); !driven {
		st.Interrupt(st.LastTime)
	}
	return st, events, warns, nil
}

// Append stamps the event (Seq, and Time when zero), writes it as one line
// and fsyncs the file before returning. Secret variable values are masked
// and output is cut to the last MaxTailLines lines here, whatever the caller
// passed. Only after Append returns nil may the caller show the event.
func (j *Journal) Append(ev Event) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("append to journal %s: closed", j.id)
	}
	if j.fenced == nil && j.guard != nil {
		j.fenced = j.guard()
	}
	if j.fenced != nil {
		return fmt.Errorf("append %s to journal %s: read-only: %w", ev.Type, j.id, j.fenced)
	}
	if j.seq >= maxSeq {
		return fmt.Errorf("append to journal %s: seq %d is at its limit", j.id, j.seq)
	}
	ev.Seq = j.seq + 1
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.Type == "" {
		return fmt.Errorf("append to journal %s: event without type", j.id)
	}
	if ev.Secret {
		ev.Value = SecretMask
	}
	if len(ev.Lines) > MaxTailLines {
		ev.Lines = append([]string(nil), ev.Lines[len(ev.Lines)-MaxTailLines:]...)
	}
	ev.Prev = ""
	if j.seq > 0 {
		ev.Prev = j.link // the chain starts at the declared event
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("append %s to journal %s: %w", ev.Type, j.id, err)
	}
	line = append(line, '\n')
	if _, err := j.f.Write(line); err != nil {
		// Cut a partial line away so the next append starts clean.
		_ = j.f.Truncate(j.size)
		return fmt.Errorf("append %s to journal %s: %w", ev.Type, j.id, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("append %s to journal %s: fsync: %w", ev.Type, j.id, err)
	}
	j.size += int64(len(line))
	j.seq = ev.Seq
	j.link = LinkOf(line[:len(line)-1])
	j.state.Apply(ev)
	if j.observe != nil {
		j.observe(ev.Seq, line)
	}
	return nil
}

// Close closes the journal and releases the driver lock.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var errs []error
	if j.f != nil {
		if err := j.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close journal %s: %w", j.id, err))
		}
		j.f = nil
	}
	if err := j.lock.Release(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Limits of a journal.
const (
	// MaxLineBytes bounds one journal line: a longer one makes the journal
	// unreadable (a CorruptError) rather than exhausting memory.
	MaxLineBytes = 1 << 20
	// maxSeq is the largest seq accepted: beyond it the next one would
	// overflow.
	maxSeq = 1 << 53
)

// bom is the UTF-8 byte-order mark an editor may have put in front.
var bom = []byte{0xEF, 0xBB, 0xBF}

// CorruptError says a journal cannot be trusted as it is: events out of
// sequence (a gap, a repeat, an overflowing seq) or an over-long line.
// Nothing is appended to such a journal; a person must look at it.
type CorruptError struct {
	Path string
	Line int
	Msg  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal %s line %d: %s (the journal is refused as it is: inspect or repair it)", e.Path, e.Line, e.Msg)
}

// parse splits the journal into events. good is the offset after the last
// complete line. A last line without a newline is kept when it is a valid
// event (noNL is then set: the writer must add the newline before
// appending), else it is torn (never acknowledged) and ignored. A leading
// byte-order mark is skipped. Garbage lines are skipped with a warning;
// events out of sequence or a line over MaxLineBytes are an error. link is
// LinkOf the last event's line (what the next event chains to).
func parse(rd io.Reader, path string) (events []Event, good int64, noNL bool, warns []Warning, link string, err error) {
	br := bufio.NewReaderSize(rd, 64<<10)
	lineNo := 0
	lastSeq := 0
	skipped := 0 // garbage lines since the last good event
	var off int64
	if head, _ := br.Peek(len(bom)); bytes.Equal(head, bom) {
		_, _ = br.Discard(len(bom))
		off = int64(len(bom))
		good = off
	}
	var line []byte
	for {
		line = line[:0]
		complete := false
		for {
			chunk, rerr := br.ReadSlice('\n')
			if len(line)+len(chunk) > MaxLineBytes+1 {
				return nil, 0, false, warns, "", &CorruptError{Path: path, Line: lineNo + 1, Msg: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}
			}
			line = append(line, chunk...)
			if rerr == nil {
				complete = true
				break
			}
			if errors.Is(rerr, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			return nil, 0, false, warns, "", fmt.Errorf("read journal %s: %w", path, rerr)
		}
		if len(line) == 0 {
			return events, good, noNL, warns, link, nil
		}
		lineNo++
		raw := line
		if complete {
			raw = line[:len(line)-1]
		}
		var ev Event
		valid := len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &ev) == nil && ev.Type != ""
		if !complete {
			if !valid {
				warns = append(warns, Warning{Line: lineNo, Msg: fmt.Sprintf("torn last line (%d bytes, no newline) ignored", len(line))})
				return events, good, false, warns, link, nil
			}
			noNL = true
		}
		off += int64(len(line))
		good = off
		switch {
		case len(bytes.TrimSpace(raw)) == 0:
			continue
		case !valid:
			var jerr error
			if jerr = json.Unmarshal(raw, &ev); jerr == nil {
				warns = append(warns, Warning{Line: lineNo, Msg: "event without type skipped"})
			} else {
				warns = append(warns, Warning{Line: lineNo, Msg: "invalid JSON skipped: " + jerr.Error()})
			}
			skipped++
			continue
		}
		switch {
		case ev.Seq < 1 || ev.Seq > maxSeq:
			return nil, 0, false, warns, "", &CorruptError{Path: path, Line: lineNo, Msg: fmt.Sprintf("seq %d out of range", ev.Seq)}
		case ev.Seq <= lastSeq:
			return nil, 0, false, warns, "", &CorruptError{Path: path, Line: lineNo, Msg: fmt.Sprintf("seq %d after %d: events out of order", ev.Seq, lastSeq)}
		case ev.Seq-lastSeq-1 > skipped:
			return nil, 0, false, warns, "", &CorruptError{Path: path, Line: lineNo, Msg: fmt.Sprintf("seq %d after %d: %d events missing", ev.Seq, lastSeq, ev.Seq-lastSeq-1-skipped)}
		}
		lastSeq = ev.Seq
		skipped = 0
		events = append(events, ev)
		link = LinkOf(raw)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Summary describes one incident of a journal root.
type Summary struct {
	ID           string    `json:"id"`
	RunbookID    string    `json:"runbook_id"`
	RunbookTitle string    `json:"runbook_title"`
	Mode         string    `json:"mode"`
	Operator     string    `json:"operator"`
	Detected     time.Time `json:"detected"`
	Declared     time.Time `json:"declared"`
	Resolved     bool      `json:"resolved"`
	LastEvent    time.Time `json:"last_event"`
	Warnings     int       `json:"warnings,omitempty"`
	// Error says why the journal cannot be read (the other fields are empty).
	Error string `json:"error,omitempty"`
}

// List lists the incidents under root, open and closed, newest first
// (by declaration time). A missing root is an empty list.
func List(root string) ([]Summary, error) {
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if _, _, err := checkRoot(root, false); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	var out []Summary
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := checkIncidentDir(root, e.Name(), false); err != nil {
			continue // not an incident folder, or one not to be trusted
		}
		if _, err := os.Lstat(filepath.Join(root, e.Name(), JournalName)); err != nil {
			continue // not an incident folder
		}
		events, warns, err := readJournal(root, e.Name())
		if err != nil {
			out = append(out, Summary{ID: e.Name(), Error: err.Error()})
			continue
		}
		st := Replay(events)
		if st.DeclaredAt.IsZero() {
			continue
		}
		out = append(out, Summary{
			ID: e.Name(), RunbookID: st.RunbookID, RunbookTitle: st.RunbookTitle, Mode: st.Mode,
			Operator: st.Operator, Detected: st.Detected, Declared: st.DeclaredAt,
			Resolved: st.Resolved, LastEvent: st.LastTime, Warnings: len(warns),
		})
	}
	sort.SliceStable(out, func(a, b int) bool {
		if !out[a].Declared.Equal(out[b].Declared) {
			return out[a].Declared.After(out[b].Declared)
		}
		return out[a].ID > out[b].ID
	})
	return out, nil
}

// Latest is the newest incident that is not resolved (ErrNoIncident if none).
func Latest(root string) (Summary, error) {
	list, err := List(root)
	if err != nil {
		return Summary{}, err
	}
	for _, s := range list {
		if !s.Resolved && s.Error == "" {
			return s, nil
		}
	}
	return Summary{}, ErrNoIncident
}

// FollowInterval is how often Follow polls the journal.
const FollowInterval = 250 * time.Millisecond

// Follow tails an incident's journal read-only, sending every event whose
// Seq is greater than from, first those already written, then new ones as
// they are appended. A partly written last line is waited for; a garbage
// line is reported as a Warning on the error channel and skipped. Both
// channels close when ctx is done or on a fatal error (sent first).
func Follow(ctx context.Context, root, id string, from int) (<-chan Event, <-chan error) {
	evc := make(chan Event, 64)
	errc := make(chan error, 8)
	go func() {
		defer close(evc)
		defer close(errc)
		if err := ValidID(id); err != nil {
			errc <- err
			return
		}
		path := filepath.Join(root, id, JournalName)
		uid, err := checkIncidentDir(root, id, false)
		if err != nil {
			select {
			case errc <- fmt.Errorf("follow %s: %w", id, err):
			case <-ctx.Done():
			}
			return
		}
		var pos int64
		lineNo := 0
		lastSeq := from
		tick := time.NewTicker(FollowInterval)
		defer tick.Stop()
		send := func(err error) bool {
			select {
			case errc <- err:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			data, err := readFrom(path, pos, uid)
			if err != nil {
				send(fmt.Errorf("follow %s: %w", id, err))
				return
			}
			for {
				nl := bytes.IndexByte(data, '\n')
				if nl < 0 {
					break // wait for the rest of the line
				}
				raw := data[:nl]
				data = data[nl+1:]
				pos += int64(nl + 1)
				lineNo++
				if len(bytes.TrimSpace(raw)) == 0 {
					continue
				}
				var ev Event
				if err := json.Unmarshal(raw, &ev); err != nil || ev.Type == "" {
					if !send(Warning{Line: lineNo, Msg: "invalid line skipped"}) {
						return
					}
					continue
				}
				if ev.Seq <= lastSeq {
					continue
				}
				lastSeq = ev.Seq
				select {
				case evc <- ev:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return evc, errc
}

func readFrom(path string, pos int64, uid int) ([]byte, error) {
	f, err := safefile.OpenOwned("journal", path, os.O_RDONLY, uid)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < pos {
		return nil, fmt.Errorf("journal shrank from %d to %d bytes", pos, fi.Size())
	}
	if _, err := f.Seek(pos, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, 4*MaxLineBytes))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxLineBytes && bytes.IndexByte(data, '\n') < 0 {
		return nil, fmt.Errorf("journal line at offset %d is longer than %d bytes", pos, MaxLineBytes)
	}
	return data, nil
}
