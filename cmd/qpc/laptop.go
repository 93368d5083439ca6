//go:build !router

package main

// inThisBuild reports whether a command is in this binary: the laptop
// build has every command (see router.go for the router build).
func inThisBuild(string) bool { return true }
