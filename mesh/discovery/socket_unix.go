//go:build unix && !linux

package discovery

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sharePort lets our socket bind UDP 5353 next to another mDNS responder
// that set the same options (SO_REUSEADDR and SO_REUSEPORT).
func sharePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
