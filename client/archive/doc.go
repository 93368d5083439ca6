// Package archive is the transcript archive of one conversation (`qpc
// export --conversation NAME FILE`, `qpc export verify FILE`,
// docs/backup.md): its messages as records chained by hash, a Merkle root
// over all of them, signed by the exporting account's key, sealed under a
// passphrase (crypto/sealedfile, purpose archive).
//
// It is evidence for later, in someone else's hands: a club's minutes, a
// dispute, a person's own records. Whoever holds the passphrase reads it;
// nobody, the holder included, can change, drop, reorder or add a record
// without Verify saying which one, since that would take the account's
// key. The chain lets Verify name the record; the Merkle root (RFC 9162's
// tree hash over the record hashes) is there so that one record can be
// shown with an inclusion proof without the others (no command makes
// such a proof yet).
//
// An archive is signed by the account key where the exporting device
// holds it, else by the device's identity key with the device's
// certificate from the account's signed device list included, so that
// either way it verifies under the account key. Verify checks the
// signature with the key the archive carries: compare the fingerprint it
// reports with the safety number of the account (what `qpc verify` shows
// for a contact) to know whose it is. A device removed after the export
// still verifies: the archive says what the account's device signed then.
//
// # Content format
//
// The plaintext inside the sealed file, byte by byte (integers big
// endian; len8/len16/len32 a length of that many bits before the bytes it
// counts; times unix milliseconds):
//
//	header
//	  5     magic "QPCTA"
//	  1     version (Version = 2; Verify reads 1 and 2)
//	  1+n   len8 address of the exporting account
//	  32    account key (Ed25519 public)
//	  2+n   len16 device certificate (crypto/identity layout); empty when
//	        the account key signs
//	  1+n   len8 conversation name
//	  1     conversation kind (1 note, 2 DM, 3 group)
//	  2     member count, then each len8 address
//	  8     exported
//	  4     record count n
//	then, n times, a record
//	  1     tag 0x01
//	  4     body length (at most MaxRecordSize)
//	        body:
//	  4       number, from 1
//	  32      hash of the record before (of the header for record 1)
//	  8       seq: the message's place in the conversation's history
//	  16      message id (zero for a system line)
//	  1+n     len8 sender's address
//	  8       sender's time
//	  8       received
//	  1       flags: bit 0 a system line (joined, left, key changed),
//	          bit 1 (version 2) a line its sender deleted; other bits 0
//	  8       (version 2 only) the sender's time of the last edit of
//	          the text, 0 for a line never edited
//	  4+n     len32 text, empty for a deleted line
//	then the end
//	  1     tag 0x02
//	  32    hash of the last record (of the header when n = 0)
//	  32    Merkle root over the record hashes
//	  64    Ed25519 signature
//
// The header's hash is SHA-256("qpc/1 transcript header" | 0x00 | header
// bytes), a record's SHA-256("qpc/1 transcript record" | 0x00 | body).
// The Merkle root is RFC 9162's MTH over the record hashes as leaves
// (SHA-256(0x00 | leaf) and SHA-256(0x01 | left | right); SHA-256 of
// nothing for none). The signature covers
//
//	"qpc/1 transcript" | 0x00 | header hash | n (4 bytes) | last hash | root
//
// by the account key, or by the identity key of the certificate's device.
//
// Version 1, written before edits and deletes, has no edit time and only
// bit 0 of the flags: its lines read as never edited, none deleted. A
// deleted line stays in the archive as a record without text, so that
// the archive shows that a line stood there and was taken back, and its
// seq leaves no unexplained gap.
//
// # Verification
//
// Verify checks the signature first, over the header as it is and the
// end's hashes: a header or end that was changed fails there
// (ErrBadSignature), and then these are known to be the exporter's. Then
// it walks the records: record p must carry number p and the hash of
// record p-1, and the last must hash to the signed last hash. What fails
// is a *RecordError naming the record: ErrRecordAltered (its hash is not
// the one the next record, or the end, chains to), ErrRecordMissing,
// ErrRecordOutOfOrder (it stands elsewhere), ErrRecordAppended (after the
// n the header counts). The decoder is strict and bounded and never
// panics (FuzzVerify).
package archive
