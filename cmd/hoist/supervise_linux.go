package main

import "syscall"

// childAttr makes the kernel kill the child if the supervisor dies (a
// SIGKILL cannot be forwarded): killing hoist kills the run, as it did when
// hoist was one process.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// watchParent: Pdeathsig does it on Linux.
func watchParent() {}
