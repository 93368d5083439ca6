// Package ktwatch is a node's watch over key transparency logs (issue 23,
// docs/kt.md): it checks the signed tree heads that reach the node (from
// clients' gossip, federation gossip and key answers it relays) against
// what it knows of each log, and keeps the pairs of heads that prove a
// log is not append-only as evidence.
//
// Two heads of one log and one size with different roots are a fork,
// evidence at once. Heads of different sizes are judged by a consistency
// proof that the log's own node gives (Config.Consistency); a proof that
// does not verify is evidence too ("inconsistent"). Heads of the node's
// own log are compared with the log itself. Heads of other domains count
// only when they are signed with a federation certificate that chains to
// the community CA and names the head's domain: anyone else could sign
// any head.
//
// The latest head of each other domain is remembered in memory only, one
// per domain and at most MaxKnown: after a restart the node learns them
// again from the next gossip. Evidence is kept by an EvidenceStore (node/store on the node), counted,
// logged at warn once, and handed to clients and to federation peers,
// which check it again before they keep it.
package ktwatch
