//go:build unix

package discovery

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sharePort lets our socket bind UDP 5353 next to another mDNS responder
// (avahi-daemon, OpenWrt's umdns) that set the same options: both
// SO_REUSEADDR and SO_REUSEPORT, since Linux wants every socket on a shared
// port to agree. The kernel hands each multicast packet to every socket.
func sharePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
			return
		}
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
			return
		}
		serr = onlyJoinedGroups(int(fd), network)
	})
	if err != nil {
		return err
	}
	return serr
}
