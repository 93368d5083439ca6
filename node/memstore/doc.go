// Package memstore is an in-memory twin of node/store: the same stores
// (accounts, sessions, key directory, mailboxes, the store-and-forward
// store, the channel store, the commit sequencer) with the same bounds,
// the same order of refusals and the same typed errors, held in maps
// under one mutex. It exists so that the logic of node, federation and the
// mesh can be unit tested without a file, a committer goroutine or an
// fsync per test; node/storetest holds it to the semantics bbolt is held
// to, so that what a unit test proves on it holds on the real store.
//
// It keeps nothing across a restart and makes no attempt at being fast
// or small: it is for tests, and it is written to be read.
package memstore
