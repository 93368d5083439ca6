// Package storetest holds every implementation of the node's stores to one
// set of semantics: the bbolt store that nodes run on (node/store) and the
// in-memory twin that unit tests of node, federation and mesh logic run on
// (node/memstore). A twin that drifts from the real store would make those
// unit tests prove things about a store nobody runs; running the same
// tests against both keeps them honest.
//
// Run covers what callers rely on: ordering (mailbox, held envelope and
// channel post sequence numbers, commit order), bounds (mailbox, node-wide,
// mesh per destination, origin and neighbour, seen-set shares, key
// packages, accounts, channels, groups), dedup (seen ids, posts), expiry,
// name holds, sessions and typed errors. What only one implementation has
// (crash safety, reopening a file, on-disk records, group commit) is tested
// in that implementation's package. The helpers (Envelope, Post, Claim,
// MustHold, ...) are exported for those tests, so that both speak of the
// same test data.
package storetest
