//go:build !race

package main

// raceEnabled: the test binary is built with the race detector, whose
// shadow memory inflates every process's resident set.
const raceEnabled = false
