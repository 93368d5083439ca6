package sealedfile

import (
	"bufio"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// Purpose says what a file holds.
type Purpose byte

// The purposes of qpc's sealed files.
const (
	// PurposeBackup is a device's client state (client/backup).
	PurposeBackup Purpose = 1
	// PurposeArchive is a transcript archive (client/archive).
	PurposeArchive Purpose = 2
)

// SecretKind says what the person gives to open a file.
type SecretKind byte

// The kinds of secret.
const (
	// Passphrase is a passphrase chosen for the file.
	Passphrase SecretKind = 1
	// RecoveryCode is the account's recovery code: the secret is the
	// 32-byte account key seed it spells.
	RecoveryCode SecretKind = 2
)

func (k SecretKind) String() string {
	switch k {
	case Passphrase:
		return "passphrase"
	case RecoveryCode:
		return "recovery code"
	}
	return fmt.Sprintf("secret kind %d", byte(k))
}

const (
	// Magic starts every sealed file.
	Magic = "QPCSF"
	// Version is the format Create writes and Open reads.
	Version = 1
	// HeaderSize is the size of the header before the first chunk.
	HeaderSize = 69
	// SaltSize is the size of the Argon2id salt.
	SaltSize = 16
	// DefaultChunkSize is the plaintext size of a chunk Create makes.
	DefaultChunkSize = 64 << 10
	// MinChunkSize and MaxChunkSize bound the chunk size a reader takes,
	// and so the memory it spends on one.
	MinChunkSize = 1 << 10
	MaxChunkSize = 1 << 20

	// maxMemory bounds the memory (KiB) a file may make Argon2id take
	// before its key is known (1 GiB): an altered header must not make a
	// reader allocate what it likes.
	maxMemory  = 1 << 20
	maxTime    = 64
	maxThreads = 64

	keyInfo   = "qpc/1 sealedfile key"
	checkInfo = "qpc/1 sealedfile check"
	checkSize = 32
)

// KDF is an Argon2id cost.
type KDF struct {
	// Time is the number of passes, Memory in KiB, Threads the
	// parallelism.
	Time, Memory uint32
	Threads      uint8
}

// DefaultKDF is the cost Create uses unless told otherwise: qpc's login
// cost (t=3, m=64 MiB, p=4), so that a guess against a backup costs what
// a guess against the password costs.
func DefaultKDF() KDF { return KDF{Time: 3, Memory: 64 << 10, Threads: 4} }

func (k KDF) check() error {
	if k.Time < 1 || k.Time > maxTime || k.Threads < 1 || k.Threads > maxThreads ||
		k.Memory < 8*uint32(k.Threads) || k.Memory > maxMemory {
		return fmt.Errorf("%w: Argon2id t=%d m=%d KiB p=%d out of bounds", ErrBadHeader, k.Time, k.Memory, k.Threads)
	}
	return nil
}

// Header is a file's header, as read before its secret is known.
type Header struct {
	// Purpose is what the file holds; Secret what opens it.
	Purpose Purpose
	Secret  SecretKind
	// KDF is the Argon2id cost of its key.
	KDF KDF
	// Salt is the Argon2id salt.
	Salt [SaltSize]byte
	// ChunkSize is the plaintext size of every chunk but the last.
	ChunkSize uint32
	// Check is the key check.
	Check [checkSize]byte
}

func (h *Header) marshal() []byte {
	b := make([]byte, 0, HeaderSize)
	b = append(b, Magic...)
	b = append(b, Version, byte(h.Purpose), byte(h.Secret))
	b = binary.BigEndian.AppendUint32(b, h.KDF.Time)
	b = binary.BigEndian.AppendUint32(b, h.KDF.Memory)
	b = append(b, h.KDF.Threads)
	b = append(b, h.Salt[:]...)
	b = binary.BigEndian.AppendUint32(b, h.ChunkSize)
	return append(b, h.Check[:]...)
}

// ParseHeader decodes the first HeaderSize bytes of a file. Errors:
// ErrNotSealedFile, ErrVersionTooOld, ErrVersionUnknown, ErrBadHeader.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		return h, ErrNotSealedFile
	}
	if len(b) < len(Magic)+1 {
		return h, fmt.Errorf("%w: no version", ErrBadHeader)
	}
	switch v := b[len(Magic)]; {
	case v < Version:
		return h, fmt.Errorf("%w: version %d", ErrVersionTooOld, v)
	case v > Version:
		return h, fmt.Errorf("%w: version %d, this qpc reads %d", ErrVersionUnknown, v, Version)
	}
	if len(b) < HeaderSize {
		return h, fmt.Errorf("%w: %d bytes, want %d", ErrBadHeader, len(b), HeaderSize)
	}
	h.Purpose, h.Secret = Purpose(b[6]), SecretKind(b[7])
	h.KDF = KDF{Time: binary.BigEndian.Uint32(b[8:]), Memory: binary.BigEndian.Uint32(b[12:]), Threads: b[16]}
	copy(h.Salt[:], b[17:33])
	h.ChunkSize = binary.BigEndian.Uint32(b[33:])
	copy(h.Check[:], b[37:HeaderSize])
	if h.Secret != Passphrase && h.Secret != RecoveryCode {
		return h, fmt.Errorf("%w: unknown secret kind %d", ErrBadHeader, b[7])
	}
	if err := h.KDF.check(); err != nil {
		return h, err
	}
	if h.ChunkSize < MinChunkSize || h.ChunkSize > MaxChunkSize {
		return h, fmt.Errorf("%w: chunk size %d out of bounds", ErrBadHeader, h.ChunkSize)
	}
	return h, nil
}

// keys derives the chunk AEAD and the key check from secret.
func keys(secret []byte, h *Header) (cipher.AEAD, [checkSize]byte, error) {
	var check [checkSize]byte
	master := argon2.IDKey(secret, h.Salt[:], h.KDF.Time, h.KDF.Memory, h.KDF.Threads, 32)
	key, err := hkdf.Key(sha256.New, master, nil, keyInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, check, err
	}
	c, err := hkdf.Key(sha256.New, master, nil, checkInfo, checkSize)
	if err != nil {
		return nil, check, err
	}
	copy(check[:], c)
	aead, err := chacha20poly1305.New(key)
	return aead, check, err
}

func nonce(i uint64, last bool) []byte {
	n := make([]byte, chacha20poly1305.NonceSize)
	binary.BigEndian.PutUint64(n, i)
	if last {
		n[len(n)-1] = 1
	}
	return n
}

// Options say how Create seals a file.
type Options struct {
	// Purpose is what the file holds.
	Purpose Purpose
	// Secret is what kind of secret Key is.
	Secret SecretKind
	// Key is the passphrase, or the account key seed of a recovery code.
	Key []byte
	// KDF is the Argon2id cost; the zero value is DefaultKDF.
	KDF KDF
	// ChunkSize is the plaintext size of a chunk; 0 is DefaultChunkSize.
	ChunkSize int
}

// Writer seals what is written to it into a file. Close writes the last
// chunk: a file without it reads as cut short.
type Writer struct {
	w      io.Writer
	aead   cipher.AEAD
	header []byte
	buf    []byte
	chunk  int
	index  uint64
	closed bool
	err    error
}

// Create writes the header of a new file to w and returns the Writer of
// its content. It runs Argon2id, which takes the time and memory of
// o.KDF.
func Create(w io.Writer, o Options) (*Writer, error) {
	if o.KDF == (KDF{}) {
		o.KDF = DefaultKDF()
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.ChunkSize < MinChunkSize || o.ChunkSize > MaxChunkSize {
		return nil, fmt.Errorf("%w: chunk size %d out of bounds", ErrBadHeader, o.ChunkSize)
	}
	if err := o.KDF.check(); err != nil {
		return nil, err
	}
	if o.Secret != Passphrase && o.Secret != RecoveryCode {
		return nil, fmt.Errorf("%w: unknown secret kind %d", ErrBadHeader, o.Secret)
	}
	h := Header{Purpose: o.Purpose, Secret: o.Secret, KDF: o.KDF, ChunkSize: uint32(o.ChunkSize)}
	rand.Read(h.Salt[:]) // never fails
	aead, check, err := keys(o.Key, &h)
	if err != nil {
		return nil, err
	}
	h.Check = check
	header := h.marshal()
	if _, err := w.Write(header); err != nil {
		return nil, err
	}
	return &Writer{w: w, aead: aead, header: header, chunk: o.ChunkSize, buf: make([]byte, 0, o.ChunkSize+1)}, nil
}

// Write buffers p and seals every chunk that is known not to be the last.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		// A full chunk is sealed only once a byte more arrives: until then
		// it may be the last.
		if len(w.buf) == w.chunk {
			if err := w.seal(false); err != nil {
				return n - len(p), err
			}
		}
		k := min(w.chunk-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

func (w *Writer) seal(last bool) error {
	out := w.aead.Seal(nil, nonce(w.index, last), w.buf, w.header)
	if _, err := w.w.Write(out); err != nil {
		w.err = err
		return err
	}
	w.index++
	w.buf = w.buf[:0]
	return nil
}

// Close seals the last chunk. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	if w.err != nil {
		return w.err
	}
	w.closed = true
	return w.seal(true)
}

// Reader reads the content of a file, checking every chunk before it
// hands out a byte of it. Its errors after Open are *ChunkError.
type Reader struct {
	r      *bufio.Reader
	aead   cipher.AEAD
	header []byte
	h      Header
	buf    []byte // the current chunk's plaintext not yet read
	cipher []byte
	index  uint64
	done   bool
	err    error
}

// Open reads the header of a file from r, checks that it holds purpose,
// asks secret for the key of the file's kind (the passphrase, or the
// account key seed of the recovery code), and returns the Reader of its
// content. Errors: those of ParseHeader, ErrWrongPurpose, ErrWrongSecret,
// and secret's own.
func Open(r io.Reader, purpose Purpose, secret func(SecretKind) ([]byte, error)) (*Reader, error) {
	raw := make([]byte, HeaderSize)
	n, err := io.ReadFull(r, raw)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	h, err := ParseHeader(raw[:n])
	if err != nil {
		return nil, err
	}
	if h.Purpose != purpose {
		return nil, fmt.Errorf("%w: purpose %d, want %d", ErrWrongPurpose, h.Purpose, purpose)
	}
	key, err := secret(h.Secret)
	if err != nil {
		return nil, err
	}
	aead, check, err := keys(key, &h)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(check[:], h.Check[:]) != 1 {
		return nil, fmt.Errorf("%w (the file wants its %s)", ErrWrongSecret, h.Secret)
	}
	return &Reader{r: bufio.NewReaderSize(r, int(h.ChunkSize)+chacha20poly1305.Overhead+1), aead: aead, header: raw, h: h,
		cipher: make([]byte, int(h.ChunkSize)+chacha20poly1305.Overhead)}, nil
}

// Header returns the file's header.
func (r *Reader) Header() Header { return r.h }

// Read reads the content; io.EOF only after the last chunk opened and
// nothing follows it.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// next reads and opens the next chunk.
func (r *Reader) next() error {
	i := r.index
	n, err := io.ReadFull(r.r, r.cipher)
	var last bool
	switch {
	case err == nil:
		// A whole chunk: the last one if nothing follows.
		_, perr := r.r.Peek(1)
		if perr != nil && !errors.Is(perr, io.EOF) {
			return &ChunkError{Index: i, Err: perr}
		}
		last = errors.Is(perr, io.EOF)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		if n < chacha20poly1305.Overhead {
			// Nothing, or less than a tag: the last chunk is missing.
			return &ChunkError{Index: i, Err: ErrTruncated}
		}
		last = true
	default:
		return &ChunkError{Index: i, Err: err}
	}
	ct := r.cipher[:n]
	plain, err := r.aead.Open(nil, nonce(i, last), ct, r.header)
	if err != nil {
		// Sealed with the other flag: a cut or an addition, not a change.
		if _, oerr := r.aead.Open(nil, nonce(i, !last), ct, r.header); oerr == nil {
			if last {
				return &ChunkError{Index: i, Err: ErrTruncated}
			}
			return &ChunkError{Index: i, Err: ErrTrailingData}
		}
		return &ChunkError{Index: i, Err: ErrTampered}
	}
	r.buf, r.index, r.done = plain, i+1, last
	return nil
}
