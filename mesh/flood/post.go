package flood

import (
	"crypto/ed25519"
	"crypto/sha256"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/protocol"
)

// Version is the post format this build makes and reads.
const Version = 1

// Bounds of a post's body; Sign and Verify refuse anything outside them.
// Its hops, TTL and clock are bounded as every signed mesh message's are
// (signed.MaxHopsLimit, signed.MaxTTL, signed.MaxClockSkew).
const (
	// Quantum divides every body size: clients pad bodies to a multiple of
	// it, so that a body's size tells nodes little about the text.
	Quantum = 256
	// MaxBody is the largest body. Every post is flooded to every node, so
	// posts stay small; longer texts are for direct messages.
	MaxBody = 8192
	// MaxEncoded is the most bytes Unmarshal takes: a maximal body plus room
	// for the other fields and the framing, which need less than 1 KiB even
	// split into MaxSegments segments.
	MaxEncoded = MaxBody + 1<<10
)

// prefix starts SignedBytes, idPrefix what ID hashes; see the package
// documentation.
const (
	prefix   = "qpc channel post v1\x00"
	idPrefix = "qpc channel post id v1\x00"
)

// Post is a channel post on its way across the mesh, as the origin node
// signed it plus the hop count that relays raise. Its byte slices are not
// meant to be modified once signed: Forwarded shares them.
type Post struct {
	// Header is the origin's part: version, origin key and domain,
	// creation time, TTL, hop counts and signature.
	signed.Header
	// Channel is the id of the channel the post belongs to.
	Channel protocol.ChannelID
	// Body is the encrypted post, opaque to nodes.
	Body []byte
}

// Sign makes a post to channel from the node key of the node serving
// originDomain, with hop count 0, and signs it. created is cut to the
// millisecond (what the wire carries); ttl must be whole seconds. Sign
// applies the field checks of Verify (not the clock checks, which are the
// receiver's) and returns their errors. The post holds a copy of body.
func Sign(key ed25519.PrivateKey, originDomain string, channel protocol.ChannelID, body []byte, created time.Time, ttl time.Duration, maxHops uint8) (*Post, error) {
	return signed.Sign(&rules, key, originDomain, created, ttl, maxHops, func(h signed.Header) *Post {
		return &Post{Header: h, Channel: channel, Body: append([]byte(nil), body...)}
	})
}

// SignedBytes returns the bytes the origin signs: every field but Hops and
// Signature, in the layout of the package documentation.
func (p *Post) SignedBytes() []byte {
	n := signed.SignedLen(prefix, len(p.OriginKey)) + 4 + len(p.OriginDomain) + len(p.Channel) + 4 + len(p.Body)
	b := p.AppendSigned(make([]byte, 0, n), prefix)
	b = signed.AppendField(b, p.OriginDomain)
	b = append(b, p.Channel[:]...)
	return signed.AppendField(b, p.Body)
}

// ID returns the post's id: SHA-256 over the channel and the body, not
// over the origin's fields, so that a replay of the body by any origin is
// a duplicate. It is the same at every hop.
func (p *Post) ID() protocol.PostID {
	h := sha256.New()
	var head [len(idPrefix) + len(protocol.ChannelID{})]byte
	copy(head[copy(head[:], idPrefix):], p.Channel[:])
	h.Write(head[:])
	h.Write(p.Body)
	var id protocol.PostID
	h.Sum(id[:0])
	return id
}

// Forwarded returns a copy of p with the hop count raised by one, as the
// next hop receives it, or signed.ErrHopLimit if that would exceed
// MaxHops. The copy shares p's byte slices.
func (p *Post) Forwarded() (*Post, error) { return signed.Forwarded(p) }
