package discovery

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// On Linux the mDNS sockets are set up with plain socket options, which
// spares the router binary the ~65 KB of golang.org/x/net/ipv4 and ipv6:
// IP_PKTINFO / IPV6_RECVPKTINFO tell the interface and destination of each
// packet, IP_MULTICAST_IF / IPV6_MULTICAST_IF pick the interface of each
// multicast send.

// sysConn is an mDNS socket of one IP family.
type sysConn struct {
	uc  *net.UDPConn
	raw syscall.RawConn
	v6  bool
	oob []byte // for the one reader

	mu sync.Mutex // held while choosing the multicast interface and sending
}

// listenMDNS opens a UDP socket of family 4 or 6 on port. With share it
// can bind UDP 5353 next to avahi-daemon or umdns (SO_REUSEADDR and
// SO_REUSEPORT, as they set), and receives only the multicast groups it
// joined itself (IP_MULTICAST_ALL off).
func listenMDNS(family, port int, share bool) (mconn, error) {
	v6 := family == 6
	network, addr := "udp4", fmt.Sprintf("0.0.0.0:%d", port)
	if v6 {
		network, addr = "udp6", fmt.Sprintf("[::]:%d", port)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = setOptions(int(fd), v6, share) })
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), network, addr)
	if err != nil {
		return nil, err
	}
	uc := pc.(*net.UDPConn)
	raw, err := uc.SyscallConn()
	if err != nil {
		uc.Close()
		return nil, err
	}
	return &sysConn{uc: uc, raw: raw, v6: v6, oob: make([]byte, 128)}, nil
}

// ipv6MulticastAll is IPV6_MULTICAST_ALL (Linux 4.20), which x/sys/unix
// names but not on every architecture.
const ipv6MulticastAll = 0x1d

func setOptions(fd int, v6, share bool) error {
	type opt struct{ level, name, value int }
	var opts []opt
	if share {
		opts = append(opts, opt{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1}, opt{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1})
	}
	if v6 {
		opts = append(opts,
			opt{unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1},
			opt{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 255}, // RFC 6762 §11
			opt{unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255},
			opt{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 1}) // a responder on this host hears us
		if share {
			opts = append(opts, opt{unix.IPPROTO_IPV6, ipv6MulticastAll, 0})
		}
	} else {
		opts = append(opts,
			opt{unix.IPPROTO_IP, unix.IP_PKTINFO, 1},
			opt{unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, 255},
			opt{unix.IPPROTO_IP, unix.IP_TTL, 255},
			opt{unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 1})
		if share {
			opts = append(opts, opt{unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0})
		}
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.name, o.value); err != nil {
			return fmt.Errorf("setsockopt(%d, %d): %w", o.level, o.name, err)
		}
	}
	return nil
}

func (c *sysConn) control(f func(fd int) error) error {
	var ferr error
	err := c.raw.Control(func(fd uintptr) { ferr = f(int(fd)) })
	if err != nil {
		return err
	}
	return ferr
}

func (c *sysConn) membership(ifi *net.Interface, join bool) error {
	return c.control(func(fd int) error {
		if c.v6 {
			name := unix.IPV6_JOIN_GROUP
			if !join {
				name = unix.IPV6_LEAVE_GROUP
			}
			return unix.SetsockoptIPv6Mreq(fd, unix.IPPROTO_IPV6, name,
				&unix.IPv6Mreq{Multiaddr: group6.As16(), Interface: uint32(ifi.Index)})
		}
		name := unix.IP_ADD_MEMBERSHIP
		if !join {
			name = unix.IP_DROP_MEMBERSHIP
		}
		return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, name,
			&unix.IPMreqn{Multiaddr: group4.As4(), Ifindex: int32(ifi.Index)})
	})
}

func (c *sysConn) join(ifi *net.Interface) error  { return c.membership(ifi, true) }
func (c *sysConn) leave(ifi *net.Interface) error { return c.membership(ifi, false) }

func (c *sysConn) read(b []byte) (n, ifIndex int, src netip.AddrPort, multicast bool, err error) {
	n, oobn, _, src, err := c.uc.ReadMsgUDPAddrPort(b, c.oob)
	if err != nil {
		return 0, 0, src, false, err
	}
	msgs, err := unix.ParseSocketControlMessage(c.oob[:oobn])
	if err != nil {
		return n, 0, src, false, nil // no interface: the caller drops it
	}
	for _, m := range msgs {
		switch {
		case !c.v6 && m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= 12:
			// struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
			ifIndex = int(int32(binary.NativeEndian.Uint32(m.Data[0:4])))
			multicast = netip.AddrFrom4([4]byte(m.Data[8:12])).IsMulticast()
		case c.v6 && m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= 20:
			// struct in6_pktinfo { in6_addr addr; unsigned int ifindex; }
			multicast = netip.AddrFrom16([16]byte(m.Data[0:16])).IsMulticast()
			ifIndex = int(binary.NativeEndian.Uint32(m.Data[16:20]))
		}
	}
	return n, ifIndex, src, multicast, nil
}

func (c *sysConn) write(b []byte, ifIndex int, dst netip.AddrPort) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dst.Addr().IsMulticast() {
		err := c.control(func(fd int) error {
			if c.v6 {
				return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifIndex)
			}
			return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifIndex)})
		})
		if err != nil {
			return err
		}
	}
	_, err := c.uc.WriteToUDPAddrPort(b, dst)
	return err
}

func (c *sysConn) Close() error { return c.uc.Close() }
