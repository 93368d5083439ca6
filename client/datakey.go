//go:build !router

package client

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/keystore"
	"github.com/quicprochat/qpc/internal/atomicfile"
)

// The data key (laptop build only) is the key that what this machine keeps
// of an account is sealed under: the state (SaveState), the chat database
// (client/chatdb), the replay cache and the offline key's content. It is
// the OPAQUE export key of the password the account had when this machine
// first sealed something of it. A password change gives the account a new
// export key, and re-sealing everything (a whole chat database) under it
// would cost a write of every record and, done half, lose the history; so
// instead this machine keeps the data key sealed under the new export key,
// in <address>.datakey. A login opens that file with its export key and
// uses the data key inside; a machine without the file uses the export key
// itself, as before passwords could change.
//
// The file holds the data key sealed under each export key the account had
// here since, newest first, at most maxDataKeyWraps: the newest is written
// before the node takes a new password, so that a crash between the two
// leaves a machine that opens with either password. An entry under a
// password the node no longer takes helps nobody: its export key needs the
// node's record of that password, which the change replaced.
//
// File format (big-endian):
//
//	offset  size  field
//	0       5     magic "QPCDK"
//	5       1     version (dataKeyVersion = 1)
//	6       1     count n, 1 to maxDataKeyWraps
//	7       ...   n entries: length (2) | keystore file (crypto/keystore) of
//	              the data key sealed under one export key
const (
	dataKeyMagic   = "QPCDK"
	dataKeyVersion = 1
	// maxDataKeyWraps bounds the entries: each password change adds one.
	maxDataKeyWraps = 8
	// maxDataKeyEntry bounds an entry: a sealed key of up to 256 bytes.
	maxDataKeyEntry = keystore.Overhead + 256
)

// ErrBadDataKeyFile means a data key file is malformed.
var ErrBadDataKeyFile = errors.New("malformed data key file")

// ErrDataKeyTooNew means a data key file is of a later format than this
// qpc reads.
var ErrDataKeyTooNew = errors.New("data key file of a later qpc")

func dataKeyPath(dir, user, domain string) string {
	return filepath.Join(dir, strings.ToLower(user+"@"+domain)+".datakey")
}

// encodeDataKeyFile lays out entries as the file format says.
func encodeDataKeyFile(entries [][]byte) []byte {
	b := append([]byte(dataKeyMagic), dataKeyVersion, byte(len(entries)))
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	return b
}

// decodeDataKeyFile returns the entries of a data key file; they alias b.
func decodeDataKeyFile(b []byte) ([][]byte, error) {
	if !bytes.HasPrefix(b, []byte(dataKeyMagic)) {
		return nil, fmt.Errorf("%w: no magic", ErrBadDataKeyFile)
	}
	b = b[len(dataKeyMagic):]
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: truncated header", ErrBadDataKeyFile)
	}
	switch v := b[0]; {
	case v > dataKeyVersion:
		return nil, fmt.Errorf("%w: version %d", ErrDataKeyTooNew, v)
	case v < dataKeyVersion:
		return nil, fmt.Errorf("%w: version %d", ErrBadDataKeyFile, v)
	}
	n := int(b[1])
	if n < 1 || n > maxDataKeyWraps {
		return nil, fmt.Errorf("%w: %d entries, want 1 to %d", ErrBadDataKeyFile, n, maxDataKeyWraps)
	}
	b = b[2:]
	entries := make([][]byte, 0, n)
	for i := range n {
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: entry %d truncated", ErrBadDataKeyFile, i)
		}
		l := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if l > maxDataKeyEntry || l > len(b) {
			return nil, fmt.Errorf("%w: entry %d of %d bytes, %d left, at most %d", ErrBadDataKeyFile, i, l, len(b), maxDataKeyEntry)
		}
		entries = append(entries, b[:l])
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the entries", ErrBadDataKeyFile, len(b))
	}
	return entries, nil
}

// readDataKeyFile returns the entries of user@domain's data key file in
// dir; none, and no error, when there is no file.
func readDataKeyFile(dir, user, domain string) ([][]byte, error) {
	b, err := os.ReadFile(dataKeyPath(dir, user, domain))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	if len(b) > len(dataKeyMagic)+2+maxDataKeyWraps*(2+maxDataKeyEntry) {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadDataKeyFile, len(b))
	}
	return decodeDataKeyFile(b)
}

// DataKey returns the key that what dir keeps of user@domain is sealed
// under, given the export key of a login: the data key the data key file
// keeps under exportKey, or exportKey itself when the file has none under
// it (no password change on this machine, or one it did not see: then the
// state does not open with the result, and the caller needs the old
// password, see OpenOfflineKey). A data key file of an account that has no
// state here is stale (the account was deleted and its name taken again)
// and is removed.
func DataKey(dir, user, domain string, exportKey []byte) ([]byte, error) {
	if !HasState(dir, user, domain) {
		if err := os.Remove(dataKeyPath(dir, user, domain)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data key: %w", err)
		}
		return exportKey, nil
	}
	entries, err := readDataKeyFile(dir, user, domain)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if key, err := keystore.Open(exportKey, e); err == nil {
			return key, nil
		}
	}
	return exportKey, nil
}

// WrapDataKey keeps dataKey, the key of what dir keeps of user@domain,
// sealed under exportKey as the newest entry of the data key file, so that
// DataKey finds it with a login that yields exportKey. The oldest entries
// beyond maxDataKeyWraps are dropped.
func WrapDataKey(dir, user, domain string, dataKey, exportKey []byte) error {
	entries, err := readDataKeyFile(dir, user, domain)
	if err != nil && !errors.Is(err, ErrBadDataKeyFile) {
		return err // a malformed file is replaced; one of a later qpc is not
	}
	sealed, err := keystore.Seal(exportKey, dataKey)
	if err != nil {
		return fmt.Errorf("data key: %w", err)
	}
	entries = append([][]byte{sealed}, entries...)
	if len(entries) > maxDataKeyWraps {
		entries = entries[:maxDataKeyWraps]
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return atomicfile.Write(dataKeyPath(dir, user, domain), encodeDataKeyFile(entries), 0o600)
}

// ForgetAccount removes what dir keeps of user@domain: its state, chat
// database, replay cache, offline key, data key and alarms, and the
// current account when it is this one. What is not there is no error.
func ForgetAccount(dir, user, domain string) error {
	addr := strings.ToLower(user + "@" + domain)
	paths := []string{
		statePath(dir, user, domain),
		chatdb.Path(dir, addr),
		replayPath(dir, user, domain),
		offlineKeyPath(dir, user, domain),
		dataKeyPath(dir, user, domain),
		alarmsPath(dir, user+"@"+domain),
	}
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if cur, err := LoadCurrent(dir); err == nil && strings.EqualFold(cur.Address(), addr) {
		if err := os.Remove(filepath.Join(dir, "current")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RemoveOfflineKey removes the offline key of user@domain from dir, if
// there is one: after a password change, SaveOfflineKey would leave a file
// that holds the same key under the old password.
func RemoveOfflineKey(dir, user, domain string) error {
	if err := os.Remove(offlineKeyPath(dir, user, domain)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("offline key: %w", err)
	}
	return nil
}
