// Command hoist is a reverse-ETL and bulk data sync tool.
//
// The process a user starts is a small supervisor that runs hoist again as
// its child and waits for it (supervise.go): Go's runtime exits 2 when it
// crashes (out of memory, an unrecovered panic), and 2 is the exit code of
// `plan --detailed-exitcode` for "changes pending". The supervisor turns a
// crash into cli.ExitCrash, so no crash reads as pending work.
package main

import (
	"os"

	"github.com/hoist-dev/hoist/cmd/cli"
)

func main() {
	if f := childCrashFile(); f != nil {
		os.Exit(runChild(f))
	}
	if code, ok := supervise(); ok {
		os.Exit(code)
	}
	// The child could not be started (no temp dir, no path to our own
	// executable): run in this process, with the runtime's own crash code.
	os.Exit(cli.Main())
}
