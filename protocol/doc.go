// Package protocol holds the words that every layer of qpc shares: the
// client library, the node's service and store, federation, the mesh and
// the commands. It is a leaf: it imports nothing of the project but the
// generated schemas, so that a layer can name a message, a receipt or an
// error without importing the service that produces it (DESIGN §2).
//
// What is here, and why here:
//
//   - The sentinel errors of the protocol (errors.go) and the one table
//     that maps them to wire error codes and back (codes.go): a node
//     raises ErrMailboxFull, the client receives a *RemoteError that
//     errors.Is finds to be ErrMailboxFull, with nothing in between that
//     has to know both.
//   - The value types that cross a package boundary: mailbox messages and
//     receipts, store-and-forward ids and states, channel posts, federation
//     links, health, MLS commit claims.
//   - One Address ("user@domain") and one Domain rule. Every layer parses
//     an address with ParseAddress (or ParseRecipient, which also takes a
//     bare name and a device's "user#device@domain"; a node's stores name
//     a device's mailbox queue "user#device", ParseQueue and QueueName)
//     and judges a domain with ValidDomain, so that the node's
//     --domain, the SAN of its federation certificate, the origin of the
//     envelopes and posts it signs, its mDNS announcement and its route
//     adverts cannot disagree about what a domain is. crypto/ca keeps a
//     copy for the certificates it issues (crypto imports only crypto);
//     a test in config holds the two to one table.
//   - The converters between these types and the Cap'n Proto wire types
//     that both ends of a call use (wire*.go): what a node writes the
//     client reads with the twin function, so the pairs are tested
//     together, round trip and fuzzed. Enums cross by a mapping switch,
//     never a numeric cast, and a value from a newer peer that this build
//     does not know is reported, not reinterpreted.
//
// Interfaces are not here: the package that uses one declares it.
package protocol
