package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/protocol"
)

// The suite's clock, under the names the tests use.
var created, now = signedtest.Created, signedtest.Now

const testRecipient = "carol@n3.example.mesh"

// sample returns a message of the suite's fixtures with n bytes of payload.
func sample(t testing.TB, n int) *Envelope { return format.Sample(t, n) }

// format describes envelopes to the suite that every signed mesh message
// passes; the checks of the envelope's own fields are listed in it (Bad
// in verify_test.go, Tampered here).
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

	Kind:        "envelope",
	Body:        func(e *Envelope) []byte { return e.Payload },
	Own:         []error{ErrRecipient, ErrPayload},
	Bad:         badFields,
	Tampered:    tampered,
	ParseSigned: parseSigned,
	Wire:        wire,
}

// tampered change the envelope's own signed fields.
var tampered = []signedtest.Change[*Envelope]{
	{Name: "a flipped payload bit fails", Change: func(e *Envelope) { e.Payload[10] ^= 1 }},
	{Name: "a longer payload fails", Change: func(e *Envelope) { e.Payload = append(e.Payload, 0) }},
	{Name: "another recipient fails", Change: func(e *Envelope) { e.Recipient = "dave@n3.example.mesh" }},
	{Name: "another recipient domain fails", Change: func(e *Envelope) { e.Recipient = "carol@n4.example.mesh" }},
}

func TestTheChecksEverySignedMessagePasses(t *testing.T) { signedtest.Run(t, format) }

// TestSignAddressesTheEnvelopeAsked checks the field of its own that Sign
// fills; the header and payload are the suite's business.
func TestSignAddressesTheEnvelopeAsked(t *testing.T) {
	e := sample(t, 1024)
	if e.Recipient != testRecipient {
		t.Errorf("Recipient = %q, want %q", e.Recipient, testRecipient)
	}
	if got := e.To(); got != (protocol.Address{User: "carol", Domain: "n3.example.mesh"}) {
		t.Errorf("To = %+v, want carol at n3.example.mesh", got)
	}
}

// parseSigned reads SignedBytes by the table in the package documentation,
// independently of the code that writes it.
func parseSigned(t testing.TB, b []byte) *Envelope {
	t.Helper()
	r, h := signedtest.ReadSigned(t, b, "qpc mesh envelope v1\x00")
	e := &Envelope{Header: h, Recipient: string(r.Field("recipient"))}
	e.OriginDomain = string(r.Field("origin domain"))
	e.Payload = r.Field("payload")
	r.End()
	return e
}

func TestSignedBytesHaveTheDocumentedLength(t *testing.T) {
	e := sample(t, 100)
	if got, want := len(e.SignedBytes()), 51+32+len(testRecipient)+len(signedtest.Origin)+100; got != want {
		t.Errorf("len(SignedBytes) = %d, want %d", got, want)
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

// TestAChangedPayloadReSignedIsAnotherEnvelope: a node that changes the
// payload and signs it honestly makes its own envelope, valid but never
// passing for (or deduplicating against) the original. The same payload
// re-signed is the suite's business.
func TestAChangedPayloadReSignedIsAnotherEnvelope(t *testing.T) {
	orig := sample(t, 64)
	resigned, err := Sign(signedtest.OtherKey, orig.OriginDomain, orig.Recipient, []byte("replaced by a forwarder"), orig.Created, orig.TTL, orig.MaxHops)
	if err != nil {
		t.Fatal(err)
	}
	if err := resigned.Verify(now); err != nil || resigned.OriginID() == orig.OriginID() || resigned.ID() == orig.ID() {
		t.Errorf("the re-signed envelope: Verify %v, origin %s (original %s), same id %v", err, resigned.OriginID(), orig.OriginID(), resigned.ID() == orig.ID())
	}
}

func TestToOfARecipientThatIsNoAddressIsZero(t *testing.T) {
	for _, r := range []string{"carol", "carol@", "Carol@n3.example.mesh@x", "carol@10.0.0.1"} {
		e := &Envelope{Recipient: r}
		if a := e.To(); a != (protocol.Address{}) {
			t.Errorf("To of %q = %+v, want the zero Address", r, a)
		}
	}
}
