//go:build race

package sync_test

// raceEnabled shrinks the largest end-to-end tests under the race detector,
// which slows them ten-fold; the full sizes run in the ordinary build.
const raceEnabled = true
