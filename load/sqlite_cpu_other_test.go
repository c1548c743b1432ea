//go:build !unix

package load

// sqliteCPUTime is unknown here; the benchmark then skips rows/cpu-s.
func sqliteCPUTime() float64 { return 0 }
