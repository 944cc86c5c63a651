package mdimport

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/drnav/drnav/runbooks"
)

// FuzzImport feeds arbitrary Markdown to the importer: it never panics, and
// every runbook it produces loads and lints without errors.
func FuzzImport(f *testing.F) {
	for _, glob := range []string{"testdata/*.md", "testdata/shapes/*.md"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("# A (5 minutes)\n- `rm -rf <dir>`\n"))
	f.Add([]byte("# X\n- run `kubectl\nget pods`\n")) // a code span over two lines once panicked
	f.Add([]byte("# X\n```console\n$ echo \"$FOO\" '''\n> x\nout\n```\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		res, err := Import(src, Options{Source: "fuzz.md", Now: testNow, RTO: -1})
		if err != nil {
			return
		}
		for _, file := range res.Files {
			if _, err := runbooks.LoadFile(file.Name, file.Data); err != nil {
				t.Fatalf("%s does not load: %v\n%s", file.Name, err, file.Data)
			}
			for _, fd := range file.Findings {
				if fd.Severity == runbooks.Error {
					t.Fatalf("lint error %s\n%s", fd, file.Data)
				}
			}
		}
	})
}
