// Package msgstream is the framing of a client connection's message stream:
// the hot data path (enqueue, receipt, push, ack) on a QUIC stream of its
// own beside the Cap'n Proto RPC stream, which stays the control plane.
//
// Why a stream and not RPC: a message over RPC is two calls (enqueue in,
// deliver out), each a Call, a Return and a Finish, which capnp-go sends as
// separate writes the moment it makes them: 8 to 10 datagrams per message
// at one message in flight, and a capability dispatch on both ends. On the
// stream a message is three frames (ENQUEUE, RECEIPT, DELIVER) plus a
// CREDIT for every few deliveries, and no dispatch (issue 26, round 6,
// docs/bench.md).
//
// # Opening
//
// After the connection's session is bound (loginFinish or resumeSession
// on the RPC stream), the client opens a new bidirectional stream and
// writes the 5-byte header: the magic "qpcm" and the version (1). The
// node answers with a HELLO frame. The session is the connection's: the
// stream carries no token. A node that does not know the stream either
// refuses to open it (a node that allows one stream per connection) or
// never answers; a client then uses the RPC calls.
//
// # Frames
//
// Every frame, in both directions, is
//
//	length  uint32, big-endian: the bytes after it (type and body), 1..max
//	type    uint8
//	body    length-1 bytes, laid out per type below
//
// The node says in HELLO the largest length it reads (MaxFrame), and
// never sends a longer frame; a client reads no longer frame than the one
// it was told. All integers are big-endian; times are Unix milliseconds;
// codes are the ErrorCode enumerants of schemas/node.capnp (0 = none).
//
// Client to node:
//
//	ENQUEUE     0x01  req u64 | ttl_ms u64 | max_hops u8 | flags u8 | rlen u16 | recipient rlen bytes | payload (the rest, ≥ 1 byte)
//	ACK         0x02  req u64 | upto u64
//	SUBSCRIBE   0x03  req u64 | after u64
//	UNSUBSCRIBE 0x04  (empty)
//	CREDIT      0x05  n u16 (≥ 1): the client has handled n more DELIVER frames
//
// ENQUEUE's flags: bit 0 (FlagAfter) says the message is to be stored after
// the stream's previous ENQUEUE (the rest of one batch of the client's);
// other bits are 0. Without it the node may store the message beside
// earlier ones still in flight, in either order, as it does concurrent
// enqueue calls. A client that sends one message at a time, waiting for
// each receipt, gets them stored in order either way.
//
// Node to client:
//
//	HELLO       0x81  version u8 | max_frame u32 | enqueue_window u32 | deliver_window u16
//	RECEIPT     0x82  req u64 | seq u64 | server_time i64 | code u16 | mesh u8 (0 or 1) | [mesh_id 32 bytes | qlen u8 | queued_at qlen bytes]
//	ACKED       0x83  req u64 | removed u32 | code u16
//	SUBSCRIBED  0x84  req u64 | code u16
//	DELIVER     0x85  count u16 (≥ 1) | count × (seq u64 | enqueued i64 | expires i64 | plen u32 | payload plen bytes)
//	ENDED       0x86  code u16: 0 answers UNSUBSCRIBE; another code says the subscription ended on its own
//	ERROR       0x8f  code u16 | reason (the rest, ≤ 256 bytes of text)
//
// # Bounds and flow control
//
//   - A client has at most enqueue_window ENQUEUE frames unanswered; one
//     more is a protocol error.
//   - The node has at most deliver_window DELIVER frames not yet credited;
//     it waits for CREDIT before it sends more, so it never buffers for a
//     slow reader more than that, and the stream's own QUIC window bounds
//     the rest.
//   - A client has at most MaxControl (16) ACK, SUBSCRIBE and UNSUBSCRIBE
//     frames unanswered.
//   - One subscription per stream at a time.
//   - A frame over the bound, of an unknown type or malformed, or a
//     window overrun, makes the node send ERROR and close the stream; the
//     connection and its RPC stream go on.
package msgstream
