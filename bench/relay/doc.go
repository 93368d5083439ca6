// Package relay is the ceiling that `qpc bench` is judged against: the
// smallest server that does what a qpc node does for a message on the same
// QUIC stack and the same disk, and nothing more. Senders write messages on
// a QUIC stream; one committer goroutine writes the messages that arrive
// together into bbolt in one synced transaction (group commit), then acks
// each sender once for all of its messages in the batch and pushes each
// receiver its messages in one write. In memory-only mode the committer
// skips bbolt.
//
// It has no accounts, no authentication beyond TLS, no bounds, no expiry
// and never deletes what it stored: it measures what QUIC, TLS and a synced
// bbolt transaction cost per message, so that bench/compare can say how
// much of a node's cost is its own.
//
// The wire: every frame is a 4-byte big-endian length and a body whose
// first byte is its type. A client opens one stream and says hello
// (type 1, role 's' or 'r', 4-byte pair number); a sender then writes
// messages (type 2, the payload), which go to the receiver of its pair;
// the server acks (type 3, 4-byte count of messages now durable) and
// pushes (type 4, one payload each).
package relay
