// Package session is one user's account opened on this machine: the
// connection to the home node, logged in (OPAQUE) or resumed, the sealed
// local state (keys, contacts, channels) under the state directory, and
// the chat engine over it. The commands of cmd/qpc and the REPL run their
// per-account operations through a Session instead of assembling those
// parts themselves.
//
// It is a package of its own, not a type in package client, for two
// reasons: client/chat imports client, so a type in client could not own
// the chat engine, and client.Session already names the node's login
// session (a token and its expiry), which a Session holds.
//
// A Session asks its caller for what only the caller knows: how to dial a
// node with the trust the person chose (Config.Dial), the password
// (Config.Password), and where notices for the person go (Config.Notices).
package session
