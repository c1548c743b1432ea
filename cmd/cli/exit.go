package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes (docs/spec.md, "Exit codes").
const (
	ExitOK       = 0
	ExitError    = 1
	ExitPending  = 2 // plan --detailed-exitcode: changes are pending
	ExitRejected = 3 // run finished, some rows were rejected
	// ExitCrash: hoist's runtime crashed (out of memory, a panic). Go's own
	// code for that is 2, which means "changes pending"; cmd/hoist's
	// supervisor maps it to this one (EX_SOFTWARE in sysexits.h).
	ExitCrash = 70
)

// exitError carries an exit code other than 1 up to Main; err may be nil
// when the command already printed everything it had to say.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// silentError is an error whose message was already printed.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }

// Main runs the CLI and returns the process exit code. It is the only place
// errors become exit codes.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRootCmd(&IO{In: stdin, Out: stdout, Err: stderr})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && !isSilent(ee.err) {
			fmt.Fprintln(stderr, "error:", ee.err)
		}
		return ee.code
	}
	if !isSilent(err) {
		printError(stderr, err)
	}
	return ExitError
}

func isSilent(err error) bool {
	var s *silentError
	return errors.As(err, &s)
}

// printError prints every joined problem on a line of its own.
func printError(w io.Writer, err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			printError(w, e)
		}
		return
	}
	fmt.Fprintln(w, "error:", err)
}
