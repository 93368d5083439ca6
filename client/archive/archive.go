package archive

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealedfile"
)

const (
	// Magic starts the content of every transcript archive.
	Magic = "QPCTA"
	// Version is the format Build writes: 2 marks edited and deleted
	// lines.
	Version = 2
	// MinVersion is the oldest format Verify reads: 1, the format before
	// edits and deletes, whose lines carry neither.
	MinVersion = 1
	// MaxRecordSize bounds a record's body.
	MaxRecordSize = 1 << 20
	// MaxRecords bounds the records of one archive.
	MaxRecords = 1 << 24
	// MaxMembers bounds the members a header lists.
	MaxMembers = 1 << 12
	// MaxContent bounds the content Open reads (1 GiB).
	MaxContent = 1 << 30

	tagRecord = 0x01
	tagEnd    = 0x02

	headerContext    = "qpc/1 transcript header\x00"
	recordContext    = "qpc/1 transcript record\x00"
	signatureContext = "qpc/1 transcript\x00"
	endSize          = 1 + 32 + 32 + ed25519.SignatureSize
)

// Kind is what a conversation is, as chatdb names it.
type Kind byte

// The kinds of conversation.
const (
	KindNote  Kind = 1
	KindDM    Kind = 2
	KindGroup Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindNote:
		return "note"
	case KindDM:
		return "dm"
	case KindGroup:
		return "group"
	}
	return fmt.Sprintf("kind %d", byte(k))
}

// Conversation says which conversation an archive holds.
type Conversation struct {
	// Name is the group's name, a DM's peer, or "notes".
	Name string
	// Kind is the conversation's kind.
	Kind Kind
	// Members are its members' addresses at the export.
	Members []string
}

// Record is one line of a conversation's history.
type Record struct {
	// Seq is the line's place in the history, from 1.
	Seq uint64
	// ID is the sender's message id; zero for a system line.
	ID [16]byte
	// From is the sender's address.
	From string
	// Time is the sender's time, Received when it arrived (milliseconds).
	Time, Received time.Time
	// System marks an event line rather than a message.
	System bool
	// Text is the line's text; empty when Deleted.
	Text string
	// Edited is the sender's time of the last edit of Text (zero: never
	// edited).
	Edited time.Time
	// Deleted marks a line its sender deleted: the record stands where
	// the line stood, without its text.
	Deleted bool
}

// Signer signs an archive for an account: with the account key, or with
// a device's identity key and the device's certificate.
type Signer struct {
	address string
	account ed25519.PublicKey
	key     ed25519.PrivateKey
	cert    []byte
}

// AccountSigner signs with the account key of seed.
func AccountSigner(address string, seed []byte) (Signer, error) {
	k, err := identity.AccountKeyFromSeed(seed)
	if err != nil {
		return Signer{}, err
	}
	return Signer{address: address, account: k.Public(), key: ed25519.NewKeyFromSeed(seed)}, nil
}

// DeviceSigner signs with a device's identity key; cert is the device's
// certificate signed by accountKey for address (from the account's
// device list), which the archive carries.
func DeviceSigner(address string, accountKey ed25519.PublicKey, deviceKey ed25519.PrivateKey, cert []byte) (Signer, error) {
	c, err := identity.VerifyDeviceCert(cert, address, accountKey)
	if err != nil {
		return Signer{}, err
	}
	if !bytes.Equal(c.IdentityKey, deviceKey.Public().(ed25519.PublicKey)) {
		return Signer{}, fmt.Errorf("archive: the certificate is of device %s, not of this key", c.ID())
	}
	return Signer{address: address, account: accountKey, key: deviceKey, cert: cert}, nil
}

func appendLen8(b []byte, s string) ([]byte, error) {
	if len(s) > 255 {
		return nil, fmt.Errorf("archive: %q longer than 255 bytes", s)
	}
	return append(append(b, byte(len(s))), s...), nil
}

func millis(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixMilli())
}

func headerHash(h []byte) [32]byte { return sha256.Sum256(append([]byte(headerContext), h...)) }
func recordHash(b []byte) [32]byte { return sha256.Sum256(append([]byte(recordContext), b...)) }

func signedMessage(header [32]byte, n uint32, last, root [32]byte) []byte {
	m := append([]byte(signatureContext), header[:]...)
	m = binary.BigEndian.AppendUint32(m, n)
	m = append(m, last[:]...)
	return append(m, root[:]...)
}

// Build encodes the archive of conv's records, exported at now, signed
// by s.
func Build(s Signer, conv Conversation, records []Record, now time.Time) ([]byte, error) {
	return buildVersion(Version, s, conv, records, now)
}

// buildVersion encodes an archive in the format version, which the tests use to
// make archives of the older format.
func buildVersion(version byte, s Signer, conv Conversation, records []Record, now time.Time) ([]byte, error) {
	if len(records) > MaxRecords || len(conv.Members) > MaxMembers {
		return nil, fmt.Errorf("archive: %d records, %d members: too many", len(records), len(conv.Members))
	}
	b := append([]byte(Magic), version)
	b, err := appendLen8(b, s.address)
	if err != nil {
		return nil, err
	}
	b = append(b, s.account...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.cert)))
	b = append(b, s.cert...)
	if b, err = appendLen8(b, conv.Name); err != nil {
		return nil, err
	}
	b = append(b, byte(conv.Kind))
	b = binary.BigEndian.AppendUint16(b, uint16(len(conv.Members)))
	for _, m := range conv.Members {
		if b, err = appendLen8(b, m); err != nil {
			return nil, err
		}
	}
	b = binary.BigEndian.AppendUint64(b, millis(now))
	b = binary.BigEndian.AppendUint32(b, uint32(len(records)))
	head := headerHash(b)
	prev := head
	leaves := make([][32]byte, 0, len(records))
	for i, r := range records {
		body, err := r.marshal(version, uint32(i+1), prev)
		if err != nil {
			return nil, err
		}
		b = append(b, tagRecord)
		b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
		b = append(b, body...)
		prev = recordHash(body)
		leaves = append(leaves, prev)
	}
	root := merkleRoot(leaves)
	sig := ed25519.Sign(s.key, signedMessage(head, uint32(len(records)), prev, root))
	b = append(b, tagEnd)
	b = append(b, prev[:]...)
	b = append(b, root[:]...)
	return append(b, sig...), nil
}

// The flags of a record of version 2.
const (
	flagSystem  = 1 << 0
	flagDeleted = 1 << 1
	flagsKnown  = flagSystem | flagDeleted
)

func (r *Record) marshal(version byte, number uint32, prev [32]byte) ([]byte, error) {
	switch {
	case len(r.Text) > MaxRecordSize-256:
		return nil, fmt.Errorf("archive: record %d: text of %d bytes", number, len(r.Text))
	case r.Deleted && r.Text != "":
		return nil, fmt.Errorf("archive: record %d: a deleted line keeps no text", number)
	case version < 2 && (r.Deleted || !r.Edited.IsZero()):
		return nil, fmt.Errorf("archive: record %d: version %d has no edited or deleted lines", number, version)
	}
	b := binary.BigEndian.AppendUint32(nil, number)
	b = append(b, prev[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = append(b, r.ID[:]...)
	b, err := appendLen8(b, r.From)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint64(b, millis(r.Time))
	b = binary.BigEndian.AppendUint64(b, millis(r.Received))
	flags := byte(0)
	if r.System {
		flags |= flagSystem
	}
	if r.Deleted {
		flags |= flagDeleted
	}
	b = append(b, flags)
	if version >= 2 {
		b = binary.BigEndian.AppendUint64(b, millis(r.Edited))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Text)))
	return append(b, r.Text...), nil
}

// merkleRoot is RFC 9162's MTH over leaves.
func merkleRoot(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0][:]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := merkleRoot(leaves[:k]), merkleRoot(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// Write seals the archive content into w under o's secret (o.Purpose is
// set to sealedfile.PurposeArchive).
func Write(w io.Writer, content []byte, o sealedfile.Options) error {
	o.Purpose = sealedfile.PurposeArchive
	sw, err := sealedfile.Create(w, o)
	if err != nil {
		return err
	}
	if _, err := sw.Write(content); err != nil {
		return err
	}
	return sw.Close()
}

// Read opens a sealed archive with its secret and returns its content,
// at most MaxContent bytes. Errors: those of sealedfile.Open and of its
// Reader, ErrMalformed for a content past the bound.
func Read(r io.Reader, secret func(sealedfile.SecretKind) ([]byte, error)) ([]byte, error) {
	sr, err := sealedfile.Open(r, sealedfile.PurposeArchive, secret)
	if err != nil {
		return nil, err
	}
	content, err := io.ReadAll(io.LimitReader(sr, MaxContent+1))
	if err != nil {
		return nil, err
	}
	if len(content) > MaxContent {
		return nil, fmt.Errorf("%w: content over %d bytes", ErrMalformed, MaxContent)
	}
	return content, nil
}

// Verified is an archive that verified.
type Verified struct {
	// Address and AccountKey are the exporting account's.
	Address    string
	AccountKey ed25519.PublicKey
	// Device is the signing device's id and name; zero and empty when
	// the account key signed.
	Device     identity.DeviceID
	DeviceName string
	// Conversation is what conversation it holds; Exported when.
	Conversation Conversation
	Exported     time.Time
	// Records are its records, in order.
	Records []Record
	// Root is the Merkle root over the record hashes.
	Root [32]byte
}

// SignedByAccountKey reports whether the account key itself signed.
func (v *Verified) SignedByAccountKey() bool {
	return v.DeviceName == "" && v.Device == identity.DeviceID{}
}

// reader decodes fields from a byte slice; the first failure sticks.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.err = fmt.Errorf("%w: %d bytes wanted at offset %d, %d left", ErrMalformed, n, r.off, len(r.b)-r.off)
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

func (r *reader) u8() byte {
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

func (r *reader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) str8() string {
	s := r.bytes(int(r.u8()))
	if r.err == nil && !utf8.Valid(s) {
		r.err = fmt.Errorf("%w: text not UTF-8 at offset %d", ErrMalformed, r.off)
	}
	return string(s)
}

func (r *reader) hash() (h [32]byte) {
	copy(h[:], r.bytes(32))
	return h
}

func (r *reader) time() time.Time {
	ms := r.u64()
	if ms == 0 {
		return time.Time{}
	}
	if ms > 1<<62 {
		r.err = fmt.Errorf("%w: time out of range", ErrMalformed)
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}

// rawRecord is a record as it lies in the archive.
type rawRecord struct {
	number uint32
	prev   [32]byte
	hash   [32]byte
	rec    Record
}

func parseRecord(version byte, body []byte) (rawRecord, error) {
	r := &reader{b: body}
	var rr rawRecord
	rr.number = r.u32()
	rr.prev = r.hash()
	rr.rec.Seq = r.u64()
	copy(rr.rec.ID[:], r.bytes(16))
	rr.rec.From = r.str8()
	rr.rec.Time = r.time()
	rr.rec.Received = r.time()
	flags := r.u8()
	known := byte(flagsKnown)
	if version < 2 {
		known = flagSystem
	}
	if flags&^known != 0 && r.err == nil {
		r.err = fmt.Errorf("%w: unknown flags %#x", ErrMalformed, flags)
	}
	rr.rec.System, rr.rec.Deleted = flags&flagSystem != 0, flags&flagDeleted != 0
	if version >= 2 {
		rr.rec.Edited = r.time()
	}
	text := r.bytes(int(r.u32()))
	switch {
	case r.err != nil:
	case !utf8.Valid(text):
		r.err = fmt.Errorf("%w: text not UTF-8", ErrMalformed)
	case rr.rec.Deleted && len(text) > 0:
		r.err = fmt.Errorf("%w: a deleted line with text", ErrMalformed)
	}
	rr.rec.Text = string(text)
	if r.err == nil && r.off != len(body) {
		r.err = fmt.Errorf("%w: %d bytes after the text", ErrMalformed, len(body)-r.off)
	}
	rr.hash = recordHash(body)
	return rr, r.err
}

// Verify decodes an archive's content and checks its signature, chain,
// root and completeness. Errors: ErrNotArchive, ErrVersionTooOld,
// ErrVersionUnknown, ErrMalformed, ErrBadDeviceCert, ErrBadSignature,
// and a *RecordError naming the first record that fails.
func Verify(content []byte) (*Verified, error) {
	r := &reader{b: content}
	head := r.bytes(len(Magic) + 1)
	if r.err != nil || string(head[:len(Magic)]) != Magic {
		return nil, ErrNotArchive
	}
	version := head[len(Magic)]
	switch v := version; {
	case v < MinVersion:
		return nil, fmt.Errorf("%w: version %d", ErrVersionTooOld, v)
	case v > Version:
		return nil, fmt.Errorf("%w: version %d, this qpc reads %d", ErrVersionUnknown, v, Version)
	}
	v := &Verified{}
	v.Address = r.str8()
	v.AccountKey = bytes.Clone(r.bytes(ed25519.PublicKeySize))
	cert := r.bytes(int(r.u16()))
	v.Conversation.Name = r.str8()
	v.Conversation.Kind = Kind(r.u8())
	members := int(r.u16())
	if members > MaxMembers && r.err == nil {
		r.err = fmt.Errorf("%w: %d members", ErrMalformed, members)
	}
	for i := 0; i < members && r.err == nil; i++ {
		v.Conversation.Members = append(v.Conversation.Members, r.str8())
	}
	v.Exported = r.time()
	count := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	if count > MaxRecords {
		return nil, fmt.Errorf("%w: %d records", ErrMalformed, count)
	}
	headHash := headerHash(content[:r.off])

	// The records and the end as they lie; checked after the signature.
	var raws []rawRecord
	for r.err == nil {
		tag := r.u8()
		if r.err != nil {
			return nil, fmt.Errorf("%w: no end", ErrMalformed)
		}
		if tag == tagEnd {
			break
		}
		if tag != tagRecord {
			return nil, fmt.Errorf("%w: unknown tag %#x after record %d", ErrMalformed, tag, len(raws))
		}
		n := r.u32()
		if n > MaxRecordSize {
			return nil, &RecordError{Number: uint32(len(raws) + 1), Err: fmt.Errorf("%w: body of %d bytes", ErrMalformed, n)}
		}
		body := r.bytes(int(n))
		if r.err != nil {
			return nil, &RecordError{Number: uint32(len(raws) + 1), Err: r.err}
		}
		rr, err := parseRecord(version, body)
		if err != nil {
			return nil, &RecordError{Number: uint32(len(raws) + 1), Err: err}
		}
		if len(raws) >= MaxRecords {
			return nil, fmt.Errorf("%w: more than %d records", ErrMalformed, MaxRecords)
		}
		raws = append(raws, rr)
	}
	last, root := r.hash(), r.hash()
	sig := r.bytes(ed25519.SignatureSize)
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(content) {
		return nil, fmt.Errorf("%w: %d bytes after the end", ErrMalformed, len(content)-r.off)
	}

	// The signature first: then the header's count and the end's hashes
	// are the exporter's, and the records are judged against them.
	signer := v.AccountKey
	if len(cert) > 0 {
		c, err := identity.VerifyDeviceCert(cert, v.Address, v.AccountKey)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadDeviceCert, err)
		}
		signer, v.Device, v.DeviceName = c.IdentityKey, c.ID(), c.Name
	}
	if len(signer) != ed25519.PublicKeySize || !ed25519.Verify(signer, signedMessage(headHash, count, last, root), sig) {
		return nil, ErrBadSignature
	}
	if err := walk(raws, count, headHash, last); err != nil {
		return nil, err
	}
	leaves := make([][32]byte, len(raws))
	for i, rr := range raws {
		leaves[i] = rr.hash
		v.Records = append(v.Records, rr.rec)
	}
	if merkleRoot(leaves) != root {
		// The chain held, so this takes a hash collision; say so anyway.
		return nil, fmt.Errorf("%w: the Merkle root does not match the records", ErrBadSignature)
	}
	v.Root = root
	return v, nil
}

// walk checks the records against the signed count, header hash and last
// hash, and names the first that fails.
func walk(raws []rawRecord, count uint32, head, last [32]byte) error {
	where := map[uint32]int{}
	for i, rr := range raws {
		if _, dup := where[rr.number]; !dup {
			where[rr.number] = i
		}
	}
	prev := head
	for i, rr := range raws {
		p := uint32(i + 1)
		if p > count {
			return &RecordError{Number: p, Err: ErrRecordAppended}
		}
		if rr.number != p {
			if j, ok := where[p]; ok && j > i {
				return &RecordError{Number: p, Err: ErrRecordOutOfOrder}
			}
			return &RecordError{Number: p, Err: ErrRecordMissing}
		}
		if rr.prev != prev {
			// This record chains to another hash than its predecessor's:
			// the predecessor changed (for record 1, the header, which the
			// signature already checked, so record 1 itself).
			if p == 1 {
				return &RecordError{Number: 1, Err: ErrRecordAltered}
			}
			return &RecordError{Number: p - 1, Err: ErrRecordAltered}
		}
		prev = rr.hash
	}
	if uint32(len(raws)) < count {
		return &RecordError{Number: uint32(len(raws) + 1), Err: ErrRecordMissing}
	}
	if prev != last {
		return &RecordError{Number: count, Err: ErrRecordAltered}
	}
	return nil
}
