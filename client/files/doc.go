// Package files is the client's core of sending files (issue 28,
// docs/files.md): a file is encrypted on the client under a fresh key,
// uploaded to the sender's home node as a blob of content-addressed
// ciphertext chunks, and described by a Reference that travels inside an
// end-to-end encrypted message; a recipient downloads the chunks through
// their own node, which proxies to the sender's home node over
// federation, checks every chunk and decrypts. Uploads and downloads
// resume after a disconnect or a restart, and report progress. The package
// has no UI; the commands and the REPL draw its Progress.
//
// # Chunks
//
// The plaintext is cut into chunks of ChunkSize bytes (the last one
// shorter; an empty file is one empty chunk). Chunk i is sealed with
// ChaCha20-Poly1305 under the file's 32-byte key with the 12-byte nonce
//
//	index   8 bytes, big-endian i
//	zero    3 bytes
//	last    1 byte, 1 for the file's last chunk, else 0
//
// and the additional data "qpc-file-v1". The key is used for one file
// only, so nonces never repeat under it. Because the index and the last
// flag are in the nonce, a chunk moved to another place, or a file cut
// short after any chunk, fails to open: reordering and truncation are
// detected. Each sealed chunk is named by its SHA-256, and the blob by
// protocol.BlobID of the hashes, which the reference carries, so a chunk
// the node changed is caught before it is opened (ErrTampered), and a
// chunk that hashes right but does not open was sealed under another key
// (ErrWrongKey) or is not where the file ends (ErrTruncated).
//
// # The reference
//
// MarshalReference encodes a Reference, big-endian:
//
//	magic      4 bytes  "QPCF"
//	version    1 byte   1 (ReferenceVersion)
//	name       1 byte length n (1-255) + n bytes of UTF-8, no control characters
//	mime       1 byte length m (0-127) + m bytes of printable ASCII
//	size       8 bytes  the plaintext's length, at most MaxFileSize
//	chunk      4 bytes  the plaintext chunk size, MinChunkSize to protocol.MaxBlobChunk-Overhead
//	key        32 bytes
//	blob id    32 bytes
//	home       1 byte length h (1-253) + h bytes: the uploader's home domain
//	expires    8 bytes  Unix milliseconds when the home node drops the blob
//	thumbnail  2 bytes length t (0-MaxThumbnail) + t bytes
//
// ParseReference refuses anything else (ErrBadReference; a version it does
// not know, ErrReferenceVersion) and trailing bytes.
//
// # Resuming
//
// An upload keeps a small state file (mode 0600: it holds the key) in
// Options.StateDir, named for the file's path, size and modification
// time: the same key seals the same chunks again, so the blob's id is the
// same and the node's blobCreate answers which chunks it still misses.
// A download writes into DEST.qpcpart and keeps the chunks written and
// synced in a state file beside it; calling Download again fetches the
// rest. Both remove their state when they complete.
package files
