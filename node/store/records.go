package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// Versions of the stored formats; the layouts are in the package doc.
const (
	// schemaVersion is the layout of buckets and keys this version writes
	// and reads.
	schemaVersion = 1
	// minSchemaVersion is the oldest layout this version still reads.
	minSchemaVersion = 1
	// recordVersion is the first byte of every record this version
	// writes.
	recordVersion = 1
	// minRecordVersion is the oldest record version this version reads.
	minRecordVersion = 1
)

const (
	timeLen       = 12 // sortable seconds (8) + nanoseconds (4)
	seqLen        = 8
	messageHeader = 1 + 2*timeLen
	hashLen       = len(node.TokenHash{})
)

// putTime writes t as 8 bytes of Unix seconds with the sign bit flipped, so
// that bytewise order is time order, and 4 bytes of nanoseconds, both big
// endian. Every time.Time after year 292277026596 B.C. fits.
func putTime(b []byte, t time.Time) {
	binary.BigEndian.PutUint64(b, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
}

// getTime decodes what putTime wrote; b has at least timeLen bytes.
func getTime(b []byte) (time.Time, error) {
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	nsec := binary.BigEndian.Uint32(b[8:])
	if nsec >= 1e9 {
		return time.Time{}, fmt.Errorf("%w: nanoseconds %d out of range", ErrCorrupt, nsec)
	}
	return time.Unix(sec, int64(nsec)), nil
}

// seqKey is the key of message seq in a mailbox bucket.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, seqLen), seq)
}

func parseSeqKey(k []byte) (uint64, error) {
	if len(k) != seqLen {
		return 0, fmt.Errorf("%w: message key of %d bytes", ErrCorrupt, len(k))
	}
	return binary.BigEndian.Uint64(k), nil
}

// recordBody checks the version byte of a record of the given kind and
// returns what follows it.
func recordBody(kind string, b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty %s record", ErrCorrupt, kind)
	}
	switch v := b[0]; {
	case v < minRecordVersion:
		return nil, fmt.Errorf("%w: %s record version %d, oldest read is %d", ErrRecordTooOld, kind, v, minRecordVersion)
	case v > recordVersion:
		return nil, fmt.Errorf("%w: %s record version %d, newest known is %d", ErrRecordUnknown, kind, v, recordVersion)
	}
	return b[1:], nil
}

func truncated(kind string, need, have int) error {
	return fmt.Errorf("%w: %s record truncated: need %d bytes, have %d", ErrCorrupt, kind, need, have)
}

// encodeAccount: version | created | OPAQUE record (rest).
func encodeAccount(a node.Account) []byte {
	b := make([]byte, 1+timeLen, 1+timeLen+len(a.Record))
	b[0] = recordVersion
	putTime(b[1:], a.Created)
	return append(b, a.Record...)
}

// decodeAccount decodes an account record of user; the result does not
// alias b.
func decodeAccount(user string, b []byte) (node.Account, error) {
	body, err := recordBody("account", b)
	if err != nil {
		return node.Account{}, err
	}
	if len(body) < timeLen {
		return node.Account{}, truncated("account", timeLen, len(body))
	}
	created, err := getTime(body)
	if err != nil {
		return node.Account{}, err
	}
	return node.Account{
		User:    user,
		Record:  append([]byte{}, body[timeLen:]...),
		Created: created,
	}, nil
}

// keysVersion is the version of keys records of an account with a device
// list: version 1 has no account key and list, and is still what an
// account without them is written as, so that an older node reads it.
const keysVersion = 2

// encodeKeys: version | published | three fields (see appendField):
// identity key, HPKE key, signature; version 2 then the account key and
// the device list.
func encodeKeys(k protocol.PublishedKeys) []byte {
	fields := [][]byte{k.IdentityKey, k.HPKEKey, k.Signature}
	version := byte(recordVersion)
	if len(k.AccountKey) > 0 || len(k.DeviceList) > 0 {
		fields = append(fields, k.AccountKey, k.DeviceList)
		version = keysVersion
	}
	size := 1 + timeLen
	for _, f := range fields {
		size += 4 + len(f)
	}
	b := make([]byte, 1+timeLen, size)
	b[0] = version
	putTime(b[1:], k.Published)
	for _, f := range fields {
		b = appendField(b, f)
	}
	return b
}

// decodeKeys decodes a published-keys record; the result does not alias b.
func decodeKeys(b []byte) (protocol.PublishedKeys, error) {
	if len(b) == 0 {
		return protocol.PublishedKeys{}, fmt.Errorf("%w: empty keys record", ErrCorrupt)
	}
	switch v := b[0]; {
	case v < minRecordVersion:
		return protocol.PublishedKeys{}, fmt.Errorf("%w: keys record version %d, oldest read is %d", ErrRecordTooOld, v, minRecordVersion)
	case v > keysVersion:
		return protocol.PublishedKeys{}, fmt.Errorf("%w: keys record version %d, newest known is %d", ErrRecordUnknown, v, keysVersion)
	}
	body := b[1:]
	if len(body) < timeLen {
		return protocol.PublishedKeys{}, truncated("keys", timeLen, len(body))
	}
	var k protocol.PublishedKeys
	var err error
	if k.Published, err = getTime(body); err != nil {
		return protocol.PublishedKeys{}, err
	}
	rest := body[timeLen:]
	fields := []*[]byte{&k.IdentityKey, &k.HPKEKey, &k.Signature}
	if b[0] == keysVersion {
		fields = append(fields, &k.AccountKey, &k.DeviceList)
	}
	for _, f := range fields {
		var field []byte
		if field, rest, err = takeField("keys", rest); err != nil {
			return protocol.PublishedKeys{}, err
		}
		*f = append([]byte{}, field...)
	}
	if len(rest) != 0 {
		return protocol.PublishedKeys{}, fmt.Errorf("%w: %d bytes after keys record", ErrCorrupt, len(rest))
	}
	if b[0] == keysVersion && len(k.AccountKey) == 0 && len(k.DeviceList) == 0 {
		// encodeKeys writes version 1 for such keys.
		return protocol.PublishedKeys{}, fmt.Errorf("%w: keys record version 2 without account key and list", ErrCorrupt)
	}
	return k, nil
}

// appendField appends f to b as a variable-length field of a record: a
// 4-byte big-endian length and that many bytes.
func appendField(b, f []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
	return append(b, f...)
}

// takeField splits the field that appendField wrote off the front of b;
// field aliases b.
func takeField(kind string, b []byte) (field, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, truncated(kind, 4, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(n) > uint64(len(b)) {
		return nil, nil, truncated(kind, int(min(uint64(n), math.MaxInt32)), len(b))
	}
	return b[:n], b[n:], nil
}

// encodeMessage: version | enqueued | expires | payload (rest). The buffer
// is new, so the payload is copied.
func encodeMessage(m protocol.NewMessage) []byte {
	b := make([]byte, messageHeader, messageHeader+len(m.Payload))
	b[0] = recordVersion
	putTime(b[1:], m.Enqueued)
	putTime(b[1+timeLen:], m.Expires)
	return append(b, m.Payload...)
}

// decodeMessageHeader returns the expiry and the payload of a message
// record; the payload aliases b.
func decodeMessageHeader(b []byte) (expires time.Time, payload []byte, err error) {
	body, err := recordBody("message", b)
	if err != nil {
		return time.Time{}, nil, err
	}
	if len(body) < 2*timeLen {
		return time.Time{}, nil, truncated("message", 2*timeLen, len(body))
	}
	if expires, err = getTime(body[timeLen:]); err != nil {
		return time.Time{}, nil, err
	}
	return expires, body[2*timeLen:], nil
}

// decodeMessage decodes message seq; the result does not alias b.
func decodeMessage(seq uint64, b []byte) (protocol.Message, error) {
	expires, payload, err := decodeMessageHeader(b)
	if err != nil {
		return protocol.Message{}, err
	}
	enqueued, err := getTime(b[1:])
	if err != nil {
		return protocol.Message{}, err
	}
	return protocol.Message{
		Seq:      seq,
		Payload:  append([]byte{}, payload...),
		Enqueued: enqueued,
		Expires:  expires,
	}, nil
}

// queueMeta is the bookkeeping of one queue numbered by seq: a mailbox, or
// a destination's store-and-forward queue. It changes in the same
// transaction as the queue's entries, and stays when the queue empties, so
// that seqs are never reused.
type queueMeta struct {
	lastSeq uint64 // seq of the last entry ever stored; the next is lastSeq+1
	count   uint64 // entries held
	bytes   uint64 // payload bytes held
}

// encodeQueueMeta: version | last seq | count | bytes (see
// encodeCounters).
func encodeQueueMeta(m queueMeta) []byte {
	return encodeCounters(m.lastSeq, m.count, m.bytes)
}

func decodeQueueMeta(b []byte) (queueMeta, error) {
	v, err := decodeCounters("queue", b, 3)
	if err != nil {
		return queueMeta{}, err
	}
	m := queueMeta{lastSeq: v[0], count: v[1], bytes: v[2]}
	if m.count > m.lastSeq || m.bytes > math.MaxInt64 {
		return queueMeta{}, fmt.Errorf("%w: queue record holds %d entries of %d bytes after %d", ErrCorrupt, m.count, m.bytes, m.lastSeq)
	}
	return m, nil
}

// encodeCounters makes a record of counters: version | each counter as 8
// bytes big endian.
func encodeCounters(counters ...uint64) []byte {
	b := make([]byte, 1, 1+8*len(counters))
	b[0] = recordVersion
	for _, c := range counters {
		b = binary.BigEndian.AppendUint64(b, c)
	}
	return b
}

// decodeCounters decodes a record of exactly n counters of the given kind.
func decodeCounters(kind string, b []byte, n int) ([]uint64, error) {
	body, err := recordBody(kind, b)
	if err != nil {
		return nil, err
	}
	if len(body) != 8*n {
		return nil, fmt.Errorf("%w: %s record of %d bytes, want %d", ErrCorrupt, kind, len(b), 1+8*n)
	}
	v := make([]uint64, n)
	for i := range v {
		v[i] = binary.BigEndian.Uint64(body[8*i:])
	}
	return v, nil
}

// encodeSession: version | expires | user (rest, not empty).
func encodeSession(s node.Session) []byte {
	b := make([]byte, 1+timeLen, 1+timeLen+len(s.User))
	b[0] = recordVersion
	putTime(b[1:], s.Expires)
	return append(b, s.User...)
}

func decodeSession(b []byte) (node.Session, error) {
	body, err := recordBody("session", b)
	if err != nil {
		return node.Session{}, err
	}
	if len(body) <= timeLen {
		return node.Session{}, truncated("session", timeLen+1, len(body))
	}
	expires, err := getTime(body)
	if err != nil {
		return node.Session{}, err
	}
	return node.Session{User: string(body[timeLen:]), Expires: expires}, nil
}

// seqExpiryKey: expires | seq | name, the key of an entry of an expiry
// index of queues (msgexpiry, where name is a user, and meshexpiry, where
// it is a domain); the value is empty.
func seqExpiryKey(expires time.Time, seq uint64, name string) []byte {
	k := make([]byte, timeLen+seqLen, timeLen+seqLen+len(name))
	putTime(k, expires)
	binary.BigEndian.PutUint64(k[timeLen:], seq)
	return append(k, name...)
}

func parseSeqExpiryKey(k []byte) (expires time.Time, seq uint64, name string, err error) {
	if len(k) <= timeLen+seqLen {
		return time.Time{}, 0, "", fmt.Errorf("%w: expiry key of %d bytes", ErrCorrupt, len(k))
	}
	if expires, err = getTime(k); err != nil {
		return time.Time{}, 0, "", err
	}
	return expires, binary.BigEndian.Uint64(k[timeLen:]), string(k[timeLen+seqLen:]), nil
}

// idExpiryKey: expires | id, the key of an entry of an expiry index of
// records named by a 32-byte id (a session's token hash, an envelope id);
// the value is empty.
func idExpiryKey(expires time.Time, id [32]byte) []byte {
	k := make([]byte, timeLen, timeLen+len(id))
	putTime(k, expires)
	return append(k, id[:]...)
}

func parseIDExpiryKey(k []byte) (expires time.Time, id [32]byte, err error) {
	if len(k) != timeLen+len(id) {
		return time.Time{}, id, fmt.Errorf("%w: expiry key of %d bytes", ErrCorrupt, len(k))
	}
	if expires, err = getTime(k); err != nil {
		return time.Time{}, id, err
	}
	copy(id[:], k[timeLen:])
	return expires, id, nil
}

// encodeSchema: the schema version, 4 bytes big endian.
func encodeSchema(v uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, v)
}

func decodeSchema(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("%w: schema version of %d bytes", ErrCorrupt, len(b))
	}
	return binary.BigEndian.Uint32(b), nil
}
