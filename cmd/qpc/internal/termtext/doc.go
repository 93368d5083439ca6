// Package termtext writes text for a terminal: what others wrote, made
// safe to print, and tables. cmd/qpc and its REPL (internal/repl) print
// through it, so that one rule decides what text from the network may do
// to a person's terminal.
package termtext
