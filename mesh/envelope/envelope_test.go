package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/protocol"
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

// sample returns a message of the suite's fixtures with n bytes of payload.
func sample(t testing.TB, n int) *Envelope { return format.Sample(t, n) }

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
	if got := e.To(); got != (protocol.Address{User: "carol", Domain: "n3.example.mesh"}) {
		t.Errorf("To = %+v, want carol at n3.example.mesh", got)
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

func TestSignRefusesABadRecipientOrPayload(t *testing.T) {
	if _, err := Sign(originKey, testOrigin, "carol", []byte("x"), created, testTTL, testMaxHops); !errors.Is(err, ErrRecipient) {
		t.Errorf("a recipient without a domain: error %v, want ErrRecipient", err)
	}
	for _, n := range []int{0, MaxPayload + 1} {
		if _, err := Sign(originKey, testOrigin, testRecipient, make([]byte, n), created, testTTL, testMaxHops); !errors.Is(err, ErrPayload) {
			t.Errorf("a payload of %d bytes: error %v, want ErrPayload", n, err)
		}
	}
}

// parseSigned reads SignedBytes by the table in the package documentation,
// independently of the code that writes it.
func parseSigned(t *testing.T, b []byte) *Envelope {
	t.Helper()
	r, h := signedtest.ReadSigned(t, b, "qpc mesh envelope v1\x00")
	e := &Envelope{Header: h}
	e.Recipient = string(r.Field("recipient"))
	e.OriginDomain = string(r.Field("origin domain"))
	e.Payload = r.Field("payload")
	r.End()
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
	Now: now,
	Sign: func(key ed25519.PrivateKey, origin string, body []byte, created time.Time, ttl time.Duration, maxHops uint8) (*Envelope, error) {
		return Sign(key, origin, testRecipient, body, created, ttl, maxHops)
	},
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

func TestToOfARecipientThatIsNoAddressIsZero(t *testing.T) {
	for _, r := range []string{"carol", "carol@", "Carol@n3.example.mesh@x", "carol@10.0.0.1"} {
		e := &Envelope{Recipient: r}
		if a := e.To(); a != (protocol.Address{}) {
			t.Errorf("To of %q = %+v, want the zero Address", r, a)
		}
	}
}
