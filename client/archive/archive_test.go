package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealedfile"
)

const addr = "alice@node1.example.mesh"

var now = time.UnixMilli(1_800_000_000_000).UTC()

func accountSigner(t testing.TB) (Signer, identity.AccountKey) {
	t.Helper()
	acct, err := identity.GenerateAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := AccountSigner(addr, acct.Seed())
	if err != nil {
		t.Fatal(err)
	}
	return s, acct
}

func records(n int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{Seq: uint64(i + 1), ID: [16]byte{byte(i), 7}, From: "bob@node1.example.mesh",
			Time: now.Add(time.Duration(i) * time.Minute), Received: now.Add(time.Duration(i)*time.Minute + time.Second), Text: fmt.Sprintf("line %d", i+1)}
	}
	if n > 0 {
		out[0].System, out[0].ID, out[0].Text = true, [16]byte{}, "bob joined"
	}
	// An edited and a deleted line, from version 2 on.
	if n > 2 {
		out[1].Edited = now.Add(time.Hour)
		out[2].Deleted, out[2].Text = true, ""
	}
	return out
}

var conv = Conversation{Name: "bob@node1.example.mesh", Kind: KindDM, Members: []string{addr, "bob@node1.example.mesh"}}

func build(t testing.TB, n int) []byte {
	t.Helper()
	s, _ := accountSigner(t)
	b, err := Build(s, conv, records(n), now)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// split cuts an archive into its header, its record items (tag, length
// and body each) and its end.
func split(t *testing.T, b []byte) (header []byte, items [][]byte, end []byte) {
	t.Helper()
	r := &reader{b: b}
	r.bytes(6)
	r.str8()
	r.bytes(32)
	r.bytes(int(r.u16()))
	r.str8()
	r.u8()
	for range r.u16() {
		r.str8()
	}
	r.u64()
	r.u32()
	header = b[:r.off]
	for r.err == nil && b[r.off] == tagRecord {
		start := r.off
		r.u8()
		r.bytes(int(r.u32()))
		items = append(items, b[start:r.off])
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return header, items, b[r.off:]
}

func join(header []byte, items [][]byte, end []byte) []byte {
	return append(append(bytes.Clone(header), bytes.Join(items, nil)...), end...)
}

func TestAnArchiveVerifiesWithEveryRecordAndItsSigner(t *testing.T) {
	s, acct := accountSigner(t)
	want := records(10)
	b, err := Build(s, conv, want, now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(b)
	if err != nil {
		t.Fatal(err)
	}
	if !v.SignedByAccountKey() || !bytes.Equal(v.AccountKey, acct.Public()) || v.Address != addr || !v.Exported.Equal(now) ||
		fmt.Sprint(v.Conversation) != fmt.Sprint(conv) || fmt.Sprint(v.Records) != fmt.Sprint(want) {
		t.Fatalf("verified %+v", v)
	}
	empty, err := Build(s, conv, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := Verify(empty); err != nil || len(v.Records) != 0 {
		t.Errorf("an empty conversation: %v", err)
	}
}

func TestAnArchiveOfADeviceWithoutTheAccountKeyCarriesItsCertificate(t *testing.T) {
	acct, _ := identity.GenerateAccountKey()
	keys, _ := identity.GenerateUserKeys()
	l := &identity.DeviceList{Address: addr}
	d, err := l.Add(acct, "desk", keys, now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := DeviceSigner(addr, acct.Public(), keys.Identity, d.Cert)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(s, conv, records(3), now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(b)
	if err != nil || v.SignedByAccountKey() || v.DeviceName != "desk" || v.Device != d.ID || !bytes.Equal(v.AccountKey, acct.Public()) {
		t.Fatalf("verified %+v, %v", v, err)
	}
	// Another account's key over the same certificate: refused.
	other, _ := identity.GenerateAccountKey()
	forged := bytes.Replace(b, acct.Public(), other.Public(), 1)
	if _, err := Verify(forged); !errors.Is(err, ErrBadDeviceCert) {
		t.Errorf("an archive claiming another account key: %v", err)
	}
	otherKeys, _ := identity.GenerateUserKeys()
	if _, err := DeviceSigner(addr, acct.Public(), otherKeys.Identity, d.Cert); err == nil {
		t.Errorf("a signer whose key is not the certificate's was made")
	}
}

func TestChangingRemovingReorderingOrAppendingOneRecordIsRefusedWithItsNumber(t *testing.T) {
	b := build(t, 10)
	header, items, end := split(t, b)
	if len(items) != 10 {
		t.Fatalf("split into %d records", len(items))
	}
	changed := func(i int) [][]byte {
		out := append([][]byte(nil), items...)
		c := bytes.Clone(items[i])
		c[len(c)-1] ^= 1 // the text's last byte
		out[i] = c
		return out
	}
	without := func(i int) [][]byte {
		return append(append([][]byte(nil), items[:i]...), items[i+1:]...)
	}
	swapped := func(i int) [][]byte {
		out := append([][]byte(nil), items...)
		out[i], out[i+1] = out[i+1], out[i]
		return out
	}
	// An extra record that chains on the last, as a forger would make it.
	extra := Record{Seq: 11, From: addr, Time: now, Text: "I never said that"}
	_, lastItem, _ := split(t, b)
	lastBody := lastItem[9][5:]
	body, _ := extra.marshal(Version, 11, recordHash(lastBody))
	appended := append(append([][]byte(nil), items...), append(binary.BigEndian.AppendUint32([]byte{tagRecord}, uint32(len(body))), body...))

	cases := []struct {
		name   string
		items  [][]byte
		number uint32
		want   error
	}{
		{"record 1 changed", changed(0), 1, ErrRecordAltered},
		{"record 5 changed", changed(4), 5, ErrRecordAltered},
		{"the last record changed", changed(9), 10, ErrRecordAltered},
		{"record 5 removed", without(4), 5, ErrRecordMissing},
		{"the first record removed", without(0), 1, ErrRecordMissing},
		{"the last record removed", without(9), 10, ErrRecordMissing},
		{"records 4 and 5 swapped", swapped(3), 4, ErrRecordOutOfOrder},
		{"a record appended", appended, 11, ErrRecordAppended},
		{"the last record twice", append(append([][]byte(nil), items...), items[9]), 11, ErrRecordAppended},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(join(header, tc.items, end))
			var re *RecordError
			if !errors.Is(err, tc.want) || !errors.As(err, &re) || re.Number != tc.number {
				t.Fatalf("got %v, want record %d %v", err, tc.number, tc.want)
			}
		})
	}
}

func TestAChangedHeaderOrEndFailsTheSignature(t *testing.T) {
	b := build(t, 4)
	header, items, end := split(t, b)
	h := bytes.Clone(header)
	h[len(h)-1]++ // the record count: now 5, one "missing"
	if _, err := Verify(join(h, items, end)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("count changed: %v", err)
	}
	h = bytes.Replace(bytes.Clone(header), []byte("bob@node1"), []byte("eve@node1"), 1)
	if _, err := Verify(join(h, items, end)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("conversation renamed: %v", err)
	}
	e := bytes.Clone(end)
	e[len(e)-1] ^= 1
	if _, err := Verify(join(header, items, e)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("signature changed: %v", err)
	}
	// Records chained anew from scratch by someone without the key.
	forger, _ := accountSigner(t)
	forged, _ := Build(forger, conv, records(4), now)
	fh, fitems, fend := split(t, forged)
	_ = fh
	if _, err := Verify(join(header, fitems, fend)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("records and end of another key: %v", err)
	}
}

func TestMalformedContentIsRefused(t *testing.T) {
	b := build(t, 3)
	for name, c := range map[string][]byte{
		"empty":          nil,
		"another magic":  append([]byte("QPCXX"), b[5:]...),
		"cut":            b[:len(b)-1],
		"bytes appended": append(bytes.Clone(b), 0),
	} {
		if _, err := Verify(c); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	v := bytes.Clone(b)
	v[5] = Version + 1
	if _, err := Verify(v); !errors.Is(err, ErrVersionUnknown) {
		t.Errorf("newer version: %v", err)
	}
	for i := range b {
		if _, err := Verify(b[:i]); err == nil {
			t.Fatalf("cut to %d of %d bytes: verified", i, len(b))
		}
	}
}

func TestASealedArchiveOpensOnlyWithItsPassphrase(t *testing.T) {
	b := build(t, 3)
	var file bytes.Buffer
	kdf := sealedfile.KDF{Time: 1, Memory: 8, Threads: 1}
	if err := Write(&file, b, sealedfile.Options{Secret: sealedfile.Passphrase, Key: []byte("minutes 2026"), KDF: kdf}); err != nil {
		t.Fatal(err)
	}
	got, err := Read(bytes.NewReader(file.Bytes()), func(sealedfile.SecretKind) ([]byte, error) { return []byte("minutes 2026"), nil })
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("read back: %v", err)
	}
	if _, err := Read(bytes.NewReader(file.Bytes()), func(sealedfile.SecretKind) ([]byte, error) { return []byte("minutes 2025"), nil }); !errors.Is(err, sealedfile.ErrWrongSecret) {
		t.Errorf("wrong passphrase: %v", err)
	}
}

func TestMerkleRootIsRFC9162sTreeHash(t *testing.T) {
	// RFC 9162 §2.1.1: MTH of 3 leaves is H(1 | MTH(d0,d1) | MTH(d2)).
	var d [3][32]byte
	for i := range d {
		d[i][0] = byte(i + 1)
	}
	leaf := func(x [32]byte) [32]byte { return sha256Sum(append([]byte{0}, x[:]...)) }
	node := func(l, r [32]byte) [32]byte { return sha256Sum(append(append([]byte{1}, l[:]...), r[:]...)) }
	want := node(node(leaf(d[0]), leaf(d[1])), leaf(d[2]))
	if got := merkleRoot(d[:]); got != want {
		t.Errorf("root of 3 = %x, want %x", got, want)
	}
	if got := merkleRoot(nil); got != sha256Sum(nil) {
		t.Errorf("root of none = %x", got)
	}
}

// FuzzVerify: Verify never panics on any content and judges the same
// content the same way twice (the fuzzer cannot forge a signature, so
// what it accepts are the seeds and their equals).
func FuzzVerify(f *testing.F) {
	f.Add(build(f, 0))
	f.Add(build(f, 3))
	f.Add(buildV1(f, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Verify(b)
		if err != nil {
			return
		}
		again, err := Verify(b)
		if err != nil || fmt.Sprint(again.Records) != fmt.Sprint(v.Records) {
			t.Fatalf("verified once, then %v", err)
		}
	})
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// buildV1 builds an archive of n records in version 1, the format before
// edits and deletes.
func buildV1(t testing.TB, n int) []byte {
	t.Helper()
	s, _ := accountSigner(t)
	b, err := buildVersion(1, s, conv, records(n), now)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Version 2 carries the edit time of an edited line and marks a deleted
// one, which keeps no text; both are signed like the rest.
func TestEditedAndDeletedLinesAreMarked(t *testing.T) {
	b := build(t, 4)
	v, err := Verify(b)
	if err != nil {
		t.Fatal(err)
	}
	if r := v.Records[1]; !r.Edited.Equal(now.Add(time.Hour)) || r.Deleted || r.Text != "line 2" {
		t.Errorf("the edited line came back as %+v", r)
	}
	if r := v.Records[2]; !r.Deleted || r.Text != "" || !r.Edited.IsZero() {
		t.Errorf("the deleted line came back as %+v", r)
	}
	if r := v.Records[3]; r.Deleted || !r.Edited.IsZero() {
		t.Errorf("a plain line came back as %+v", r)
	}
	s, _ := accountSigner(t)
	withText := records(4)
	withText[2].Text = "deleted, but kept"
	if _, err := Build(s, conv, withText, now); err == nil {
		t.Error("Build took a deleted line with its text")
	}
	if _, err := buildVersion(1, s, conv, records(4), now); err == nil {
		t.Error("version 1 took an edited line")
	}
}

// An archive of version 1, written before edits and deletes, still
// verifies, its lines neither edited nor deleted; a version older than
// that is refused as too old.
func TestVersion1ArchivesStillVerify(t *testing.T) {
	b := buildV1(t, 2)
	if b[5] != 1 {
		t.Fatalf("version byte %d", b[5])
	}
	v, err := Verify(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Records) != 2 || v.Records[1].Text != "line 2" || v.Records[1].Deleted || !v.Records[1].Edited.IsZero() {
		t.Errorf("records %+v", v.Records)
	}
	old := bytes.Clone(b)
	old[5] = 0
	if _, err := Verify(old); !errors.Is(err, ErrVersionTooOld) {
		t.Errorf("version 0: %v", err)
	}
}

// A record whose flags say deleted but that holds text, or that sets a
// flag no version knows, is malformed, and named. The record is rebuilt
// with a valid hash chain position, so that parsing, not the chain,
// refuses it.
func TestRecordFlagsAreStrict(t *testing.T) {
	for name, c := range map[string]struct {
		version byte
		flags   byte
		text    string
	}{
		"deleted with text": {2, flagDeleted, "still here"},
		"unknown flag":      {2, 0x80, "x"},
		"deleted in v1":     {1, flagDeleted, ""},
	} {
		r := Record{Seq: 1, From: addr, Time: now, Text: c.text}
		body, err := (&Record{Seq: 1, From: addr, Time: now, Text: c.text}).marshal(c.version, 1, [32]byte{})
		if err != nil {
			t.Fatal(err)
		}
		at := 4 + 32 + 8 + 16 + 1 + len(r.From) + 8 + 8
		body[at] = c.flags
		if _, err := parseRecord(c.version, body); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
