package mdimport

import (
	"os"
	"testing"
)

func TestTry(t *testing.T) {
	src, _ := os.ReadFile("testdata/DISASTER_RECOVERY_PLAN.md")
	res, err := Import(src, Options{Source: "DISASTER_RECOVERY_PLAN.md"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		os.WriteFile("/tmp/mdimport/"+f.Name, f.Data, 0o644)
	}
	WriteSummary(os.Stdout, res, "DISASTER_RECOVERY_PLAN.md")
}
