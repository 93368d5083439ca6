package discovery

import (
	"net"
	"net/netip"
)

// mconn is a UDP socket of one IP family for mDNS (mconn_linux.go,
// mconn_other.go).
type mconn interface {
	// read reads a packet into b and says which interface it came in
	// on (0 if unknown), where from, and whether it was sent to a
	// multicast group.
	read(b []byte) (n, ifIndex int, src netip.AddrPort, multicast bool, err error)
	// write sends b to dst; a multicast dst goes out on interface ifIndex.
	write(b []byte, ifIndex int, dst netip.AddrPort) error
	join(ifi *net.Interface) error
	leave(ifi *net.Interface) error
	Close() error
}
