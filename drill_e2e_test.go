package main

import (
	"strings"
	"testing"
)

// TestHeadlessDrillRecoversEveryScenario is the end-to-end check:
// each disaster runbook, run headless on the simulator with its scenario
// injected, ends with the scenario's recovered condition true. (The drill
// package's own end-to-end tests check that skipping the key steps leaves
// each scenario broken.)
func TestHeadlessDrillRecoversEveryScenario(t *testing.T) {
	isolate(t)
	for _, id := range []string{"data-center-failure", "database-corruption", "application-failure", "network-failure", "complete-outage"} {
		t.Run(id, func(t *testing.T) {
			code, out, errs := drnav(t, "run", id, "--drill", "--drill-speed", "50",
				"--allow-destructive", "all", "--skip-manual", "--report", "md")
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errs)
			}
			if !strings.Contains(out, "drill: scenario "+id+" recovered") {
				t.Errorf("no recovery line:\n%s", out)
			}
			if !strings.Contains(out, "Scorecard") && !strings.Contains(out, "scorecard") {
				t.Errorf("report has no scorecard:\n%s", out)
			}
		})
	}
}
