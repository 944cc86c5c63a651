package incident

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/drnav/drnav/internal/supervisor"
)

// Settled is what the journal learned on resume about one interrupted shell
// step that ran under the supervisor.
type Settled struct {
	Step   string
	RunDir string // absolute
	// Running: the step is still running; follow it (steps.Reattach) and
	// journal its finish then.
	Running bool
	// Finished: it ended while nobody followed it; its real outcome is now
	// journalled (Exit, At).
	Finished bool
	Exit     int
	At       time.Time
	// Err says why its outcome cannot be read (neither flag set then).
	Err string
}

// RunDir is the absolute run folder of a step_started RunDir.
func (j *Journal) RunDir(rel string) string {
	if rel == "" || filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(j.Dir(), rel)
}

// Settle reads the run folder of every interrupted step that ran under the
// supervisor. A step that ended meanwhile gets its output tail, its real
// step_finished (exit code and timing from the status file) and a note
// ("finished while you were away: exit 0 at 03:41") appended; one still
// running is reported so the caller re-attaches to it. Nothing is run.
// redact masks secrets in the output lines copied into the journal; when it
// is nil (the secrets are not known yet) no output is copied: it stays in
// the run folder.
func (j *Journal) Settle(redact func(string) string) ([]Settled, error) {
	st := j.State()
	var out []Settled
	for _, id := range st.StepOrder {
		ss := st.Steps[id]
		if ss == nil || ss.Status != StepInterrupted || ss.RunDir == "" {
			continue
		}
		dir := j.RunDir(ss.RunDir)
		s := Settled{Step: id, RunDir: dir}
		status, ok, err := supervisor.ReadStatus(dir)
		switch {
		case err != nil:
			s.Err = err.Error()
		case ok:
			if err := j.SettleFinished(id, dir, status, redact); err != nil {
				return out, err
			}
			s.Finished, s.Exit, s.At = true, status.Exit, status.Finished
		case supervisor.Alive(dir):
			s.Running = true
		default:
			// Re-read for a moment: it may have ended between the two looks.
			if status, ok, err := supervisor.AwaitStatus(dir, time.Second); err == nil && ok {
				if err := j.SettleFinished(id, dir, status, redact); err != nil {
					return out, err
				}
				s.Finished, s.Exit, s.At = true, status.Exit, status.Finished
			} else {
				s.Err = "its supervisor is gone and recorded no exit status: outcome unknown"
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// SettleFinished journals the real end of a step from its run folder's
// status: the output tail (redacted; none without redact), step_finished
// at the time it ended, and a note.
func (j *Journal) SettleFinished(step, dir string, status supervisor.Status, redact func(string) string) error {
	if tail := supervisor.Tail(dir, MaxTailLines); len(tail) > 0 && redact != nil {
		for i := range tail {
			tail[i] = redact(tail[i])
		}
		if err := j.Append(Event{Type: EventOutput, Step: step, Lines: tail}); err != nil {
			return err
		}
	}
	ev := Event{Type: EventStepFinished, Time: status.Finished, Step: step, Exit: status.Exit, Err: status.Err,
		Duration: status.Finished.Sub(status.Started)}
	switch {
	case ev.Err != "":
	case status.TimedOut:
		ev.Err = "shell: timed out"
	case status.Stopped:
		ev.Err = fmt.Sprintf("stopped (exit %d)", status.Exit)
	case status.Exit != 0:
		ev.Err = fmt.Sprintf("command exited with code %d", status.Exit)
	}
	if ev.Exit == 0 && ev.Err != "" {
		ev.Exit = 1
	}
	if err := j.Append(ev); err != nil {
		return err
	}
	return j.Append(Event{Type: EventNote, Step: step,
		Text: fmt.Sprintf("finished while you were away: exit %d at %s", status.Exit, status.Finished.Local().Format("15:04:05"))})
}
