//go:build unix

package load

import "syscall"

// sqliteCPUTime returns the process's user+system CPU time in seconds. The
// benchmark reports rows per CPU second beside rows per wall second, since
// wall time on a shared machine says more about the neighbours.
func sqliteCPUTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
