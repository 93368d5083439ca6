package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/protocol"
)

// Version is the envelope format this build makes and reads.
const Version = 1

// Bounds of an envelope's fields; Sign and Verify refuse anything outside
// them. The hops, the TTL and the clock are bounded as for every signed
// mesh message (see package signed).
const (
	// MaxHopsLimit is the largest max hops an envelope may ask for.
	MaxHopsLimit = signed.MaxHopsLimit
	// MaxTTL is the longest TTL.
	MaxTTL = signed.MaxTTL
	// MaxClockSkew is how far after the checking node's clock an envelope
	// may claim to have been created.
	MaxClockSkew = signed.MaxClockSkew
	// MaxRecipient is the longest recipient: a 64-byte user name, '#' and
	// a device id of 16 hex digits, '@' and a 253-byte domain.
	MaxRecipient = 64 + 1 + protocol.DeviceIDLen + 1 + 253
	// MaxPayload is the largest payload: the node's hard limit on a
	// message, so that anything a node accepts from a client fits.
	MaxPayload = 4 << 20
	// MaxEncoded is the most bytes Unmarshal takes: a maximal payload plus
	// room for the other fields and the framing, which need less than 1 KiB.
	MaxEncoded = MaxPayload + 4<<10
)

// prefix starts SignedBytes; see the package documentation.
const prefix = "qpc mesh envelope v1\x00"

// Envelope is a sealed message on its way across the mesh, as the origin
// node signed it plus the hop count that forwarders raise. Its byte slices
// are not meant to be modified once signed: Forwarded shares them.
type Envelope struct {
	// Header is the origin's part: version, origin key and domain,
	// creation time, TTL, hop counts and signature.
	signed.Header
	// Recipient is "user@domain".
	Recipient string
	// Payload is the sealed message, opaque to nodes.
	Payload []byte
}

// Sign makes an envelope from the node key of the node serving
// originDomain for recipient, with hop count 0, and signs it. created is
// cut to the millisecond (what the wire carries); ttl must be whole
// seconds. Sign applies the field checks of Verify (not the clock checks,
// which are the receiver's) and returns their errors. The envelope holds a
// copy of payload.
func Sign(key ed25519.PrivateKey, originDomain, recipient string, payload []byte, created time.Time, ttl time.Duration, maxHops uint8) (*Envelope, error) {
	return signed.Sign(&rules, key, originDomain, created, ttl, maxHops, func(h signed.Header) *Envelope {
		return &Envelope{Header: h, Recipient: recipient, Payload: append([]byte(nil), payload...)}
	})
}

// SignedBytes returns the bytes the origin signs: every field but Hops and
// Signature, in the layout of the package documentation.
func (e *Envelope) SignedBytes() []byte {
	return append(e.appendHeader(make([]byte, 0, e.headerLen()+len(e.Payload))), e.Payload...)
}

// headerLen is the size of what appendHeader appends.
func (e *Envelope) headerLen() int {
	return signed.SignedLen(prefix, len(e.OriginKey)) + 4 + len(e.Recipient) + 4 + len(e.OriginDomain) + 4
}

// appendHeader appends SignedBytes up to and including the payload length,
// so that ID can hash the payload in place instead of copying it.
func (e *Envelope) appendHeader(b []byte) []byte {
	b = e.AppendSigned(b, prefix)
	b = signed.AppendField(b, e.Recipient)
	b = signed.AppendField(b, e.OriginDomain)
	return binary.BigEndian.AppendUint32(b, uint32(len(e.Payload)))
}

// ID returns SHA-256 over SignedBytes: the same at every hop, and not
// choosable by a forwarder.
func (e *Envelope) ID() [32]byte {
	h := sha256.New()
	h.Write(e.appendHeader(make([]byte, 0, e.headerLen())))
	h.Write(e.Payload)
	var id [32]byte
	h.Sum(id[:0])
	return id
}

// To returns the recipient, whose domain routes the envelope, parsed by
// the one rule for addresses (a device's, "user#device@domain", too); the
// zero Address if the recipient is not one (Verify and Sign refuse such an
// envelope).
func (e *Envelope) To() protocol.Address {
	a, err := protocol.ParseRecipient(e.Recipient, "")
	if err != nil {
		return protocol.Address{}
	}
	return a
}

// Forwarded returns a copy of e with the hop count raised by one, as the
// next hop receives it, or signed.ErrHopLimit if that would exceed
// MaxHops. The copy shares e's byte slices.
func (e *Envelope) Forwarded() (*Envelope, error) { return signed.Forwarded(e) }
