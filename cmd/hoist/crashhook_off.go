//go:build !(hoist_crashtest && linux)

package main

// crashTestHook does nothing outside crash tests (see crashhook.go).
func crashTestHook() {}
