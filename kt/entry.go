package kt

import (
	"encoding/binary"
	"fmt"

	"github.com/quicprochat/qpc/protocol"
)

// EntryVersion is the version byte of an encoded Entry.
const EntryVersion = 1

// EntryKind says what changed in the directory for an address.
type EntryKind uint8

// The kinds of entry. Their values are on the wire; never renumber them.
const (
	// KindRegister is the first entry of an address: the account registered.
	KindRegister EntryKind = 1
	// KindUpdate is a republish that changed the keys hash: keys or device list.
	KindUpdate EntryKind = 2
	// KindReset is a new account key (the account was reset).
	KindReset EntryKind = 3
	// KindDelete is the account deleted; its keys hash is all zero.
	KindDelete EntryKind = 4
)

// String names the kind for logs and audit output.
func (k EntryKind) String() string {
	switch k {
	case KindRegister:
		return "register"
	case KindUpdate:
		return "update"
	case KindReset:
		return "reset"
	case KindDelete:
		return "delete"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Bounds of an Entry's fields.
const (
	// MaxAddress is the longest address an entry holds, in bytes.
	MaxAddress = 255
	// AccountKeySize is the length of an account key (Ed25519 public key);
	// an entry holds one of this length or none.
	AccountKeySize = 32
)

// Entry is a leaf of the log: the directory entry for an address at a
// version. Its encoding is in the package doc.
type Entry struct {
	// Kind says what changed.
	Kind EntryKind
	// Seq counts the entries of this address: 1 for its first, +1 for each next.
	Seq uint64
	// TimeMillis is when the node made the entry, Unix milliseconds.
	TimeMillis int64
	// Address is "user@domain", lower case (protocol.ValidAddress).
	Address string
	// AccountKey is the account's public key (AccountKeySize bytes), or
	// empty for an account from before devices.
	AccountKey []byte
	// Keys is KeysHash of what the directory publishes for the address;
	// all zero for KindDelete.
	Keys Hash
}

// Validate returns nil if e can be encoded and would parse back: a known
// kind, Seq >= 1, a valid lower-case address, an account key of 0 or 32
// bytes, and a zero keys hash exactly when the kind is delete. Its errors
// wrap ErrEncoding.
func (e Entry) Validate() error {
	if e.Kind < KindRegister || e.Kind > KindDelete {
		return fmt.Errorf("%w: entry kind %d unknown", ErrEncoding, e.Kind)
	}
	if e.Seq == 0 {
		return fmt.Errorf("%w: entry seq 0 (the first is 1)", ErrEncoding)
	}
	if len(e.Address) == 0 || len(e.Address) > MaxAddress {
		return fmt.Errorf("%w: entry address of %d bytes (want 1..%d)", ErrEncoding, len(e.Address), MaxAddress)
	}
	if err := protocol.ValidAddress(e.Address); err != nil {
		return fmt.Errorf("%w: entry address: %v", ErrEncoding, err)
	}
	if n := len(e.AccountKey); n != 0 && n != AccountKeySize {
		return fmt.Errorf("%w: entry account key of %d bytes (want 0 or %d)", ErrEncoding, n, AccountKeySize)
	}
	// A delete publishes nothing, and only a delete may: otherwise a
	// zero hash could stand for keys nobody can check.
	if (e.Kind == KindDelete) != e.Keys.IsZero() {
		if e.Kind == KindDelete {
			return fmt.Errorf("%w: delete entry with a keys hash", ErrEncoding)
		}
		return fmt.Errorf("%w: %s entry with a zero keys hash", ErrEncoding, e.Kind)
	}
	return nil
}

// Marshal encodes e as the package doc lays out. An entry that Validate
// refuses encodes to nil, which ParseEntry refuses: call Validate first
// where the entry comes from elsewhere.
func (e Entry) Marshal() []byte {
	if e.Validate() != nil {
		return nil
	}
	b := make([]byte, 0, 19+len(e.Address)+1+len(e.AccountKey)+len(e.Keys))
	b = append(b, EntryVersion, byte(e.Kind))
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.TimeMillis))
	b = append(b, byte(len(e.Address)))
	b = append(b, e.Address...)
	b = append(b, byte(len(e.AccountKey)))
	b = append(b, e.AccountKey...)
	b = append(b, e.Keys[:]...)
	return b
}

// Leaf returns the leaf hash of e's encoding: LeafHash(e.Marshal()).
func (e Entry) Leaf() Hash { return LeafHash(e.Marshal()) }

// ParseEntry decodes an entry that Marshal made and checks it as Validate
// does. Nothing may follow it. Its errors wrap ErrEncoding.
func ParseEntry(b []byte) (Entry, error) {
	r := reader{b: b, what: "entry"}
	ver := r.u8()
	if r.err == nil && ver != EntryVersion {
		return Entry{}, fmt.Errorf("%w: entry version %d unknown (want %d)", ErrEncoding, ver, EntryVersion)
	}
	var e Entry
	e.Kind = EntryKind(r.u8())
	e.Seq = r.u64()
	e.TimeMillis = int64(r.u64())
	e.Address = string(r.bytes(int(r.u8())))
	if n := r.u8(); n > 0 {
		e.AccountKey = append([]byte(nil), r.bytes(int(n))...)
	}
	copy(e.Keys[:], r.bytes(len(e.Keys)))
	if err := r.end(); err != nil {
		return Entry{}, err
	}
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// reader decodes big-endian fields and remembers the first error, so a
// decoder reads on and checks once; after an error every read is zero.
type reader struct {
	b    []byte
	off  int
	what string
	err  error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.err = fmt.Errorf("%w: %s truncated at byte %d (want %d more, have %d)", ErrEncoding, r.what, r.off, n, len(r.b)-r.off)
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

func (r *reader) u8() uint8 {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// end returns the first error, or one for bytes left over.
func (r *reader) end() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.b) {
		return fmt.Errorf("%w: %d bytes after the %s", ErrEncoding, len(r.b)-r.off, r.what)
	}
	return nil
}
