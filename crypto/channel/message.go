package channel

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/quicprochat/qpc/crypto/identity"
)

const (
	// Version is the body format this build writes and reads.
	Version = 1
	// Quantum is the block that bodies are padded to: a body's length is a
	// multiple of it, so it reveals a text's length only to within Quantum
	// bytes.
	Quantum = 256
	// MaxBody is the largest body Open accepts. Seal stays well below it
	// (at most 4608 bytes, for MaxText and the longest author); the rest
	// is room for later versions.
	MaxBody = 8192
	// MaxText is the longest text of a post, in bytes.
	MaxText = 4096
)

// signContext starts the signed bytes, so that a signature made for a
// channel post is never valid as anything else the identity key signs.
const signContext = "qpc channel message v1\x00"

const (
	nonceSize  = chacha20poly1305.NonceSizeX // 24
	tagSize    = chacha20poly1305.Overhead   // 16
	headerSize = 1 + nonceSize               // version, nonce
	keySize    = ed25519.PublicKeySize       // 32
	sigSize    = ed25519.SignatureSize       // 64
	// fixedSize is what a body holds besides the author and the text:
	// header, the length fields, key, time, signature and tag.
	fixedSize = headerSize + 2 + keySize + 8 + 4 + sigSize + tagSize // 151
	// prefixSize is what the signed bytes hold before the fields that
	// also make up the plaintext: the context and the channel id.
	prefixSize = len(signContext) + 32
)

// Message is an opened post.
type Message struct {
	// Author is the author's address, "user@domain", as the author wrote it.
	Author string
	// AuthorKey is the Ed25519 identity key the post was signed with. Open
	// proves only that the holder of this key wrote the post: the reader
	// must still compare it with the key the author's home node publishes
	// for Author, and show the post as unverified if they differ.
	AuthorKey ed25519.PublicKey
	// Time is when the author says they wrote the post, to the
	// millisecond, in UTC.
	Time time.Time
	// Text is the post's text, valid UTF-8, 1 to MaxText bytes.
	Text string
	// Digest is SHA-256 of the signed bytes. The same signed post
	// encrypted again (a replay, from anyone holding the secret) is a new
	// body with the same Digest, so readers drop posts whose Digest they
	// have shown.
	Digest [32]byte
}

// Seal signs text as author with the author's identity key, dated at, and
// encrypts it for the channel of k. It returns the body, which is what the
// node relays; see the package documentation for its layout. The nonce is
// random, so sealing the same text twice gives different bodies.
//
// Errors: ErrKey, ErrAuthor, ErrText.
func Seal(k Keys, author string, key ed25519.PrivateKey, text string, at time.Time) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key is %d bytes, want %d", ErrKey, len(key), ed25519.PrivateKeySize)
	}
	// An ed25519.PrivateKey carries its public half; a corrupted one signs
	// posts that every reader refuses as ErrBadSignature, which is far
	// harder to trace than refusing here.
	if !bytes.Equal(ed25519.NewKeyFromSeed(key.Seed())[32:], key[32:]) {
		return nil, fmt.Errorf("%w: public half of the private key does not match its seed", ErrKey)
	}
	if err := checkAuthor(author); err != nil {
		return nil, err
	}
	if err := checkText(text); err != nil {
		return nil, err
	}
	return seal(k, author, key, text, at.UnixMilli())
}

// seal builds, signs, pads and encrypts a post without checking its
// fields, so that tests can make bodies that Seal refuses.
func seal(k Keys, author string, key ed25519.PrivateKey, text string, ms int64) ([]byte, error) {
	n := prefixSize + contentSize(len(author), len(text))
	buf := make([]byte, 0, n+sigSize+Quantum)
	buf = appendSigned(buf, k.ID, author, key[32:], ms, text)
	buf = append(buf, ed25519.Sign(key, buf)...)
	return encrypt(k, pad(buf[prefixSize:]))
}

// appendSigned appends the signed bytes of a post to b.
func appendSigned(b []byte, id [32]byte, author string, pub []byte, ms int64, text string) []byte {
	b = append(b, signContext...)
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(author)))
	b = append(b, author...)
	b = append(b, pub...)
	b = binary.BigEndian.AppendUint64(b, uint64(ms))
	b = binary.BigEndian.AppendUint32(b, uint32(len(text)))
	b = append(b, text...)
	return b
}

// contentSize is the size of the signed fields that the plaintext holds:
// all but the context and the channel id.
func contentSize(authorLen, textLen int) int {
	return 2 + authorLen + keySize + 8 + 4 + textLen
}

// pad appends the zeros that make a body holding plaintext a multiple of
// Quantum bytes long.
func pad(plaintext []byte) []byte {
	return append(plaintext, make([]byte, padSize(len(plaintext)))...)
}

// padSize is how many zeros follow n bytes of plaintext: the fewest that
// bring the body to a multiple of Quantum.
func padSize(n int) int {
	body := headerSize + n + tagSize
	return (Quantum - body%Quantum) % Quantum
}

// encrypt makes a body of the current version from a padded plaintext,
// under a fresh random nonce.
func encrypt(k Keys, plaintext []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(k.key[:])
	if err != nil {
		return nil, fmt.Errorf("channel: XChaCha20-Poly1305: %w", err)
	}
	body := make([]byte, headerSize, headerSize+len(plaintext)+tagSize)
	body[0] = Version
	if _, err := rand.Read(body[1:headerSize]); err != nil {
		return nil, fmt.Errorf("channel: read random nonce: %w", err)
	}
	ad := additionalData(Version, k.ID)
	return aead.Seal(body, body[1:headerSize], plaintext, ad[:]), nil
}

// additionalData is what the AEAD authenticates besides the plaintext: the
// version byte, so that a body cannot be relabelled to another version,
// and the channel id, so that it opens only under its own channel's keys.
func additionalData(version byte, id [32]byte) [33]byte {
	var ad [33]byte
	ad[0] = version
	copy(ad[1:], id[:])
	return ad
}

// Open decrypts and verifies a body of the channel of k.
//
// Errors, in the order checked: ErrVersionTooOld, ErrVersion, ErrBody,
// ErrDecrypt, ErrMalformed (which may also wrap ErrAuthor or ErrText),
// ErrBadSignature. Open never checks that Message.AuthorKey is Author's
// published key: that is the caller's job.
func Open(k Keys, body []byte) (*Message, error) {
	signed, err := decrypt(k, body)
	if err != nil {
		return nil, err
	}
	m, sig, err := parse(signed[prefixSize:])
	if err != nil {
		return nil, err
	}
	signed = signed[:prefixSize+contentSize(len(m.Author), len(m.Text))]
	if !ed25519.Verify(m.AuthorKey, signed, sig) {
		return nil, fmt.Errorf("%w: the post by %q does not verify under the identity key it carries", ErrBadSignature, m.Author)
	}
	m.Digest = sha256.Sum256(signed)
	return m, nil
}

// decrypt checks a body's version and size and decrypts it. It returns
// the signed bytes' context and channel id followed by the plaintext, so
// that the signature can be checked without copying.
func decrypt(k Keys, body []byte) ([]byte, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBody)
	}
	switch v := body[0]; {
	case v == 0:
		return nil, fmt.Errorf("%w: version 0", ErrVersionTooOld)
	case v != Version:
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrVersion, v, Version)
	}
	if len(body) < Quantum || len(body) > MaxBody || len(body)%Quantum != 0 {
		return nil, fmt.Errorf("%w: %d bytes, want a multiple of %d from %d to %d", ErrBody, len(body), Quantum, Quantum, MaxBody)
	}
	aead, err := chacha20poly1305.NewX(k.key[:])
	if err != nil {
		return nil, fmt.Errorf("channel: XChaCha20-Poly1305: %w", err)
	}
	out := make([]byte, prefixSize, prefixSize+len(body)-headerSize-tagSize)
	copy(out, signContext)
	copy(out[len(signContext):], k.ID[:])
	ad := additionalData(body[0], k.ID)
	out, err = aead.Open(out, body[1:headerSize], body[headerSize:], ad[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %d-byte body does not authenticate under channel %x", ErrDecrypt, len(body), k.ID[:4])
	}
	return out, nil
}

// parse reads a plaintext strictly: every length within bounds, the author
// and the text as Seal would accept them, and after the signature exactly
// the padding Seal writes, all zero. It returns the message without its
// Digest, and the signature.
func parse(p []byte) (*Message, []byte, error) {
	r := reader{b: p}
	alen := int(r.uint16())
	author := r.bytes(alen)
	key := r.bytes(keySize)
	ms := int64(r.uint64())
	tlen := int(r.uint32())
	text := r.bytes(tlen)
	sig := r.bytes(sigSize)
	if r.short {
		return nil, nil, fmt.Errorf("%w: lengths (author %d, text %d bytes) overrun the %d-byte plaintext", ErrMalformed, alen, tlen, len(p))
	}
	rest := r.b
	if want := padSize(len(p) - len(rest)); len(rest) != want {
		return nil, nil, fmt.Errorf("%w: %d bytes after the signature, want %d bytes of padding", ErrMalformed, len(rest), want)
	}
	for i, c := range rest {
		if c != 0 {
			return nil, nil, fmt.Errorf("%w: nonzero padding at byte %d of %d", ErrMalformed, i, len(rest))
		}
	}
	if err := checkAuthor(string(author)); err != nil {
		return nil, nil, both(ErrMalformed, err)
	}
	if err := checkText(string(text)); err != nil {
		return nil, nil, both(ErrMalformed, err)
	}
	m := &Message{
		Author:    string(author),
		AuthorKey: bytes.Clone(key),
		Time:      time.UnixMilli(ms).UTC(),
		Text:      string(text),
	}
	return m, sig, nil
}

// reader takes fields off the front of a byte slice; once a field runs
// past the end it sets short and returns nothing more.
type reader struct {
	b     []byte
	short bool
}

func (r *reader) bytes(n int) []byte {
	// n < 0: a u32 length above 2^31 turned negative in a 32-bit int
	// (GOARCH=mips).
	if r.short || n < 0 || n > len(r.b) {
		r.short = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) uint16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) uint32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) uint64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// checkAuthor accepts what identity.CheckAddress accepts, and only in the
// form user@domain: a post names its author across the mesh, so a bare
// user name would be ambiguous.
func checkAuthor(author string) error {
	if err := identity.CheckAddress(author); err != nil {
		return fmt.Errorf("%w: %w", ErrAuthor, err)
	}
	if i := strings.LastIndexByte(author, '@'); i <= 0 || i == len(author)-1 {
		return fmt.Errorf("%w: %q is not user@domain", ErrAuthor, author)
	}
	return nil
}

// checkText accepts 1 to MaxText bytes of valid UTF-8: the bounds of the
// format, which Open enforces on what others sealed. How a text is shown
// or refused to a person typing it (internal/msgtext) is the caller's
// rule, applied before Seal.
func checkText(text string) error {
	switch {
	case text == "":
		return fmt.Errorf("%w: nothing to send", ErrText)
	case len(text) > MaxText:
		return fmt.Errorf("%w: too long: %d bytes, at most %d", ErrText, len(text), MaxText)
	case !utf8.ValidString(text):
		return fmt.Errorf("%w: the text is not UTF-8", ErrText)
	}
	return nil
}
