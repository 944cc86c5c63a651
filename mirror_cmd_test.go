package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With [mirror] on, a live run whose cluster does not answer says it
// drives without the Lease and goes on locally; a drill never touches the
// cluster (no Lease, no mirror), and --from-cluster is refused with it.
func TestMirrorOnlyForLiveIncidents(t *testing.T) {
	dir := isolate(t)
	conf := filepath.Join(dir, "config", "drnav", "config.toml")
	if err := os.MkdirAll(filepath.Dir(conf), 0o700); err != nil {
		t.Fatal(err)
	}
	body := "[mirror]\ncontexts = [\"lab\"]\nlease_duration = \"3s\"\nrenew_deadline = \"2s\"\nretry_period = \"500ms\"\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	rbDir := writeRunbook(t, dir, "id = \"quick\"\ntitle = \"Quick\"\nimpact = \"none\"\n[[steps]]\nid = \"one\"\ntitle = \"One\"\nrun = \"echo one\"\n")
	code, out, errs := drnav(t, "run", "quick", "--runbooks", rbDir, "--drill")
	if code != 0 || strings.Contains(errs, "lease") || strings.Contains(errs, "mirror") {
		t.Errorf("drill: exit %d, stderr mentions the mirror:\n%s\n%s", code, out, errs)
	}
	code, out, errs = drnav(t, "run", "quick", "--runbooks", rbDir)
	if code != 0 || !strings.Contains(errs, "driving without the lease") {
		t.Errorf("live with the cluster down: exit %d, want 0 and a word on the lease:\n%s\n%s", code, out, errs)
	}
	code, _, errs = drnav(t, "run", "quick", "--runbooks", rbDir, "--drill", "--resume", "x", "--from-cluster")
	if code == 0 || !strings.Contains(errs, "not with --drill") {
		t.Errorf("--from-cluster with --drill: exit %d: %s", code, errs)
	}
}
