// Package schemas holds qpc's Cap'n Proto schemas (node.capnp, federation.capnp, mesh.capnp, admin.capnp) and the Go
// that capnpc-go generates from them (`make schemas`); the wire types of every RPC and stored record.
package schemas
