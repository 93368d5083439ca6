// Package federation links the nodes of one community so that a user of
// one node reaches users of any other (DESIGN §7).
//
// A link is one QUIC connection on the nodes' usual UDP port with ALPN
// quicprochat/federation/1 and mutual TLS: each node presents a
// certificate of the community CA whose only DNS SAN is its domain, and
// that SAN is the peer's identity. Both ends serve schemas
// FederationService on the link, so one link carries calls both ways; when
// two nodes dial each other at once, the link dialed by the node with the
// smaller domain is kept.
//
// A Manager keeps one link per peer: it dials the configured peers and the
// nodes discovery finds, redials with jittered exponential backoff,
// accepts links from peers, and implements node.Federation so that the
// node's service relays messages and lookups for other domains over them.
// Inbound calls are served on behalf of the peer named by the link's
// certificate through an Inbound (node.Peer), which applies the node's
// bounds and the per-peer rate limits.
package federation
