package sealed

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
)

// checkVersion reads the version byte at the start of the envelope or of
// its content.
func checkVersion(what string, b []byte) error {
	switch {
	case len(b) == 0:
		return fmt.Errorf("%w: empty %s", ErrMalformed, what)
	case b[0] < Version:
		return fmt.Errorf("%w: %s version %d", ErrTooOld, what, b[0])
	case b[0] > Version:
		return fmt.Errorf("%w: %s version %d", ErrUnsupportedVersion, what, b[0])
	}
	return nil
}

// Open decrypts an envelope sealed to recipient at recipientAddr and
// verifies the sender's signature against the identity key inside. The
// caller must still compare that key with the sender's published one; see
// Opened.VerifySender. Errors: ErrMalformed, ErrTooOld,
// ErrUnsupportedVersion, ErrDecrypt, ErrBadSignature, and
// identity.ErrBadAddress for a bad recipientAddr.
func Open(recipient *identity.UserKeys, recipientAddr string, sealed []byte) (*Opened, error) {
	if err := identity.CheckAddress(recipientAddr); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	if recipient == nil || recipient.HPKE == nil {
		return nil, fmt.Errorf("%w: recipient has no HPKE key", identity.ErrMalformedKeys)
	}
	if err := checkVersion("envelope", sealed); err != nil {
		return nil, err
	}
	n := len(sealed) - overhead
	if len(sealed) > MaxSealedSize || n < PadBlock || n%PadBlock != 0 {
		return nil, fmt.Errorf("%w: envelope is %d bytes", ErrMalformed, len(sealed))
	}
	kdf, aead := suite()
	r, err := hpke.NewRecipient(sealed[1:header], recipient.HPKE, kdf, aead, withAddress(infoLabel, recipientAddr))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	content, err := r.Open(sealed[:1], sealed[header:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return openContent(recipientAddr, content)
}

// openContent parses decrypted content and verifies its signature.
func openContent(recipientAddr string, content []byte) (*Opened, error) {
	o, signedLen, sig, err := decodeContent(content)
	if err != nil {
		return nil, err
	}
	msg := append(withAddress(signatureLabel, recipientAddr), content[:signedLen]...)
	if !ed25519.Verify(o.SenderIdentityKey, msg, sig) {
		return nil, fmt.Errorf("%w: message claiming to be from %q", ErrBadSignature, o.SenderAddress)
	}
	return o, nil
}

// decodeContent parses the padded content. It returns the message, the
// length of the signed prefix and the signature, which it does not check.
func decodeContent(content []byte) (o *Opened, signedLen int, sig []byte, err error) {
	if err := checkVersion("content", content); err != nil {
		return nil, 0, nil, err
	}
	if len(content)%PadBlock != 0 || len(content) > maxPadded {
		return nil, 0, nil, fmt.Errorf("%w: content is %d bytes", ErrMalformed, len(content))
	}
	d := decoder{b: content[1:]}
	addrLen := int(d.uint8())
	addr := string(d.bytes(addrLen))
	key := d.bytes(identity.IdentityKeySize)
	id := d.bytes(len(ID{}))
	ms := int64(d.uint64())
	ctype := d.uint16()
	bodyLen := d.uint32()
	if d.short || bodyLen > MaxBodySize {
		return nil, 0, nil, fmt.Errorf("%w: content header truncated or body length %d", ErrMalformed, bodyLen)
	}
	body := d.bytes(int(bodyLen))
	signedLen = len(content) - len(d.b)
	sig = d.bytes(identity.SignatureSize)
	if d.short {
		return nil, 0, nil, fmt.Errorf("%w: content truncated", ErrMalformed)
	}
	// The padding must be zeros and shorter than a block: anything else is
	// not what Seal writes.
	if len(d.b) >= PadBlock || !allZero(d.b) {
		return nil, 0, nil, fmt.Errorf("%w: bad padding", ErrMalformed)
	}
	if err := identity.CheckAddress(addr); err != nil {
		return nil, 0, nil, fmt.Errorf("%w: sender address: %v", ErrMalformed, err)
	}
	o = &Opened{
		SenderAddress:     addr,
		SenderIdentityKey: bytes.Clone(key),
		ContentType:       ctype,
		Time:              time.UnixMilli(ms),
		Body:              bytes.Clone(body),
	}
	copy(o.ID[:], id)
	return o, signedLen, bytes.Clone(sig), nil
}

func allZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}

// decoder reads big-endian fields; once a read runs past the end it sets
// short and every later read returns zeros, so callers check once.
type decoder struct {
	b     []byte
	short bool
}

func (d *decoder) bytes(n int) []byte {
	if d.short || n > len(d.b) {
		d.short = true
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint8() uint8 {
	if v := d.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) uint16() uint16 {
	if v := d.bytes(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if v := d.bytes(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if v := d.bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}
