// Package session is one user's account opened on this machine: the
// connection to the home node, logged in (OPAQUE) or resumed, the sealed
// local state (keys, contacts, channels) under the state directory, and
// the chat engine over it. The commands of cmd/qpc and the REPL run their
// per-account operations through a Session instead of assembling those
// parts themselves.
//
// An account lives on several devices (issue 22, docs/devices.md): each
// machine's state holds its own device keys, the account's signed device
// list and, on the devices chosen for it, the account key. Every
// connection a Session makes is bound to this device's queue on the node
// (UseDevice). devices.go makes and changes devices: the migration of a
// state of before devices, StartLink and Approve, RemoveDevice, Recover
// and Reset.
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
