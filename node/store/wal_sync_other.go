//go:build !linux

package store

import "os"

// datasync makes f's data durable; elsewhere than Linux a full sync.
func datasync(f *os.File) error { return f.Sync() }
