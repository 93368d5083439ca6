// Package backup puts a device's whole client state into one encrypted
// file and back (`qpc backup create FILE`, `qpc backup restore FILE`,
// docs/backup.md): the sealed state with this device's keys and the
// account key where it holds it, the chat database with contacts, groups
// and history, the replay cache, the offline key and the kept alarms.
//
// The files go in as they lie in the state directory, still sealed under
// the account's OPAQUE export key, and the whole is sealed again under
// the backup's own secret (crypto/sealedfile, purpose backup): a
// passphrase, or the account's recovery code. So a backup opens only with
// that secret, and the state inside only after a login with the account's
// password as it was when the backup was made: restoring never needs the
// node to trust a file, and the node learns nothing it did not know. The
// price is that a backup made before a password change opens no more after
// it (ErrPasswordChanged): make a new one then.
//
// The chat database is read in one read-only bbolt transaction, which
// waits for no writer and sees one consistent state; a qpc that holds the
// database open for writing (qpc repl) makes Snapshot fail with ErrInUse
// instead of copying a file halfway through a write.
//
// Restore writes every file under a temporary name in the state
// directory, checks that the content ended where the sealed file says,
// and only then renames them into place; files of the account that were
// there (with force) are kept aside until the caller has logged in with
// the restored state (Restored.Commit) or put back (Restored.Undo): a
// restore whose device was revoked, or whose state the password does not
// open, leaves the machine as it was.
//
// # Content format
//
// The plaintext inside the sealed file, byte by byte (integers big
// endian, len8 a one-byte length before the bytes it counts):
//
//	offset  size  field
//	0       5     magic "QPCBK"
//	5       1     version (Version = 1)
//	6       1+n   len8 address (user@domain, lowercase)
//	        1+n   len8 server (host:port of the home node)
//	        1+n   len8 fingerprint (hex SHA-256 of the node's certificate)
//	        8     device id (all zero for a state of before devices)
//	        1+n   len8 device name (0..32 bytes)
//	        8     created, unix milliseconds
//	        1     flags: bit 0 = the device holds the account key; the
//	              other bits are 0
//	        1     file count, 1..len(Suffixes)
//	        count × (len8 name | 8 size): name is the address followed by
//	              one of Suffixes, each suffix at most once, ".keystore"
//	              always; size at most MaxFileSize
//	        ...   the files' bytes, in the order of the list, size each
//
// The sealed file's last chunk ends the content: a content that goes on
// past the last file, or ends before it, is ErrCorrupt. A manifest is at
// most 2 KiB; its decoder is fuzzed (FuzzDecodeManifest).
package backup
