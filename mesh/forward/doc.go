// Package forward is the store-and-forward engine of a node (DESIGN §7):
// it moves signed envelopes (mesh/envelope) hop by hop across federation
// links to users whose home node is not linked to the sender's, keeps
// them on disk (MeshStore) while no route leads on, and keeps the
// routing table (mesh/route) that says where to send them.
//
// # Custody
//
// A node that holds an envelope keeps it until its next hop answers for
// it: delivered (the next hop is the recipient's home node and the
// message is in the mailbox), accepted (the next hop has it on its disk
// and now answers for it), duplicate (the next hop already has it or
// delivered it), or rejected (the next hop refuses it for good: bad
// signature, expired, hop limit, unknown user). Only then is the envelope
// released. Refused (the next hop's store or the mailbox is full) and
// looped (the next hop forwarded it before: a routing loop) keep it here,
// and the engine tries the domain again after RetryDelay or at the next
// route change. So a full store pushes back to the previous hop, and in
// the end to the sender's node, whose client is told (protocol.ErrMeshFull):
// nothing is evicted to make room and nothing is dropped but for the
// reasons above, each counted.
//
// # Order and once-only
//
// Envelopes wait in one FIFO queue per destination domain, and one
// goroutine at a time drains a queue, in batches, so the envelopes of one
// sender to one domain reach the next hop in the order they were sent;
// along one path they stay in order. Each node remembers the ids it has
// seen (held, forwarded, delivered, dropped) until their TTL ends, in the
// same transaction that stores or delivers them: an id enters a mailbox at
// most once and is forwarded at most once by a node, also around rings.
//
// # Whom the quotas count
//
// Every hop verifies an envelope's signature, but with the key the
// envelope itself carries: that proves which key signed, not that the key
// belongs to the origin domain the envelope names. Only the first hop can
// check that, against the link's certificate and the node id the peer
// told. A relay further on has no certificate of the origin, so anyone
// can mint keys and claim any origin there. The store's quotas therefore
// count what cannot be forged: per neighbour (HeldEnvelope.From, the
// domain the link's certificate proves; protocol.ErrNeighbourQuota), and per
// origin only as the origin domain together with the node id of the key
// that signed (HeldEnvelope.OriginID), so that a forger's envelopes count
// apart from the real node's and cannot use up its quota. A neighbour that
// floods forged origins is capped by its neighbour quota and leaves the
// rest of the store to the others. The seen-set is shared the same way
// (protocol.MeshQuota.NeighbourSeen, also for the messages delivered here),
// since the ids of forwarded envelopes stay there until they expire, and
// envelopes from neighbours leave a tenth of it to this node's users.
//
// # Routes and reports
//
// Neighbours exchange their routing tables over federation (every
// AdvertInterval and at once on a change; split horizon, full lists,
// routes expire after route.DefaultRouteTTL). News about an envelope
// (delivered, held somewhere without a route, expired, dropped) travels
// back to its origin node as a report along the routing table to the
// envelope's origin domain, where the sender's status is updated. Reports
// are advisory, not stored, and dropped (and counted) when no route leads
// back.
package forward
