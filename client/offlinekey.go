//go:build !router

package client

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/quicprochat/qpc/crypto/keystore"
	"github.com/quicprochat/qpc/internal/atomicfile"
)

// The offline key (laptop build only: the router has no account to
// open) lets `qpc repl` open an account's state while its node
// is out of reach. The state is sealed under the OPAQUE export key, which
// only a login (the node's OPRF key) yields; the offline key file keeps
// that export key sealed under a key stretched from the password with
// Argon2id and a random salt, so that the password alone opens it.
//
// The price: who copies this file can test password guesses against it
// offline, at Argon2id's cost per guess, where without it they would need
// the node. That is why register refuses weak passwords, and why only the
// REPL, which needs it, writes the file.
//
// File format (big-endian):
//
//	offset  size  field
//	0       5     magic "QPCOK"
//	5       1     version (offlineKeyVersion = 1)
//	6       4     Argon2id time t
//	10      4     Argon2id memory m, KiB
//	14      1     Argon2id threads p
//	15      16    salt
//	31      32    check: HMAC-SHA256(export key, "qpc/1 offline key check" || salt)
//	63      n     keystore file (crypto/keystore) of the export key, sealed
//	              under Argon2id(password, salt, t, m, p, 32 bytes)
//
// The check lets a login tell whether the file still holds its export
// key (the password did not change) without running Argon2id; it says
// nothing about the export key to who lacks it.
const (
	offlineKeyMagic   = "QPCOK"
	offlineKeyVersion = 1
	offlineSaltSize   = 16
	offlineCheckSize  = sha256.Size
	offlineHeaderSize = len(offlineKeyMagic) + 1 + 4 + 4 + 1 + offlineSaltSize + offlineCheckSize
	offlineCheckInfo  = "qpc/1 offline key check"
	// offlineMaxMemory bounds the memory a file may make Argon2id take
	// (4 GiB), so that a file altered to ask for more fails instead.
	offlineMaxMemory = 4 << 20
	offlineMaxTime   = 64
	// offlineMaxFile bounds what is read: a sealed export key is small.
	offlineMaxFile = 1024
)

// ErrNoOfflineKey means this machine keeps no offline key of the account:
// its state opens only after a login on its node.
var ErrNoOfflineKey = errors.New("no offline key of this account on this machine (open it once with the node reachable)")

// ErrBadOfflineKey means an offline key file is malformed: not one, of
// another version, truncated, or with parameters out of bounds.
var ErrBadOfflineKey = errors.New("malformed offline key file")

// OfflineKDF is the Argon2id cost of an offline key.
type OfflineKDF struct {
	// Time is the number of passes; Memory is in KiB; Threads is the
	// parallelism.
	Time, Memory uint32
	Threads      uint8
}

// offlineKey is a decoded offline key file.
type offlineKey struct {
	kdf    OfflineKDF
	salt   []byte
	check  []byte
	sealed []byte
}

func offlineKeyPath(dir, user, domain string) string {
	return filepath.Join(dir, strings.ToLower(user+"@"+domain)+".offline")
}

func (k OfflineKDF) valid() bool {
	return k.Time >= 1 && k.Time <= offlineMaxTime && k.Threads >= 1 &&
		k.Memory >= 8*uint32(k.Threads) && k.Memory <= offlineMaxMemory
}

func (k OfflineKDF) stretch(pw, salt []byte) []byte {
	return argon2.IDKey(pw, salt, k.Time, k.Memory, k.Threads, 32)
}

func offlineCheck(exportKey, salt []byte) []byte {
	m := hmac.New(sha256.New, exportKey)
	m.Write([]byte(offlineCheckInfo))
	m.Write(salt)
	return m.Sum(nil)
}

func (k *offlineKey) encode() []byte {
	b := make([]byte, 0, offlineHeaderSize+len(k.sealed))
	b = append(b, offlineKeyMagic...)
	b = append(b, offlineKeyVersion)
	b = binary.BigEndian.AppendUint32(b, k.kdf.Time)
	b = binary.BigEndian.AppendUint32(b, k.kdf.Memory)
	b = append(b, k.kdf.Threads)
	b = append(b, k.salt...)
	b = append(b, k.check...)
	return append(b, k.sealed...)
}

// decodeOfflineKey parses an offline key file; every failure is
// ErrBadOfflineKey.
func decodeOfflineKey(b []byte) (*offlineKey, error) {
	if len(b) < offlineHeaderSize+keystore.Overhead {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadOfflineKey, len(b))
	}
	if !bytes.HasPrefix(b, []byte(offlineKeyMagic)) {
		return nil, fmt.Errorf("%w: no magic", ErrBadOfflineKey)
	}
	if v := b[5]; v != offlineKeyVersion {
		return nil, fmt.Errorf("%w: version %d, this qpc reads %d", ErrBadOfflineKey, v, offlineKeyVersion)
	}
	k := &offlineKey{kdf: OfflineKDF{
		Time:    binary.BigEndian.Uint32(b[6:]),
		Memory:  binary.BigEndian.Uint32(b[10:]),
		Threads: b[14],
	}}
	if !k.kdf.valid() {
		return nil, fmt.Errorf("%w: Argon2id t=%d m=%d p=%d out of bounds", ErrBadOfflineKey, k.kdf.Time, k.kdf.Memory, k.kdf.Threads)
	}
	k.salt = bytes.Clone(b[15 : 15+offlineSaltSize])
	k.check = bytes.Clone(b[15+offlineSaltSize : offlineHeaderSize])
	k.sealed = bytes.Clone(b[offlineHeaderSize:])
	return k, nil
}

func readOfflineKey(dir, user, domain string) (*offlineKey, error) {
	f, err := os.Open(offlineKeyPath(dir, user, domain))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s@%s: %w", user, domain, ErrNoOfflineKey)
	}
	if err != nil {
		return nil, fmt.Errorf("offline key: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, offlineMaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("offline key: %w", err)
	}
	if len(b) > offlineMaxFile {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrBadOfflineKey, offlineMaxFile)
	}
	return decodeOfflineKey(b)
}

// SaveOfflineKey keeps exportKey, the account's export key, sealed under
// pw with kdf's cost in dir, so that OpenOfflineKey opens the account's
// state without its node. A file that already holds exportKey is left as
// it is, which costs no Argon2id; one of an older password is replaced.
func SaveOfflineKey(dir, user, domain string, pw, exportKey []byte, kdf OfflineKDF) error {
	if !kdf.valid() {
		return fmt.Errorf("offline key: Argon2id t=%d m=%d p=%d out of bounds", kdf.Time, kdf.Memory, kdf.Threads)
	}
	if old, err := readOfflineKey(dir, user, domain); err == nil && hmac.Equal(old.check, offlineCheck(exportKey, old.salt)) {
		return nil
	}
	salt := make([]byte, offlineSaltSize)
	rand.Read(salt)
	sealed, err := keystore.Seal(kdf.stretch(pw, salt), exportKey)
	if err != nil {
		return fmt.Errorf("offline key: %w", err)
	}
	k := &offlineKey{kdf: kdf, salt: salt, check: offlineCheck(exportKey, salt), sealed: sealed}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return atomicfile.Write(offlineKeyPath(dir, user, domain), k.encode(), 0o600)
}

// OpenOfflineKey returns the export key of user@domain that
// SaveOfflineKey kept, opened with pw: ErrNoOfflineKey when there is none,
// ErrWrongPassword when pw does not open it, ErrBadOfflineKey when the file
// is malformed.
func OpenOfflineKey(dir, user, domain string, pw []byte) ([]byte, error) {
	k, err := readOfflineKey(dir, user, domain)
	if err != nil {
		return nil, err
	}
	exportKey, err := keystore.Open(k.kdf.stretch(pw, k.salt), k.sealed)
	if errors.Is(err, keystore.ErrWrongKey) {
		return nil, fmt.Errorf("%s@%s: %w", user, domain, ErrWrongPassword)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOfflineKey, err)
	}
	if !hmac.Equal(k.check, offlineCheck(exportKey, k.salt)) {
		return nil, fmt.Errorf("%w: its check does not match its key", ErrBadOfflineKey)
	}
	return exportKey, nil
}

// HasOfflineKey reports whether dir keeps an offline key of user@domain.
func HasOfflineKey(dir, user, domain string) bool {
	_, err := os.Stat(offlineKeyPath(dir, user, domain))
	return err == nil
}
