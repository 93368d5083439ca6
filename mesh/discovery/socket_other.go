//go:build !unix

package discovery

import "syscall"

// sharePort does nothing where SO_REUSEPORT does not exist; binding 5353
// then fails when another responder holds it.
func sharePort(network, address string, c syscall.RawConn) error { return nil }
