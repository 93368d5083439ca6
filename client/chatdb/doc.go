// Package chatdb is the chat client's database: conversations, their
// history and MLS group state, contacts, the outbox, the seen-set of
// message ids, KeyPackages and small settings, in one bbolt file per
// account, conventionally Path(stateDir, address), mode 0600.
//
// Every value is sealed under a key derived from the account's OPAQUE
// export key, so that the file says nothing to whoever copies it without
// the password, and the keys of the records are chosen so that they do not
// say whom the account talks to either. One qpc process at a time opens the
// file: a second Open fails with ErrLocked.
//
// # Keys
//
// From the export key (at least 32 bytes) two keys are derived with
// HKDF-SHA256, salt empty:
//
//	seal key   32 bytes, info "qpc chat db v1"
//	index key  32 bytes, info "qpc chat db v1 index"
//
// # Sealed values
//
// Every value in every bucket is, byte by byte:
//
//	offset  size  field
//	0       1     value version (1)
//	1       24    nonce, random for every write
//	25      n+16  XChaCha20-Poly1305 ciphertext of the n-byte record, with tag
//
// under the seal key, with the additional data
//
//	value version (1 byte) | len(bucket name) (1 byte) | bucket name | record key
//
// so that a value moved to another key or bucket no longer opens: a value
// that does not open, or opens to a record that does not decode, is a
// *CorruptError naming the bucket and key, which wraps ErrCorrupt.
//
// # Buckets
//
//	bucket         key                                  record
//	meta           "version"                            format version (uvarint, 1)
//	meta           "canary"                             "qpc chat db canary"
//	meta           "app:" | name                        Tx.PutMeta's bytes
//	conversations  ConvID (16)                          Conversation
//	messages       ConvID (16) | Seq (8, big endian)    Message
//	groupstate     ConvID (16)                          the MLS group state's bytes
//	contacts       index("contacts", address)           Contact
//	seen           index("seen", ConvID | MsgID | from) the time it was marked
//	keypackages    index("keypackages", ref)            KeyPackage ref and bundle
//	outbox         Seq (8, big endian)                  Outgoing
//
// ConvIDs are random, so the conversation keys say nothing. Messages are
// in one bucket under composite keys, so that a conversation's history is
// one range in Seq order and a message cannot be moved to another
// conversation undetected. index(bucket, k) is HMAC-SHA256 under the index
// key of bucket | 0x00 | k: addresses, message ids and KeyPackage refs are
// never stored in the clear, and equal natural keys still find their
// record. Addresses are lowercased before they are indexed. Meta names are
// chosen by the program, not the user, and are stored in the clear.
//
// The format version is checked when the file opens: a newer one is
// ErrVersionUnknown. The canary, written when the file is created, tells
// a wrong export key (ErrWrongKey) from a corrupted record.
//
// # Records
//
// Records are a compact binary form built of
//
//	uvarint  unsigned LEB128 (encoding/binary), minimal length
//	varint   zig-zag signed LEB128, minimal length
//	bytes    uvarint length | the bytes; strings likewise
//	bool     one byte, 0 or 1
//	time     varint Unix seconds | uvarint nanoseconds (< 1e9); decoded in UTC
//	id       16 bytes (ConvID, MsgID)
//
// in this order of fields:
//
//	Conversation  Kind (1 byte) | Name | Peer | GroupID | Home |
//	              uvarint count | Members (strings) | Invited (bool) |
//	              InvitedBy | Left (bool) | Unread (varint) |
//	              uvarint count | Senders as (address, uvarint seq) in
//	              increasing address order | SentSeq (uvarint) |
//	              Created | Updated
//	Message       ID (id) | From | Time | Received | Text | System (bool) |
//	              Status (1 byte) [| Edited (time) | Deleted (bool)] (the
//	              last two present only when either is set; a deleted
//	              message has an empty Text)
//	Contact       Address | IdentityKey | Verified (bool) | VerifiedKey |
//	              KeyChanged (bool) | Updated [| PreviousKey |
//	              NoticeOnSend (bool)] (the last two present only when
//	              either is set; records written before they existed
//	              have neither)
//	Outgoing      Conv (id) | MsgID (id) | Text | ChatSeq (uvarint) | Recipient | Payload |
//	              Created | Attempts (varint) [| TTL (varint nanoseconds,
//	              not negative) | MaxHops (1 byte)] (the last two present
//	              only when either is set)
//	KeyPackage    ref (bytes) | bundle (bytes)
//	seen mark     time
//
// Conversation.ID, Message.Seq and Outgoing.Seq are not in the record:
// they are its key. Decoding is strict: a length past the end, a
// non-minimal varint, a bool other than 0 or 1, nanoseconds out of range,
// Senders out of order or trailing bytes are corrupt; nothing panics. Empty
// byte slices, lists and maps decode as nil, and times in UTC without a
// monotonic reading, so that decoding and encoding again gives the same
// bytes.
package chatdb
