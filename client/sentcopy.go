package client

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/crypto/identity"
)

// ContentSentCopy is the sealed content type of a sent copy: what one
// device of an account sent, sealed to the account's other devices so that
// each of them shows the conversation (SentCopy).
const ContentSentCopy uint16 = 2

// ErrBadSentCopy means a sent copy's body does not decode.
var ErrBadSentCopy = errors.New("malformed sent copy")

// sentCopyVersion is the version byte SentCopy.MarshalBinary writes.
const sentCopyVersion = 1

// SentCopy is a message another device of the account sent, as its other
// devices receive it: To is the account address it went to.
//
// MarshalBinary encodes it as
//
//	1  version (1)
//	1  len(To)
//	n  To (identity.CheckAddress)
//	2  content type of the original, big endian
//	…  body of the original
type SentCopy struct {
	To          string
	ContentType uint16
	Body        []byte
}

// MarshalBinary encodes c as the SentCopy doc says.
func (c SentCopy) MarshalBinary() ([]byte, error) {
	if err := identity.CheckAddress(c.To); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSentCopy, err)
	}
	b := make([]byte, 0, 4+len(c.To)+len(c.Body))
	b = append(b, sentCopyVersion, byte(len(c.To)))
	b = append(b, c.To...)
	b = binary.BigEndian.AppendUint16(b, c.ContentType)
	return append(b, c.Body...), nil
}

// ParseSentCopy decodes what SentCopy.MarshalBinary wrote; failures wrap
// ErrBadSentCopy.
func ParseSentCopy(b []byte) (SentCopy, error) {
	if len(b) < 2 {
		return SentCopy{}, fmt.Errorf("%w: %d bytes", ErrBadSentCopy, len(b))
	}
	if b[0] != sentCopyVersion {
		return SentCopy{}, fmt.Errorf("%w: version %d", ErrBadSentCopy, b[0])
	}
	n := int(b[1])
	if len(b) < 2+n+2 {
		return SentCopy{}, fmt.Errorf("%w: truncated", ErrBadSentCopy)
	}
	to := string(b[2 : 2+n])
	if err := identity.CheckAddress(to); err != nil {
		return SentCopy{}, fmt.Errorf("%w: %w", ErrBadSentCopy, err)
	}
	return SentCopy{To: to, ContentType: binary.BigEndian.Uint16(b[2+n:]), Body: append([]byte(nil), b[4+n:]...)}, nil
}
