// Package safefile is how drnav opens, reads, writes and trusts files on a
// host other people log in to. Files read from paths a person or a folder
// gave it (runbooks, config, journals) cannot hang or exhaust it: only
// regular files are read (a FIFO is opened without blocking, then refused),
// and reads are bounded. State folders are created 0700 and refused when
// someone else owns them or can write to them, and files in them are opened
// without following symbolic links (trust.go).
package safefile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrTooLarge is wrapped when a file is over its limit.
var ErrTooLarge = errors.New("too large")

// ErrNotRegular is wrapped when a path is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path with flag (os.O_RDONLY, os.O_RDWR…) and checks it is a
// regular file.
func Open(path string, flag int) (*os.File, error) { return OpenFile(path, flag, 0) }

// OpenFile is the one place drnav opens a file it did not just decide to
// trust: flag and perm as for os.OpenFile (callers add O_NOFOLLOW, O_CREATE…),
// and only a regular file is returned. O_NONBLOCK keeps the open of a FIFO
// from waiting for a writer (it, or a device, is then refused); it is
// cleared again for the regular file.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NONBLOCK|syscall.O_CLOEXEC, perm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w (%s): refusing it", path, ErrNotRegular, Kind(fi.Mode()))
	}
	if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// WriteFileSync writes data to path (created with perm, or truncated; the
// mode is set to perm either way), fsyncs and closes it. A symbolic link in
// the last element is refused.
func WriteFileSync(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, data, perm, true)
}

// WriteFile is WriteFileSync without the fsync: for files that are worth
// nothing after a crash of the machine (an fsync costs 2–150 ms on a busy
// disk).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, data, perm, false)
}

func writeFile(path string, data []byte, perm os.FileMode, sync bool) error {
	f, err := OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, perm)
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("sync %s: %w", path, err)
		}
	}
	return f.Close()
}

// ReadFile reads a regular file of at most limit bytes; a bigger one is
// refused (ErrTooLarge) before it is read.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := Open(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, path, limit)
}

// ReadAll reads f to its end, refusing more than limit bytes.
func ReadAll(f *os.File, path string, limit int64) ([]byte, error) {
	if fi, err := f.Stat(); err == nil && fi.Size() > limit {
		return nil, fmt.Errorf("%s: %w (%d bytes, the limit is %s)", path, ErrTooLarge, fi.Size(), Size(limit))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w (over the limit of %s)", path, ErrTooLarge, Size(limit))
	}
	return data, nil
}

// Size formats a byte count in KiB or MiB.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Kind names what a non-regular file is ("a FIFO", "a character device").
func Kind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a folder"
	}
	return "mode " + m.String()
}

// MaxTOMLDepth bounds the nesting of arrays and inline tables in a TOML
// document drnav reads: far beyond any runbook or config, far below what
// could exhaust the decoder.
const MaxTOMLDepth = 32

// TOMLDepth refuses a TOML document whose arrays and inline tables nest
// deeper than max, or whose dotted keys have more than max parts, before a
// decoder sees it. It skips strings and comments; it does not validate.
func TOMLDepth(data []byte, max int) error {
	depth, line := 0, 1
	dots := 0 // dots of the key being read on this line
	inKey := true
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case '\n':
			line++
			dots, inKey = 0, true
		case '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
			i--
		case '"', '\'':
			q := c
			multi := i+2 < len(data) && data[i+1] == q && data[i+2] == q
			if multi {
				i += 3
				for i < len(data) && !(data[i] == q && i+2 < len(data) && data[i+1] == q && data[i+2] == q) {
					if data[i] == '\\' && q == '"' {
						i++
					} else if data[i] == '\n' {
						line++
					}
					i++
				}
				i += 2
				continue
			}
			for i++; i < len(data) && data[i] != q && data[i] != '\n'; i++ {
				if data[i] == '\\' && q == '"' {
					i++
				}
			}
		case '[', '{':
			depth++
			if depth > max {
				return fmt.Errorf("line %d: arrays and inline tables nest deeper than %d", line, max)
			}
			if c == '{' {
				inKey, dots = true, 0
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case ',':
			inKey, dots = depth > 0, 0
		case '=':
			inKey = false
		case '.':
			if inKey {
				dots++
				if dots >= max {
					return fmt.Errorf("line %d: a dotted key with more than %d parts", line, max)
				}
			}
		}
	}
	return nil
}
