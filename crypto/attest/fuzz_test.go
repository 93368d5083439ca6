package attest

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParseAnswer checks that any bytes either fail to parse or parse to
// a proof that encodes back to the same bytes, and never verify unless
// they are the signed proof itself.
func FuzzParseAnswer(f *testing.F) {
	community := newCA(f)
	d := issue(f, community, "d.mesh")
	now := time.UnixMilli(time.Now().UnixMilli())
	k := testKeys()
	good, err := SignAnswer(k, now, d.der, d.key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:10])
	f.Add([]byte{1})
	roots := community.Pool()
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAnswer(b)
		if err != nil {
			return
		}
		if !bytes.Equal(a.Marshal(), b) {
			t.Fatalf("round trip changed %x", b)
		}
		if _, err := VerifyAnswer(k, b, roots, now); err == nil && !bytes.Equal(b, good) {
			t.Fatalf("forged proof %x verified", b)
		}
	})
}

// FuzzParseLink is FuzzParseAnswer for link statements.
func FuzzParseLink(f *testing.F) {
	community := newCA(f)
	d := issue(f, community, "d.mesh")
	now := time.UnixMilli(time.Now().UnixMilli())
	good, err := SignLink("r.mesh", now, 10*time.Minute, d.der, d.key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte{1, 0})
	roots := community.Pool()
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLink(b)
		if err != nil {
			return
		}
		if !bytes.Equal(l.Marshal(), b) {
			t.Fatalf("round trip changed %x", b)
		}
		if err := VerifyLink(b, "d.mesh", "r.mesh", roots, now); err == nil && !bytes.Equal(b, good) {
			t.Fatalf("forged statement %x verified", b)
		}
	})
}
