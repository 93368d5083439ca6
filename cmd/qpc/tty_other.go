//go:build !linux

package main

// stdinIsTerminal reports whether a person can answer a prompt. Off Linux
// it says no, so several candidates give an error that lists them.
func stdinIsTerminal() bool { return false }
