package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestTOMLDepth(t *testing.T) {
	t.Parallel()
	ok := []string{
		"a = [[1, 2], [3]]\nb = { c = { d = 1 } }\n[[steps]]\nid = \"x\"\n",
		"s = \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\n",
		"s = '''{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n'''\n",
		"# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
		"url = \"http://a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g\"\n",
	}
	for _, s := range ok {
		if err := TOMLDepth([]byte(s), MaxTOMLDepth); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{
		"x = " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n",
		"x = " + strings.Repeat("{a=", 40) + "1" + strings.Repeat("}", 40) + "\n",
		strings.Repeat("a.", 40) + "b = 1\n",
	}
	for _, s := range bad {
		if err := TOMLDepth([]byte(s), MaxTOMLDepth); err == nil {
			t.Errorf("%.30q… accepted", s)
		}
	}
}

func TestOpenRefusesFIFOAndDevices(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero", dir} {
		if _, err := ReadFile(p, 1<<20); !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: %v", p, err)
		}
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(big, 1024); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big: %v", err)
	}
	if b, err := ReadFile(big, 4096); err != nil || len(b) != 2048 {
		t.Errorf("ok file: %d %v", len(b), err)
	}
}

func TestWriteFileSync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "info")
	// An existing, more open file is truncated and narrowed to perm.
	if err := os.WriteFile(p, []byte("old contents that are longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileSync(p, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil || string(data) != "new\n" {
		t.Fatalf("contents %q, %v", data, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
	}
	// A planted link is not followed: its target stays as it was.
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileSync(link, []byte("overwritten"), 0o600); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("write through a link: %v, want ELOOP", err)
	}
	if data, _ := os.ReadFile(target); string(data) != "keep" {
		t.Errorf("link target changed to %q", data)
	}
	// A FIFO is refused without waiting for a reader.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileSync(fifo, []byte("x"), 0o600); err == nil {
		t.Error("a FIFO was written")
	}
}
