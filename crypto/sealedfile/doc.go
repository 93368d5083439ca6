// Package sealedfile encrypts a stream under a secret a person holds (a
// passphrase, or an account's recovery code) into one file that can be
// read back only whole and in order: the container of qpc's backups
// (client/backup) and transcript archives (client/archive).
//
// A person keeps such a file on a USB stick or in a cloud folder, out of
// qpc's hands, for years. So the key comes from the secret through
// Argon2id with the cost written in the file (a later qpc can raise the
// default and still read old files), and the content is sealed in chunks,
// each under its index and a flag that marks the last one, so that a
// reader streams a file of any size in bounded memory and still notices a
// chunk changed, dropped, moved or added, and a file cut short at a chunk
// boundary, and names the chunk.
//
// # File format
//
// Integers are big endian.
//
//	offset  size  field
//	0       5     magic "QPCSF"
//	5       1     version (Version = 1)
//	6       1     purpose: what the content is (1 backup, 2 transcript
//	              archive); a reader says which it expects, so a file of
//	              one kind is never read as the other
//	7       1     secret kind: 1 passphrase, 2 recovery code (the 32-byte
//	              account key seed the code spells, not its text)
//	8       4     Argon2id time t (1..64)
//	12      4     Argon2id memory m, KiB (8·p..1 GiB)
//	16      1     Argon2id threads p (1..64)
//	17      16    salt, random for every file
//	33      4     chunk size c: plaintext bytes in every chunk but the
//	              last (1 KiB..1 MiB)
//	37      32    key check
//	69      ...   chunks
//
// From the secret, master = Argon2id(secret, salt, t, m, p, 32 bytes); the
// chunk key is HKDF-SHA256(master, no salt, info "qpc/1 sealedfile key",
// 32 bytes) and the key check HKDF-SHA256(master, no salt, info
// "qpc/1 sealedfile check", 32 bytes). The check tells a wrong secret
// (ErrWrongSecret) from a damaged file before any chunk is read; it is
// compared in constant time and gives a guesser nothing the first chunk
// would not give them anyway.
//
// Chunk i (from 0) is the ChaCha20-Poly1305 sealing of c plaintext bytes,
// or of 0..c bytes for the last chunk, so c+16 bytes on disk but for the
// last, with
//
//	nonce  i as 8 bytes | 3 zero bytes | 1 if it is the last chunk, else 0
//	AD     the 69-byte header
//
// A file has at least one chunk: an empty content is one empty last chunk.
// The header as additional data binds every chunk to the purpose, the
// secret kind and the Argon2id cost, so no header byte can be changed
// unnoticed either. The salt gives every file its own key, which is why
// the nonce can be the chunk's index.
//
// A reader knows the last chunk as the one the file ends with. A chunk
// that does not open is ErrTampered, unless it opens under the other value
// of the last-chunk flag: a file that ends with a chunk sealed as not last
// was cut short (ErrTruncated), and a chunk sealed as last that has more
// bytes after it had something appended (ErrTrailingData). Each comes
// wrapped in a *ChunkError with the chunk's index.
package sealedfile
