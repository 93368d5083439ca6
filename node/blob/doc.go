// Package blob is a node's store of files: the encrypted chunks that
// clients upload (package client/files makes them) for their contacts to
// fetch, kept until a TTL runs out, within quotas per file, per user and
// per node, and served to this node's users and, over federation, to the
// nodes of the recipients (docs/files.md).
//
// # Files, not bbolt
//
// Blobs live as plain files beside the message database, under
// <store-dir>/blobs (DirName): one directory per blob, named by the hex of
// its id, holding a "meta" record and one file per chunk, named by its
// index. Measured on this project's build machine with 20 MB written in
// 128 KiB chunks, each fsync'd: files 28 MB/s, bbolt (one transaction per
// chunk) 34 MB/s, but the bbolt file grew to 32 MB for 20 MB of data and
// stayed 32 MB after the blob was deleted, since bbolt never gives pages
// back to the filesystem and rewrites pages copy-on-write. On a router
// whose store shares a few MiB of flash or RAM, a file store that gives
// back what an expired blob held, writes each chunk once and keeps the
// message database small matters more than the speed difference.
//
// Every chunk is written to a temporary file, fsync'd, renamed into place
// and its directory fsync'd, so a chunk acknowledged to the uploader is on
// disk, and a crash leaves either the chunk or nothing (temporary files
// are removed at Open). A blob directory without a valid meta record (a
// crash during blobCreate) is removed at Open too.
//
// # The meta record
//
// All integers big-endian:
//
//	magic     4 bytes  "QPCB"
//	version   1 byte   1 (MetaVersion)
//	owner     1 byte length n (1-64) + n bytes: the uploader's user name
//	size      8 bytes  the declared size, the sum of the chunks' lengths
//	expires   8 bytes  Unix milliseconds when the blob is dropped
//	count     4 bytes  the number of chunks, 1-protocol.MaxBlobChunks
//	hashes    count × 32 bytes: each chunk's SHA-256
//
// ParseMeta refuses anything else with ErrBadMeta (ErrMetaVersion for a
// version it does not know), and trailing bytes.
//
// # Quotas and memory
//
// A blob's whole declared size counts against its uploader's quota and the
// node's from blobCreate on, so a put never runs out of room halfway and
// a refusal comes before any byte is sent. Nothing is evicted to make room:
// a blob stays until its TTL (or its uploader's next, larger TTL) runs
// out. Chunks are at most protocol.MaxBlobChunk bytes and the service lets
// only a few puts and gets hold one in memory at a time (Limits.InFlight),
// so a 50 MB transfer costs the node a few chunks of RAM.
package blob
