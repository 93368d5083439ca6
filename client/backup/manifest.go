package backup

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quicprochat/qpc/crypto/identity"
)

const (
	// Magic starts the content of every backup.
	Magic = "QPCBK"
	// Version is the content format Create writes.
	Version = 1
	// MaxFileSize bounds one file of a backup (1 TiB): a size beyond it is
	// a corrupt manifest, not a file to wait for.
	MaxFileSize = 1 << 40
	// maxManifest bounds what the decoder reads before the files.
	maxManifest = 2 << 10
)

// Suffixes are the files of an account in the state directory that a
// backup holds, after the account's lowercased address: the sealed state
// (keys, device list, contacts, channels), the chat database (history,
// groups, contacts, outbox), the replay cache of sealed messages, the
// offline key and the alarms kept for qpc status. The first is required.
var Suffixes = []string{".keystore", ".chat.db", ".replay", ".offline", ".alarms"}

// Manifest says whose state a backup holds and which files.
type Manifest struct {
	// Address is the account, user@domain, lowercase.
	Address string
	// Server and Fingerprint are the home node's address and certificate
	// fingerprint, where a restored device logs in.
	Server, Fingerprint string
	// Device and DeviceName are the device whose state this is; zero and
	// empty for a state of before devices.
	Device     identity.DeviceID
	DeviceName string
	// Created is when the backup was made (millisecond precision).
	Created time.Time
	// HoldsAccountKey reports that the device holds the account key.
	HoldsAccountKey bool
	// Files are the files, in the order of the content.
	Files []File
}

// File is one file of a backup.
type File struct {
	// Name is the file's name in the state directory.
	Name string
	// Size is its length in bytes.
	Size int64
}

// Size is the sum of the files' sizes.
func (m Manifest) Size() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// checkAddress accepts an address that names files safely: it becomes
// part of file names in the state directory.
func checkAddress(a string) error {
	if err := identity.CheckAddress(a); err != nil {
		return err
	}
	if a != strings.ToLower(a) || !strings.Contains(a, "@") || strings.ContainsAny(a, `/\`) || strings.HasPrefix(a, ".") {
		return fmt.Errorf("%q is not a lowercase user@domain fit for a file name", a)
	}
	return nil
}

// checkFiles checks that files are the account's, each suffix at most
// once, the sealed state among them.
func checkFiles(address string, files []File) error {
	if len(files) == 0 || len(files) > len(Suffixes) {
		return fmt.Errorf("%d files, want 1 to %d", len(files), len(Suffixes))
	}
	seen := map[string]bool{}
	for _, f := range files {
		suffix, ok := strings.CutPrefix(f.Name, address)
		known := false
		for _, s := range Suffixes {
			known = known || s == suffix
		}
		if !ok || !known {
			return fmt.Errorf("file %q is not one of the account's", f.Name)
		}
		if seen[suffix] {
			return fmt.Errorf("file %q twice", f.Name)
		}
		seen[suffix] = true
		if f.Size < 0 || f.Size > MaxFileSize {
			return fmt.Errorf("file %q of %d bytes", f.Name, f.Size)
		}
	}
	if !seen[Suffixes[0]] {
		return fmt.Errorf("no %s file", Suffixes[0])
	}
	return nil
}

// marshal encodes m as the head of a backup's content.
func (m *Manifest) marshal() ([]byte, error) {
	if err := checkAddress(m.Address); err != nil {
		return nil, err
	}
	if err := checkFiles(m.Address, m.Files); err != nil {
		return nil, err
	}
	if len(m.Server) > 255 || len(m.Fingerprint) > 255 || len(m.DeviceName) > identity.MaxDeviceNameLen {
		return nil, fmt.Errorf("backup: server, fingerprint or device name too long")
	}
	b := append([]byte(Magic), Version)
	for _, s := range []string{m.Address, m.Server, m.Fingerprint} {
		b = append(append(b, byte(len(s))), s...)
	}
	b = append(b, m.Device[:]...)
	b = append(append(b, byte(len(m.DeviceName))), m.DeviceName...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Created.UnixMilli()))
	var flags byte
	if m.HoldsAccountKey {
		flags = 1
	}
	b = append(b, flags, byte(len(m.Files)))
	for _, f := range m.Files {
		b = append(append(b, byte(len(f.Name))), f.Name...)
		b = binary.BigEndian.AppendUint64(b, uint64(f.Size))
	}
	return b, nil
}

// decoder reads a manifest field by field from r, within maxManifest
// bytes.
type decoder struct {
	r   io.Reader
	n   int
	err error
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if d.n+n > maxManifest {
		d.err = fmt.Errorf("%w: manifest longer than %d bytes", ErrCorrupt, maxManifest)
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.err = fmt.Errorf("%w: manifest cut short: %w", ErrCorrupt, err)
		return nil
	}
	d.n += n
	return b
}

func (d *decoder) byte() byte {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) string() string {
	s := d.bytes(int(d.byte()))
	if d.err == nil && !utf8.Valid(s) {
		d.err = fmt.Errorf("%w: text not UTF-8", ErrCorrupt)
	}
	return string(s)
}

func (d *decoder) uint64() uint64 {
	if b := d.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// decodeManifest reads the manifest at the head of a backup's content
// from r, which is left at the first file's bytes. Errors: ErrNotBackup,
// ErrVersionTooOld, ErrVersionUnknown, ErrCorrupt.
func decodeManifest(r io.Reader) (Manifest, error) {
	var m Manifest
	d := &decoder{r: r}
	head := d.bytes(len(Magic) + 1)
	if d.err != nil {
		return m, d.err
	}
	if !bytes.Equal(head[:len(Magic)], []byte(Magic)) {
		return m, ErrNotBackup
	}
	switch v := head[len(Magic)]; {
	case v < Version:
		return m, fmt.Errorf("%w: version %d", ErrVersionTooOld, v)
	case v > Version:
		return m, fmt.Errorf("%w: version %d, this qpc reads %d", ErrVersionUnknown, v, Version)
	}
	m.Address, m.Server, m.Fingerprint = d.string(), d.string(), d.string()
	copy(m.Device[:], d.bytes(len(m.Device)))
	m.DeviceName = d.string()
	created := d.uint64()
	flags := d.byte()
	count := int(d.byte())
	for i := 0; i < count && d.err == nil; i++ {
		name := d.string()
		size := d.uint64()
		if size > MaxFileSize {
			d.err = fmt.Errorf("%w: file %q of %d bytes", ErrCorrupt, name, size)
		}
		m.Files = append(m.Files, File{Name: name, Size: int64(size)})
	}
	if d.err != nil {
		return Manifest{}, d.err
	}
	if created > 1<<62 {
		return Manifest{}, fmt.Errorf("%w: creation time out of range", ErrCorrupt)
	}
	m.Created = time.UnixMilli(int64(created)).UTC()
	if flags&^1 != 0 {
		return Manifest{}, fmt.Errorf("%w: unknown flags %#x", ErrCorrupt, flags)
	}
	m.HoldsAccountKey = flags&1 != 0
	if len(m.DeviceName) > identity.MaxDeviceNameLen {
		return Manifest{}, fmt.Errorf("%w: device name of %d bytes", ErrCorrupt, len(m.DeviceName))
	}
	if err := checkAddress(m.Address); err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkFiles(m.Address, m.Files); err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return m, nil
}
