// Package identity holds the keys that name people, devices and nodes, and
// the signed formats built on them.
//
// A node has an Ed25519 node key (NodeKey) whose id its TLS certificate
// carries. A person has an account key (AccountKey), which is what contacts
// know them by and what safety numbers are made from; it signs a DeviceCert
// for each device and a DeviceList of them. Each device has its own
// UserKeys (an Ed25519 identity key and an X-Wing HPKE key), so devices come
// and go without contacts seeing a key change, and no private key is shared
// between devices. A new device joins with a LinkCode shown on its screen;
// the account key is written down as a RecoveryCode.
//
// Every binary format here starts with a version byte and documents its
// layout on its type; decoders check every length and return the sentinel
// errors of errors.go, wrapped with what was wrong. Signatures carry a
// context string, so a signature made for one format never verifies as
// another.
package identity
