package flood

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/protocol"
)

// Two channels, and the suite's clock under the names the tests use.
var (
	testChannel  = protocol.ChannelID(bytes.Repeat([]byte{0xc1}, 32))
	otherChannel = protocol.ChannelID(bytes.Repeat([]byte{0xc2}, 32))
	created, now = signedtest.Created, signedtest.Now
)

// sample returns a message of the suite's fixtures with n bytes of body.
func sample(t testing.TB, n int) *Post { return format.Sample(t, n) }

// format describes posts to the suite that every signed mesh message
// passes; the checks of the post's own fields are listed in it (Bad in
// verify_test.go, Tampered here).
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

	Kind:          "post",
	Body:          func(p *Post) []byte { return p.Body },
	Own:           []error{ErrBody},
	Bad:           badBodies,
	IDOmitsOrigin: true,
	ParseSigned:   parseSigned,
	Wire:          wire,
	Tampered: []signedtest.Change[*Post]{
		{Name: "a flipped body bit fails", Change: func(p *Post) { p.Body[10] ^= 1 }},
		{Name: "a body a quantum longer fails", Change: func(p *Post) { p.Body = append(p.Body, make([]byte, Quantum)...) }},
		{Name: "another channel fails", Change: func(p *Post) { p.Channel = otherChannel }},
	},
}

func TestTheChecksEverySignedMessagePasses(t *testing.T) { signedtest.Run(t, format) }

// TestSignPostsToTheChannelAsked checks the field of its own that Sign
// fills; the header and body are the suite's business.
func TestSignPostsToTheChannelAsked(t *testing.T) {
	if p := sample(t, 1024); p.Channel != testChannel {
		t.Errorf("Channel = %x, want %x", p.Channel, testChannel)
	}
}

func TestSignRefusesABodyOfTheWrongSize(t *testing.T) {
	for _, n := range []int{0, 1, Quantum - 1, Quantum + 1, MaxBody + Quantum} {
		if _, err := Sign(signedtest.OriginKey, signedtest.Origin, testChannel, signedtest.Filler(n), created, signedtest.TTL, signedtest.MaxHops); !errors.Is(err, ErrBody) {
			t.Errorf("a body of %d bytes: error %v, want ErrBody", n, err)
		}
	}
}

// parseSigned reads SignedBytes by the table in the package documentation,
// independently of the code that writes it.
func parseSigned(t testing.TB, b []byte) *Post {
	t.Helper()
	r, h := signedtest.ReadSigned(t, b, "qpc channel post v1\x00")
	h.OriginDomain = string(r.Field("origin domain"))
	p := &Post{Header: h, Channel: protocol.ChannelID(r.Fixed(32, "channel")), Body: r.Field("body")}
	r.End()
	return p
}

func TestSignedBytesHaveTheDocumentedLength(t *testing.T) {
	if n := len(sample(t, 512).SignedBytes()); n != 78+32+len(signedtest.Origin)+512 {
		t.Errorf("len(SignedBytes) = %d, want %d", n, 78+32+len(signedtest.Origin)+512)
	}
}
