package store

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

var (
	sampleAccount = node.Account{User: "alice", Record: []byte("opaque registration record"), Created: t0}
	sampleKeys    = protocol.PublishedKeys{
		IdentityKey: bytes.Repeat([]byte{1}, 32),
		HPKEKey:     bytes.Repeat([]byte{2}, 1216),
		Signature:   bytes.Repeat([]byte{3}, 64),
		Published:   t0.Add(time.Nanosecond),
	}
	sampleMessage = protocol.NewMessage{Recipient: "bob", Payload: []byte("sealed"), Enqueued: t0, Expires: t0.Add(30 * 24 * time.Hour)}
	sampleMeta    = queueMeta{lastSeq: 7, count: 3, bytes: 300}
	// sampleDeviceKeys are keys of an account with a device list (the
	// store does not read the list, so any bytes do).
	sampleDeviceKeys = protocol.PublishedKeys{IdentityKey: sampleKeys.IdentityKey, HPKEKey: sampleKeys.HPKEKey,
		Signature: sampleKeys.Signature, Published: t0, AccountKey: bytes.Repeat([]byte{9}, 32), DeviceList: []byte("signed list")}
	sampleDevices = devicesRecord{legacy: "0001020304050607",
		Devices: node.Devices{Primary: "0001020304050607", Current: []string{"0001020304050607", "a0a1a2a3a4a5a6a7"}}}
	sampleKTEvidence = protocol.KTEvidence{First: []byte("head 1"), Second: []byte("head 2"), Reason: "fork",
		Domain: "n1.mesh", Found: t0, ReportedBy: "n2.mesh"}
	sampleSession = node.Session{User: "alice", Expires: t0.Add(time.Hour)}
)

// decoders lists every record decoder with a valid record, for the tests
// that treat them alike. Records whose last field takes the rest stay
// valid when cut at restFrom bytes or later; for the others restFrom is the
// record's length.
var decoders = []struct {
	name     string
	valid    []byte
	restFrom int
	decode   func([]byte) error
}{
	{"account", encodeAccount(sampleAccount), 1 + timeLen,
		func(b []byte) error { _, err := decodeAccount("alice", b); return err }},
	{"keys", encodeKeys(sampleKeys), len(encodeKeys(sampleKeys)),
		func(b []byte) error { _, err := decodeKeys(b); return err }},
	{"keys with devices", encodeKeys(sampleDeviceKeys), len(encodeKeys(sampleDeviceKeys)),
		func(b []byte) error { _, err := decodeKeys(b); return err }},
	{"kt address", encodeKTAddr(ktAddr{index: 7, seq: 3, day: 20000, count: 2}), 22,
		func(b []byte) error { _, err := decodeKTAddr(b); return err }},
	{"kt evidence", encodeKTEvidence(sampleKTEvidence), len(encodeKTEvidence(sampleKTEvidence)),
		func(b []byte) error { _, err := decodeKTEvidence(b); return err }},
	{"devices", mustEncodeDevices(sampleDevices), len(mustEncodeDevices(sampleDevices)),
		func(b []byte) error { _, err := decodeDevices(b); return err }},
	{"message", encodeMessage(sampleMessage), messageHeader,
		func(b []byte) error { _, err := decodeMessage(1, b); return err }},
	{"queue", encodeQueueMeta(sampleMeta), len(encodeQueueMeta(sampleMeta)),
		func(b []byte) error { _, err := decodeQueueMeta(b); return err }},
	{"session", encodeSession(sampleSession), 1 + timeLen + 1,
		func(b []byte) error { _, err := decodeSession(b); return err }},
	{"held", encodeHeld(sampleHeld), len(encodeHeld(sampleHeld)) - len(sampleHeld.Data),
		func(b []byte) error { _, err := decodeHeld("n2.example", 1, b); return err }},
	{"seen", encodeSeen(protocol.SeenForwarded, t0, ""), seenLen,
		func(b []byte) error { _, _, _, err := decodeSeen(b); return err }},
	{"status", encodeStatus(sampleStatus), len(encodeStatus(sampleStatus)) - len(sampleStatus.Recipient),
		func(b []byte) error { _, err := decodeStatus(sampleHeld.ID, b); return err }},
	{"origin", encodeMeshTally(meshTally{3, 300}), 17,
		func(b []byte) error { _, err := decodeMeshTally(b); return err }},
	{"neighbour", encodeNeighbourTally(neighbourTally{meshTally{2, 200}, 3}), 25,
		func(b []byte) error { _, err := decodeNeighbourTally(b); return err }},
	{"channel neighbour", encodeChanNeighbour(9), 9,
		func(b []byte) error { _, err := decodeChanNeighbour(b); return err }},
	{"mesh totals", encodeMeshTotals(meshTotals{meshTally{3, 300}, 7}), 25,
		func(b []byte) error { _, err := decodeMeshTotals(b); return err }},
	{"post", encodePost(samplePost), postHeader,
		func(b []byte) error { _, err := decodePost(samplePost.Channel, 1, b); return err }},
	{"channel", encodeChanMeta(sampleChanMeta), 33,
		func(b []byte) error { _, err := decodeChanMeta(b); return err }},
	{"channel totals", encodeChanTotals(sampleChanTotals), 41,
		func(b []byte) error { _, err := decodeChanTotals(b); return err }},
	{"channel seen", encodeChanSeen(t0, ""), chanSeenLen,
		func(b []byte) error { _, _, err := decodeChanSeen(b); return err }},
	{"group", encodeMLSGroup(sampleMLSGroup), 25,
		func(b []byte) error { _, err := decodeMLSGroup(b); return err }},
	{"group totals", encodeMLSTotals(sampleMLSTotals), 17,
		func(b []byte) error { _, err := decodeMLSTotals(b); return err }},
}

func TestTimeEncodingKeepsTheInstantAndOrder(t *testing.T) {
	times := []time.Time{
		{}, // the zero time, year 1
		time.Unix(-1, 999_999_999),
		time.Unix(0, 0),
		time.Unix(0, 1),
		t0,
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
	}
	var prev []byte
	for _, tm := range times {
		b := make([]byte, timeLen)
		putTime(b, tm)
		got, err := getTime(b)
		if err != nil || !got.Equal(tm) {
			t.Errorf("time %v decoded as %v, %v", tm, got, err)
		}
		if prev != nil && bytes.Compare(prev, b) >= 0 {
			t.Errorf("encoding of %v does not sort after the previous time", tm)
		}
		prev = b
	}
	if got, _ := getTime(make([]byte, timeLen)); got.After(time.Unix(0, 0)) {
		t.Errorf("all-zero bytes decode to %v, want before 1970", got)
	}
}

func mustEncodeDevices(d devicesRecord) []byte {
	b, err := encodeDevices(d)
	if err != nil {
		panic(err)
	}
	return b
}

func TestRecordsRoundTrip(t *testing.T) {
	a, err := decodeAccount("alice", encodeAccount(sampleAccount))
	if err != nil || a.User != "alice" || !bytes.Equal(a.Record, sampleAccount.Record) || !a.Created.Equal(t0) {
		t.Errorf("account: %+v, %v", a, err)
	}
	k, err := decodeKeys(encodeKeys(sampleKeys))
	if err != nil || !bytes.Equal(k.IdentityKey, sampleKeys.IdentityKey) || !bytes.Equal(k.HPKEKey, sampleKeys.HPKEKey) ||
		!bytes.Equal(k.Signature, sampleKeys.Signature) || !k.Published.Equal(sampleKeys.Published) {
		t.Errorf("keys: %v", err)
	}
	dk, err := decodeKeys(encodeKeys(sampleDeviceKeys))
	if err != nil || !bytes.Equal(dk.AccountKey, sampleDeviceKeys.AccountKey) || !bytes.Equal(dk.DeviceList, sampleDeviceKeys.DeviceList) ||
		!bytes.Equal(dk.IdentityKey, sampleDeviceKeys.IdentityKey) {
		t.Errorf("keys with devices: %+v, %v", dk, err)
	}
	if raw := encodeKeys(sampleKeys); raw[0] != 1 {
		t.Errorf("keys without a device list are written as version %d, want 1 (what older nodes read)", raw[0])
	}
	dev, err := decodeDevices(mustEncodeDevices(sampleDevices))
	if err != nil || dev.legacy != sampleDevices.legacy || dev.Primary != sampleDevices.Primary || !slices.Equal(dev.Current, sampleDevices.Current) {
		t.Errorf("devices: %+v, %v", dev, err)
	}
	empty, err := decodeKeys(encodeKeys(protocol.PublishedKeys{}))
	if err != nil || len(empty.IdentityKey)+len(empty.HPKEKey)+len(empty.Signature) != 0 {
		t.Errorf("empty keys: %+v, %v", empty, err)
	}
	m, err := decodeMessage(9, encodeMessage(sampleMessage))
	if err != nil || m.Seq != 9 || !bytes.Equal(m.Payload, sampleMessage.Payload) || !m.Enqueued.Equal(t0) || !m.Expires.Equal(sampleMessage.Expires) {
		t.Errorf("message: %+v, %v", m, err)
	}
	meta, err := decodeQueueMeta(encodeQueueMeta(sampleMeta))
	if err != nil || meta != sampleMeta {
		t.Errorf("mailbox: %+v, %v", meta, err)
	}
	s, err := decodeSession(encodeSession(sampleSession))
	if err != nil || s.User != "alice" || !s.Expires.Equal(sampleSession.Expires) {
		t.Errorf("session: %+v, %v", s, err)
	}
	exp, seq, user, err := parseSeqExpiryKey(seqExpiryKey(t0, 42, "bob"))
	if err != nil || !exp.Equal(t0) || seq != 42 || user != "bob" {
		t.Errorf("message expiry key: %v %d %q %v", exp, seq, user, err)
	}
	h := node.TokenHash{1, 2, 3}
	exp, h2, err := parseIDExpiryKey(idExpiryKey(t0, h))
	if err != nil || !exp.Equal(t0) || h2 != h {
		t.Errorf("session expiry key: %v %x %v", exp, h2, err)
	}
	v, err := decodeSchema(encodeSchema(schemaVersion))
	if err != nil || v != schemaVersion {
		t.Errorf("schema: %d, %v", v, err)
	}
}

func TestDecodedRecordsDoNotAliasTheStoredBytes(t *testing.T) {
	rec := encodeMessage(sampleMessage)
	m, err := decodeMessage(1, rec)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rec {
		rec[i] = 0xff
	}
	if string(m.Payload) != "sealed" {
		t.Errorf("payload changed with the record: %q", m.Payload)
	}
}

func TestEveryTruncationOfARecordIsRejected(t *testing.T) {
	for _, d := range decoders {
		for n := range min(d.restFrom, len(d.valid)) {
			if err := d.decode(d.valid[:n]); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s cut to %d of %d bytes: %v, want ErrCorrupt", d.name, n, len(d.valid), err)
			}
		}
	}
}

func TestRecordsWithTrailingBytesAreRejected(t *testing.T) {
	for _, d := range decoders {
		if d.restFrom < len(d.valid) || d.name == "channel seen" || d.name == "seen" {
			continue // they end in a field that takes the rest
		}
		if err := d.decode(append(append([]byte{}, d.valid...), 0)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s with a trailing byte: %v, want ErrCorrupt", d.name, err)
		}
	}
}

// ownVersions are the newest versions of the records versioned apart
// from recordVersion.
var ownVersions = map[string]byte{"keys": keysVersion, "keys with devices": keysVersion, "held": heldVersion, "channel seen": chanSeenVersion, "seen": seenVersion}

func TestRecordVersionsTooOldAndUnknownAreDistinct(t *testing.T) {
	for _, d := range decoders {
		old := append([]byte{}, d.valid...)
		old[0] = minRecordVersion - 1
		if err := d.decode(old); !errors.Is(err, ErrRecordTooOld) {
			t.Errorf("%s with version %d: %v, want ErrRecordTooOld", d.name, old[0], err)
		}
		newer := append([]byte{}, d.valid...)
		newer[0] = recordVersion + 1
		if v, ok := ownVersions[d.name]; ok {
			newer[0] = v + 1
		}
		if err := d.decode(newer); !errors.Is(err, ErrRecordUnknown) {
			t.Errorf("%s with version %d: %v, want ErrRecordUnknown", d.name, newer[0], err)
		}
	}
}

func TestOutOfRangeFieldsAreRejected(t *testing.T) {
	bad := encodeAccount(sampleAccount)
	copy(bad[1+8:], []byte{0xff, 0xff, 0xff, 0xff}) // nanoseconds ≥ 10⁹
	if _, err := decodeAccount("alice", bad); !errors.Is(err, ErrCorrupt) {
		t.Errorf("account with bad nanoseconds: %v", err)
	}
	if _, err := decodeQueueMeta(encodeQueueMeta(queueMeta{lastSeq: 1, count: 2})); !errors.Is(err, ErrCorrupt) {
		t.Errorf("mailbox holding more messages than were ever stored: %v", err)
	}
	if _, err := decodeQueueMeta(encodeQueueMeta(queueMeta{lastSeq: 1, count: 1, bytes: 1 << 63})); !errors.Is(err, ErrCorrupt) {
		t.Errorf("mailbox with 2^63 bytes: %v", err)
	}
	keys := encodeKeys(sampleKeys)
	keys[1+timeLen] = 0xff // identity key length far beyond the record
	if _, err := decodeKeys(keys); !errors.Is(err, ErrCorrupt) {
		t.Errorf("keys with an overlong field: %v", err)
	}
	if _, _, _, err := parseSeqExpiryKey(make([]byte, timeLen+seqLen)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("message expiry key without user: %v", err)
	}
	if _, _, err := parseIDExpiryKey(make([]byte, timeLen+hashLen-1)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short session expiry key: %v", err)
	}
	if _, err := decodeSchema([]byte{1}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("1-byte schema: %v", err)
	}
	if _, err := parseSeqKey([]byte{1}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("1-byte message key: %v", err)
	}
}

// Fuzz targets: no input panics, and whatever decodes re-encodes to the
// same bytes (the encodings are canonical).

func FuzzDecodeAccount(f *testing.F) {
	f.Add(encodeAccount(sampleAccount))
	f.Add(encodeAccount(node.Account{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeAccount("u", b)
		if err == nil && !bytes.Equal(encodeAccount(a), b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeDevices(f *testing.F) {
	f.Add(mustEncodeDevices(sampleDevices))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDevices(b)
		if err != nil {
			return
		}
		again, err := encodeDevices(d)
		if err != nil || !bytes.Equal(again, b) {
			t.Errorf("re-encoding differs: %x, %v", again, err)
		}
	})
}

func FuzzDecodeKeys(f *testing.F) {
	f.Add(encodeKeys(sampleKeys))
	f.Add(encodeKeys(sampleDeviceKeys))
	f.Add(encodeKeys(protocol.PublishedKeys{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := decodeKeys(b)
		if err == nil && !bytes.Equal(encodeKeys(k), b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeMessage(sampleMessage))
	f.Add(encodeMessage(protocol.NewMessage{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(1, b)
		if err != nil {
			return
		}
		again := encodeMessage(protocol.NewMessage{Payload: m.Payload, Enqueued: m.Enqueued, Expires: m.Expires})
		if !bytes.Equal(again, b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeQueueMeta(f *testing.F) {
	f.Add(encodeQueueMeta(sampleMeta))
	f.Add(encodeQueueMeta(queueMeta{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeQueueMeta(b)
		if err == nil && !bytes.Equal(encodeQueueMeta(m), b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeSession(f *testing.F) {
	f.Add(encodeSession(sampleSession))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSession(b)
		if err == nil && !bytes.Equal(encodeSession(s), b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzIndexKeys(f *testing.F) {
	f.Add(seqExpiryKey(t0, 3, "bob"))
	f.Add(idExpiryKey(t0, node.TokenHash{9}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if exp, seq, user, err := parseSeqExpiryKey(b); err == nil && !bytes.Equal(seqExpiryKey(exp, seq, user), b) {
			t.Errorf("message expiry key re-encoding differs")
		}
		if exp, h, err := parseIDExpiryKey(b); err == nil && !bytes.Equal(idExpiryKey(exp, h), b) {
			t.Errorf("session expiry key re-encoding differs")
		}
	})
}
