//go:build race

package kubetest

// raceEnabled: this test binary has the race detector; drnav binaries
// built for it get it too (and reuse its compiled packages).
const raceEnabled = true
