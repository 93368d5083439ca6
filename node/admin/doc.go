// Package admin serves a node's admin socket: a Unix stream socket in the
// data directory on which the node's admin (the router's root, LuCI's rpcd
// plugin, `qpc admin`) manages the node without a password. The socket
// file's mode (0600, owned by the node's user) is the authentication; the
// server also refuses a peer whose uid, as the kernel reports it
// (SO_PEERCRED), is neither the node's nor root's, so that a socket file
// whose mode was loosened by hand still lets nobody else in.
//
// On the socket runs Cap'n Proto RPC with schemas.AdminService as the
// bootstrap capability; every method answers with the JSON object that
// `qpc admin CMD --json` prints (protocol.Admin*, docs/admin.md). The
// node's composition root (package app) supplies what the answers are made
// of through Backend; this package adds the socket, the peer check, the
// audit log of every action that changes something, and the errors.
package admin
