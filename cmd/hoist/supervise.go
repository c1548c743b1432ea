package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/hoist-dev/hoist/cmd/cli"
)

// childEnv names, in the child's environment, the file the supervisor reads
// when the child has exited. The child's Go runtime writes its crash report
// there (debug.SetCrashOutput), as well as to stderr; a child that exits on
// purpose writes exitMark and its code instead.
const childEnv = "HOIST_SUPERVISOR_STATUS_FILE"

const exitMark = "hoist-exit "

// childCrashFile opens the status file when this process is the child.
func childCrashFile() *os.File {
	path := os.Getenv(childEnv)
	if path == "" {
		return nil
	}
	os.Unsetenv(childEnv) // not for whatever hoist itself might start
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil // run unsupervised rather than not at all
	}
	return f
}

// runChild runs the CLI with the runtime's crash output going to f too,
// then records the code it exits with on purpose.
func runChild(f *os.File) int {
	if err := debug.SetCrashOutput(f, debug.CrashOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, "warning: crash reports are not recorded:", err)
	}
	watchParent()
	crashTestHook()
	stop := startProfile()
	code := cli.Main()
	stop()
	fmt.Fprintf(f, "%s%d\n", exitMark, code)
	f.Close()
	return code
}

// supervise runs this executable again as a child with the same arguments,
// streams and environment, forwards SIGINT, SIGTERM and SIGHUP to it, and
// returns the code to exit with. ok is false when the child could not be
// started.
func supervise() (code int, ok bool) {
	exe, err := os.Executable()
	if err != nil {
		return 0, false
	}
	status, err := os.CreateTemp("", "hoist-status-*")
	if err != nil {
		return 0, false
	}
	defer os.Remove(status.Name())
	status.Close()

	// Pdeathsig (Linux) is sent when the thread that started the child
	// ends: keep this goroutine on its thread for the child's whole life.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	// The child gets our own descriptors, not pipes: it sees the terminal
	// (progress bars, colors) and reads stdin as we would.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), childEnv+"="+status.Name())
	cmd.SysProcAttr = childAttr()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, false
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				// A Ctrl-C at a terminal reaches the child too (same
				// process group); twice is harmless, the child stops once.
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	_ = cmd.Wait() // its end is in ProcessState
	close(done)
	report, _ := os.ReadFile(status.Name())
	return exitCode(cmd.ProcessState, report), true
}

// exitCode maps the child's end to hoist's exit code: its own code when it
// exited on purpose, cli.ExitCrash when its runtime crashed, 128+N when a
// signal N killed it (as a shell reports it). None of these is 2 unless the
// child itself chose to exit 2.
func exitCode(ps *os.ProcessState, report []byte) int {
	if ps == nil {
		return cli.ExitError
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig := ws.Signal()
		if sig != syscall.SIGPIPE { // `hoist plan … | head` is no news
			fmt.Fprintf(os.Stderr, "hoist: killed by signal %d (%s)\n", int(sig), sig)
		}
		return 128 + int(sig)
	}
	code := ps.ExitCode()
	if chosen, ok := chosenCode(report); ok && chosen == code {
		return code
	}
	// No exit recorded: a crash report, or a 2 that cli.Main did not
	// choose, is the runtime's (it printed the details on stderr).
	if len(bytes.TrimSpace(report)) > 0 || code == cli.ExitPending {
		fmt.Fprintf(os.Stderr, "hoist crashed (exit %d): a bug, or the machine ran out of memory; exiting %d\n", code, cli.ExitCrash)
		return cli.ExitCrash
	}
	// An exit outside cli.Main with a code of its own (never 2, above).
	return code
}

// chosenCode reads the code the child recorded just before exiting.
func chosenCode(report []byte) (int, bool) {
	line, ok := bytes.CutPrefix(bytes.TrimSpace(report), []byte(exitMark))
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(line))
	return n, err == nil
}
