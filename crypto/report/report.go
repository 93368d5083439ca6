package report

import (
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/quicprochat/qpc/crypto/identity"
)

// Version is the version byte of a sealed report and of its content.
const Version = 1

// Bounds of a report.
const (
	// MaxText is the longest message text a report carries, in bytes.
	MaxText = 16 << 10
	// MaxNote is the longest note, in bytes.
	MaxNote = 1 << 10
	// encSize is the size of an X-Wing encapsulated key.
	encSize = 1120
	// tagSize is ChaCha20-Poly1305's tag.
	tagSize = 16
	// fixedContent is the content without its variable parts.
	fixedContent = 1 + 8 + 16 + 8 + 1 + 1 + 4 + 2
	// MinSealed and MaxSealed bound a sealed report's size.
	MinSealed = 1 + encSize + fixedContent + tagSize
	MaxSealed = MinSealed + 2*255 + MaxText + MaxNote
)

const infoLabel = "qpc/1 report"

// Errors of Seal and Open.
var (
	// ErrBadReport means a report's fields break its bounds, or its
	// content does not decode.
	ErrBadReport = errors.New("malformed report")
	// ErrUnknownVersion means a sealed report or its content has a version
	// this qpc does not read.
	ErrUnknownVersion = errors.New("report of an unknown version")
	// ErrDecrypt means a sealed report does not open with the key: not
	// sealed to it, or changed.
	ErrDecrypt = errors.New("report does not open with this key")
	// ErrBadKey means a report key is not an X-Wing key.
	ErrBadKey = errors.New("not a report key")
)

// Report is what a user reports.
type Report struct {
	// Reported is when the report was made.
	Reported time.Time
	// MessageID and MessageTime are the reported message's id and time.
	MessageID   [16]byte
	MessageTime time.Time
	// Reporter is the reporting account's address, Sender the reported
	// message's sender.
	Reporter, Sender string
	// Text is the reported message's text; Note the reporter's note.
	Text, Note string
}

// GenerateKey makes a new report key pair; the private key's Bytes are its
// 32-byte seed (what the node's data directory keeps).
func GenerateKey() (hpke.PrivateKey, error) {
	return identity.HPKEKEM().GenerateKey()
}

// PrivateKey reads a report key's seed.
func PrivateKey(seed []byte) (hpke.PrivateKey, error) {
	k, err := identity.HPKEKEM().NewPrivateKey(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return k, nil
}

func suite() (hpke.KDF, hpke.AEAD) { return hpke.HKDFSHA256(), hpke.ChaCha20Poly1305() }

// Seal checks r and seals it to the report key publicKey (Health.reportKey).
func Seal(publicKey []byte, r Report) ([]byte, error) {
	content, err := r.marshal()
	if err != nil {
		return nil, err
	}
	pk, err := identity.HPKEKEM().NewPublicKey(publicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	kdf, aead := suite()
	enc, s, err := hpke.NewSender(pk, kdf, aead, []byte(infoLabel))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	out := make([]byte, 0, 1+len(enc)+len(content)+tagSize)
	out = append(out, Version)
	out = append(out, enc...)
	ct, err := s.Seal(out[:1], content)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return append(out, ct...), nil
}

// CheckSealed checks what a node can check of a sealed report without the
// key: its version and size.
func CheckSealed(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrBadReport)
	}
	if b[0] != Version {
		return fmt.Errorf("%w: version %d, this qpc reads %d", ErrUnknownVersion, b[0], Version)
	}
	if len(b) < MinSealed || len(b) > MaxSealed {
		return fmt.Errorf("%w: %d bytes (%d to %d)", ErrBadReport, len(b), MinSealed, MaxSealed)
	}
	return nil
}

// Open decrypts a sealed report with the report key's private half and
// decodes it. Errors: ErrBadReport, ErrUnknownVersion, ErrDecrypt.
func Open(key hpke.PrivateKey, b []byte) (Report, error) {
	if err := CheckSealed(b); err != nil {
		return Report{}, err
	}
	kdf, aead := suite()
	r, err := hpke.NewRecipient(b[1:1+encSize], key, kdf, aead, []byte(infoLabel))
	if err != nil {
		return Report{}, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	content, err := r.Open(b[:1], b[1+encSize:])
	if err != nil {
		return Report{}, ErrDecrypt
	}
	return parseContent(content)
}

// marshal checks r and lays out its content as the package doc says.
func (r *Report) marshal() ([]byte, error) {
	for _, a := range []struct{ what, addr string }{{"reporter", r.Reporter}, {"sender", r.Sender}} {
		if err := identity.CheckAddress(a.addr); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadReport, a.what, err)
		}
	}
	if len(r.Text) > MaxText || !utf8.ValidString(r.Text) {
		return nil, fmt.Errorf("%w: text of %d bytes (at most %d, UTF-8)", ErrBadReport, len(r.Text), MaxText)
	}
	if len(r.Note) > MaxNote || !utf8.ValidString(r.Note) {
		return nil, fmt.Errorf("%w: note of %d bytes (at most %d, UTF-8)", ErrBadReport, len(r.Note), MaxNote)
	}
	b := make([]byte, 0, fixedContent+len(r.Reporter)+len(r.Sender)+len(r.Text)+len(r.Note))
	b = append(b, Version)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Reported.UnixMilli()))
	b = append(b, r.MessageID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.MessageTime.UnixMilli()))
	b = append(b, byte(len(r.Reporter)))
	b = append(b, r.Reporter...)
	b = append(b, byte(len(r.Sender)))
	b = append(b, r.Sender...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Text)))
	b = append(b, r.Text...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Note)))
	return append(b, r.Note...), nil
}

// parseContent decodes what marshal wrote, bounds-checked; failures wrap
// ErrBadReport or ErrUnknownVersion.
func parseContent(b []byte) (Report, error) {
	var r Report
	if len(b) < fixedContent {
		return r, fmt.Errorf("%w: %d bytes of content", ErrBadReport, len(b))
	}
	if b[0] != Version {
		return r, fmt.Errorf("%w: content version %d", ErrUnknownVersion, b[0])
	}
	d := decoder{b: b[1:]}
	r.Reported = time.UnixMilli(int64(d.uint(8)))
	copy(r.MessageID[:], d.bytes(16))
	r.MessageTime = time.UnixMilli(int64(d.uint(8)))
	r.Reporter = string(d.bytes(int(d.uint(1))))
	r.Sender = string(d.bytes(int(d.uint(1))))
	n := int(d.uint(4))
	if n > MaxText {
		return Report{}, fmt.Errorf("%w: text of %d bytes", ErrBadReport, n)
	}
	r.Text = string(d.bytes(n))
	r.Note = string(d.bytes(int(d.uint(2))))
	switch {
	case d.short:
		return Report{}, fmt.Errorf("%w: truncated", ErrBadReport)
	case len(d.b) != 0:
		return Report{}, fmt.Errorf("%w: %d bytes after the note", ErrBadReport, len(d.b))
	case len(r.Note) > MaxNote:
		return Report{}, fmt.Errorf("%w: note of %d bytes", ErrBadReport, len(r.Note))
	case !utf8.ValidString(r.Text) || !utf8.ValidString(r.Note):
		return Report{}, fmt.Errorf("%w: text or note not UTF-8", ErrBadReport)
	}
	for _, a := range []struct{ what, addr string }{{"reporter", r.Reporter}, {"sender", r.Sender}} {
		if err := identity.CheckAddress(a.addr); err != nil {
			return Report{}, fmt.Errorf("%w: %s: %w", ErrBadReport, a.what, err)
		}
	}
	return r, nil
}

// decoder reads fields off b; a read past the end sets short and yields
// zeros, so that parseContent checks once.
type decoder struct {
	b     []byte
	short bool
}

func (d *decoder) bytes(n int) []byte {
	if n < 0 || n > len(d.b) {
		d.short, d.b = true, nil
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) uint(n int) uint64 {
	var v uint64
	for _, c := range d.bytes(n) {
		v = v<<8 | uint64(c)
	}
	return v
}
