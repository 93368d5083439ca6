package chatdb

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestRecordsDecodeToWhatWasEncoded(t *testing.T) {
	roundTrip(t, encodeConversation, decodeConversation, sampleConversation(), Conversation{})
	roundTrip(t, encodeMessage, decodeMessage, sampleMessage(), Message{System: true, Status: StatusSent})
	// A contact with key change fields is checked by
	// TestContactKeyChangeFieldsAreOptionalAndCanonical: cut at their
	// start, it is a record of before they existed.
	roundTrip(t, encodeContact, decodeContact, withoutKeyChange(sampleContact()), Contact{})
	roundTrip(t, encodeOutgoing, decodeOutgoing, sampleOutgoing(), Outgoing{Attempts: -1})
	roundTrip(t, encodeKeyPackage, decodeKeyPackage, keyPackage{ref: []byte("r"), bundle: []byte("b")}, keyPackage{})
	roundTrip(t, encodeTime, decodeTime, at(-5), time.Time{}, time.Unix(math.MaxInt64/2, 999_999_999).UTC())
	roundTrip(t, encodeVersion, decodeVersion, 1, 0, math.MaxUint64)
}

// roundTrip checks that each value decodes from its encoding to itself,
// and that every truncation of the encoding fails to decode. The keys
// (ID, Seq) are not encoded, so the values have zero keys.
func roundTrip[T any](t *testing.T, encode func(*T) []byte, decode func([]byte) (T, error), values ...T) {
	t.Helper()
	for _, v := range values {
		clearKey(&v)
		b := encode(&v)
		got, err := decode(b)
		if err != nil {
			t.Errorf("%T %+v: %v", v, v, err)
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("got %+v\nwant %+v", got, v)
		}
		for n := range len(b) {
			if _, err := decode(b[:n]); err == nil {
				t.Errorf("%T truncated to %d of %d bytes decoded", v, n, len(b))
			}
		}
		if _, err := decode(append(b, 0)); err == nil {
			t.Errorf("%T with a trailing byte decoded", v)
		}
	}
}

func clearKey(v any) {
	switch r := v.(type) {
	case *Conversation:
		r.ID = ConvID{}
	case *Message:
		r.Seq = 0
	case *Outgoing:
		r.Seq = 0
	}
}

func TestDecodingRejects(t *testing.T) {
	message := func(b []byte) error { _, err := decodeMessage(b); return err }
	conversation := func(b []byte) error { _, err := decodeConversation(b); return err }
	tm := func(b []byte) error { _, err := decodeTime(b); return err }
	version := func(b []byte) error { _, err := decodeVersion(b); return err }
	keyPkg := func(b []byte) error { _, err := decodeKeyPackage(b); return err }
	// A message up to System: id, From "", Time and Received zero, Text "".
	var m encoder
	m.id(MsgID{})
	m.string("")
	m.time(time.Time{})
	m.time(time.Time{})
	m.string("")
	// A conversation up to Senders.
	var c encoder
	c.byte(byte(KindDM))
	for range 4 {
		c.string("")
	}
	c.uint(0)
	c.bool(false)
	c.string("")
	c.bool(false)
	c.int(0)
	senders := func(names ...string) []byte {
		e := encoder{b: bytes.Clone(c.b)}
		e.uint(uint64(len(names)))
		for _, n := range names {
			e.string(n)
			e.uint(1)
		}
		e.uint(0)
		e.time(time.Time{})
		e.time(time.Time{})
		return e.b
	}
	if err := conversation(senders("alice", "bob")); err != nil {
		t.Fatalf("the valid conversation the cases start from: %v", err)
	}
	tests := []struct {
		name   string
		decode func([]byte) error
		b      []byte
	}{
		{"a bool of 2", message, append(bytes.Clone(m.b), 2, 0)},
		{"a time of 1e9 nanoseconds", tm, []byte{0, 0x80, 0x94, 0xeb, 0xdc, 0x03}},
		{"a uvarint that is not minimal", version, []byte{0x81, 0x00}},
		{"a uvarint past 64 bits", version, bytes.Repeat([]byte{0xff}, 11)},
		{"a varint that is not minimal", tm, []byte{0x80, 0x00, 0x00}},
		{"a length past the end", keyPkg, []byte{5, 'a'}},
		{"a list longer than the record", conversation, append(append(bytes.Clone(c.b[:1+4]), 0xff, 0x01), 'x')},
		{"senders out of order", conversation, senders("bob", "alice")},
		{"a sender twice", conversation, senders("bob", "bob")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.decode(tt.b); err == nil {
				t.Errorf("%x decoded", tt.b)
			}
		})
	}
}

// withoutKeyChange is c without the fields records of before key change
// notices lack.
func withoutKeyChange(c Contact) Contact {
	c.PreviousKey, c.NoticeOnSend = nil, false
	return c
}

func TestContactKeyChangeFieldsAreOptionalAndCanonical(t *testing.T) {
	for _, c := range []Contact{sampleContact(), {Address: "a@b.example", NoticeOnSend: true}, {Address: "a@b.example", PreviousKey: []byte{1}}} {
		b := encodeContact(&c)
		got, err := decodeContact(b)
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("decoded %+v, %v; want %+v", got, err, c)
		}
		old := encodeContact(new(withoutKeyChange(c)))
		if !bytes.HasPrefix(b, old) {
			t.Fatalf("the record %x does not start with the record of before key change fields %x", b, old)
		}
		for n := range len(b) {
			got, err := decodeContact(b[:n])
			switch {
			case n == len(old) && (err != nil || !reflect.DeepEqual(got, withoutKeyChange(c))):
				t.Errorf("the record cut where its key change fields start: %+v, %v; want it without them", got, err)
			case n != len(old) && err == nil:
				t.Errorf("truncated to %d of %d bytes decoded", n, len(b))
			}
		}
		if _, err := decodeContact(append(b, 0)); err == nil {
			t.Error("a trailing byte decoded")
		}
	}
	// The fields of no key change are not written, so writing them empty
	// is a second encoding of one record: refused.
	empty := append(encodeContact(&Contact{Address: "a@b.example"}), 0, 0)
	if _, err := decodeContact(empty); err == nil {
		t.Error("empty key change fields decoded")
	}
}

func TestTruncationErrorsSayTruncated(t *testing.T) {
	b := encodeContact(&Contact{Address: "bob@b.example"})
	if _, err := decodeContact(b[:3]); !errors.Is(err, errTruncated) {
		t.Errorf("got %v", err)
	}
}

// fuzzDecode checks that decode never panics, and that what it accepts
// encodes back to the same bytes: decoding is strict, so two encodings
// never mean one record.
func fuzzDecode[T any](f *testing.F, encode func(*T) []byte, decode func([]byte) (T, error), seeds ...T) {
	for _, s := range seeds {
		f.Add(encode(&s))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decode(b)
		if err != nil {
			return
		}
		if again := encode(&v); !bytes.Equal(again, b) {
			t.Fatalf("%x decoded to %+v, which encodes to %x", b, v, again)
		}
	})
}

func FuzzDecodeConversation(f *testing.F) {
	fuzzDecode(f, encodeConversation, decodeConversation, sampleConversation(), Conversation{})
}

func FuzzDecodeMessage(f *testing.F) {
	fuzzDecode(f, encodeMessage, decodeMessage, sampleMessage())
}

func FuzzDecodeContact(f *testing.F) {
	fuzzDecode(f, encodeContact, decodeContact, sampleContact())
}

func FuzzDecodeOutgoing(f *testing.F) {
	withTTL := sampleOutgoing()
	withTTL.TTL, withTTL.MaxHops = time.Hour, 4
	fuzzDecode(f, encodeOutgoing, decodeOutgoing, sampleOutgoing(), withTTL)
}

func FuzzDecodeKeyPackage(f *testing.F) {
	fuzzDecode(f, encodeKeyPackage, decodeKeyPackage, keyPackage{ref: []byte("ref"), bundle: []byte("bundle")})
}

func FuzzDecodeTime(f *testing.F) {
	fuzzDecode(f, encodeTime, decodeTime, at(1_700_000_000), time.Time{})
}

func FuzzDecodeVersion(f *testing.F) {
	fuzzDecode(f, encodeVersion, decodeVersion, 1)
}

// FuzzOpenValue checks that a stored value, whatever its bytes, opens only
// to a *CorruptError or to the record it was sealed with.
func FuzzOpenValue(f *testing.F) {
	s, err := newSealer(exportKey)
	if err != nil {
		f.Fatal(err)
	}
	key := []byte("key")
	f.Add(s.seal(bucketMeta, key, []byte("record")))
	f.Add(s.seal(bucketMeta, key, nil))
	f.Add([]byte{valueVersion})
	f.Fuzz(func(t *testing.T, v []byte) {
		record, err := s.open(bucketMeta, key, v)
		var ce *CorruptError
		switch {
		case err == nil && string(record) != "record" && len(record) != 0:
			t.Fatalf("opened to %q", record)
		case err != nil && (!errors.As(err, &ce) || !errors.Is(err, ErrCorrupt)):
			t.Fatalf("%v is not a *CorruptError", err)
		}
	})
}

func TestOutgoingTTLAndMaxHopsAreOptionalAndCanonical(t *testing.T) {
	for _, o := range []Outgoing{{TTL: time.Hour, MaxHops: 3}, {TTL: time.Minute}, {MaxHops: 1}} {
		o.Conv, o.MsgID, o.Text, o.ChatSeq, o.Created = convID(1), msgID(2), "hi", 1, at(5)
		b := encodeOutgoing(&o)
		got, err := decodeOutgoing(b)
		if err != nil || !reflect.DeepEqual(got, o) {
			t.Fatalf("decoded %+v, %v; want %+v", got, err, o)
		}
		plain := o
		plain.TTL, plain.MaxHops = 0, 0
		old := encodeOutgoing(&plain)
		if !bytes.HasPrefix(b, old) {
			t.Fatalf("the record %x does not start with the record of before TTL and hops %x", b, old)
		}
		for n := range len(b) {
			got, err := decodeOutgoing(b[:n])
			switch {
			case n == len(old) && (err != nil || !reflect.DeepEqual(got, plain)):
				t.Errorf("cut where TTL starts: %+v, %v; want it without them", got, err)
			case n != len(old) && err == nil:
				t.Errorf("truncated to %d of %d bytes decoded", n, len(b))
			}
		}
	}
	// Unset fields written anyway, or a negative TTL, are refused: one
	// encoding per record, and no TTL the node would read as its default.
	base := encodeOutgoing(&Outgoing{Text: "x"})
	for name, tail := range map[string][]byte{"zero fields": {0, 0}, "negative ttl": {1, 1}} {
		if _, err := decodeOutgoing(append(slices.Clone(base), tail...)); err == nil {
			t.Errorf("%s decoded", name)
		}
	}
}

func TestStatusNamesAreWhatQpcShows(t *testing.T) {
	for s, want := range map[Status]string{StatusNone: "", StatusQueued: "queued", StatusSent: "sent", StatusDelivered: "delivered", StatusRead: "read", 9: "status 9"} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d) = %q, want %q", s, got, want)
		}
	}
}
