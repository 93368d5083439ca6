//go:build linux

package store

import (
	"os"
	"syscall"
)

// datasync makes f's data durable without its timestamps, as bbolt's own
// sync does on Linux.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
