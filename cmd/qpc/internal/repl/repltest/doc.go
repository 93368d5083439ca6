// Package repltest is an in-memory conversation engine for tests of the
// REPL's UI: conversations without a node or cryptography. The REPL's own
// tests use it, and cmd/qpc's terminal tests run the REPL on it in tmux.
package repltest
