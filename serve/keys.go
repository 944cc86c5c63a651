package serve

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/drnav/drnav/internal/safefile"
)

// Role is what a connected key may do.
type Role int

// Roles. A watcher sees the incident read-only; a driver may drive it
// through the same one-driver lock as a local navigator.
const (
	RoleWatcher Role = iota + 1
	RoleDriver
)

func (r Role) String() string {
	switch r {
	case RoleWatcher:
		return "watcher"
	case RoleDriver:
		return "driver"
	}
	return "none"
}

// Identity is who a key is: the role granted by the file it was found in,
// its fingerprint and the name from its comment.
type Identity struct {
	Role        Role
	Fingerprint string
	Name        string
}

// lookupKey finds key in the driver files first, then the watcher files.
// Files are read on every attempt, so a key added or removed takes effect
// at the next connection without a restart. A missing or unreadable file is
// an error (refusing everyone is better than guessing).
// Label names the key's person as drnav shows and journals them: the key's
// comment and the start of its fingerprint ("ann@laptop (AbCdEf12)").
func (id Identity) Label() string {
	fp := strings.TrimPrefix(id.Fingerprint, "SHA256:")
	if len(fp) > 8 {
		fp = fp[:8]
	}
	name := id.Name
	if name == "" {
		name = "driver"
	}
	return fmt.Sprintf("%s (%s)", name, fp)
}

func lookupKey(key gossh.PublicKey, driverFiles, watcherFiles []string) (Identity, bool, error) {
	want := key.Marshal()
	for _, set := range []struct {
		files []string
		role  Role
	}{{driverFiles, RoleDriver}, {watcherFiles, RoleWatcher}} {
		for _, f := range set.files {
			name, ok, err := findInFile(f, want)
			if err != nil {
				return Identity{}, false, err
			}
			if ok {
				return Identity{Role: set.role, Fingerprint: gossh.FingerprintSHA256(key), Name: name}, true, nil
			}
		}
	}
	return Identity{}, false, nil
}

// findInFile looks for a key in an OpenSSH authorized_keys file and returns
// its comment. Lines that do not parse are skipped.
func findInFile(path string, want []byte) (string, bool, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return "", false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		pk, comment, _, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			continue
		}
		if bytes.Equal(pk.Marshal(), want) {
			return comment, true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", false, fmt.Errorf("read authorized keys %s: %w", path, err)
	}
	return "", false, nil
}

// maxKeyFile bounds an authorized keys file (OpenSSH keys are < 16 KB each).
const maxKeyFile = 4 << 20

// readKeyFile reads an authorized keys file after the checks sshd's
// StrictModes makes: a regular file owned by the account running drnav
// serve (or root) and not writable by group or others — whoever can write
// the drivers' file could make themselves a driver.
func readKeyFile(path string) ([]byte, error) {
	f, err := safefile.Open(path, os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("authorized keys %s: %w", path, err)
	}
	if err := safefile.CheckInfo("authorized keys file", path, fi, safefile.MeOrRoot); err != nil {
		return nil, err
	}
	data, err := safefile.ReadAll(f, path, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	return data, nil
}

// CheckKeyFiles verifies that every file is readable and holds at least one
// key, so a typo in a path fails at start rather than refusing everyone.
func CheckKeyFiles(files []string) error {
	for _, f := range files {
		data, err := readKeyFile(f)
		if err != nil {
			return err
		}
		n := 0
		rest := data
		for len(rest) > 0 {
			_, _, _, r, err := gossh.ParseAuthorizedKey(rest)
			if err != nil {
				break
			}
			n++
			rest = r
		}
		if n == 0 {
			return fmt.Errorf("authorized keys %s: no key found", f)
		}
	}
	return nil
}

// LoadOrCreateHostKey reads the server's ed25519 host key from path, or
// generates one there (mode 0600, folder 0700) on first start. A key file
// readable by group or others is refused, as sshd does.
func LoadOrCreateHostKey(path string) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createHostKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read host key: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("host key %s has mode %04o: it must not be readable by others (chmod 600)", path, fi.Mode().Perm())
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("parse host key %s: %w", path, err)
	}
	return signer, nil
}

func createHostKey(path string) (gossh.Signer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create host key folder: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "drnav serve host key")
	if err != nil {
		return nil, fmt.Errorf("encode host key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write host key: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("write host key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("write host key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write host key: %w", err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	return signer, nil
}

// sanitizeName keeps a key comment printable and short for logs and screens.
func sanitizeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
