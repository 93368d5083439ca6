//go:build !linux

package discovery

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Off Linux (a laptop browsing for nodes) the sockets go through
// golang.org/x/net, which knows each system's socket options.

type xnetConn struct {
	c4 *ipv4.PacketConn
	c6 *ipv6.PacketConn
}

func listenMDNS(family, port int, share bool) (mconn, error) {
	lc := net.ListenConfig{}
	if share {
		lc.Control = sharePort
	}
	if family == 6 {
		pc, err := lc.ListenPacket(context.Background(), "udp6", fmt.Sprintf("[::]:%d", port))
		if err != nil {
			return nil, err
		}
		c := ipv6.NewPacketConn(pc)
		c.SetControlMessage(ipv6.FlagInterface|ipv6.FlagDst, true)
		c.SetMulticastHopLimit(255)
		c.SetHopLimit(255)
		c.SetMulticastLoopback(true)
		return &xnetConn{c6: c}, nil
	}
	pc, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		return nil, err
	}
	c := ipv4.NewPacketConn(pc)
	c.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true)
	c.SetMulticastTTL(255)
	c.SetTTL(255)
	c.SetMulticastLoopback(true)
	return &xnetConn{c4: c}, nil
}

func (c *xnetConn) read(b []byte) (n, ifIndex int, src netip.AddrPort, multicast bool, err error) {
	var from net.Addr
	if c.c4 != nil {
		var cm *ipv4.ControlMessage
		n, cm, from, err = c.c4.ReadFrom(b)
		if cm != nil {
			ifIndex, multicast = cm.IfIndex, cm.Dst.IsMulticast()
		}
	} else {
		var cm *ipv6.ControlMessage
		n, cm, from, err = c.c6.ReadFrom(b)
		if cm != nil {
			ifIndex, multicast = cm.IfIndex, cm.Dst.IsMulticast()
		}
	}
	if ua, ok := from.(*net.UDPAddr); ok {
		src = ua.AddrPort()
	}
	return n, ifIndex, src, multicast, err
}

func (c *xnetConn) write(b []byte, ifIndex int, dst netip.AddrPort) error {
	ua := net.UDPAddrFromAddrPort(dst)
	var err error
	if c.c4 != nil {
		_, err = c.c4.WriteTo(b, &ipv4.ControlMessage{IfIndex: ifIndex}, ua)
	} else {
		_, err = c.c6.WriteTo(b, &ipv6.ControlMessage{IfIndex: ifIndex}, ua)
	}
	return err
}

func (c *xnetConn) join(ifi *net.Interface) error {
	if c.c4 != nil {
		return c.c4.JoinGroup(ifi, &net.UDPAddr{IP: group4.AsSlice()})
	}
	return c.c6.JoinGroup(ifi, &net.UDPAddr{IP: group6.AsSlice()})
}

func (c *xnetConn) leave(ifi *net.Interface) error {
	if c.c4 != nil {
		return c.c4.LeaveGroup(ifi, &net.UDPAddr{IP: group4.AsSlice()})
	}
	return c.c6.LeaveGroup(ifi, &net.UDPAddr{IP: group6.AsSlice()})
}

func (c *xnetConn) Close() error {
	if c.c4 != nil {
		return c.c4.Close()
	}
	return c.c6.Close()
}
