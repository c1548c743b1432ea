//go:build race

package filefmt

// raceEnabled shrinks the heaviest tests under the race detector, which
// makes them 10-20x slower.
const raceEnabled = true
