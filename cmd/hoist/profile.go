package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// startProfile writes a CPU profile of the run to $HOIST_CPUPROFILE, an
// execution trace to $HOIST_TRACE and a heap profile at its end to
// $HOIST_MEMPROFILE, when set (for `go tool pprof` and `go
// tool trace`; the benchmarks' profiles come from them: a trace shows where
// parallel syncs wait on each other, which a CPU profile cannot). The
// returned function stops them.
func startProfile() func() {
	var stops []func()
	if path := os.Getenv("HOIST_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "warning: no CPU profile:", err)
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv("HOIST_TRACE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "warning: no execution trace:", err)
		} else {
			stops = append(stops, func() { trace.Stop(); f.Close() })
		}
	}
	if path := os.Getenv("HOIST_MEMPROFILE"); path != "" {
		// the heap at the end of the run: what a run holds on to grows
		// with the table when memory is not flat
		stops = append(stops, func() {
			f, err := os.Create(path)
			if err == nil {
				err = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "warning: no heap profile:", err)
			}
		})
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}
