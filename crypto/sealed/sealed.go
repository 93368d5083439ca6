// Package sealed encrypts 1:1 messages end to end with sealed sender: the
// node that stores and forwards an envelope learns only its recipient (which
// it already knows from the enqueue), never the sender or the content.
//
// # Cipher suite
//
// HPKE (RFC 9180) base mode with the X-Wing KEM (MLKEM768-X25519 of
// draft-ietf-hpke-pq, KEM id 0x647a), HKDF-SHA256 (0x0001) and
// ChaCha20-Poly1305 (0x0003). ChaCha20-Poly1305 rather than AES-128-GCM
// because nodes and clients run on MIPS and ARM routers without AES
// instructions, where ChaCha20 is several times faster in software and has
// no table lookups to leak timing. The HPKE info string binds the suite
// version and the recipient's address:
//
//	info = "qpc/1 sealed-sender" | 0x00 | len(recipient address) (1 byte) | recipient address
//
// so an envelope opened under any other address fails with ErrDecrypt. The
// outer version byte is the AEAD's additional data.
//
// # Envelope (what the node sees)
//
//	offset  size  field
//	0       1     version (Version = 1)
//	1       1120  enc: the X-Wing encapsulated key
//	1121    n+16  AEAD ciphertext of the padded content, with its 16-byte tag
//
// n is a multiple of PadBlock (256), at least 256; an envelope is therefore
// 1137 + n bytes, from 1393 to at most MaxSealedSize (65,536) bytes.
//
// # Content (inside the ciphertext)
//
//	size  field
//	1     version (Version = 1)
//	1     length of the sender address, 1..255
//	a     sender address, UTF-8, as in identity.CheckAddress
//	32    sender's Ed25519 identity public key
//	16    message id, random
//	8     timestamp, Unix milliseconds, big-endian signed
//	2     content type, big-endian (ContentText = 1; others are the caller's)
//	4     body length b, big-endian, at most MaxBodySize
//	b     body
//	64    Ed25519 signature by the sender identity key
//	p     zero bytes, so that the whole content is a multiple of PadBlock
//
// The signature covers
//
//	"qpc/1 sealed-sender signature" | 0x00 | len(recipient address) (1 byte) |
//	recipient address | content from its version byte through the body
//
// so a recipient cannot re-seal a message it received to a third person as
// if the sender had written to them. Decoding is strict: trailing bytes
// other than zero padding, or padding that is not needed to reach the next
// block, are ErrMalformed. A signature makes messages attributable to their
// sender, not deniable.
//
// # Padding
//
// Content is padded with zeros to the next multiple of 256 bytes, so the
// node and an observer learn the length of a message only to within 256
// bytes: a body of up to 108 bytes from a 20-byte address, for instance,
// always gives a 1393-byte envelope. Bodies are limited to MaxBodySize
// (63,488 bytes), so that even with a 255-byte sender address the envelope
// fits in the node's 64 KiB payload limit.
//
// # Versions
//
// The envelope and the content each start with a version byte. Version 0 is
// reserved and reported as ErrTooOld, versions above Version as
// ErrUnsupportedVersion, so a client can tell "upgrade the sender" from
// "upgrade me".
//
// # Checking the sender
//
// Open proves that the holder of Opened.SenderIdentityKey wrote the message
// to this recipient. It cannot know whether that key belongs to the claimed
// sender address: the client fetches the sender's published bundle from the
// key directory and calls Opened.VerifySenderBundle, which checks the bundle
// with identity.PublicBundle.Verify and compares keys (Opened.VerifySender
// does the comparison alone, for a key the client already trusts). A mismatch, or no bundle, must
// be shown as an unverified message, never silently accepted or dropped.
package sealed

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
)

const (
	// Version is the version byte of the envelope and of its content.
	Version = 1

	// EncSize is the size of the X-Wing encapsulated key.
	EncSize = 1120

	// PadBlock is the block to whose multiple the content is padded.
	PadBlock = 256

	// MaxSealedSize is the largest envelope: the node's payload limit.
	MaxSealedSize = 64 << 10

	// MaxBodySize is the largest message body Seal accepts. With the longest
	// sender address and padding, its envelope still fits in MaxSealedSize.
	MaxBodySize = 62 << 10

	// ContentText is the content type of a UTF-8 text message.
	ContentText uint16 = 1

	tagSize = 16
	// header is the size of the envelope before the ciphertext.
	header = 1 + EncSize
	// overhead is what the envelope adds to the padded content.
	overhead = header + tagSize
	// fixedContent is the content size without address, body and padding.
	fixedContent = 1 + 1 + identity.IdentityKeySize + 16 + 8 + 2 + 4 + identity.SignatureSize
	// maxPadded is the largest padded content that fits in MaxSealedSize.
	maxPadded = (MaxSealedSize - overhead) / PadBlock * PadBlock
)

// The largest body with the longest address must fit after padding.
var _ [maxPadded - (fixedContent + identity.MaxAddressLen + MaxBodySize)]struct{}

const (
	infoLabel      = "qpc/1 sealed-sender"
	signatureLabel = "qpc/1 sealed-sender signature"
)

// ID is a message id: 16 random bytes chosen by the sender.
type ID [16]byte

// NewID returns a random message id.
func NewID() ID {
	var id ID
	rand.Read(id[:]) // never returns an error; see crypto/rand.Read
	return id
}

// String returns id as 32 lowercase hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Message is what a sender seals.
type Message struct {
	// ID identifies the message; if zero, Seal picks a random one. Set it
	// with NewID to know the id of what was sent.
	ID ID
	// Time is when the message was written; if zero, Seal uses the current
	// time. It is carried with millisecond precision.
	Time time.Time
	// ContentType says how to read Body, e.g. ContentText.
	ContentType uint16
	// Body is the content, at most MaxBodySize bytes.
	Body []byte
}

// Opened is a decrypted message whose signature has been verified against
// the identity key it carries. That key is not yet known to belong to
// SenderAddress: see VerifySender.
type Opened struct {
	// SenderAddress is the address the sender claims, "name@domain".
	SenderAddress string
	// SenderIdentityKey is the Ed25519 key that signed the message.
	SenderIdentityKey ed25519.PublicKey
	// ID is the sender's message id.
	ID ID
	// Time is the sender's timestamp, in milliseconds; the sender's clock,
	// not checked.
	Time time.Time
	// ContentType says how to read Body.
	ContentType uint16
	// Body is the content.
	Body []byte
}

// VerifySender checks the signing key against the identity key that the key
// directory publishes for o.SenderAddress (from a bundle the caller has
// checked with identity.PublicBundle.Verify). It returns
// ErrSenderKeyMismatch if they differ.
func (o *Opened) VerifySender(published []byte) error {
	if len(published) != identity.IdentityKeySize || !bytes.Equal(published, o.SenderIdentityKey) {
		return fmt.Errorf("%w: message from %q", ErrSenderKeyMismatch, o.SenderAddress)
	}
	return nil
}

// VerifySenderBundle checks bundle, as fetched from the key directory, with
// identity.PublicBundle.Verify for o.SenderAddress, then compares its
// identity key with the signing key as VerifySender does. It returns the
// bundle's error (identity.ErrBadSignature, identity.ErrMalformedKeys,
// identity.ErrBadAddress) or ErrSenderKeyMismatch.
func (o *Opened) VerifySenderBundle(bundle *identity.PublicBundle) error {
	if bundle == nil {
		return fmt.Errorf("%w: no published keys for %q", ErrSenderKeyMismatch, o.SenderAddress)
	}
	if err := bundle.Verify(o.SenderAddress); err != nil {
		return fmt.Errorf("published keys of %q: %w", o.SenderAddress, err)
	}
	return o.VerifySender(bundle.IdentityKey)
}

// suite returns the HPKE KDF and AEAD of version 1.
func suite() (hpke.KDF, hpke.AEAD) { return hpke.HKDFSHA256(), hpke.ChaCha20Poly1305() }

// withAddress appends label, a zero byte, and addr with a one-byte length.
// addr must have passed identity.CheckAddress.
func withAddress(label, addr string) []byte {
	b := make([]byte, 0, len(label)+2+len(addr))
	b = append(b, label...)
	b = append(b, 0, byte(len(addr)))
	return append(b, addr...)
}

// Seal encrypts msg from sender (whose address is senderAddr) to the holder
// of recipientHPKEKey at recipientAddr, and returns the envelope. Addresses
// must pass identity.CheckAddress. Errors: identity.ErrBadAddress,
// identity.ErrMalformedKeys (no sender key), ErrTooLarge, ErrBadRecipientKey.
func Seal(recipientAddr string, recipientHPKEKey []byte, sender *identity.UserKeys, senderAddr string, msg Message) ([]byte, error) {
	if err := identity.CheckAddress(recipientAddr); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	if err := identity.CheckAddress(senderAddr); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if sender == nil || len(sender.Identity) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: sender has no identity key", identity.ErrMalformedKeys)
	}
	if len(msg.Body) > MaxBodySize {
		return nil, fmt.Errorf("%w: body is %d bytes, limit %d", ErrTooLarge, len(msg.Body), MaxBodySize)
	}
	pk, err := identity.HPKEKEM().NewPublicKey(recipientHPKEKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRecipientKey, err)
	}
	if msg.ID == (ID{}) {
		msg.ID = NewID()
	}
	if msg.Time.IsZero() {
		msg.Time = time.Now()
	}
	return seal(recipientAddr, pk, encodeContent(recipientAddr, sender, senderAddr, msg))
}

// encodeContent lays out, signs and pads msg. The addresses have been
// checked and the body is within bounds.
func encodeContent(recipientAddr string, sender *identity.UserKeys, senderAddr string, msg Message) []byte {
	signedLen := fixedContent - identity.SignatureSize + len(senderAddr) + len(msg.Body)
	padded := (signedLen + identity.SignatureSize + PadBlock - 1) / PadBlock * PadBlock
	content := make([]byte, 0, padded)
	content = append(content, Version, byte(len(senderAddr)))
	content = append(content, senderAddr...)
	content = append(content, sender.IdentityPublic()...)
	content = append(content, msg.ID[:]...)
	content = binary.BigEndian.AppendUint64(content, uint64(msg.Time.UnixMilli()))
	content = binary.BigEndian.AppendUint16(content, msg.ContentType)
	content = binary.BigEndian.AppendUint32(content, uint32(len(msg.Body)))
	content = append(content, msg.Body...)
	sig := ed25519.Sign(sender.Identity, append(withAddress(signatureLabel, recipientAddr), content...))
	content = append(content, sig...)
	return content[:padded] // make zeroed the capacity, so the tail is zero padding
}

// seal encrypts padded content to pk for recipientAddr.
func seal(recipientAddr string, pk hpke.PublicKey, content []byte) ([]byte, error) {
	kdf, aead := suite()
	enc, s, err := hpke.NewSender(pk, kdf, aead, withAddress(infoLabel, recipientAddr))
	if err != nil {
		// X-Wing encapsulation fails only for a degenerate X25519 share.
		return nil, fmt.Errorf("%w: %v", ErrBadRecipientKey, err)
	}
	out := make([]byte, 0, overhead+len(content))
	out = append(out, Version)
	out = append(out, enc...)
	ct, err := s.Seal(out[:1], content)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	return append(out, ct...), nil
}
