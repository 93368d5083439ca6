// Command floor measures what the router binary cannot be smaller than: the
// parts qpc's design mandates (DESIGN §1, §3, §6, §8), each built alone,
// exactly as scripts/cross/build.sh builds the router binary, so that the
// room under the flash budget left for qpc's own code is a measured number
// (issue 25).
//
// Each step after the first is a build tag and includes the steps before
// it:
//
//	(none)   a quic-go server and client, TLS 1.3 with mutual X.509
//	         (Ed25519 certificates made and verified, as qpc's are)
//	floor_b  + Cap'n Proto RPC serving one hand-written method over a QUIC stream
//	floor_c  + bbolt with one update transaction
//	floor_d  + log/slog, its text and JSON handlers (--log-format)
//	floor_e  + flag, fmt, encoding/json encoding, a TCP listener (metrics) and os/signal
//
// scripts/cross/floor.sh builds every step for mips and prints the sizes.
// The program runs (a loopback exchange), but its job is to be linked; no
// test runs it.
package main
