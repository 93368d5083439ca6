package flood

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/node"
)

// Two channels, and the suite's fixed keys and times under the names the
// tests use.
var (
	testChannel  = node.ChannelID(bytes.Repeat([]byte{0xc1}, 32))
	otherChannel = node.ChannelID(bytes.Repeat([]byte{0xc2}, 32))
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

// sample returns a post from originKey to testChannel with a body of n
// bytes.
func sample(t testing.TB, n int) *Post {
	t.Helper()
	p, err := Sign(originKey, testOrigin, testChannel, signedtest.Filler(n), created, testTTL, testMaxHops)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return p
}

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

func TestSignRefusesWhatVerifyWouldReject(t *testing.T) {
	cases := []struct {
		name    string
		key     ed25519.PrivateKey
		origin  string
		body    []byte
		ttl     time.Duration
		maxHops uint8
		want    error
	}{
		{"a truncated private key is refused", originKey[:32], testOrigin, signedtest.Filler(Quantum), testTTL, 8, signed.ErrOriginKey},
		{"an origin domain with uppercase letters is refused", originKey, "N1.example.mesh", signedtest.Filler(Quantum), testTTL, 8, signed.ErrOriginDomain},
		{"an empty body is refused", originKey, testOrigin, nil, testTTL, 8, ErrBody},
		{"a body of one byte less than a quantum is refused", originKey, testOrigin, signedtest.Filler(Quantum - 1), testTTL, 8, ErrBody},
		{"a body of one byte more than a quantum is refused", originKey, testOrigin, signedtest.Filler(Quantum + 1), testTTL, 8, ErrBody},
		{"a body of a quantum over MaxBody is refused", originKey, testOrigin, signedtest.Filler(MaxBody + Quantum), testTTL, 8, ErrBody},
		{"a zero TTL is refused", originKey, testOrigin, signedtest.Filler(Quantum), 0, 8, signed.ErrTTL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Sign(c.key, c.origin, testChannel, c.body, created, c.ttl, c.maxHops)
			if !errors.Is(err, c.want) {
				t.Fatalf("Sign = %v, %v; want %v", p, err, c.want)
			}
		})
	}
}

// parseSigned reads SignedBytes by the table in the package documentation,
// independently of the code that writes it.
func parseSigned(t *testing.T, b []byte) *Post {
	t.Helper()
	fail := func(what string) *Post {
		t.Fatalf("SignedBytes does not follow the documented layout: %s in % x", what, b)
		return nil
	}
	if len(b) < 78 || string(b[:20]) != "qpc channel post v1\x00" {
		return fail("prefix")
	}
	p := &Post{
		Header: signed.Header{
			Version: b[20],
			MaxHops: b[21],
			TTL:     time.Duration(binary.BigEndian.Uint32(b[22:26])) * time.Second,
			Created: time.UnixMilli(int64(binary.BigEndian.Uint64(b[26:34]))).UTC(),
		},
	}
	rest := b[34:]
	field := func(n uint32, what string) []byte {
		if uint64(len(rest)) < uint64(n) {
			fail(what)
		}
		f := rest[:n]
		rest = rest[n:]
		return f
	}
	length := func() uint32 { return binary.BigEndian.Uint32(field(4, "length")) }
	p.OriginKey = field(length(), "origin key")
	p.OriginDomain = string(field(length(), "origin domain"))
	p.Channel = node.ChannelID(field(32, "channel"))
	p.Body = field(length(), "body")
	if len(rest) != 0 {
		return fail("trailing bytes")
	}
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
func idOf(channel node.ChannelID, body []byte) node.PostID {
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
	Now:          now,
	Sample:       sample,
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
