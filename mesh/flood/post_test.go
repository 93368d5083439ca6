package flood

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/protocol"
)

// Two channels, and the suite's fixed keys and times under the names the
// tests use.
var (
	testChannel  = protocol.ChannelID(bytes.Repeat([]byte{0xc1}, 32))
	otherChannel = protocol.ChannelID(bytes.Repeat([]byte{0xc2}, 32))
	originKey    = signedtest.OriginKey
	otherKey     = signedtest.OtherKey
	created      = signedtest.Created
	now          = signedtest.Now
)

const (
	testOrigin  = signedtest.Origin
	testTTL     = signedtest.TTL
	testMaxHops = signedtest.MaxHops
)

// sample returns a message of the suite's fixtures with n bytes of body.
func sample(t testing.TB, n int) *Post { return format.Sample(t, n) }

// TestSignMakesThePostAsked checks what Sign makes; that it
// verifies is the shared checks' business.
func TestSignMakesThePostAsked(t *testing.T) {
	p := sample(t, 1024)
	want := Post{
		Header:  p.Header, // the shared checks check it
		Channel: testChannel,
		Body:    signedtest.Filler(1024),
	}
	if !reflect.DeepEqual(*p, want) {
		t.Errorf("Sign made\n%+v\nwant\n%+v", *p, want)
	}
}

func TestSignCopiesTheBody(t *testing.T) {
	b := signedtest.Filler(Quantum)
	p, err := Sign(originKey, testOrigin, testChannel, b, created, testTTL, testMaxHops)
	if err != nil {
		t.Fatal(err)
	}
	b[0]++
	if err := p.Verify(now); err != nil {
		t.Errorf("changing the caller's buffer after Sign broke the post: %v", err)
	}
}

func TestSignRefusesABodyOfTheWrongSize(t *testing.T) {
	for _, n := range []int{0, 1, Quantum - 1, Quantum + 1, MaxBody + Quantum} {
		if _, err := Sign(originKey, testOrigin, testChannel, signedtest.Filler(n), created, testTTL, testMaxHops); !errors.Is(err, ErrBody) {
			t.Errorf("a body of %d bytes: error %v, want ErrBody", n, err)
		}
	}
}

// parseSigned reads SignedBytes by the table in the package documentation,
// independently of the code that writes it.
func parseSigned(t *testing.T, b []byte) *Post {
	t.Helper()
	r, h := signedtest.ReadSigned(t, b, "qpc channel post v1\x00")
	p := &Post{Header: h}
	p.OriginDomain = string(r.Field("origin domain"))
	p.Channel = protocol.ChannelID(r.Fixed(32, "channel"))
	p.Body = r.Field("body")
	r.End()
	return p
}

func TestSignedBytesFollowTheDocumentedLayout(t *testing.T) {
	p := sample(t, 512)
	b := p.SignedBytes()
	if got, want := len(b), 78+32+len(testOrigin)+512; got != want {
		t.Errorf("len(SignedBytes) = %d, want %d", got, want)
	}
	got := parseSigned(t, b)
	want := *p
	want.Signature, want.Hops = nil, 0
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("SignedBytes read back as\n%+v\nwant\n%+v", *got, want)
	}
}

// idOf computes the documented id independently of ID.
func idOf(channel protocol.ChannelID, body []byte) protocol.PostID {
	b := append([]byte("qpc channel post id v1\x00"), channel[:]...)
	return sha256.Sum256(append(b, body...))
}

func TestIDIsSHA256OfTheChannelAndTheBody(t *testing.T) {
	for _, n := range []int{Quantum, 1024, MaxBody} {
		p := sample(t, n)
		if got, want := p.ID(), idOf(testChannel, p.Body); got != want {
			t.Errorf("body of %d bytes: ID = %x, want %x", n, got, want)
		}
	}
}

func TestIDNamesTheBodyInItsChannelWhoeverWrapsIt(t *testing.T) {
	p := sample(t, Quantum)
	// Another node wraps the same body again, later, with other limits: a
	// replay, so the same post.
	replay, err := Sign(otherKey, "n2.example.mesh", testChannel, p.Body, created.Add(time.Hour), time.Hour, 2)
	if err != nil {
		t.Fatal(err)
	}
	if replay.OriginID() == p.OriginID() {
		t.Fatal("the test's two origins are one")
	}
	if replay.ID() != p.ID() {
		t.Error("the same channel and body from another origin have another id")
	}
	otherBody := signedtest.Filler(Quantum)
	otherBody[Quantum-1]++
	different, err := Sign(originKey, testOrigin, testChannel, otherBody, created, testTTL, testMaxHops)
	if err != nil {
		t.Fatal(err)
	}
	if different.ID() == p.ID() {
		t.Error("another body has the same id")
	}
	elsewhere, err := Sign(originKey, testOrigin, otherChannel, p.Body, created, testTTL, testMaxHops)
	if err != nil {
		t.Fatal(err)
	}
	if elsewhere.ID() == p.ID() {
		t.Error("the same body in another channel has the same id")
	}
}

func TestTamperedSignedFieldsFailTheSignature(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(*Post)
	}{
		{"a flipped body bit fails", func(p *Post) { p.Body[10] ^= 1 }},
		{"a body a quantum longer fails", func(p *Post) { p.Body = append(p.Body, make([]byte, Quantum)...) }},
		{"another channel fails", func(p *Post) { p.Channel = otherChannel }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := sample(t, Quantum)
			c.tamper(p)
			if err := p.Verify(now); !errors.Is(err, signed.ErrBadSignature) {
				t.Errorf("Verify = %v, want signed.ErrBadSignature", err)
			}
		})
	}
}

func TestAPostReSignedByAnotherNodeIsNotTheOrigins(t *testing.T) {
	orig := sample(t, Quantum)

	// Wrapping the same body honestly under its own key (not under the
	// origin's, a forgery: see the shared checks) makes it that node's post: valid, with that node as origin (whom rate limits
	// count), but the same id, so nodes that have the original drop it.
	resigned, err := Sign(otherKey, "n2.example.mesh", orig.Channel, orig.Body, orig.Created, orig.TTL, orig.MaxHops)
	if err != nil {
		t.Fatal(err)
	}
	if err := resigned.Verify(now); err != nil {
		t.Fatalf("Verify of the re-signed post: %v", err)
	}
	if resigned.OriginID() != identity.NodeID(otherKey.Public().(ed25519.PublicKey)) {
		t.Error("the re-signed post does not name its signer as origin")
	}
	if resigned.ID() != orig.ID() {
		t.Error("the re-signed post is not a duplicate of the original")
	}
}

// format describes posts to the suite that every signed mesh message
// passes.
var format = signedtest.Format[*Post]{
	Now: now,
	Sign: func(key ed25519.PrivateKey, origin string, body []byte, created time.Time, ttl time.Duration, maxHops uint8) (*Post, error) {
		return Sign(key, origin, testChannel, body, created, ttl, maxHops)
	},
	Sizes:        []int{Quantum, 1024, MaxBody},
	Header:       func(p *Post) *signed.Header { return &p.Header },
	Verify:       (*Post).Verify,
	SignedBytes:  (*Post).SignedBytes,
	Forwarded:    (*Post).Forwarded,
	ID:           func(p *Post) [32]byte { return p.ID() },
	Marshal:      Marshal,
	Unmarshal:    Unmarshal,
	MaxEncoded:   MaxEncoded,
	MultiSegment: multiSegment,
}

func TestTheChecksEverySignedMessagePasses(t *testing.T) { signedtest.Run(t, format) }
