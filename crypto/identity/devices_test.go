package identity

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"
)

const testAddr = "alice@a.example"

// testNow is a fixed time with sub-millisecond digits, to show that the
// formats keep milliseconds and drop the rest.
var testNow = time.Date(2026, 12, 8, 10, 30, 0, 123456789, time.UTC)

// newList makes a list for testAddr with n devices added by acct, one
// minute apart.
func newList(t testing.TB, acct AccountKey, n int) *DeviceList {
	t.Helper()
	l := &DeviceList{Address: testAddr}
	for i := range n {
		if _, err := l.Add(acct, fmt.Sprintf("device %d", i), mustUserKeys(t), testNow.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func mustSign(t testing.TB, l *DeviceList, acct AccountKey) []byte {
	t.Helper()
	b, err := l.Sign(acct)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawCert encodes a certificate by the layout in the DeviceCert doc, with
// no checks, signed by signer: it builds what Sign refuses to.
func rawCert(addr, name string, keys *UserKeys, added time.Time, signer AccountKey) []byte {
	b := []byte{1, byte(len(addr))}
	b = append(b, addr...)
	b = append(b, byte(len(name)))
	b = append(b, name...)
	b = append(b, keys.IdentityPublic()...)
	b = append(b, keys.HPKEPublic()...)
	b = binary.BigEndian.AppendUint64(b, uint64(added.UnixMilli()))
	return append(b, ed25519.Sign(signer.priv, append([]byte("qpc/1 device-cert\x00"), b...))...)
}

type rawEntry struct {
	cert    []byte
	revoked uint64
}

// rawList encodes a list by the layout in the DeviceList doc, with no
// checks, signed by signer.
func rawList(addr string, accountKey ed25519.PublicKey, seq uint64, entries []rawEntry, signer AccountKey) []byte {
	b := []byte{1, byte(len(addr))}
	b = append(b, addr...)
	b = append(b, accountKey...)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(testNow.UnixMilli()))
	b = append(b, byte(len(entries)))
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.cert)))
		b = append(b, e.cert...)
		b = binary.BigEndian.AppendUint64(b, e.revoked)
	}
	return append(b, ed25519.Sign(signer.priv, append([]byte("qpc/1 device-list\x00"), b...))...)
}

func TestADeviceListSurvivesSignAndVerify(t *testing.T) {
	acct := mustAccountKey(t)
	l := newList(t, acct, 3)
	if err := l.Revoke(l.Devices[0].ID, testNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	enc := mustSign(t, l, acct)
	got, err := VerifyDeviceList(enc, testAddr)
	if err != nil {
		t.Fatal(err)
	}
	if got.Address != testAddr || !got.AccountKey.Equal(acct.Public()) || got.Seq != 4 || !got.Issued.Equal(testNow.Add(time.Hour).Truncate(time.Millisecond)) {
		t.Errorf("header %q %x seq %d issued %v", got.Address, got.AccountKey, got.Seq, got.Issued)
	}
	if len(got.Devices) != 3 || len(got.Current()) != 2 {
		t.Fatalf("%d entries, %d current; want 3, 2", len(got.Devices), len(got.Current()))
	}
	for i, d := range got.Devices {
		w := l.Devices[i]
		if d.ID != w.ID || d.Name != w.Name || !d.IdentityKey.Equal(w.IdentityKey) || !bytes.Equal(d.HPKEKey, w.HPKEKey) ||
			!d.Added.Equal(w.Added) || !d.Revoked.Equal(w.Revoked) || !bytes.Equal(d.Cert, w.Cert) {
			t.Errorf("entry %d changed in the round trip: %+v", i, d)
		}
		if d.Added.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("entry %d added %v keeps sub-millisecond digits", i, d.Added)
		}
	}
	if p, ok := got.Primary(); !ok || p.ID != l.Devices[1].ID {
		t.Errorf("primary %v %v, want the first current device %v", p.ID, ok, l.Devices[1].ID)
	}
	if d, ok := got.Find(l.Devices[0].ID); !ok || d.Current() {
		t.Errorf("Find of the revoked device: %v current=%v", ok, d.Current())
	}
	if _, ok := got.Find(DeviceIDOf(mustUserKeys(t).IdentityPublic())); ok {
		t.Error("Find found a device not in the list")
	}
	if d, ok := got.FindName("device 2"); !ok || d.ID != l.Devices[2].ID {
		t.Error("FindName did not find device 2")
	}
	if _, ok := got.FindName("device 0"); ok {
		t.Error("FindName found a revoked device")
	}
	// Signing the decoded list again gives the same bytes: nothing is lost.
	if again := mustSign(t, got, acct); !bytes.Equal(again, enc) {
		t.Error("re-signing the verified list changed its encoding")
	}
}

func TestAddAndRevokeBumpSeqAndIssued(t *testing.T) {
	acct := mustAccountKey(t)
	l := &DeviceList{Address: testAddr, Seq: 41}
	d, err := l.Add(acct, "laptop", mustUserKeys(t), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if l.Seq != 42 || !l.Issued.Equal(testNow.Truncate(time.Millisecond)) || !d.Current() {
		t.Errorf("after Add: seq %d issued %v current %v", l.Seq, l.Issued, d.Current())
	}
	later := testNow.Add(time.Minute)
	if err := l.Revoke(d.ID, later); err != nil {
		t.Fatal(err)
	}
	if l.Seq != 43 || !l.Issued.Equal(later.Truncate(time.Millisecond)) || l.Devices[0].Current() {
		t.Errorf("after Revoke: seq %d issued %v", l.Seq, l.Issued)
	}
	if err := l.Revoke(d.ID, later); !errors.Is(err, ErrNoDevice) {
		t.Errorf("revoking twice: %v, want ErrNoDevice", err)
	}
	if _, ok := l.Primary(); ok {
		t.Error("a list with no current device has a primary")
	}
	if l.Seq != 43 {
		t.Errorf("a refused Revoke moved seq to %d", l.Seq)
	}
}

func TestAddRefuses(t *testing.T) {
	acct := mustAccountKey(t)
	full := newList(t, acct, MaxDevices)
	if _, err := full.Add(acct, "ninth", mustUserKeys(t), testNow); !errors.Is(err, ErrTooManyDevices) {
		t.Errorf("ninth current device: %v, want ErrTooManyDevices", err)
	}
	if full.Seq != MaxDevices || len(full.Devices) != MaxDevices {
		t.Errorf("a refused Add changed the list: seq %d, %d entries", full.Seq, len(full.Devices))
	}

	l := newList(t, acct, 1)
	keys := mustUserKeys(t)
	if _, err := l.Add(acct, "desk", keys, testNow); err != nil {
		t.Fatal(err)
	}
	if err := l.Revoke(DeviceIDOf(keys.IdentityPublic()), testNow); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		acct AccountKey
		dev  string
		keys *UserKeys
		want error
	}{
		{"a revoked device's keys again", acct, "desk again", keys, ErrDuplicateDevice},
		{"a current device's name", acct, "device 0", mustUserKeys(t), ErrDuplicateDevice},
		{"another account key", mustAccountKey(t), "other", mustUserKeys(t), ErrBadSignature},
		{"a bad name", acct, "lap\ntop", mustUserKeys(t), ErrBadDeviceName},
		{"no keys", acct, "empty", nil, ErrMalformedKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := l.Seq
			if _, err := l.Add(tt.acct, tt.dev, tt.keys, testNow); !errors.Is(err, tt.want) {
				t.Fatalf("Add: %v, want %v", err, tt.want)
			}
			if l.Seq != seq || len(l.Devices) != 2 {
				t.Fatal("a refused Add changed the list")
			}
		})
	}
	// The revoked device's name is free again.
	if _, err := l.Add(acct, "desk", mustUserKeys(t), testNow); err != nil {
		t.Errorf("reusing a revoked device's name: %v", err)
	}
	// AddKeys checks the HPKE key it is handed (a link request carries it).
	k := mustUserKeys(t)
	if _, err := l.AddKeys(acct, "bad hpke", k.IdentityPublic(), make([]byte, HPKEPublicKeySize-1), testNow); !errors.Is(err, ErrMalformedKeys) {
		t.Errorf("short HPKE key: %v, want ErrMalformedKeys", err)
	}
}

func TestSignRefuses(t *testing.T) {
	acct := mustAccountKey(t)
	other := mustAccountKey(t)
	tests := []struct {
		name   string
		mangle func(t *testing.T, l *DeviceList) AccountKey
		want   error
	}{
		{"another account key than the list's", func(t *testing.T, l *DeviceList) AccountKey { return other }, ErrBadSignature},
		{"a certificate for another address", func(t *testing.T, l *DeviceList) AccountKey {
			l.Address = "bob@a.example"
			return acct
		}, ErrBadAddress},
		{"a certificate signed by another account key", func(t *testing.T, l *DeviceList) AccountKey {
			l.Devices[0].Cert = rawCert(testAddr, l.Devices[0].Name, mustUserKeys(t), testNow, other)
			return acct
		}, ErrBadSignature},
		{"an entry that differs from its certificate", func(t *testing.T, l *DeviceList) AccountKey {
			l.Devices[0].Name = "renamed"
			return acct
		}, ErrMalformedKeys},
		{"two entries with one device", func(t *testing.T, l *DeviceList) AccountKey {
			l.Devices = append(l.Devices, l.Devices[0])
			return acct
		}, ErrDuplicateDevice},
		{"two current devices with one name", func(t *testing.T, l *DeviceList) AccountKey {
			k := mustUserKeys(t)
			raw := rawCert(testAddr, l.Devices[0].Name, k, testNow, acct)
			c, err := VerifyDeviceCert(raw, testAddr, acct.Public())
			if err != nil {
				t.Fatal(err)
			}
			l.Devices = append(l.Devices, deviceOf(c, raw))
			return acct
		}, ErrDuplicateDevice},
		{"nine current devices", func(t *testing.T, l *DeviceList) AccountKey {
			for i := range MaxDevices + 1 - len(l.Devices) {
				raw := rawCert(testAddr, fmt.Sprintf("more %d", i), mustUserKeys(t), testNow, acct)
				c, err := VerifyDeviceCert(raw, testAddr, acct.Public())
				if err != nil {
					t.Fatal(err)
				}
				l.Devices = append(l.Devices, deviceOf(c, raw))
			}
			return acct
		}, ErrTooManyDevices},
		{"a time before 1970", func(t *testing.T, l *DeviceList) AccountKey {
			l.Issued = time.Unix(-1, 0)
			return acct
		}, ErrMalformedKeys},
		{"a revocation at the epoch, which reads as current", func(t *testing.T, l *DeviceList) AccountKey {
			l.Devices[0].Revoked = time.UnixMilli(0)
			return acct
		}, ErrMalformedKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newList(t, acct, 2)
			if _, err := l.Sign(tt.mangle(t, l)); !errors.Is(err, tt.want) {
				t.Fatalf("Sign: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignDropsTheOldestRevokedEntriesOver32(t *testing.T) {
	acct := mustAccountKey(t)
	l := &DeviceList{Address: testAddr}
	// 34 devices come and go: each is revoked before the next is added, so
	// the list reaches 34 entries with one current.
	var ids []DeviceID
	for i := range MaxDeviceEntries + 2 {
		at := testNow.Add(time.Duration(i) * time.Hour)
		d, err := l.Add(acct, fmt.Sprintf("d%d", i), mustUserKeys(t), at)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
		if i < MaxDeviceEntries+1 {
			// Revoke out of order for the first two, so that "oldest" must
			// mean revoked longest ago and not first in the list.
			rev := at.Add(time.Minute)
			if i == 0 {
				rev = at.Add(100 * time.Hour)
			}
			if err := l.Revoke(d.ID, rev); err != nil {
				t.Fatal(err)
			}
		}
	}
	enc := mustSign(t, l, acct)
	got, err := VerifyDeviceList(enc, testAddr)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Devices) != MaxDeviceEntries {
		t.Fatalf("%d entries, want %d", len(got.Devices), MaxDeviceEntries)
	}
	for _, gone := range ids[1:3] {
		if _, ok := got.Find(gone); ok {
			t.Errorf("%s, among the two revoked longest ago, was kept", gone)
		}
	}
	for _, kept := range append([]DeviceID{ids[0]}, ids[3:]...) {
		if _, ok := got.Find(kept); !ok {
			t.Errorf("%s was dropped", kept)
		}
	}
	if p, ok := got.Primary(); !ok || p.ID != ids[len(ids)-1] {
		t.Error("the current device was not kept as primary")
	}
}

func TestVerifyDeviceListRejects(t *testing.T) {
	acct := mustAccountKey(t)
	other := mustAccountKey(t)
	k1, k2 := mustUserKeys(t), mustUserKeys(t)
	ms := uint64(testNow.UnixMilli())
	cert1 := rawCert(testAddr, "one", k1, testNow, acct)
	cert2 := rawCert(testAddr, "two", k2, testNow, acct)
	valid := rawList(testAddr, acct.Public(), 1, []rawEntry{{cert1, 0}, {cert2, ms}}, acct)
	if _, err := VerifyDeviceList(valid, testAddr); err != nil {
		t.Fatalf("the hand-encoded list, built by the documented layout, does not verify: %v", err)
	}
	nine := make([]rawEntry, MaxDevices+1)
	for i := range nine {
		nine[i] = rawEntry{rawCert(testAddr, fmt.Sprintf("d%d", i), mustUserKeys(t), testNow, acct), 0}
	}
	eightAndRevoked := append(append([]rawEntry{}, nine[:MaxDevices]...), rawEntry{nine[MaxDevices].cert, ms})
	many := make([]rawEntry, MaxDeviceEntries+1)
	for i := range many {
		many[i] = rawEntry{cert1, ms}
	}
	withVersion := func(v byte) []byte { b := bytes.Clone(valid); b[0] = v; return b }

	tests := []struct {
		name string
		in   []byte
		addr string
		want error
	}{
		{"empty input", nil, testAddr, ErrMalformedKeys},
		{"version 0", withVersion(0), testAddr, ErrTooOld},
		{"version 2", withVersion(2), testAddr, ErrUnsupportedVersion},
		{"a list for another address", valid, "bob@a.example", ErrBadAddress},
		{"a list signed by another key than the one it names", rawList(testAddr, acct.Public(), 1, []rawEntry{{cert1, 0}}, other), testAddr, ErrBadSignature},
		{"a list naming another account key than its certificates'", rawList(testAddr, other.Public(), 1, []rawEntry{{cert1, 0}}, other), testAddr, ErrBadSignature},
		{"a certificate for another address", rawList(testAddr, acct.Public(), 1, []rawEntry{{rawCert("bob@a.example", "one", k1, testNow, acct), 0}}, acct), testAddr, ErrBadAddress},
		{"a certificate with a bidi override in its name", rawList(testAddr, acct.Public(), 1, []rawEntry{{rawCert(testAddr, "a\u202eb", k1, testNow, acct), 0}}, acct), testAddr, ErrBadDeviceName},
		{"one device twice", rawList(testAddr, acct.Public(), 1, []rawEntry{{cert1, 0}, {cert1, ms}}, acct), testAddr, ErrDuplicateDevice},
		{"two current devices with one name", rawList(testAddr, acct.Public(), 1, []rawEntry{{cert1, 0}, {rawCert(testAddr, "one", k2, testNow, acct), 0}}, acct), testAddr, ErrDuplicateDevice},
		{"nine current devices", rawList(testAddr, acct.Public(), 1, nine, acct), testAddr, ErrTooManyDevices},
		{"33 entries", rawList(testAddr, acct.Public(), 1, many, acct), testAddr, ErrTooManyDevices},
		{"a truncated list", valid[:len(valid)-1], testAddr, ErrMalformedKeys},
		{"a byte after the signature", append(bytes.Clone(valid), 0), testAddr, ErrMalformedKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := VerifyDeviceList(tt.in, tt.addr); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyDeviceList: %v, want %v", err, tt.want)
			}
		})
	}
	// Eight current devices and a revoked ninth are within bounds.
	if _, err := VerifyDeviceList(rawList(testAddr, acct.Public(), 1, eightAndRevoked, acct), testAddr); err != nil {
		t.Errorf("eight current devices and a revoked one: %v", err)
	}
}

// typedListErrors are the errors VerifyDeviceList documents.
var typedListErrors = []error{ErrMalformedKeys, ErrTooOld, ErrUnsupportedVersion, ErrBadAddress,
	ErrBadDeviceName, ErrBadSignature, ErrTooManyDevices, ErrDuplicateDevice}

func isTypedListError(err error) bool {
	for _, want := range typedListErrors {
		if errors.Is(err, want) {
			return true
		}
	}
	return false
}

func TestTamperingAnyByteOfASmallListGivesATypedError(t *testing.T) {
	acct := mustAccountKey(t)
	enc := mustSign(t, newList(t, acct, 1), acct)
	for i := range enc {
		for _, flip := range []byte{0x01, 0x80} {
			b := bytes.Clone(enc)
			b[i] ^= flip
			_, err := VerifyDeviceList(b, testAddr)
			if err == nil {
				t.Fatalf("flipping bit %#x of byte %d of %d went unnoticed", flip, i, len(enc))
			}
			if !isTypedListError(err) {
				t.Fatalf("byte %d: untyped error %v", i, err)
			}
		}
	}
}

func TestALowerSeqIsTheCallersBusiness(t *testing.T) {
	// VerifyDeviceList judges one list alone: an old list, validly signed,
	// still verifies, and its Seq is what the caller compares with the
	// highest it has seen for this account key.
	acct := mustAccountKey(t)
	l := newList(t, acct, 1)
	old := mustSign(t, l, acct)
	if _, err := l.Add(acct, "second", mustUserKeys(t), testNow); err != nil {
		t.Fatal(err)
	}
	newer := mustSign(t, l, acct)
	a, err := VerifyDeviceList(old, testAddr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := VerifyDeviceList(newer, testAddr)
	if err != nil {
		t.Fatal(err)
	}
	if a.Seq >= b.Seq {
		t.Errorf("seq %d then %d: a change did not raise it", a.Seq, b.Seq)
	}
}

func TestADeviceCertVerifiesOnlyForItsAddressAndAccountKey(t *testing.T) {
	acct := mustAccountKey(t)
	keys := mustUserKeys(t)
	c := &DeviceCert{Address: testAddr, Name: "laptop", IdentityKey: keys.IdentityPublic(), HPKEKey: keys.HPKEPublic(), Added: testNow.Truncate(time.Millisecond)}
	enc, err := c.Sign(acct)
	if err != nil {
		t.Fatal(err)
	}
	if want := rawCert(testAddr, "laptop", keys, testNow, acct); !bytes.Equal(enc, want) {
		t.Error("Sign does not write the documented layout")
	}
	got, err := VerifyDeviceCert(enc, testAddr, acct.Public())
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != c.Name || !got.IdentityKey.Equal(c.IdentityKey) || !bytes.Equal(got.HPKEKey, c.HPKEKey) || !got.Added.Equal(c.Added) || got.ID() != DeviceIDOf(keys.IdentityPublic()) {
		t.Errorf("round trip changed the cert: %+v", got)
	}
	if _, err := VerifyDeviceCert(enc, "bob@a.example", acct.Public()); !errors.Is(err, ErrBadAddress) {
		t.Errorf("other address: %v, want ErrBadAddress", err)
	}
	if _, err := VerifyDeviceCert(enc, testAddr, mustAccountKey(t).Public()); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other account key: %v, want ErrBadSignature", err)
	}
	if _, err := VerifyDeviceCert(enc, testAddr, nil); !errors.Is(err, ErrMalformedKeys) {
		t.Errorf("no account key: %v, want ErrMalformedKeys", err)
	}
	// A device list signature made by the same key is not a certificate.
	l := newList(t, acct, 1)
	if list := mustSign(t, l, acct); bytes.Equal(list[len(list)-SignatureSize:], enc[len(enc)-SignatureSize:]) {
		t.Error("a list and a cert share a signature")
	}
	for _, bad := range []*DeviceCert{
		{Address: testAddr, Name: "", IdentityKey: keys.IdentityPublic(), HPKEKey: keys.HPKEPublic()},
		{Address: "", Name: "x", IdentityKey: keys.IdentityPublic(), HPKEKey: keys.HPKEPublic()},
		{Address: testAddr, Name: "x", IdentityKey: keys.IdentityPublic()[:31], HPKEKey: keys.HPKEPublic()},
		{Address: testAddr, Name: "x", IdentityKey: keys.IdentityPublic(), HPKEKey: keys.HPKEPublic()[:10]},
	} {
		if _, err := bad.Sign(acct); err == nil {
			t.Errorf("Sign accepted %q/%q with keys %d/%d", bad.Address, bad.Name, len(bad.IdentityKey), len(bad.HPKEKey))
		}
	}
}

func TestParseDeviceCertRejects(t *testing.T) {
	acct := mustAccountKey(t)
	keys := mustUserKeys(t)
	valid := rawCert(testAddr, "laptop", keys, testNow, acct)
	badHPKE := bytes.Clone(valid)
	off := 1 + 1 + len(testAddr) + 1 + len("laptop") + IdentityKeySize
	for i := range HPKEPublicKeySize {
		badHPKE[off+i] = 0xff // not a valid ML-KEM encapsulation key
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformedKeys},
		{"version 0", append([]byte{0}, valid[1:]...), ErrTooOld},
		{"version 2", append([]byte{2}, valid[1:]...), ErrUnsupportedVersion},
		{"truncated", valid[:len(valid)-1], ErrMalformedKeys},
		{"trailing byte", append(bytes.Clone(valid), 0), ErrMalformedKeys},
		{"an empty address", rawCert("", "laptop", keys, testNow, acct), ErrBadAddress},
		{"an empty name", rawCert(testAddr, "", keys, testNow, acct), ErrBadDeviceName},
		{"an HPKE key that does not parse", badHPKE, ErrMalformedKeys},
		{"a time beyond int64", func() []byte {
			b := bytes.Clone(valid)
			binary.BigEndian.PutUint64(b[off+HPKEPublicKeySize:], 1<<63)
			return b
		}(), ErrMalformedKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ParseDeviceCert(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("ParseDeviceCert: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestALegacyIdentityKeyBecomesTheAccountKeyAndTheFirstDevice(t *testing.T) {
	// Migration: today's single identity key signs the list as account key
	// and is also the first device's identity key, so the safety number a
	// contact computes from the account key does not change.
	legacy := mustUserKeys(t)
	acct, l, err := NewLegacyDeviceList(testAddr, "first", legacy, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if l.Seq != 1 || len(l.Devices) != 1 || !acct.Public().Equal(legacy.IdentityPublic()) {
		t.Fatalf("seq %d, %d devices", l.Seq, len(l.Devices))
	}
	if _, _, err := NewLegacyDeviceList(testAddr, "", legacy, testNow); !errors.Is(err, ErrBadDeviceName) {
		t.Errorf("an empty name: %v, want ErrBadDeviceName", err)
	}
	got, err := VerifyDeviceList(mustSign(t, l, acct), testAddr)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := got.Primary()
	if !ok || !p.IdentityKey.Equal(legacy.IdentityPublic()) || !got.AccountKey.Equal(legacy.IdentityPublic()) {
		t.Fatal("the legacy key is not both account key and primary device key")
	}
	bob := mustUserKeys(t).IdentityPublic()
	if SafetyNumber(testAddr, got.AccountKey, "bob@b.example", bob) != SafetyNumber(testAddr, legacy.IdentityPublic(), "bob@b.example", bob) {
		t.Error("the safety number changed with the migration")
	}
	// The primary's Bundle carries the keys a legacy sender seals to.
	b := p.Bundle()
	if !b.IdentityKey.Equal(legacy.IdentityPublic()) || !bytes.Equal(b.HPKEKey, legacy.HPKEPublic()) || b.Signature != nil {
		t.Error("Bundle does not carry the device's public keys alone")
	}
}
