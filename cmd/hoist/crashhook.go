//go:build hoist_crashtest && linux

package main

import (
	"os"
	"syscall"
	"time"
)

// sink keeps the huge allocation from being optimised away.
var sink []byte

// crashTestHook crashes the child the way HOIST_CRASH_TEST says, for
// main_test.go; only binaries built with -tags hoist_crashtest have it.
func crashTestHook() {
	switch os.Getenv("HOIST_CRASH_TEST") {
	case "oom":
		// A real "fatal error: runtime: out of memory", whatever the
		// machine's overcommit policy: cap the address space, then ask
		// for more than the cap.
		lim := &syscall.Rlimit{Cur: 4 << 30, Max: 4 << 30}
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, lim); err != nil {
			panic(err)
		}
		sink = make([]byte, 8<<30)
		sink[len(sink)-1] = 1
	case "panic":
		// An unrecovered panic in a goroutine: nothing can recover it.
		go func() { panic("crash test") }()
		time.Sleep(time.Minute)
	case "exit2":
		// A library calling os.Exit(2) behind cli.Main's back.
		os.Exit(2)
	case "sigkill":
		// What the kernel's out-of-memory killer does.
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute)
	}
}
