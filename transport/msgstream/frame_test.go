package msgstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// ms is a time at millisecond precision, as frames carry it.
func ms(v int64) time.Time { return time.UnixMilli(v) }

// frames returns one valid frame of every type, for the round trips and
// as fuzz seeds.
func frames() [][]byte {
	var id protocol.MeshID
	id[0], id[31] = 7, 9
	return [][]byte{
		AppendHello(nil, Hello{Version: Version, MaxFrame: 70000, EnqueueWindow: 256, DeliverWindow: 8}),
		AppendEnqueue(nil, Enqueue{Req: 1, After: true, Msg: protocol.Outgoing{Recipient: "bob@a.example", Payload: []byte("sealed"), TTL: 90 * time.Second, MaxHops: 3}}),
		AppendReceipt(nil, Receipt{Req: 1, Seq: 42, ServerTime: ms(1700000000123)}),
		AppendReceipt(nil, Receipt{Req: 2, ServerTime: ms(5), Mesh: true, MeshID: id, QueuedAt: "a.example"}),
		AppendReceipt(nil, Receipt{Req: 3, ServerTime: ms(5), Code: 12}),
		AppendAck(nil, Ack{Req: 4, Upto: 41}),
		AppendAcked(nil, Acked{Req: 4, Removed: 41}),
		AppendSubscribe(nil, Subscribe{Req: 5, After: 10}),
		AppendSubscribed(nil, Subscribed{Req: 5, Code: 5}),
		AppendUnsubscribe(nil),
		AppendCredit(nil, 3),
		AppendDeliver(nil, []protocol.Message{{Seq: 11, Payload: []byte("x"), Enqueued: ms(1), Expires: ms(2)}, {Seq: 12, Payload: []byte("yz"), Enqueued: ms(3), Expires: ms(4)}}),
		AppendEnded(nil, 0),
		AppendError(nil, Error{Code: 2, Reason: "unknown frame type"}),
	}
}

// decode decodes a frame of any type into a value, for comparisons.
func decode(t Type, body []byte) (any, error) {
	switch t {
	case TypeHello:
		return DecodeHello(body)
	case TypeEnqueue:
		return DecodeEnqueue(body)
	case TypeReceipt:
		return DecodeReceipt(body)
	case TypeAck:
		return DecodeAck(body)
	case TypeAcked:
		return DecodeAcked(body)
	case TypeSubscribe:
		return DecodeSubscribe(body)
	case TypeSubscribed:
		return DecodeSubscribed(body)
	case TypeUnsubscribe:
		return nil, DecodeUnsubscribe(body)
	case TypeCredit:
		return DecodeCredit(body)
	case TypeDeliver:
		return DecodeDeliver(body)
	case TypeEnded:
		return DecodeEnded(body)
	case TypeError:
		return DecodeError(body)
	}
	return nil, ErrUnknownFrame
}

// encode re-encodes a decoded value, for the fuzz test's round trip.
func encode(v any) []byte {
	switch v := v.(type) {
	case Hello:
		return AppendHello(nil, v)
	case Enqueue:
		return AppendEnqueue(nil, v)
	case Receipt:
		return AppendReceipt(nil, v)
	case Ack:
		return AppendAck(nil, v)
	case Acked:
		return AppendAcked(nil, v)
	case Subscribe:
		return AppendSubscribe(nil, v)
	case Subscribed:
		return AppendSubscribed(nil, v)
	case []protocol.Message:
		return AppendDeliver(nil, v)
	case Error:
		return AppendError(nil, v)
	}
	return nil
}

func TestEveryFrameSurvivesARoundTripThroughTheReader(t *testing.T) {
	var stream bytes.Buffer
	all := frames()
	for _, f := range all {
		stream.Write(f)
	}
	r := NewReader(&stream, 1<<20)
	for i, f := range all {
		typ, body, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if Type(f[4]) != typ {
			t.Fatalf("frame %d: type 0x%02x, want 0x%02x", i, typ, f[4])
		}
		v, err := decode(typ, body)
		if err != nil {
			t.Fatalf("frame %d (0x%02x): %v", i, typ, err)
		}
		if again := encode(v); again != nil && !bytes.Equal(again, f) {
			t.Errorf("frame %d (0x%02x) re-encodes to %x, want %x", i, typ, again, f)
		}
	}
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestDecodedFieldsAreTheEncodedOnes(t *testing.T) {
	in := Enqueue{Req: 9, Msg: protocol.Outgoing{Recipient: "carol", Payload: []byte{1, 2, 3}, TTL: 3 * time.Hour, MaxHops: 4}}
	f := AppendEnqueue(nil, in)
	got, err := DecodeEnqueue(f[5:])
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Errorf("ENQUEUE: %+v, %v; want %+v", got, err, in)
	}
	msgs := []protocol.Message{{Seq: 3, Payload: []byte("p"), Enqueued: ms(10), Expires: ms(20)}}
	d, err := DecodeDeliver(AppendDeliver(nil, msgs)[5:])
	if err != nil || !reflect.DeepEqual(d, msgs) {
		t.Errorf("DELIVER: %+v, %v; want %+v", d, err, msgs)
	}
	var id protocol.MeshID
	id[5] = 1
	rin := Receipt{Req: 1, Seq: 0, ServerTime: ms(77), Code: 0, Mesh: true, MeshID: id, QueuedAt: "b.example"}
	r, err := DecodeReceipt(AppendReceipt(nil, rin)[5:])
	if err != nil || !reflect.DeepEqual(r, rin) {
		t.Errorf("RECEIPT: %+v, %v; want %+v", r, err, rin)
	}
}

func TestEveryTruncatedFrameIsATypedError(t *testing.T) {
	for _, f := range frames() {
		typ, body := Type(f[4]), f[5:]
		for cut := 0; cut < len(body); cut++ {
			if typ == TypeError && cut >= 2 || typ == TypeEnqueue && cut > enqueueFixed+int(binary.BigEndian.Uint16(body[18:])) {
				continue // the rest of these is text or payload: shorter is valid
			}
			_, err := decode(typ, body[:cut])
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("0x%02x cut to %d of %d bytes: %v, want ErrMalformed", typ, cut, len(body), err)
			}
		}
		// The reader: a stream that ends inside a frame.
		for cut := 1; cut < len(f); cut++ {
			_, _, err := NewReader(bytes.NewReader(f[:cut]), 1<<20).Next()
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("0x%02x stream cut to %d of %d bytes: %v, want ErrMalformed", typ, cut, len(f), err)
			}
		}
	}
}

func TestTheReaderRefusesFramesOverItsBoundAndEmptyOnes(t *testing.T) {
	big := AppendEnqueue(nil, Enqueue{Req: 1, Msg: protocol.Outgoing{Recipient: "bob", Payload: make([]byte, 2000)}})
	if _, _, err := NewReader(bytes.NewReader(big), 1024).Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("a frame of %d bytes under a bound of 1024: %v", len(big), err)
	}
	if _, _, err := NewReader(bytes.NewReader([]byte{0, 0, 0, 0}), 1024).Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("a frame of length 0: %v", err)
	}
	// A huge length is refused before anything is allocated for it.
	if _, _, err := NewReader(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 1}), 1024).Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("a frame of 4 GiB: %v", err)
	}
}

func TestBadFieldsAreTypedErrors(t *testing.T) {
	cases := []struct {
		name string
		typ  Type
		body []byte
		want error
	}{
		{"a HELLO of another version", TypeHello, AppendHello(nil, Hello{Version: 2, MaxFrame: 4096, EnqueueWindow: 1, DeliverWindow: 1})[5:], ErrVersion},
		{"a HELLO with a frame bound under the least", TypeHello, AppendHello(nil, Hello{Version: 1, MaxFrame: 10, EnqueueWindow: 1, DeliverWindow: 1})[5:], ErrMalformed},
		{"a HELLO with no window", TypeHello, AppendHello(nil, Hello{Version: 1, MaxFrame: 4096, DeliverWindow: 1})[5:], ErrMalformed},
		{"an ENQUEUE without a payload", TypeEnqueue, AppendEnqueue(nil, Enqueue{Msg: protocol.Outgoing{Recipient: "bob"}})[5:], ErrMalformed},
		{"an ENQUEUE whose TTL overflows a duration", TypeEnqueue, append(binary.BigEndian.AppendUint64(make([]byte, 8), 1<<63), 0, 0, 0, 0, 1), ErrMalformed},
		{"an ENQUEUE with an unknown flag", TypeEnqueue, append(make([]byte, 17), 2, 0, 0, 1), ErrMalformed},
		{"a CREDIT of 0", TypeCredit, []byte{0, 0}, ErrMalformed},
		{"a DELIVER of no messages", TypeDeliver, []byte{0, 0}, ErrMalformed},
		{"a DELIVER claiming more messages than it holds", TypeDeliver, []byte{0xff, 0xff, 1, 2, 3}, ErrMalformed},
		{"a RECEIPT with a bad mesh flag", TypeReceipt, append(make([]byte, 26), 2), ErrMalformed},
		{"an ACK with a byte too many", TypeAck, make([]byte, 17), ErrMalformed},
		{"an UNSUBSCRIBE with a body", TypeUnsubscribe, []byte{1}, ErrMalformed},
		{"an ERROR with an overlong reason", TypeError, append([]byte{0, 1}, strings.Repeat("x", MaxReason+1)...), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := decode(c.typ, c.body); !errors.Is(err, c.want) {
				t.Errorf("%v, want %v", err, c.want)
			}
		})
	}
}

func TestTheHeaderIsCheckedForMagicAndVersion(t *testing.T) {
	if err := ReadHeader(strings.NewReader(Header)); err != nil {
		t.Errorf("our header: %v", err)
	}
	if err := ReadHeader(bytes.NewReader([]byte("qpcm\x02"))); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2: %v, want ErrVersion", err)
	}
	if err := ReadHeader(bytes.NewReader([]byte("\x00\x00\x00\x05\x01"))); !errors.Is(err, ErrBadHeader) {
		t.Errorf("a frame instead of the header: %v, want ErrBadHeader", err)
	}
	if err := ReadHeader(bytes.NewReader([]byte("qp"))); !errors.Is(err, ErrBadHeader) {
		t.Errorf("a short header: %v, want ErrBadHeader", err)
	}
}

func TestALongErrorReasonIsCutAtACharacterBoundary(t *testing.T) {
	f := AppendError(nil, Error{Code: 1, Reason: strings.Repeat("é", MaxReason)})
	e, err := DecodeError(f[5:])
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Reason) > MaxReason || !strings.HasPrefix(strings.Repeat("é", MaxReason), e.Reason) || len(e.Reason)%2 != 0 {
		t.Errorf("reason of %d bytes: %q", len(e.Reason), e.Reason)
	}
}

func TestCheckEnqueueSendsWhatDoesNotFitByRPC(t *testing.T) {
	ok := protocol.Outgoing{Recipient: "bob", Payload: []byte{1}}
	if !CheckEnqueue(ok, MinFrame) {
		t.Error("a one-byte message does not fit")
	}
	if CheckEnqueue(protocol.Outgoing{Recipient: "bob"}, MinFrame) {
		t.Error("an empty message fits")
	}
	if CheckEnqueue(protocol.Outgoing{Recipient: "bob", Payload: make([]byte, MinFrame)}, MinFrame) {
		t.Error("a message over the bound fits")
	}
	if CheckEnqueue(protocol.Outgoing{Recipient: strings.Repeat("b", 0x10000), Payload: []byte{1}}, 1<<20) {
		t.Error("a recipient over 65535 bytes fits")
	}
}

// FuzzFrames feeds the reader and every decoder arbitrary bytes: no panic,
// errors typed, and what decodes re-encodes to the same frame.
func FuzzFrames(f *testing.F) {
	for _, fr := range frames() {
		f.Add(fr)
	}
	f.Add([]byte{0, 0, 0, 1, 0x99})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 1<<16)
		for {
			typ, body, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("reader: untyped error %v", err)
				}
				return
			}
			v, err := decode(typ, body)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrUnknownFrame) {
					t.Fatalf("0x%02x: untyped error %v", typ, err)
				}
				continue
			}
			again := encode(v)
			if again == nil {
				continue
			}
			v2, err := decode(typ, again[5:])
			if err != nil || !reflect.DeepEqual(v, v2) {
				t.Fatalf("0x%02x: %+v re-encodes to something that decodes to %+v, %v", typ, v, v2, err)
			}
		}
	})
}

// FuzzHeader: ReadHeader never panics and accepts only our header.
func FuzzHeader(f *testing.F) {
	f.Add([]byte(Header))
	f.Add([]byte("qpcm"))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := ReadHeader(bytes.NewReader(data))
		if err == nil && !bytes.HasPrefix(data, []byte(Header)) {
			t.Fatalf("accepted %x", data)
		}
		if err != nil && !errors.Is(err, ErrBadHeader) && !errors.Is(err, ErrVersion) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
