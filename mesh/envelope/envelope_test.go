package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/schemas"
)

// The suite's fixed keys and times, under the names the tests use.
var (
	originKey = signedtest.OriginKey
	otherKey  = signedtest.OtherKey
	created   = signedtest.Created
	now       = signedtest.Now
)

const (
	testRecipient = "carol@n3.example.mesh"
	testOrigin    = signedtest.Origin
	testTTL       = signedtest.TTL
	testMaxHops   = signedtest.MaxHops
)

// sample returns an envelope from originKey to carol with a payload of n
// bytes.
func sample(t testing.TB, n int) *Envelope {
	t.Helper()
	e, err := Sign(originKey, testOrigin, testRecipient, signedtest.Filler(n), created, testTTL, testMaxHops)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return e
}

// TestSignMakesTheEnvelopeAsked checks what Sign makes; that it
// verifies is the shared checks' business.
func TestSignMakesTheEnvelopeAsked(t *testing.T) {
	e := sample(t, 1024)
	want := Envelope{
		Header:    e.Header, // the shared checks check it
		Recipient: testRecipient,
		Payload:   signedtest.Filler(1024),
	}
	if !reflect.DeepEqual(*e, want) {
		t.Errorf("Sign made\n%+v\nwant\n%+v", *e, want)
	}
	if got := e.Domain(); got != "n3.example.mesh" {
		t.Errorf("Domain = %q, want n3.example.mesh", got)
	}
}

func TestSignCopiesThePayload(t *testing.T) {
	p := []byte("sealed")
	e, err := Sign(originKey, testOrigin, testRecipient, p, created, testTTL, testMaxHops)
	if err != nil {
		t.Fatal(err)
	}
	p[0] = 'S'
	if err := e.Verify(now); err != nil {
		t.Errorf("changing the caller's buffer after Sign broke the envelope: %v", err)
	}
}

func TestSignRefusesWhatVerifyWouldReject(t *testing.T) {
	cases := []struct {
		name      string
		key       ed25519.PrivateKey
		recipient string
		payload   []byte
		ttl       time.Duration
		maxHops   uint8
		want      error
	}{
		{"a truncated private key is refused", originKey[:32], testRecipient, []byte("x"), testTTL, 8, signed.ErrOriginKey},
		{"a recipient without a domain is refused", originKey, "carol", []byte("x"), testTTL, 8, ErrRecipient},
		{"an empty payload is refused", originKey, testRecipient, nil, testTTL, 8, ErrPayload},
		{"a payload over the limit is refused", originKey, testRecipient, make([]byte, MaxPayload+1), testTTL, 8, ErrPayload},
		{"a zero TTL is refused", originKey, testRecipient, []byte("x"), 0, 8, signed.ErrTTL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Sign(c.key, testOrigin, c.recipient, c.payload, created, c.ttl, c.maxHops)
			if !errors.Is(err, c.want) {
				t.Fatalf("Sign = %v, %v; want %v", e, err, c.want)
			}
		})
	}
}

// parseSigned reads SignedBytes by the table in the package documentation,
// independently of the code that writes it.
func parseSigned(t *testing.T, b []byte) *Envelope {
	t.Helper()
	fail := func(what string) *Envelope {
		t.Fatalf("SignedBytes does not follow the documented layout: %s in % x", what, b)
		return nil
	}
	if len(b) < 51 || string(b[:21]) != "qpc mesh envelope v1\x00" {
		return fail("prefix")
	}
	e := &Envelope{
		Header: signed.Header{
			Version: b[21],
			MaxHops: b[22],
			TTL:     time.Duration(binary.BigEndian.Uint32(b[23:27])) * time.Second,
			Created: time.UnixMilli(int64(binary.BigEndian.Uint64(b[27:35]))).UTC(),
		},
	}
	rest := b[35:]
	field := func() []byte {
		if len(rest) < 4 {
			fail("length")
		}
		n := binary.BigEndian.Uint32(rest)
		if uint64(len(rest)-4) < uint64(n) {
			fail("field")
		}
		f := rest[4 : 4+n]
		rest = rest[4+n:]
		return f
	}
	e.OriginKey = field()
	e.Recipient = string(field())
	e.OriginDomain = string(field())
	e.Payload = field()
	if len(rest) != 0 {
		return fail("trailing bytes")
	}
	return e
}

func TestSignedBytesFollowTheDocumentedLayout(t *testing.T) {
	e := sample(t, 100)
	b := e.SignedBytes()
	if got, want := len(b), 51+32+len(testRecipient)+len(testOrigin)+100; got != want {
		t.Errorf("len(SignedBytes) = %d, want %d", got, want)
	}
	got := parseSigned(t, b)
	want := *e
	want.Signature, want.Hops = nil, 0
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("SignedBytes read back as\n%+v\nwant\n%+v", *got, want)
	}
}

func TestIDIsSHA256OfTheSignedBytes(t *testing.T) {
	for _, n := range []int{1, 1000, 100_000} {
		e := sample(t, n)
		if got, want := e.ID(), sha256.Sum256(e.SignedBytes()); got != want {
			t.Errorf("payload of %d bytes: ID = %x, want %x", n, got, want)
		}
	}
}

func TestTamperedSignedFieldsFailTheSignature(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(*Envelope)
	}{
		{"a flipped payload bit fails", func(e *Envelope) { e.Payload[10] ^= 1 }},
		{"a longer payload fails", func(e *Envelope) { e.Payload = append(e.Payload, 0) }},
		{"another recipient fails", func(e *Envelope) { e.Recipient = "dave@n3.example.mesh" }},
		{"another recipient domain fails", func(e *Envelope) { e.Recipient = "carol@n4.example.mesh" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := sample(t, 64)
			c.tamper(e)
			if err := e.Verify(now); !errors.Is(err, signed.ErrBadSignature) {
				t.Errorf("Verify = %v, want signed.ErrBadSignature", err)
			}
		})
	}
}

func TestAnEnvelopeReSignedByAnotherNodeIsNotTheOrigins(t *testing.T) {
	orig := sample(t, 64)

	// A node that changes the payload and signs it honestly under its own
	// key makes it its own envelope: valid, but with another origin and
	// another id, so it never passes for (or deduplicates against) the
	// original. (Signing it under the origin's key is a forgery: see the
	// shared checks.)
	resigned, err := Sign(otherKey, orig.OriginDomain, orig.Recipient, []byte("replaced by a forwarder"), orig.Created, orig.TTL, orig.MaxHops)
	if err != nil {
		t.Fatal(err)
	}
	if err := resigned.Verify(now); err != nil {
		t.Fatalf("Verify of the re-signed envelope: %v", err)
	}
	if resigned.OriginID() == orig.OriginID() {
		t.Error("the re-signed envelope claims the original origin")
	}
	if resigned.OriginID() != identity.NodeID(otherKey.Public().(ed25519.PublicKey)) {
		t.Error("the re-signed envelope does not name its signer as origin")
	}
	if resigned.ID() == orig.ID() {
		t.Error("the re-signed envelope has the original's id")
	}

	// Even the same payload re-signed by another node is a different
	// envelope.
	same, err := Sign(otherKey, orig.OriginDomain, orig.Recipient, orig.Payload, orig.Created, orig.TTL, orig.MaxHops)
	if err != nil {
		t.Fatal(err)
	}
	if same.ID() == orig.ID() {
		t.Error("an identical envelope from another origin has the same id")
	}
}

// format describes envelopes to the suite that every signed mesh message
// passes.
var format = signedtest.Format[*Envelope]{
	Now:          now,
	Sample:       sample,
	Sizes:        []int{64, 1024, MaxPayload},
	Header:       func(e *Envelope) *signed.Header { return &e.Header },
	Verify:       (*Envelope).Verify,
	SignedBytes:  (*Envelope).SignedBytes,
	Forwarded:    (*Envelope).Forwarded,
	ID:           (*Envelope).ID,
	Marshal:      Marshal,
	Unmarshal:    Unmarshal,
	MaxEncoded:   MaxEncoded,
	MultiSegment: multiSegment,
}

func TestTheChecksEverySignedMessagePasses(t *testing.T) { signedtest.Run(t, format) }

// multiSegment encodes e as a writer that grows its message in segments
// does.
func multiSegment(t testing.TB, e *Envelope) []byte {
	w := signedtest.NewWire(t, capnp.MultiSegment(nil), schemas.NewRootMeshEnvelope)
	if err := ToWire(e, w); err != nil {
		t.Fatal(err)
	}
	return signedtest.Encode(t, w.Message())
}

func TestDomainOfARecipientWithoutAt(t *testing.T) {
	e := &Envelope{Recipient: "carol"}
	if d := e.Domain(); d != "" {
		t.Errorf("Domain = %q, want empty", d)
	}
}
