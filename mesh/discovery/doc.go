// Package discovery finds qpc nodes on the local network with multicast
// DNS (RFC 6762) and DNS-SD (RFC 6763), and lets a node be found.
//
// # What a node announces
//
// A node announces the service _quicprochat._udp.local. (DESIGN §7) on each
// configured interface, over IPv4 (224.0.0.251) and IPv6 (ff02::fb),
// UDP port 5353:
//
//	_quicprochat._udp.local.              PTR  <domain>._quicprochat._udp.local.
//	<domain>._quicprochat._udp.local.     SRV  0 0 <port> qpc-<id[:12]>.local.
//	<domain>._quicprochat._udp.local.     TXT  "ver=1" "id=<node id>" "domain=<domain>"
//	                                           "port=<port>" "fp=<certificate SHA-256, hex>"
//	qpc-<id[:12]>.local.                  A    each IPv4 address of the interface
//	qpc-<id[:12]>.local.                  AAAA each IPv6 address of the interface
//	_services._dns-sd._udp.local.         PTR  _quicprochat._udp.local. (only when asked)
//
// The instance label is the domain, dots included (at most 63 bytes of it);
// the TXT record is what identifies a node, and the only record a browser
// needs besides the addresses. Every record has a TTL of DefaultTTL. The
// SRV, TXT and address records carry the cache-flush bit; a browser takes
// the address records of an announcement as all the addresses the node has
// on that link.
//
// The node announces twice, a second apart, at start and whenever an
// interface gains or loses an address (withdrawing lost addresses with TTL
// 0), answers queries for these names (multicast, or unicast for QU
// questions and for legacy queries from a port other than 5353, which get
// their id and question echoed and TTLs of at most 10 s), honours known
// answers, and says goodbye (every record with TTL 0) when it stops. Answers
// are rate-limited per interface.
//
// # What a node hears
//
// It queries for the service at start, after 1 s, 2 s, 4 s … up to 40% of
// the TTL, listing the peers it knows as known answers, and takes every
// response that carries a valid TXT record into its peer Table. A peer
// leaves the table when its TTL runs out or at once on a goodbye. Packets
// that do not decode, TXT records that are oversized (over 1300 bytes),
// lack a key or have a bad value, announcements of an unknown ver=, and
// packets whose source is off the interface's link (RFC 6762 §11) are
// dropped and counted (Stats), never acted on.
//
// # Wire format
//
// Messages are plain DNS (RFC 1035 §4): a 12-byte header (id, flags, four
// section counts), questions (name, type, class with the QU bit on top),
// then resource records (name, type, class with the cache-flush bit on top,
// 32-bit TTL, 16-bit rdata length, rdata). Names are length-prefixed labels
// ended by a zero byte, or by a 14-bit compression pointer; the decoder
// follows only pointers that point backwards (no loops) and at most 32 of
// them, and limits names to 255 bytes and a packet to 512 records and 9000
// bytes. Only A, AAAA, PTR, SRV and TXT rdata is decoded.
//
// # Sockets
//
// The node binds UDP 5353 with SO_REUSEADDR and SO_REUSEPORT, as avahi-daemon
// and OpenWrt's umdns do, so they share the port, and it turns off
// IP_MULTICAST_ALL so that only the groups it joined on its interfaces reach
// it. Each packet's interface is read from its IP_PKTINFO / IPV6_PKTINFO
// control message, and packets from other interfaces are not looked at.
// On Linux this takes plain socket options (mconn_linux.go), which keeps
// golang.org/x/net/ipv4 and ipv6 (~65 KB on mips) out of the router
// binary; elsewhere x/net does it (mconn_other.go). A one-shot Browse queries from
// an ephemeral port and gets unicast answers, so it needs no port of its
// own.
package discovery
