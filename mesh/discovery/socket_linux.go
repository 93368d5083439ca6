package discovery

import "golang.org/x/sys/unix"

// onlyJoinedGroups turns off IP_MULTICAST_ALL: by default Linux hands a
// socket bound to the wildcard address the packets of every group any
// socket of the host joined, on any interface.
func onlyJoinedGroups(fd int, network string) error {
	if network == "udp6" {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0)
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
}
