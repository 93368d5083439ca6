package signedtest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/internal/capnpmsg"
	"github.com/quicprochat/qpc/mesh/signed"
)

// Format tells the suite how to make, check and encode the messages of one
// format. M is the format's message pointer (*envelope.Envelope,
// *flood.Post).
type Format[M any] struct {
	// Now is when the messages of Sample are checked: after their creation
	// and within their TTL.
	Now time.Time
	// Sign is the format's Sign with its own fields fixed: body is the
	// variable part (payload, body).
	Sign func(key ed25519.PrivateKey, origin string, body []byte, created time.Time, ttl time.Duration, maxHops uint8) (M, error)
	// Sizes are sizes of the variable part Sign takes, the format's
	// largest last.
	Sizes []int
	// Header returns the message's header, which the suite changes in
	// place.
	Header func(M) *signed.Header
	// Verify, SignedBytes, Forwarded, ID, Marshal and Unmarshal are the
	// format's own.
	Verify      func(M, time.Time) error
	SignedBytes func(M) []byte
	Forwarded   func(M) (M, error)
	ID          func(M) [32]byte
	Marshal     func(M) ([]byte, error)
	Unmarshal   func([]byte) (M, error)
	// MaxEncoded is the most bytes Unmarshal takes.
	MaxEncoded int
	// MultiSegment encodes m as a writer that grows its message in
	// segments does, in at least two segments.
	MultiSegment func(t testing.TB, m M) []byte

	// Kind is the format's name, which starts its errors ("envelope",
	// "post").
	Kind string
	// Body returns m's variable part, the one Sign takes as body.
	Body func(M) []byte
	// Own are the format's own sentinels, beside package signed's: an
	// error may wrap only the one it is about.
	Own []error
	// Bad are changes to a fresh message's own fields that Verify
	// refuses, each with the sentinel it wraps. The first must be refused
	// whatever the clock and the signature say: it is how the suite
	// checks that the cheap checks come first.
	Bad []Change[M]
	// Tampered are changes to the format's own signed fields; Verify
	// must refuse each as signed.ErrBadSignature.
	Tampered []Change[M]
	// IDOmitsOrigin says whether a message that another node signs over
	// the same variable part has the original's id (a post: its id names
	// the body in its channel, so a replay is a duplicate) or one of its
	// own (an envelope: its id covers the origin).
	IDOmitsOrigin bool
	// ParseSigned reads SignedBytes by the layout the format documents
	// (with a SignedReader), independently of the code that writes them.
	ParseSigned func(t testing.TB, b []byte) M
	// Wire writes m into a fresh struct with the format's ToWire and
	// reads it back with its FromWire, failing the test if either fails.
	Wire func(t testing.TB, m M) (signed.Wire, M)
}

// Change is a named change to a message, and the sentinel that Verify
// refuses the changed message with.
type Change[M any] struct {
	// Name says what the change does, as a sentence.
	Name string
	// Change changes a fresh sample in place.
	Change func(M)
	// Want is the sentinel Verify's error must wrap (Bad only).
	Want error
}

// Sample returns a fresh message whose variable part is n bytes of
// Filler, signed with OriginKey for Origin at Created, with TTL and
// MaxHops: the message the formats' tests start from.
func (f Format[M]) Sample(t testing.TB, n int) M {
	t.Helper()
	m, err := f.Sign(OriginKey, Origin, Filler(n), Created, TTL, MaxHops)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return m
}

// Run runs the whole suite on f, each part as a subtest.
func Run[M any](t *testing.T, f Format[M]) {
	t.Run("a fresh message verifies, signed over its signed bytes", func(t *testing.T) { fresh(t, f) })
	t.Run("Sign keeps a copy of the variable part", func(t *testing.T) { copies(t, f) })
	t.Run("the signed bytes follow the documented layout", func(t *testing.T) { layout(t, f) })
	t.Run("Sign refuses a header that Verify would reject", func(t *testing.T) { signRefuses(t, f) })
	t.Run("Verify refuses each bad field with its own sentinel", func(t *testing.T) { bad(t, f) })
	t.Run("Verify checks the fields before the clock and the clock before the signature", func(t *testing.T) { order(t, f) })
	t.Run("a changed field of the format's own fails the signature", func(t *testing.T) { tamperedOwn(t, f) })
	t.Run("a message another node signs over the same body is that node's", func(t *testing.T) { resigned(t, f) })
	t.Run("the wire carries every header field", func(t *testing.T) { wire(t, f) })
	t.Run("the id is the same at every hop, up to max hops", func(t *testing.T) { hops(t, f) })
	t.Run("a changed header field fails the signature", func(t *testing.T) { tampered(t, f) })
	t.Run("a message re-signed by another key under the origin's is a forgery", func(t *testing.T) { forged(t, f) })
	t.Run("a marshalled message reads back equal", func(t *testing.T) { roundTrip(t, f) })
	t.Run("a decoded message does not share its input", func(t *testing.T) { notShared(t, f) })
	t.Run("values the wire cannot carry are refused", func(t *testing.T) { uncarriable(t, f) })
	t.Run("every truncation is malformed", func(t *testing.T) { truncations(t, f) })
	t.Run("input that is not one message is malformed", func(t *testing.T) { malformed(t, f) })
	t.Run("messages of up to 16 segments decode", func(t *testing.T) { segments(t, f) })
}

// Marshal returns m marshalled by f, failing the test if it cannot.
func Marshal[M any](t testing.TB, f Format[M], m M) []byte {
	t.Helper()
	b, err := f.Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

func fresh[M any](t *testing.T, f Format[M]) {
	m := f.Sample(t, f.Sizes[0])
	if err := f.Verify(m, f.Now); err != nil {
		t.Fatalf("Verify of a fresh message: %v", err)
	}
	h := f.Header(m)
	if !ed25519.Verify(h.OriginKey, f.SignedBytes(m), h.Signature) {
		t.Error("the signature is not over SignedBytes")
	}
	if got, want := h.OriginID(), identity.NodeID(h.OriginKey); got != want {
		t.Errorf("OriginID = %q, want %q", got, want)
	}
	if got, want := h.Expires(), h.Created.Add(h.TTL); !got.Equal(want) {
		t.Errorf("Expires = %s, want %s", got, want)
	}
	want := signed.Header{
		Version: h.Version, OriginKey: OriginKey.Public().(ed25519.PublicKey), OriginDomain: Origin,
		Created: Created, TTL: TTL, MaxHops: MaxHops, Signature: h.Signature,
	}
	if !reflect.DeepEqual(*h, want) {
		t.Errorf("Sign made the header\n%+v\nwant\n%+v", *h, want)
	}
	if got := f.Body(m); !bytes.Equal(got, Filler(f.Sizes[0])) {
		t.Errorf("Sign made the variable part % x, want % x", got, Filler(f.Sizes[0]))
	}
}

func signRefuses[M any](t *testing.T, f Format[M]) {
	body := Filler(f.Sizes[0])
	cases := []struct {
		name    string
		key     ed25519.PrivateKey
		origin  string
		ttl     time.Duration
		maxHops uint8
		want    error
	}{
		{"a truncated private key is refused", OriginKey[:32], Origin, TTL, MaxHops, signed.ErrOriginKey},
		{"an origin domain with uppercase letters is refused", OriginKey, "N1.example.mesh", TTL, MaxHops, signed.ErrOriginDomain},
		{"a zero TTL is refused", OriginKey, Origin, 0, MaxHops, signed.ErrTTL},
		{"zero max hops are refused", OriginKey, Origin, TTL, 0, signed.ErrMaxHops},
	}
	for _, c := range cases {
		if m, err := f.Sign(c.key, c.origin, body, Created, c.ttl, c.maxHops); !errors.Is(err, c.want) {
			t.Errorf("%s: Sign = %+v, %v; want %v", c.name, m, err, c.want)
		}
	}
}

func hops[M any](t *testing.T, f Format[M]) {
	m := f.Sample(t, f.Sizes[0])
	id := f.ID(m)
	hop := m
	max := f.Header(m).MaxHops
	for i := 1; i <= int(max); i++ {
		next, err := f.Forwarded(hop)
		if err != nil {
			t.Fatalf("hop %d: %v", i, err)
		}
		if got := f.Header(next).Hops; got != uint8(i) {
			t.Fatalf("hop %d: Hops = %d", i, got)
		}
		if f.ID(next) != id {
			t.Fatalf("hop %d: the id changed", i)
		}
		// At exactly max hops a message still verifies: it can be
		// delivered or kept, only not sent on.
		if err := f.Verify(next, f.Now); err != nil {
			t.Fatalf("hop %d: a forwarded message does not verify: %v", i, err)
		}
		hop = next
	}
	if got := f.Header(m).Hops; got != 0 {
		t.Errorf("Forwarded changed the original: Hops = %d", got)
	}
	if next, err := f.Forwarded(hop); !errors.Is(err, signed.ErrHopLimit) {
		t.Errorf("Forwarded at max hops = %+v, %v; want ErrHopLimit", next, err)
	}
}

func tampered[M any](t *testing.T, f Format[M]) {
	cases := []struct {
		name   string
		tamper func(*signed.Header)
	}{
		{"another origin domain fails", func(h *signed.Header) { h.OriginDomain = "n2.example.mesh" }},
		{"a longer TTL fails", func(h *signed.Header) { h.TTL += time.Second }},
		{"a later creation time fails", func(h *signed.Header) { h.Created = h.Created.Add(time.Millisecond) }},
		{"an earlier creation time fails", func(h *signed.Header) { h.Created = h.Created.Add(-time.Second) }},
		{"more max hops fail", func(h *signed.Header) { h.MaxHops++ }},
		{"fewer max hops fail", func(h *signed.Header) { h.MaxHops-- }},
		{"another origin key fails", func(h *signed.Header) { h.OriginKey = OtherKey.Public().(ed25519.PublicKey) }},
		{"a flipped signature bit fails", func(h *signed.Header) {
			h.Signature = append([]byte(nil), h.Signature...)
			h.Signature[0] ^= 1
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := f.Sample(t, f.Sizes[0])
			c.tamper(f.Header(m))
			if err := f.Verify(m, f.Now); !errors.Is(err, signed.ErrBadSignature) {
				t.Errorf("Verify = %v, want ErrBadSignature", err)
			}
		})
	}
}

func forged[M any](t *testing.T, f Format[M]) {
	m := f.Sample(t, f.Sizes[0])
	h := f.Header(m)
	h.OriginDomain = "n2.example.mesh"
	h.Signature = ed25519.Sign(OtherKey, f.SignedBytes(m))
	if err := f.Verify(m, f.Now); !errors.Is(err, signed.ErrBadSignature) {
		t.Errorf("a changed message signed by a non-origin under the origin's key: Verify = %v, want ErrBadSignature", err)
	}
}

func roundTrip[M any](t *testing.T, f Format[M]) {
	for _, n := range f.Sizes {
		m := f.Sample(t, n)
		for range 3 {
			var err error
			if m, err = f.Forwarded(m); err != nil {
				t.Fatal(err)
			}
		}
		b := Marshal(t, f, m)
		if len(b) > f.MaxEncoded {
			t.Fatalf("%d bytes: Marshal wrote %d bytes, more than MaxEncoded", n, len(b))
		}
		got, err := f.Unmarshal(b)
		if err != nil {
			t.Fatalf("%d bytes: Unmarshal: %v", n, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("%d bytes: read back\n%+v\nwant\n%+v", n, got, m)
		}
		if f.ID(got) != f.ID(m) {
			t.Errorf("%d bytes: the id changed on disk", n)
		}
		if err := f.Verify(got, f.Now); err != nil {
			t.Errorf("%d bytes: Verify after Unmarshal: %v", n, err)
		}
	}
}

func notShared[M any](t *testing.T, f Format[M]) {
	b := Marshal(t, f, f.Sample(t, f.Sizes[0]))
	got, err := f.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if err := f.Verify(got, f.Now); err != nil {
		t.Errorf("clearing the input broke the decoded message: %v", err)
	}
}

func uncarriable[M any](t *testing.T, f Format[M]) {
	cases := []struct {
		name   string
		change func(*signed.Header)
	}{
		{"a TTL of a fraction of a second is refused", func(h *signed.Header) { h.TTL = 1500 * time.Millisecond }},
		{"a negative TTL is refused", func(h *signed.Header) { h.TTL = -time.Second }},
		{"a TTL over 2^32-1 seconds is refused", func(h *signed.Header) { h.TTL = (1 << 32) * time.Second }},
		{"a creation time finer than a millisecond is refused", func(h *signed.Header) { h.Created = h.Created.Add(time.Nanosecond) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := f.Sample(t, f.Sizes[0])
			c.change(f.Header(m))
			if b, err := f.Marshal(m); !errors.Is(err, signed.ErrMalformed) {
				t.Errorf("Marshal = %d bytes, %v; want ErrMalformed", len(b), err)
			}
		})
	}
}

func truncations[M any](t *testing.T, f Format[M]) {
	b := Marshal(t, f, f.Sample(t, f.Sizes[0]))
	for n := range len(b) {
		m, err := f.Unmarshal(b[:n])
		if !errors.Is(err, signed.ErrMalformed) {
			t.Fatalf("the first %d of %d bytes: Unmarshal = %+v, %v; want ErrMalformed", n, len(b), m, err)
		}
	}
}

func malformed[M any](t *testing.T, f Format[M]) {
	good := Marshal(t, f, f.Sample(t, f.Sizes[0]))
	cases := []struct {
		name string
		b    []byte
	}{
		{"nothing is malformed", nil},
		{"trailing bytes are malformed", append(append([]byte(nil), good...), make([]byte, 8)...)},
		{"input over MaxEncoded is malformed", make([]byte, f.MaxEncoded+1)},
		{"more than 16 segments are malformed", InSegments(good, capnpmsg.MaxSegments+1)},
		{"a segment count that overflows is malformed", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}},
		{"an empty segment with no root is malformed", []byte{0, 0, 0, 0, 0, 0, 0, 0}},
		{"a null root pointer is malformed", []byte{0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"a list as root is malformed", []byte{0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0}},
		{"a root pointer out of the segment is malformed", []byte{0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 2, 0, 4, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := f.Unmarshal(c.b)
			if !errors.Is(err, signed.ErrMalformed) {
				t.Errorf("Unmarshal = %+v, %v; want ErrMalformed", m, err)
			}
		})
	}
}

func segments[M any](t *testing.T, f Format[M]) {
	m := f.Sample(t, f.Sizes[0])
	got, err := f.Unmarshal(InSegments(Marshal(t, f, m), capnpmsg.MaxSegments))
	if err != nil {
		t.Fatalf("Unmarshal of %d segments: %v", capnpmsg.MaxSegments, err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, m)
	}
	// A large variable part goes to another segment, reached by a far
	// pointer, as another implementation might write it.
	big := f.Sample(t, f.Sizes[len(f.Sizes)-1])
	b := f.MultiSegment(t, big)
	if len(b) < 4 || binary.LittleEndian.Uint32(b) == 0 {
		t.Fatal("MultiSegment wrote one segment; the test needs more")
	}
	if got, err = f.Unmarshal(b); err != nil {
		t.Fatalf("Unmarshal of a multi-segment message: %v", err)
	}
	if !reflect.DeepEqual(got, big) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, big)
	}
}

// InSegments returns the single-segment message b with n-1 empty segments
// added after its own: still the same message, only its framing differs.
func InSegments(b []byte, n int) []byte {
	seg := b[8:]
	out := make([]byte, (4+4*n+7)&^7, (4+4*n+7)&^7+len(seg))
	binary.LittleEndian.PutUint32(out, uint32(n-1))
	binary.LittleEndian.PutUint32(out[4:], uint32(len(seg)/8))
	return append(out, seg...)
}

// Seeds returns encodings for a format's FuzzUnmarshal corpus: messages of
// each size, one sent on, one of a newer version, one without a signature,
// an empty one, and one in several segments.
func Seeds[M any](t testing.TB, f Format[M], empty M) [][]byte {
	hopped, err := f.Forwarded(f.Sample(t, f.Sizes[0]))
	if err != nil {
		t.Fatal(err)
	}
	newer := f.Sample(t, f.Sizes[0])
	f.Header(newer).Version++
	unsigned := f.Sample(t, f.Sizes[0])
	f.Header(unsigned).Signature = nil
	var out [][]byte
	for _, n := range f.Sizes {
		out = append(out, Marshal(t, f, f.Sample(t, n)))
	}
	for _, m := range []M{hopped, newer, unsigned, empty} {
		out = append(out, Marshal(t, f, m))
	}
	return append(out, f.MultiSegment(t, f.Sample(t, f.Sizes[len(f.Sizes)-1])))
}

// FuzzUnmarshal is the body of a format's FuzzUnmarshal: Unmarshal may
// reject b, only with ErrMalformed, and never panics; whatever it accepts
// must pass through Verify without panicking and marshal again to the same
// message with the same id.
func FuzzUnmarshal[M any](t *testing.T, f Format[M], b []byte) {
	m, err := f.Unmarshal(b)
	if err != nil {
		if !errors.Is(err, signed.ErrMalformed) {
			t.Fatalf("Unmarshal failed with %v, not ErrMalformed", err)
		}
		return
	}
	_ = f.Verify(m, f.Now)
	id := f.ID(m)
	again, err := f.Marshal(m)
	if err != nil {
		t.Fatalf("a decoded message does not marshal again: %v", err)
	}
	back, err := f.Unmarshal(again)
	if err != nil {
		t.Fatalf("a re-marshalled message does not decode: %v", err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("the re-marshalled message differs:\n%+v\n%+v", back, m)
	}
	if f.ID(back) != id {
		t.Fatal("the id changed through Marshal and Unmarshal")
	}
}
