package signedtest

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/mesh/signed"
)

// The parts of the suite that run a format's own fields through the
// checks every format shares: each format lists its fields' bad values
// and tamperings (Format.Bad, Format.Tampered), the suite checks them the
// one way.

// sentinels are every sentinel a signed message can fail with: package
// signed's and the format's own.
func (f Format[M]) sentinels() []error {
	return append([]error{
		signed.ErrVersionTooOld, signed.ErrVersion, signed.ErrOriginKey, signed.ErrOriginDomain, signed.ErrTTL,
		signed.ErrMaxHops, signed.ErrHopLimit, signed.ErrCreatedInFuture, signed.ErrExpired,
		signed.ErrBadSignature, signed.ErrMalformed,
	}, f.Own...)
}

func copies[M any](t *testing.T, f Format[M]) {
	body := Filler(f.Sizes[0])
	m, err := f.Sign(OriginKey, Origin, body, Created, TTL, MaxHops)
	if err != nil {
		t.Fatal(err)
	}
	body[0]++
	if err := f.Verify(m, f.Now); err != nil {
		t.Errorf("changing the caller's buffer after Sign broke the message: %v", err)
	}
}

func layout[M any](t *testing.T, f Format[M]) {
	m := f.Sample(t, f.Sizes[0])
	got := f.ParseSigned(t, f.SignedBytes(m))
	// The signed bytes hold every field but these two.
	h := f.Header(m)
	h.Signature, h.Hops = nil, 0
	if !reflect.DeepEqual(got, m) {
		t.Errorf("SignedBytes read back as\n%+v\nwant\n%+v", got, m)
	}
}

func bad[M any](t *testing.T, f Format[M]) {
	changed(t, f, f.Bad, "bad field", func(t *testing.T, c Change[M], err error) {
		Refused(t, err, c.Want, f.Kind, f.sentinels())
	})
}

// changed runs each change on a fresh message, as a subtest, and hands
// what Verify says of the changed message to check.
func changed[M any](t *testing.T, f Format[M], changes []Change[M], what string, check func(*testing.T, Change[M], error)) {
	if len(changes) == 0 {
		t.Fatalf("the format lists no %s", what)
	}
	for _, c := range changes {
		t.Run(c.Name, func(t *testing.T) {
			m := f.Sample(t, f.Sizes[0])
			c.Change(m)
			check(t, c, f.Verify(m, f.Now))
		})
	}
}

// order makes sure junk is turned away by cheap checks: a message wrong in
// several ways reports the structural fault, not the clock or the
// signature.
func order[M any](t *testing.T, f Format[M]) {
	if len(f.Bad) == 0 || errors.Is(f.Bad[0].Want, signed.ErrBadSignature) {
		t.Fatal("the format's first bad field must be refused before the signature is checked")
	}
	expired := Created.Add(TTL)
	m := f.Sample(t, f.Sizes[0])
	f.Header(m).Signature = nil
	f.Bad[0].Change(m)
	if err := f.Verify(m, expired); !errors.Is(err, f.Bad[0].Want) {
		t.Errorf("%s, expired and unsigned: Verify = %v, want %v first", f.Bad[0].Name, err, f.Bad[0].Want)
	}
	m = f.Sample(t, f.Sizes[0])
	f.Header(m).Signature = nil
	if err := f.Verify(m, expired); !errors.Is(err, signed.ErrExpired) {
		t.Errorf("expired and unsigned: Verify = %v, want signed.ErrExpired before the signature", err)
	}
	f.Header(m).OriginKey = ed25519.PublicKey{}
	if err := f.Verify(m, f.Now); !errors.Is(err, signed.ErrOriginKey) {
		t.Errorf("no origin key and unsigned: Verify = %v, want signed.ErrOriginKey", err)
	}
}

func tamperedOwn[M any](t *testing.T, f Format[M]) {
	changed(t, f, f.Tampered, "signed field of its own", func(t *testing.T, _ Change[M], err error) {
		if !errors.Is(err, signed.ErrBadSignature) {
			t.Errorf("Verify = %v, want signed.ErrBadSignature", err)
		}
	})
}

// resigned: a node that signs a message honestly under its own key makes
// it its own, valid but naming that node as origin (whom rate limits
// count and reports go to). Signing it under the origin's key is a
// forgery (see forged).
func resigned[M any](t *testing.T, f Format[M]) {
	orig := f.Sample(t, f.Sizes[0])
	h := f.Header(orig)
	other, err := f.Sign(OtherKey, "n2.example.mesh", f.Body(orig), h.Created, h.TTL, h.MaxHops)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(other, f.Now); err != nil {
		t.Fatalf("Verify of the re-signed message: %v", err)
	}
	if got := f.Header(other).OriginID(); got != identity.NodeID(OtherKey.Public().(ed25519.PublicKey)) || got == h.OriginID() {
		t.Errorf("the re-signed message names %s as origin, want its signer", got)
	}
	if same := f.ID(other) == f.ID(orig); same != f.IDOmitsOrigin {
		t.Errorf("the re-signed message has the original's id: %v, want %v", same, f.IDOmitsOrigin)
	}
}

func wire[M any](t *testing.T, f Format[M]) {
	m := f.Sample(t, f.Sizes[0])
	h := f.Header(m)
	h.Hops = 5
	w, back := f.Wire(t, m)
	key, err1 := w.OriginKey()
	origin, err2 := w.OriginDomainBytes()
	sig, err3 := w.Signature()
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	got := []any{w.Version(), string(key), string(origin), w.CreatedMillis(), w.TtlSeconds(), w.HopCount(), w.MaxHops(), string(sig)}
	want := []any{h.Version, string(h.OriginKey), h.OriginDomain, h.Created.UnixMilli(), uint32(h.TTL / time.Second), uint8(5), h.MaxHops, string(h.Signature)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wire fields\n%v\nwant\n%v", got, want)
	}
	if !reflect.DeepEqual(back, m) {
		t.Errorf("FromWire(ToWire(m))\n%+v\nwant\n%+v", back, m)
	}
	if f.ID(back) != f.ID(m) {
		t.Error("the id changed through ToWire and FromWire")
	}
}

// HeaderOf returns the signed fields of a header as a format's
// FuzzSignedBytes gets them.
func HeaderOf(version uint8, key []byte, origin string, ms int64, ttl uint32, maxHops uint8) signed.Header {
	return signed.Header{
		Version: version, OriginKey: key, OriginDomain: origin,
		Created: time.UnixMilli(ms).UTC(), TTL: time.Duration(ttl) * time.Second, MaxHops: maxHops,
	}
}

// SameSigned reports whether two headers agree in every signed field.
func SameSigned(a, b *signed.Header) bool {
	return a.Version == b.Version && bytes.Equal(a.OriginKey, b.OriginKey) && a.OriginDomain == b.OriginDomain &&
		a.Created.UnixMilli() == b.Created.UnixMilli() && a.TTL == b.TTL && a.MaxHops == b.MaxHops
}

// Fuzz runs FuzzUnmarshal under f, seeded with Seeds: the whole body of a
// format's FuzzUnmarshal.
func Fuzz[M any](f *testing.F, format Format[M], empty M) {
	for _, b := range Seeds(f, format, empty) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { FuzzUnmarshal(t, format, b) })
}

// Bench measures a format's Sign, Verify, ID, Marshal and Unmarshal on
// messages whose variable part is n bytes, each as a sub-benchmark.
func Bench[M any](b *testing.B, f Format[M], n int) {
	body := Filler(n)
	m := f.Sample(b, n)
	enc := Marshal(b, f, m)
	for _, c := range []struct {
		name string
		op   func() error
	}{
		{"Sign", func() error { _, err := f.Sign(OriginKey, Origin, body, Created, TTL, MaxHops); return err }},
		{"Verify", func() error { return f.Verify(m, f.Now) }},
		{"ID", func() error { _ = f.ID(m); return nil }},
		{"Marshal", func() error { _, err := f.Marshal(m); return err }},
		{"Unmarshal", func() error { _, err := f.Unmarshal(enc); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.op(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
