// Package repl is qpc repl's interactive chat: a terminal UI that reads
// lines, runs the slash commands among them against the account's
// conversation engine (client/chat), sends the rest to the current
// conversation, and prints what the engine reports as it happens; and the
// Follower that keeps the account connected to its node meanwhile.
//
// It lives under cmd/qpc/internal, not in client/, because it is the
// binary's user interface, not a library: it writes to a terminal and
// runs qpc's own commands (/channel, /mesh peers), which cmd/qpc hands it
// as functions. cmd/qpc's repl command only wires flags, the login and
// the terminal to it. Everything someone else wrote is printed through
// termtext.Safe.
//
// The REPL's logic is tested here on an in-memory engine (repltest); the
// real terminal (tmux) and real nodes are cmd/qpc's process tests.
package repl
