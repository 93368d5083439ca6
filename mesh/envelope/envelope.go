package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
)

// Version is the envelope format this build makes and reads.
const Version = 1

// Bounds of an envelope's fields; Sign and Verify refuse anything outside
// them.
const (
	// MaxHopsLimit is the largest max hops an envelope may ask for. A
	// community mesh that needs more than 32 hops between two nodes is
	// better served by more links.
	MaxHopsLimit = 32
	// MaxRecipient is the longest recipient: a 64-byte user name, '@' and
	// a 253-byte domain.
	MaxRecipient = 64 + 1 + 253
	// MaxPayload is the largest payload: the node's hard limit on a
	// message, so that anything a node accepts from a client fits.
	MaxPayload = 4 << 20
	// MaxTTL is the longest TTL. Envelopes wait on routers with little
	// storage, and ids stay in the seen-set until the TTL passes.
	MaxTTL = 30 * 24 * time.Hour
	// MaxClockSkew is how far after the checking node's clock an envelope
	// may claim to have been created. Routers without a battery-backed
	// clock are often a few minutes off.
	MaxClockSkew = 10 * time.Minute
)

// prefix starts SignedBytes; see the package documentation.
const prefix = "qpc mesh envelope v1\x00"

// fixedLen is the size of SignedBytes without its three variable fields.
const fixedLen = len(prefix) + 1 + 1 + 4 + 8 + 4 + 4 + 4 + 4

// Envelope is a sealed message on its way across the mesh, as the origin
// node signed it plus the hop count that forwarders raise. Its byte slices
// are not meant to be modified once signed: Forwarded shares them.
type Envelope struct {
	// Version is the envelope format, Version for envelopes made here.
	Version uint8
	// OriginKey is the Ed25519 public key of the node that signed it.
	OriginKey ed25519.PublicKey
	// Recipient is "user@domain".
	Recipient string
	// OriginDomain is the domain of the node that signed it, where reports
	// about it go.
	OriginDomain string
	// Created is when the origin made the envelope, to the millisecond.
	Created time.Time
	// TTL is how long after Created the envelope may be forwarded or
	// delivered, in whole seconds.
	TTL time.Duration
	// Hops is how often the envelope has been forwarded; it is not signed.
	Hops uint8
	// MaxHops is the most hops the origin allows.
	MaxHops uint8
	// Payload is the sealed message, opaque to nodes.
	Payload []byte
	// Signature is the origin key's Ed25519 signature over SignedBytes.
	Signature []byte
}

// Sign makes an envelope from the node key of the node serving
// originDomain for recipient, with hop count 0, and signs it. created is cut to the millisecond (what the wire
// carries); ttl must be whole seconds. Sign applies the field checks of
// Verify (not the clock checks, which are the receiver's) and returns their
// errors. The envelope holds a copy of payload.
func Sign(key ed25519.PrivateKey, originDomain, recipient string, payload []byte, created time.Time, ttl time.Duration, maxHops uint8) (*Envelope, error) {
	// ed25519.Sign panics on a key of the wrong size.
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key is %d bytes, want %d", ErrOriginKey, len(key), ed25519.PrivateKeySize)
	}
	e := &Envelope{
		Version:      Version,
		OriginKey:    key.Public().(ed25519.PublicKey),
		Recipient:    recipient,
		OriginDomain: originDomain,
		Created:      time.UnixMilli(created.UnixMilli()).UTC(),
		TTL:          ttl,
		MaxHops:      maxHops,
		Payload:      append([]byte(nil), payload...),
	}
	if err := e.checkFields(); err != nil {
		return nil, err
	}
	e.Signature = ed25519.Sign(key, e.SignedBytes())
	return e, nil
}

// SignedBytes returns the bytes the origin signs: every field but Hops and
// Signature, in the layout of the package documentation.
func (e *Envelope) SignedBytes() []byte {
	b := make([]byte, 0, fixedLen+len(e.OriginKey)+len(e.Recipient)+len(e.OriginDomain)+len(e.Payload))
	b = e.appendHeader(b)
	b = append(b, e.Payload...)
	return b
}

// appendHeader appends SignedBytes up to and including the payload length,
// so that ID can hash the payload in place instead of copying it.
func (e *Envelope) appendHeader(b []byte) []byte {
	b = append(b, prefix...)
	b = append(b, e.Version, e.MaxHops)
	// A TTL that is not whole seconds or does not fit fails Verify before
	// the signature is checked, so truncating it here is harmless.
	b = binary.BigEndian.AppendUint32(b, uint32(e.TTL/time.Second))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Created.UnixMilli()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.OriginKey)))
	b = append(b, e.OriginKey...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Recipient)))
	b = append(b, e.Recipient...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.OriginDomain)))
	b = append(b, e.OriginDomain...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Payload)))
	return b
}

// ID returns SHA-256 over SignedBytes: the same at every hop, and not
// choosable by a forwarder.
func (e *Envelope) ID() [32]byte {
	h := sha256.New()
	h.Write(e.appendHeader(make([]byte, 0, fixedLen+len(e.OriginKey)+len(e.Recipient)+len(e.OriginDomain))))
	h.Write(e.Payload)
	var id [32]byte
	h.Sum(id[:0])
	return id
}

// OriginID returns the node id of the envelope's origin (see
// identity.NodeID).
func (e *Envelope) OriginID() string { return identity.NodeID(e.OriginKey) }

// Domain returns the recipient's domain, the part after '@', which is what
// routes the envelope; "" if the recipient has no '@'.
func (e *Envelope) Domain() string {
	_, d, ok := strings.Cut(e.Recipient, "@")
	if !ok {
		return ""
	}
	return d
}

// Expires returns when the envelope's TTL runs out: from then on it is
// neither forwarded nor delivered.
func (e *Envelope) Expires() time.Time { return e.Created.Add(e.TTL) }

// Forwarded returns a copy of e with the hop count raised by one, as the
// next hop receives it, or ErrHopLimit if that would exceed MaxHops. The
// copy shares e's byte slices.
func (e *Envelope) Forwarded() (*Envelope, error) {
	if e.Hops >= e.MaxHops {
		return nil, fmt.Errorf("%w: %d of %d hops used", ErrHopLimit, e.Hops, e.MaxHops)
	}
	f := *e
	f.Hops++
	return &f, nil
}
