package identity

// This file holds device certificates and the device list: what an account
// key says about the devices of its account. The node stores and hands out
// the list; clients trust nothing of it but what verifies under the account
// key they know. Both formats start with a version byte (1); version 0 is
// ErrTooOld, higher ones ErrUnsupportedVersion. Times are unix milliseconds,
// big endian, as in the rest of the wire formats.

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

const (
	// DeviceCertVersion is the version byte written by DeviceCert.Sign.
	DeviceCertVersion = 1

	// DeviceListVersion is the version byte written by DeviceList.Sign.
	DeviceListVersion = 1

	// MaxDevices is the most current (not revoked) devices an account has.
	MaxDevices = 8

	// MaxDeviceEntries is the most entries, current and revoked, in a
	// device list. Sign drops the oldest revoked entries beyond it.
	MaxDeviceEntries = 32

	// MaxDeviceCertSize is the longest device certificate: both lengths at
	// their maximum.
	MaxDeviceCertSize = 1 + 1 + MaxAddressLen + 1 + MaxDeviceNameLen + IdentityKeySize + HPKEPublicKeySize + 8 + SignatureSize

	// MaxDeviceListSize is the longest device list Sign writes and
	// VerifyDeviceList reads.
	MaxDeviceListSize = 1 + 1 + MaxAddressLen + IdentityKeySize + 8 + 8 + 1 +
		MaxDeviceEntries*(2+MaxDeviceCertSize+8) + SignatureSize
)

// Signature contexts: an account key signature made for one format never
// verifies as another, nor as anything a device key signs.
const (
	deviceCertContext = "qpc/1 device-cert\x00"
	deviceListContext = "qpc/1 device-list\x00"
)

// DeviceCert is the account key's statement that a device with these keys
// belongs to the account at Address.
//
// Sign encodes it as:
//
//	size      field
//	1         version (DeviceCertVersion = 1)
//	1         len(address)
//	n         address (CheckAddress)
//	1         len(name)
//	m         device name (CheckDeviceName, 1 to 32 bytes)
//	32        device Ed25519 identity public key
//	1216      device X-Wing public key
//	8         added, unix milliseconds, uint64 big endian
//	64        Ed25519 signature by the account key
//
// The signature covers "qpc/1 device-cert" | 0x00 | every byte before the
// signature. The device id is derived from the identity key (DeviceIDOf),
// not stored.
type DeviceCert struct {
	// Address is the account's address, in the node's canonical form.
	Address string
	// Name is what people call the device ("laptop", "desk").
	Name string
	// IdentityKey is the device's Ed25519 identity public key.
	IdentityKey ed25519.PublicKey
	// HPKEKey is the device's X-Wing public key.
	HPKEKey []byte
	// Added is when the device was added, to the millisecond.
	Added time.Time
}

// ID returns the device id of c's identity key.
func (c *DeviceCert) ID() DeviceID { return DeviceIDOf(c.IdentityKey) }

// Sign checks c and returns its encoding signed by acct.
func (c *DeviceCert) Sign(acct AccountKey) ([]byte, error) {
	body, err := c.body()
	if err != nil {
		return nil, err
	}
	sig, err := acct.sign(append([]byte(deviceCertContext), body...))
	if err != nil {
		return nil, err
	}
	return append(body, sig...), nil
}

// body checks c's fields and encodes everything the signature covers.
func (c *DeviceCert) body() ([]byte, error) {
	if err := CheckAddress(c.Address); err != nil {
		return nil, err
	}
	if err := CheckDeviceName(c.Name); err != nil {
		return nil, err
	}
	if len(c.IdentityKey) != IdentityKeySize {
		return nil, fmt.Errorf("%w: device identity key is %d bytes", ErrMalformedKeys, len(c.IdentityKey))
	}
	if len(c.HPKEKey) != HPKEPublicKeySize {
		return nil, fmt.Errorf("%w: device HPKE key is %d bytes", ErrMalformedKeys, len(c.HPKEKey))
	}
	added, err := unixMilli(c.Added, "added")
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, MaxDeviceCertSize)
	b = append(b, DeviceCertVersion, byte(len(c.Address)))
	b = append(b, c.Address...)
	b = append(b, byte(len(c.Name)))
	b = append(b, c.Name...)
	b = append(b, c.IdentityKey...)
	b = append(b, c.HPKEKey...)
	b = binary.BigEndian.AppendUint64(b, added)
	return b, nil
}

// ParseDeviceCert decodes a certificate without checking its signature, and
// returns the signature apart. Use VerifyDeviceCert to trust one.
func ParseDeviceCert(b []byte) (*DeviceCert, []byte, error) {
	if err := checkVersion(b, DeviceCertVersion); err != nil {
		return nil, nil, fmt.Errorf("device cert: %w", err)
	}
	r := reader{b: b[1:], what: "device cert"}
	addr := string(r.bytes8())
	name := string(r.bytes8())
	c := &DeviceCert{
		Address:     addr,
		Name:        name,
		IdentityKey: ed25519.PublicKey(r.fixed(IdentityKeySize)),
		HPKEKey:     r.fixed(HPKEPublicKeySize),
		Added:       r.time(),
	}
	sig := r.fixed(SignatureSize)
	if err := r.end(); err != nil {
		return nil, nil, err
	}
	if err := CheckAddress(c.Address); err != nil {
		return nil, nil, fmt.Errorf("device cert: %w", err)
	}
	if err := CheckDeviceName(c.Name); err != nil {
		return nil, nil, fmt.Errorf("device cert: %w", err)
	}
	if _, err := HPKEKEM().NewPublicKey(c.HPKEKey); err != nil {
		return nil, nil, fmt.Errorf("%w: device cert HPKE key: %v", ErrMalformedKeys, err)
	}
	return c, sig, nil
}

// VerifyDeviceCert decodes a certificate and checks that it is for address
// and signed by accountKey. It returns ErrMalformedKeys, ErrTooOld,
// ErrUnsupportedVersion, ErrBadAddress, ErrBadDeviceName or ErrBadSignature.
func VerifyDeviceCert(b []byte, address string, accountKey ed25519.PublicKey) (*DeviceCert, error) {
	c, sig, err := ParseDeviceCert(b)
	if err != nil {
		return nil, err
	}
	if c.Address != address {
		return nil, fmt.Errorf("%w: device cert is for %q, want %q", ErrBadAddress, c.Address, address)
	}
	if len(accountKey) != IdentityKeySize {
		return nil, fmt.Errorf("%w: account key is %d bytes", ErrMalformedKeys, len(accountKey))
	}
	msg := append([]byte(deviceCertContext), b[:len(b)-SignatureSize]...)
	if !ed25519.Verify(accountKey, msg, sig) {
		return nil, fmt.Errorf("%w: device cert %q of %q", ErrBadSignature, c.Name, address)
	}
	return c, nil
}

// Device is one entry of a device list.
type Device struct {
	// ID is derived from IdentityKey.
	ID DeviceID
	// Name is the name in the device's certificate.
	Name string
	// IdentityKey is the device's Ed25519 identity public key.
	IdentityKey ed25519.PublicKey
	// HPKEKey is the device's X-Wing public key.
	HPKEKey []byte
	// Added is when the certificate says the device was added.
	Added time.Time
	// Revoked is when the device was removed; zero for a current device.
	Revoked time.Time
	// Cert is the raw certificate signed by the account key.
	Cert []byte
}

// Current reports whether d is not revoked.
func (d Device) Current() bool { return d.Revoked.IsZero() }

// Bundle returns d's public keys in the shape the sealing code already takes
// (sealed.Seal wants HPKEKey; sender checks want IdentityKey). Its Signature
// is empty: a device's keys are vouched for by the account key through the
// list, not by a self-signature, so never call Verify on it.
func (d Device) Bundle() PublicBundle {
	return PublicBundle{IdentityKey: bytes.Clone(d.IdentityKey), HPKEKey: bytes.Clone(d.HPKEKey)}
}

// DeviceList is the account key's signed list of the account's devices.
//
// Sign encodes it as:
//
//	size      field
//	1         version (DeviceListVersion = 1)
//	1         len(address)
//	n         address (CheckAddress)
//	32        account Ed25519 public key
//	8         seq, uint64 big endian
//	8         issued, unix milliseconds, uint64 big endian
//	1         count of entries, at most MaxDeviceEntries
//	count ×   entry:
//	  2         len(cert), uint16 big endian
//	  c         device certificate (DeviceCert layout)
//	  8         revoked, unix milliseconds, uint64 big endian; 0 = current
//	64        Ed25519 signature by the account key
//
// The signature covers "qpc/1 device-list" | 0x00 | every byte before the
// signature. Every certificate is for the list's address and signed by the
// list's account key; no two entries share a device id; at most MaxDevices
// entries are current, and no two current ones share a name.
//
// Seq grows by at least 1 with every change. VerifyDeviceList checks one
// list alone: refusing a list whose seq is lower than one already seen for
// the same account key is the caller's business, since only the caller
// remembers what it saw.
type DeviceList struct {
	// Address is the account's address, in the node's canonical form.
	Address string
	// AccountKey is the account's Ed25519 public key.
	AccountKey ed25519.PublicKey
	// Seq orders the lists of one account key.
	Seq uint64
	// Issued is when the list was signed, to the millisecond.
	Issued time.Time
	// Devices are the entries in list order; the first current one is the
	// primary device.
	Devices []Device
}

// Current returns the devices that are not revoked, in list order.
func (l *DeviceList) Current() []Device {
	var out []Device
	for _, d := range l.Devices {
		if d.Current() {
			out = append(out, d)
		}
	}
	return out
}

// Find returns the entry, current or revoked, with id.
func (l *DeviceList) Find(id DeviceID) (Device, bool) {
	for _, d := range l.Devices {
		if d.ID == id {
			return d, true
		}
	}
	return Device{}, false
}

// FindName returns the current device called name.
func (l *DeviceList) FindName(name string) (Device, bool) {
	for _, d := range l.Devices {
		if d.Current() && d.Name == name {
			return d, true
		}
	}
	return Device{}, false
}

// Primary returns the first current device: the one whose keys the
// directory's legacy identityKey/hpkeKey fields carry for today's clients.
// It returns false if no device is current.
func (l *DeviceList) Primary() (Device, bool) {
	for _, d := range l.Devices {
		if d.Current() {
			return d, true
		}
	}
	return Device{}, false
}

// Add signs a certificate for a device with keys' public halves, appends it
// as current, bumps Seq and sets Issued to now. See AddKeys.
func (l *DeviceList) Add(acct AccountKey, name string, keys *UserKeys, now time.Time) (Device, error) {
	if keys == nil || len(keys.Identity) != ed25519.PrivateKeySize || keys.HPKE == nil {
		return Device{}, fmt.Errorf("%w: incomplete device keys", ErrMalformedKeys)
	}
	return l.AddKeys(acct, name, keys.IdentityPublic(), keys.HPKEPublic(), now)
}

// AddKeys signs a certificate for a device with these public keys (as a link
// request carries them), appends it as current, bumps Seq and sets Issued to
// now. It refuses a device id already in the list, even revoked (a revoked
// device comes back only with new keys), a name a current device has, and a
// ninth current device. The list is unchanged on error; sign it with Sign.
func (l *DeviceList) AddKeys(acct AccountKey, name string, identityKey ed25519.PublicKey, hpkeKey []byte, now time.Time) (Device, error) {
	if err := l.checkAccount(acct); err != nil {
		return Device{}, err
	}
	if len(identityKey) == IdentityKeySize {
		if _, ok := l.Find(DeviceIDOf(identityKey)); ok {
			return Device{}, fmt.Errorf("%w: device %s is already in the list", ErrDuplicateDevice, DeviceIDOf(identityKey))
		}
	}
	if _, ok := l.FindName(name); ok {
		return Device{}, fmt.Errorf("%w: a current device is already called %q", ErrDuplicateDevice, name)
	}
	if len(l.Current()) >= MaxDevices {
		return Device{}, fmt.Errorf("%w: %d current devices already", ErrTooManyDevices, MaxDevices)
	}
	c := &DeviceCert{Address: l.Address, Name: name, IdentityKey: bytes.Clone(identityKey), HPKEKey: bytes.Clone(hpkeKey), Added: now.Truncate(time.Millisecond)}
	if _, err := HPKEKEM().NewPublicKey(c.HPKEKey); err != nil {
		return Device{}, fmt.Errorf("%w: device HPKE key: %v", ErrMalformedKeys, err)
	}
	raw, err := c.Sign(acct)
	if err != nil {
		return Device{}, err
	}
	d := deviceOf(c, raw)
	l.AccountKey = acct.Public()
	l.Devices = append(l.Devices, d)
	l.Seq++
	l.Issued = now.Truncate(time.Millisecond)
	return d, nil
}

// NewLegacyDeviceList migrates an account that has only today's single
// UserKeys: the identity key becomes the account key and also the identity
// key of the first device, called name, so that contacts, who know the
// account by that key, see no key change. The list has Seq 1; sign it with
// the returned account key.
func NewLegacyDeviceList(address, name string, keys *UserKeys, now time.Time) (AccountKey, *DeviceList, error) {
	if keys == nil || len(keys.Identity) != ed25519.PrivateKeySize {
		return AccountKey{}, nil, fmt.Errorf("%w: incomplete legacy keys", ErrMalformedKeys)
	}
	acct, err := AccountKeyFromSeed(keys.Identity.Seed())
	if err != nil {
		return AccountKey{}, nil, err
	}
	l := &DeviceList{Address: address}
	if _, err := l.Add(acct, name, keys, now); err != nil {
		return AccountKey{}, nil, err
	}
	return acct, l, nil
}

// Revoke marks the current device id revoked at now, bumps Seq and sets
// Issued to now. It returns ErrNoDevice if id is not a current device.
func (l *DeviceList) Revoke(id DeviceID, now time.Time) error {
	for i := range l.Devices {
		if l.Devices[i].ID == id && l.Devices[i].Current() {
			now = now.Truncate(time.Millisecond)
			if now.UnixMilli() <= 0 {
				return fmt.Errorf("%w: revocation time %v is not after 1970", ErrMalformedKeys, now)
			}
			l.Devices[i].Revoked = now
			l.Seq++
			l.Issued = now
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not a current device", ErrNoDevice, id)
}

// checkAccount refuses a key other than the list's, and a list without an
// address.
func (l *DeviceList) checkAccount(acct AccountKey) error {
	if acct.IsZero() {
		return fmt.Errorf("%w: no account key", ErrMalformedKeys)
	}
	if err := CheckAddress(l.Address); err != nil {
		return err
	}
	if l.AccountKey != nil && !l.AccountKey.Equal(acct.Public()) {
		return fmt.Errorf("%w: the list belongs to another account key", ErrBadSignature)
	}
	return nil
}

// Sign checks l and returns its encoding signed by acct (layout in the
// DeviceList doc). If l.AccountKey is nil it becomes acct's public key.
// Over MaxDeviceEntries entries, Sign first drops the revoked entries that
// were revoked longest ago, from l itself. Every certificate must be for
// l.Address, signed by acct, and agree with its entry; Sign returns the same
// typed errors as VerifyDeviceList.
func (l *DeviceList) Sign(acct AccountKey) ([]byte, error) {
	if err := l.checkAccount(acct); err != nil {
		return nil, err
	}
	l.AccountKey = acct.Public()
	l.dropOldRevoked()
	if err := l.check(); err != nil {
		return nil, err
	}
	issued, err := unixMilli(l.Issued, "issued")
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 1024)
	b = append(b, DeviceListVersion, byte(len(l.Address)))
	b = append(b, l.Address...)
	b = append(b, l.AccountKey...)
	b = binary.BigEndian.AppendUint64(b, l.Seq)
	b = binary.BigEndian.AppendUint64(b, issued)
	b = append(b, byte(len(l.Devices)))
	for _, d := range l.Devices {
		if len(d.Cert) > math.MaxUint16 {
			return nil, fmt.Errorf("%w: certificate of %s is %d bytes", ErrMalformedKeys, d.ID, len(d.Cert))
		}
		revoked := uint64(0)
		if !d.Current() {
			if revoked, err = unixMilli(d.Revoked, "revoked"); err != nil {
				return nil, err
			}
			if revoked == 0 {
				return nil, fmt.Errorf("%w: revocation time of %s is 0, which means current", ErrMalformedKeys, d.ID)
			}
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(d.Cert)))
		b = append(b, d.Cert...)
		b = binary.BigEndian.AppendUint64(b, revoked)
	}
	sig, err := acct.sign(append([]byte(deviceListContext), b...))
	if err != nil {
		return nil, err
	}
	return append(b, sig...), nil
}

// dropOldRevoked removes the revoked entries revoked longest ago until at
// most MaxDeviceEntries remain; the order of the others is kept.
func (l *DeviceList) dropOldRevoked() {
	for len(l.Devices) > MaxDeviceEntries {
		oldest := -1
		for i, d := range l.Devices {
			if !d.Current() && (oldest < 0 || d.Revoked.Before(l.Devices[oldest].Revoked)) {
				oldest = i
			}
		}
		if oldest < 0 {
			return // all current: check reports too many
		}
		l.Devices = slices.Delete(l.Devices, oldest, oldest+1)
	}
}

// check applies the list's rules to l's entries, verifying each
// certificate against l.Address and l.AccountKey and that the entry's
// fields are the certificate's.
func (l *DeviceList) check() error {
	if len(l.Devices) > MaxDeviceEntries {
		return fmt.Errorf("%w: %d entries, at most %d", ErrTooManyDevices, len(l.Devices), MaxDeviceEntries)
	}
	current := 0
	ids := make(map[DeviceID]bool, len(l.Devices))
	names := make(map[string]bool, len(l.Devices))
	for _, d := range l.Devices {
		c, err := VerifyDeviceCert(d.Cert, l.Address, l.AccountKey)
		if err != nil {
			return err
		}
		if got := deviceOf(c, d.Cert); got.ID != d.ID || got.Name != d.Name || !got.IdentityKey.Equal(d.IdentityKey) ||
			!bytes.Equal(got.HPKEKey, d.HPKEKey) || !got.Added.Equal(d.Added) {
			return fmt.Errorf("%w: entry %s does not match its certificate", ErrMalformedKeys, d.ID)
		}
		if ids[d.ID] {
			return fmt.Errorf("%w: device id %s twice", ErrDuplicateDevice, d.ID)
		}
		ids[d.ID] = true
		if d.Current() {
			if names[d.Name] {
				return fmt.Errorf("%w: two current devices called %q", ErrDuplicateDevice, d.Name)
			}
			names[d.Name] = true
			current++
		}
	}
	if current > MaxDevices {
		return fmt.Errorf("%w: %d current devices, at most %d", ErrTooManyDevices, current, MaxDevices)
	}
	return nil
}

// VerifyDeviceList decodes a signed device list and checks it for address:
// the list's signature under its own account key, every certificate, and
// the bounds and rules in the DeviceList doc. It does not know which account
// key the caller expects nor the highest seq seen: compare those after.
// It returns ErrMalformedKeys, ErrTooOld, ErrUnsupportedVersion,
// ErrBadAddress, ErrBadDeviceName, ErrBadSignature, ErrTooManyDevices or
// ErrDuplicateDevice.
func VerifyDeviceList(b []byte, address string) (*DeviceList, error) {
	if err := checkVersion(b, DeviceListVersion); err != nil {
		return nil, fmt.Errorf("device list: %w", err)
	}
	if len(b) > MaxDeviceListSize {
		return nil, fmt.Errorf("%w: device list is %d bytes, at most %d", ErrMalformedKeys, len(b), MaxDeviceListSize)
	}
	r := reader{b: b[1:], what: "device list"}
	l := &DeviceList{Address: string(r.bytes8())}
	l.AccountKey = ed25519.PublicKey(r.fixed(IdentityKeySize))
	l.Seq = r.uint64()
	l.Issued = r.time()
	n := int(r.byte())
	if r.err == nil && n > MaxDeviceEntries {
		return nil, fmt.Errorf("%w: %d entries, at most %d", ErrTooManyDevices, n, MaxDeviceEntries)
	}
	type entry struct {
		cert    []byte
		revoked time.Time
	}
	entries := make([]entry, 0, n)
	for range n {
		cert := r.bytes16()
		revoked := r.uint64()
		var t time.Time
		if revoked != 0 {
			t = r.milli(revoked)
		}
		entries = append(entries, entry{cert, t})
	}
	r.fixed(SignatureSize)
	if err := r.end(); err != nil {
		return nil, err
	}
	if err := CheckAddress(l.Address); err != nil {
		return nil, fmt.Errorf("device list: %w", err)
	}
	if l.Address != address {
		return nil, fmt.Errorf("%w: device list is for %q, want %q", ErrBadAddress, l.Address, address)
	}
	// The list's own signature first: anything else wrong in a list that
	// verifies is the account key holder's mistake, not a forgery.
	msg := append([]byte(deviceListContext), b[:len(b)-SignatureSize]...)
	if !ed25519.Verify(l.AccountKey, msg, b[len(b)-SignatureSize:]) {
		return nil, fmt.Errorf("%w: device list of %q", ErrBadSignature, address)
	}
	for _, e := range entries {
		c, err := VerifyDeviceCert(e.cert, address, l.AccountKey)
		if err != nil {
			return nil, err
		}
		d := deviceOf(c, e.cert)
		d.Revoked = e.revoked
		l.Devices = append(l.Devices, d)
	}
	if err := l.check(); err != nil {
		return nil, err
	}
	return l, nil
}

// deviceOf makes the list entry of a verified certificate.
func deviceOf(c *DeviceCert, raw []byte) Device {
	return Device{
		ID:          c.ID(),
		Name:        c.Name,
		IdentityKey: bytes.Clone(c.IdentityKey),
		HPKEKey:     bytes.Clone(c.HPKEKey),
		Added:       c.Added,
		Cert:        bytes.Clone(raw),
	}
}

// unixMilli encodes t for the wire, refusing times before 1970 and after
// the year 292 million, which the format cannot carry.
func unixMilli(t time.Time, what string) (uint64, error) {
	ms := t.UnixMilli()
	if ms < 0 {
		return 0, fmt.Errorf("%w: %s time %v is before 1970", ErrMalformedKeys, what, t)
	}
	return uint64(ms), nil
}

// reader decodes the formats of this file. The first error sticks; later
// reads return zero values, so decoders read every field and check once.
type reader struct {
	b    []byte
	what string
	err  error
}

// need returns the next n bytes, or nil once short.
func (r *reader) need(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = fmt.Errorf("%w: %s truncated", ErrMalformedKeys, r.what)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() byte {
	if b := r.need(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) uint64() uint64 {
	if b := r.need(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// fixed returns a copy of the next n bytes.
func (r *reader) fixed(n int) []byte { return bytes.Clone(r.need(n)) }

// bytes8 returns a copy of a field with a one-byte length.
func (r *reader) bytes8() []byte { return r.fixed(int(r.byte())) }

// bytes16 returns a copy of a field with a two-byte length.
func (r *reader) bytes16() []byte {
	b := r.need(2)
	if b == nil {
		return nil
	}
	return r.fixed(int(binary.BigEndian.Uint16(b)))
}

// time reads a unix-millisecond time.
func (r *reader) time() time.Time { return r.milli(r.uint64()) }

// milli turns unix milliseconds from the wire into a time, refusing values
// that do not fit an int64.
func (r *reader) milli(ms uint64) time.Time {
	if r.err == nil && ms > math.MaxInt64 {
		r.err = fmt.Errorf("%w: %s time out of range", ErrMalformedKeys, r.what)
	}
	if r.err != nil {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms))
}

// end reports the first error, or trailing bytes.
func (r *reader) end() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the %s", ErrMalformedKeys, len(r.b), r.what)
	}
	return nil
}
