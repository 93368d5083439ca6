package flood

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

// Version is the post format this build makes and reads.
const Version = 1

// Bounds of a post's fields; Sign and Verify refuse anything outside them.
const (
	// MaxHopsLimit is the largest max hops a post may ask for, as for mesh
	// envelopes: a community mesh that needs more than 32 hops between two
	// nodes is better served by more links.
	MaxHopsLimit = 32
	// MaxTTL is the longest TTL. Posts are kept on routers with little
	// storage, and ids stay in the seen-set until the TTL passes.
	MaxTTL = 30 * 24 * time.Hour
	// MaxClockSkew is how far after the checking node's clock a post may
	// claim to have been created. Routers without a battery-backed clock
	// are often a few minutes off.
	MaxClockSkew = 10 * time.Minute
	// Quantum divides every body size: clients pad bodies to a multiple of
	// it, so that a body's size tells nodes little about the text.
	Quantum = 256
	// MaxBody is the largest body. Every post is flooded to every node, so
	// posts stay small; longer texts are for direct messages.
	MaxBody = 8192
)

// prefix starts SignedBytes, idPrefix what ID hashes; see the package
// documentation.
const (
	prefix   = "qpc channel post v1\x00"
	idPrefix = "qpc channel post id v1\x00"
)

// fixedLen is the size of SignedBytes without its three variable fields.
const fixedLen = len(prefix) + 1 + 1 + 4 + 8 + 4 + 4 + len(protocol.ChannelID{}) + 4

// Post is a channel post on its way across the mesh, as the origin node
// signed it plus the hop count that relays raise. Its byte slices are not
// meant to be modified once signed: Forwarded shares them.
type Post struct {
	// Version is the post format, Version for posts made here.
	Version uint8
	// Channel is the id of the channel the post belongs to.
	Channel protocol.ChannelID
	// OriginKey is the Ed25519 public key of the node that signed it.
	OriginKey ed25519.PublicKey
	// OriginDomain is the domain of the node that signed it.
	OriginDomain string
	// Created is when the origin made the post, to the millisecond.
	Created time.Time
	// TTL is how long after Created the post may be relayed and kept, in
	// whole seconds.
	TTL time.Duration
	// Hops is how often the post has been sent on; it is not signed.
	Hops uint8
	// MaxHops is the most hops the origin allows.
	MaxHops uint8
	// Body is the encrypted post, opaque to nodes.
	Body []byte
	// Signature is the origin key's Ed25519 signature over SignedBytes.
	Signature []byte
}

// Sign makes a post to channel from the node key of the node serving
// originDomain, with hop count 0, and signs it. created is cut to the
// millisecond (what the wire carries); ttl must be whole seconds. Sign
// applies the field checks of Verify (not the clock checks, which are the
// receiver's) and returns their errors. The post holds a copy of body.
func Sign(key ed25519.PrivateKey, originDomain string, channel protocol.ChannelID, body []byte, created time.Time, ttl time.Duration, maxHops uint8) (*Post, error) {
	// ed25519.Sign panics on a key of the wrong size.
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key is %d bytes, want %d", ErrOriginKey, len(key), ed25519.PrivateKeySize)
	}
	p := &Post{
		Version:      Version,
		Channel:      channel,
		OriginKey:    key.Public().(ed25519.PublicKey),
		OriginDomain: originDomain,
		Created:      time.UnixMilli(created.UnixMilli()).UTC(),
		TTL:          ttl,
		MaxHops:      maxHops,
		Body:         append([]byte(nil), body...),
	}
	if err := p.checkFields(); err != nil {
		return nil, err
	}
	p.Signature = ed25519.Sign(key, p.SignedBytes())
	return p, nil
}

// SignedBytes returns the bytes the origin signs: every field but Hops and
// Signature, in the layout of the package documentation.
func (p *Post) SignedBytes() []byte {
	b := make([]byte, 0, fixedLen+len(p.OriginKey)+len(p.OriginDomain)+len(p.Body))
	b = append(b, prefix...)
	b = append(b, p.Version, p.MaxHops)
	// A TTL that is not whole seconds or does not fit fails Verify before
	// the signature is checked, so truncating it here is harmless.
	b = binary.BigEndian.AppendUint32(b, uint32(p.TTL/time.Second))
	b = binary.BigEndian.AppendUint64(b, uint64(p.Created.UnixMilli()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.OriginKey)))
	b = append(b, p.OriginKey...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.OriginDomain)))
	b = append(b, p.OriginDomain...)
	b = append(b, p.Channel[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.Body)))
	b = append(b, p.Body...)
	return b
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

// OriginID returns the node id of the post's origin (see identity.NodeID).
func (p *Post) OriginID() string { return identity.NodeID(p.OriginKey) }

// Expires returns when the post's TTL runs out: from then on it is neither
// relayed nor kept.
func (p *Post) Expires() time.Time { return p.Created.Add(p.TTL) }

// Forwarded returns a copy of p with the hop count raised by one, as the
// next hop receives it, or ErrHopLimit if that would exceed MaxHops. The
// copy shares p's byte slices.
func (p *Post) Forwarded() (*Post, error) {
	if p.Hops >= p.MaxHops {
		return nil, fmt.Errorf("%w: %d of %d hops used", ErrHopLimit, p.Hops, p.MaxHops)
	}
	f := *p
	f.Hops++
	return &f, nil
}
