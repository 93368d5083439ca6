package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// stdinIsTerminal reports whether a person can answer a prompt: stdin is a
// terminal (not merely a character device such as /dev/null).
func stdinIsTerminal() bool {
	_, err := unix.IoctlGetTermios(int(os.Stdin.Fd()), unix.TCGETS)
	return err == nil
}
