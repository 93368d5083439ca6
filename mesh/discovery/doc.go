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
// The instance label is the domain, dots included (at most 63 bytes of it),
// or "<domain> (n)" after a conflict (below); the TXT record is what
// identifies a node, and the only record a browser needs besides the
// addresses. Every record has a TTL of DefaultTTL. The
// SRV, TXT and address records carry the cache-flush bit; a browser takes
// the address records of an announcement as all the addresses the node has
// on that link.
//
// Before it announces, the node probes (RFC 6762 §8.1, probe.go): after a
// random wait of up to 250 ms it sends three queries for its instance name,
// 250 ms apart, with its SRV and TXT records in the authority section, and
// takes the name when 250 ms after the third nobody answered. Meanwhile it
// announces and answers nothing. A response that holds the name with other
// records (its own, from an earlier run with the same node id, do not
// count) makes it take the next name, "<domain> (2)", "(3)" …, log it and
// probe again; after 15 conflicts in 10 s it probes at most every 5 s. A
// probe of another host for the same name at the same time is settled by
// comparing the two sets of records (§8.2): the loser probes again a
// second later, sees the winner's announcement and renames. A conflict
// after the name was announced is settled by the same comparison, only
// the loser renaming (the winner announces again), where §9 would have
// both rename. An interface that appears once the name is the node's is
// announced on without probing again.
//
// The node announces twice, a second apart, once the name is its own and
// whenever an interface gains or loses an address (withdrawing lost
// addresses with TTL 0), answers queries for these names (multicast, or
// unicast for QU questions and for legacy queries from a port other than
// 5353, which get their id and question echoed and TTLs of at most 10 s),
// honours known answers, and says goodbye (every record with TTL 0) when it
// stops. A multicast answer goes out on the family, IPv4 or IPv6, that the
// query came in on: a querier that asks over both gets two answers, not
// four. Answers are rate-limited per interface and family.
//
// A responder on the same host that turns multicast loopback off (OpenWrt's
// umdns) never lets its queries reach the node; the node learns that one
// started from the kernel's count of sockets in the mDNS groups
// (/proc/net/igmp, igmp6; groups.go) and announces once more on an
// interface where that count rose.
//
// # What a node hears
//
// It queries for the service at start, after 1 s, 2 s, 4 s … up to 40% of
// the TTL, listing the peers it knows as known answers, and takes every
// response that carries a valid TXT record into its peer Table. An
// instance name is whatever precedes _quicprochat._udp.local., so one whose
// dots umdns split into labels reads as the same name. A cache-flush A
// record replaces the peer's IPv4 addresses on that link and a cache-flush
// AAAA record its IPv6 ones, each sparing what was heard within the last
// second (RFC 6762 §10.2): avahi may send the two in separate packets. A
// response without address records of the family it came over (umdns
// sends none) gives the sender's address. A response from a responder that
// is no known peer whose service enumeration record (RFC 6763 §9) names
// _quicprochat._udp.local. makes the node query out of turn, at most once
// a second: umdns sends such records when it starts, but no services. A peer
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
// binary; elsewhere x/net does it (mconn_other.go). A one-shot Browse
// queries from an ephemeral port with the QU bit, for unicast answers (qpc
// nodes and avahi echo its id, umdns answers with id 0), and also binds
// 5353 shared, joined to the groups, for responders that answer by
// multicast with id 0 (bonjour-service; umdns without the QU bit); without
// 5353 it makes do with the unicast answers.
package discovery
