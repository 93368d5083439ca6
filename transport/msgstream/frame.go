package msgstream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/quicprochat/qpc/protocol"
)

// Magic starts the header a client writes first on the stream.
const Magic = "qpcm"

// Version is the version of the stream this package speaks.
const Version = 1

// Header is what a client writes first: Magic and Version (1).
const Header = Magic + "\x01"

// Type is a frame's type byte.
type Type uint8

// Frame types (see the package doc for their bodies).
const (
	TypeEnqueue     Type = 0x01
	TypeAck         Type = 0x02
	TypeSubscribe   Type = 0x03
	TypeUnsubscribe Type = 0x04
	TypeCredit      Type = 0x05

	TypeHello      Type = 0x81
	TypeReceipt    Type = 0x82
	TypeAcked      Type = 0x83
	TypeSubscribed Type = 0x84
	TypeDeliver    Type = 0x85
	TypeEnded      Type = 0x86
	TypeError      Type = 0x8f
)

// MinFrame is the least MaxFrame a HELLO may announce: a bound below it
// could not carry a DELIVER of one small message.
const MinFrame = 1 << 10

// MaxControl is how many ACK, SUBSCRIBE and UNSUBSCRIBE frames a client
// may have unanswered (by ACKED, SUBSCRIBED, ENDED); one more is a
// protocol error.
const MaxControl = 16

// MaxReason bounds an ERROR frame's reason.
const MaxReason = 256

// deliverEntry is the fixed part of one message in a DELIVER frame.
const deliverEntry = 8 + 8 + 8 + 4

// enqueueFixed is the fixed part of an ENQUEUE body.
const enqueueFixed = 8 + 8 + 1 + 1 + 2

// FlagAfter in an ENQUEUE's flags: the message is to be stored after the
// stream's previous ENQUEUE (the rest of one batch), not beside it.
const FlagAfter = 1

// Errors of the stream. A decoder's error wraps ErrMalformed or one of the
// more specific ones.
var (
	// ErrBadHeader: the stream did not start with Magic.
	ErrBadHeader = errors.New("msgstream: not a message stream header")
	// ErrVersion: the header's version is not one this side speaks.
	ErrVersion = errors.New("msgstream: unknown version")
	// ErrFrameTooLarge: a frame's length is over the bound, or 0.
	ErrFrameTooLarge = errors.New("msgstream: frame length out of bounds")
	// ErrUnknownFrame: a frame type this side does not know, or one that
	// goes the other way.
	ErrUnknownFrame = errors.New("msgstream: unknown frame type")
	// ErrMalformed: a frame's body does not have its type's layout.
	ErrMalformed = errors.New("msgstream: malformed frame")
	// ErrTooManyInFlight: the peer overran a window (enqueue_window
	// unanswered ENQUEUEs, or deliver_window uncredited DELIVERs).
	ErrTooManyInFlight = errors.New("msgstream: too many frames in flight")
	// ErrClosed: the stream ended; what was in flight on it has no answer.
	ErrClosed = errors.New("msgstream: stream closed")
)

// ReadHeader reads and checks the header a client writes.
func ReadHeader(r io.Reader) error {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return ErrBadHeader
	}
	if string(h[:4]) != Magic {
		return ErrBadHeader
	}
	if h[4] != Version {
		return ErrVersion
	}
	return nil
}

// Reader reads frames from a stream. Each frame's body is read into a
// buffer of its own, so what a decoder returns (payloads) may be kept.
type Reader struct {
	r   *bufio.Reader
	max int
}

// NewReader reads frames of at most max bytes (length field) from r.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 16<<10), max: max}
}

// SetMax changes the bound, as a client does once HELLO told it.
func (r *Reader) SetMax(max int) { r.max = max }

// Next reads the next frame: its type and body. io.EOF means the stream
// ended cleanly between frames.
func (r *Reader) Next() (Type, []byte, error) {
	var lb [4]byte
	if _, err := io.ReadFull(r.r, lb[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, ErrMalformed
		}
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(lb[:])
	if n == 0 || uint64(n) > uint64(r.max) {
		return 0, nil, ErrFrameTooLarge
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r.r, buf); err != nil {
		return 0, nil, ErrMalformed
	}
	return Type(buf[0]), buf[1:], nil
}

// appendFrame starts a frame of type t with a body of n bytes.
func appendFrame(dst []byte, t Type, n int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(n+1))
	return append(dst, byte(t))
}

// dec reads a body field by field; the first short read sets err.
type dec struct {
	b   []byte
	bad bool
}

func (d *dec) take(n int) []byte {
	if d.bad || len(d.b) < n {
		d.bad = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *dec) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *dec) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *dec) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// end fails unless the body was read exactly. Refusals carry no detail
// beyond their sentinel: the router build pays in flash for every
// formatting call site.
func (d *dec) end() error {
	if d.bad || len(d.b) != 0 {
		return ErrMalformed
	}
	return nil
}

func millis(t time.Time) uint64 { return uint64(t.UnixMilli()) }

func fromMillis(v uint64) time.Time { return time.UnixMilli(int64(v)) }

// Hello is the node's first frame: what it reads and how much may be in
// flight.
type Hello struct {
	Version uint8
	// MaxFrame bounds every frame's length, both ways.
	MaxFrame uint32
	// EnqueueWindow is how many ENQUEUE frames may wait for receipts.
	EnqueueWindow uint32
	// DeliverWindow is how many DELIVER frames the node sends before it
	// waits for CREDIT.
	DeliverWindow uint16
}

// AppendHello appends h's frame to dst.
func AppendHello(dst []byte, h Hello) []byte {
	dst = appendFrame(dst, TypeHello, 11)
	dst = append(dst, h.Version)
	dst = binary.BigEndian.AppendUint32(dst, h.MaxFrame)
	dst = binary.BigEndian.AppendUint32(dst, h.EnqueueWindow)
	return binary.BigEndian.AppendUint16(dst, h.DeliverWindow)
}

// DecodeHello decodes a HELLO body. Windows of 0 and a MaxFrame under
// MinFrame are malformed; a version other than Version is ErrVersion.
func DecodeHello(body []byte) (Hello, error) {
	d := dec{b: body}
	h := Hello{Version: d.u8(), MaxFrame: d.u32(), EnqueueWindow: d.u32(), DeliverWindow: d.u16()}
	if err := d.end(); err != nil {
		return Hello{}, err
	}
	if h.Version != Version {
		return Hello{}, fmt.Errorf("%w: %d", ErrVersion, h.Version)
	}
	if h.MaxFrame < MinFrame || h.EnqueueWindow == 0 || h.DeliverWindow == 0 {
		return Hello{}, fmt.Errorf("%w: HELLO bounds %d/%d/%d", ErrMalformed, h.MaxFrame, h.EnqueueWindow, h.DeliverWindow)
	}
	return h, nil
}

// Enqueue is one message to store, with the client's request id.
type Enqueue struct {
	Req uint64
	// After: store it after the stream's previous ENQUEUE (FlagAfter).
	After bool
	Msg   protocol.Outgoing
}

// EnqueueSize is the frame length (the length field's value) of e.
func EnqueueSize(m protocol.Outgoing) int {
	return 1 + enqueueFixed + len(m.Recipient) + len(m.Payload)
}

// AppendEnqueue appends e's frame to dst. The recipient must fit in
// 65535 bytes and the payload must not be empty (checked by the caller:
// see CheckEnqueue).
func AppendEnqueue(dst []byte, e Enqueue) []byte {
	dst = appendFrame(dst, TypeEnqueue, enqueueFixed+len(e.Msg.Recipient)+len(e.Msg.Payload))
	dst = binary.BigEndian.AppendUint64(dst, e.Req)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Msg.TTL.Milliseconds()))
	dst = append(dst, e.Msg.MaxHops)
	var flags byte
	if e.After {
		flags |= FlagAfter
	}
	dst = append(dst, flags)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(e.Msg.Recipient)))
	dst = append(dst, e.Msg.Recipient...)
	return append(dst, e.Msg.Payload...)
}

// CheckEnqueue reports whether m can travel in an ENQUEUE frame under
// maxFrame; a message that cannot goes by RPC, whose answer names what is
// wrong with it.
func CheckEnqueue(m protocol.Outgoing, maxFrame int) bool {
	return len(m.Payload) > 0 && len(m.Recipient) <= 0xffff && m.TTL >= 0 && EnqueueSize(m) <= maxFrame
}

// maxTTLMillis keeps a TTL's milliseconds within a time.Duration.
const maxTTLMillis = uint64(1<<63-1) / uint64(time.Millisecond)

// DecodeEnqueue decodes an ENQUEUE body. The payload aliases body.
func DecodeEnqueue(body []byte) (Enqueue, error) {
	d := dec{b: body}
	e := Enqueue{Req: d.u64()}
	ttl := d.u64()
	e.Msg.MaxHops = d.u8()
	flags := d.u8()
	e.After = flags&FlagAfter != 0
	rlen := d.u16()
	e.Msg.Recipient = string(d.take(int(rlen)))
	if d.bad {
		return Enqueue{}, ErrMalformed
	}
	if len(d.b) == 0 {
		return Enqueue{}, ErrMalformed
	}
	if flags&^FlagAfter != 0 {
		return Enqueue{}, ErrMalformed
	}
	if ttl > maxTTLMillis {
		return Enqueue{}, ErrMalformed
	}
	e.Msg.TTL = time.Duration(ttl) * time.Millisecond
	e.Msg.Payload = d.b
	return e, nil
}

// Receipt answers one ENQUEUE.
type Receipt struct {
	Req        uint64
	Seq        uint64
	ServerTime time.Time
	// Code is the refusal's ErrorCode, 0 if the message was stored.
	Code uint16
	// Mesh is set when the message went into the mesh: MeshID and
	// QueuedAt (at most 255 bytes) say where it waits.
	Mesh     bool
	MeshID   protocol.MeshID
	QueuedAt string
}

// AppendReceipt appends r's frame to dst; QueuedAt is cut to 255 bytes.
func AppendReceipt(dst []byte, r Receipt) []byte {
	q := r.QueuedAt
	if len(q) > 0xff {
		q = q[:0xff]
	}
	n := 8 + 8 + 8 + 2 + 1
	if r.Mesh {
		n += 32 + 1 + len(q)
	}
	dst = appendFrame(dst, TypeReceipt, n)
	dst = binary.BigEndian.AppendUint64(dst, r.Req)
	dst = binary.BigEndian.AppendUint64(dst, r.Seq)
	dst = binary.BigEndian.AppendUint64(dst, millis(r.ServerTime))
	dst = binary.BigEndian.AppendUint16(dst, r.Code)
	if !r.Mesh {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = append(dst, r.MeshID[:]...)
	dst = append(dst, byte(len(q)))
	return append(dst, q...)
}

// DecodeReceipt decodes a RECEIPT body.
func DecodeReceipt(body []byte) (Receipt, error) {
	d := dec{b: body}
	r := Receipt{Req: d.u64(), Seq: d.u64(), ServerTime: fromMillis(d.u64()), Code: d.u16()}
	switch d.u8() {
	case 0:
	case 1:
		r.Mesh = true
		copy(r.MeshID[:], d.take(32))
		r.QueuedAt = string(d.take(int(d.u8())))
	default:
		if !d.bad {
			return Receipt{}, fmt.Errorf("%w: RECEIPT mesh flag", ErrMalformed)
		}
	}
	if err := d.end(); err != nil {
		return Receipt{}, err
	}
	return r, nil
}

// Ack removes the messages up to Upto from the subscriber's queue.
type Ack struct{ Req, Upto uint64 }

// AppendAck appends a's frame to dst.
func AppendAck(dst []byte, a Ack) []byte {
	dst = appendFrame(dst, TypeAck, 16)
	dst = binary.BigEndian.AppendUint64(dst, a.Req)
	return binary.BigEndian.AppendUint64(dst, a.Upto)
}

// DecodeAck decodes an ACK body.
func DecodeAck(body []byte) (Ack, error) {
	d := dec{b: body}
	a := Ack{Req: d.u64(), Upto: d.u64()}
	return a, d.end()
}

// Acked answers an ACK.
type Acked struct {
	Req     uint64
	Removed uint32
	Code    uint16
}

// AppendAcked appends a's frame to dst.
func AppendAcked(dst []byte, a Acked) []byte {
	dst = appendFrame(dst, TypeAcked, 14)
	dst = binary.BigEndian.AppendUint64(dst, a.Req)
	dst = binary.BigEndian.AppendUint32(dst, a.Removed)
	return binary.BigEndian.AppendUint16(dst, a.Code)
}

// DecodeAcked decodes an ACKED body.
func DecodeAcked(body []byte) (Acked, error) {
	d := dec{b: body}
	a := Acked{Req: d.u64(), Removed: d.u32(), Code: d.u16()}
	return a, d.end()
}

// Subscribe asks for the messages after After, then each new one.
type Subscribe struct{ Req, After uint64 }

// AppendSubscribe appends s's frame to dst.
func AppendSubscribe(dst []byte, s Subscribe) []byte {
	dst = appendFrame(dst, TypeSubscribe, 16)
	dst = binary.BigEndian.AppendUint64(dst, s.Req)
	return binary.BigEndian.AppendUint64(dst, s.After)
}

// DecodeSubscribe decodes a SUBSCRIBE body.
func DecodeSubscribe(body []byte) (Subscribe, error) {
	d := dec{b: body}
	s := Subscribe{Req: d.u64(), After: d.u64()}
	return s, d.end()
}

// Subscribed answers a SUBSCRIBE.
type Subscribed struct {
	Req  uint64
	Code uint16
}

// AppendSubscribed appends s's frame to dst.
func AppendSubscribed(dst []byte, s Subscribed) []byte {
	dst = appendFrame(dst, TypeSubscribed, 10)
	dst = binary.BigEndian.AppendUint64(dst, s.Req)
	return binary.BigEndian.AppendUint16(dst, s.Code)
}

// DecodeSubscribed decodes a SUBSCRIBED body.
func DecodeSubscribed(body []byte) (Subscribed, error) {
	d := dec{b: body}
	s := Subscribed{Req: d.u64(), Code: d.u16()}
	return s, d.end()
}

// AppendUnsubscribe appends an UNSUBSCRIBE frame to dst.
func AppendUnsubscribe(dst []byte) []byte { return appendFrame(dst, TypeUnsubscribe, 0) }

// DecodeUnsubscribe checks an UNSUBSCRIBE body (empty).
func DecodeUnsubscribe(body []byte) error {
	d := dec{b: body}
	return d.end()
}

// AppendCredit appends a CREDIT frame of n to dst.
func AppendCredit(dst []byte, n uint16) []byte {
	dst = appendFrame(dst, TypeCredit, 2)
	return binary.BigEndian.AppendUint16(dst, n)
}

// DecodeCredit decodes a CREDIT body; a credit of 0 is malformed.
func DecodeCredit(body []byte) (uint16, error) {
	d := dec{b: body}
	n := d.u16()
	if err := d.end(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, ErrMalformed
	}
	return n, nil
}

// DeliverSize is what msg adds to a DELIVER frame.
func DeliverSize(m protocol.Message) int { return deliverEntry + len(m.Payload) }

// DeliverFixed is the length of a DELIVER frame without its messages.
const DeliverFixed = 1 + 2

// AppendDeliver appends a DELIVER frame of msgs (1 to 65535) to dst.
func AppendDeliver(dst []byte, msgs []protocol.Message) []byte {
	n := 2
	for _, m := range msgs {
		n += DeliverSize(m)
	}
	dst = appendFrame(dst, TypeDeliver, n)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(msgs)))
	for _, m := range msgs {
		dst = binary.BigEndian.AppendUint64(dst, m.Seq)
		dst = binary.BigEndian.AppendUint64(dst, millis(m.Enqueued))
		dst = binary.BigEndian.AppendUint64(dst, millis(m.Expires))
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Payload)))
		dst = append(dst, m.Payload...)
	}
	return dst
}

// DecodeDeliver decodes a DELIVER body; payloads alias body.
func DecodeDeliver(body []byte) ([]protocol.Message, error) {
	d := dec{b: body}
	count := int(d.u16())
	if count == 0 {
		return nil, fmt.Errorf("%w: DELIVER of no messages", ErrMalformed)
	}
	// Each message takes at least deliverEntry bytes: a count the body
	// cannot hold is refused before anything is allocated for it.
	if count > len(d.b)/deliverEntry {
		return nil, fmt.Errorf("%w: DELIVER of %d messages in %d bytes", ErrMalformed, count, len(body))
	}
	msgs := make([]protocol.Message, count)
	for i := range msgs {
		msgs[i] = protocol.Message{Seq: d.u64(), Enqueued: fromMillis(d.u64()), Expires: fromMillis(d.u64())}
		msgs[i].Payload = d.take(int(d.u32()))
		if d.bad {
			break
		}
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return msgs, nil
}

// AppendEnded appends an ENDED frame with code to dst.
func AppendEnded(dst []byte, code uint16) []byte {
	dst = appendFrame(dst, TypeEnded, 2)
	return binary.BigEndian.AppendUint16(dst, code)
}

// DecodeEnded decodes an ENDED body.
func DecodeEnded(body []byte) (uint16, error) {
	d := dec{b: body}
	c := d.u16()
	return c, d.end()
}

// Error is the node's last frame on a stream it closes.
type Error struct {
	Code   uint16
	Reason string
}

// AppendError appends e's frame to dst; the reason is cut to MaxReason
// bytes at a character boundary.
func AppendError(dst []byte, e Error) []byte {
	r := e.Reason
	for len(r) > MaxReason {
		_, n := utf8.DecodeLastRuneInString(r[:MaxReason])
		r = r[:MaxReason-n]
	}
	dst = appendFrame(dst, TypeError, 2+len(r))
	dst = binary.BigEndian.AppendUint16(dst, e.Code)
	return append(dst, r...)
}

// DecodeError decodes an ERROR body.
func DecodeError(body []byte) (Error, error) {
	d := dec{b: body}
	e := Error{Code: d.u16()}
	if d.bad {
		return Error{}, fmt.Errorf("%w: ERROR body too short", ErrMalformed)
	}
	if len(d.b) > MaxReason {
		return Error{}, fmt.Errorf("%w: ERROR reason of %d bytes", ErrMalformed, len(d.b))
	}
	e.Reason = string(d.b)
	return e, nil
}
