//go:build !linux

package main

import (
	"os"
	"syscall"
	"time"
)

func childAttr() *syscall.SysProcAttr { return nil }

// watchParent ends the child soon after the supervisor dies (where there is
// no Pdeathsig), as a killed one-process hoist would have ended.
func watchParent() {
	ppid := os.Getppid()
	go func() {
		for range time.Tick(500 * time.Millisecond) {
			if os.Getppid() != ppid {
				os.Exit(1)
			}
		}
	}()
}
