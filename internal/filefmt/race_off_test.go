//go:build !race

package filefmt

const raceEnabled = false
