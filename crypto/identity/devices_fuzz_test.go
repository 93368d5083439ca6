package identity

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// The fuzz targets below are seeded with valid encodings, so that mutations
// start from inputs that get past the length checks.

func FuzzVerifyDeviceList(f *testing.F) {
	acct := mustAccountKey(f)
	l := newList(f, acct, 2)
	if err := l.Revoke(l.Devices[0].ID, testNow.Add(time.Hour)); err != nil {
		f.Fatal(err)
	}
	f.Add(mustSign(f, l, acct))
	f.Add(mustSign(f, newList(f, acct, 1), acct))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := VerifyDeviceList(b, testAddr)
		if err != nil {
			if !isTypedListError(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(l.Current()) > MaxDevices || len(l.Devices) > MaxDeviceEntries {
			t.Fatalf("accepted %d entries, %d current", len(l.Devices), len(l.Current()))
		}
		for _, d := range l.Devices {
			if _, err := VerifyDeviceCert(d.Cert, testAddr, l.AccountKey); err != nil {
				t.Fatalf("accepted an entry whose cert does not verify: %v", err)
			}
		}
	})
}

func FuzzParseDeviceCert(f *testing.F) {
	acct := mustAccountKey(f)
	f.Add(rawCert(testAddr, "laptop", mustUserKeys(f), testNow, acct))
	f.Add(rawCert("b@c", "📱", mustUserKeys(f), time.UnixMilli(1), acct))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, sig, err := ParseDeviceCert(b)
		if err != nil {
			if !isTypedListError(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Whatever parses encodes back to the same bytes.
		body, err := c.body()
		if err != nil {
			t.Fatalf("a parsed cert does not encode: %v", err)
		}
		if !bytes.Equal(append(body, sig...), b) {
			t.Fatal("a parsed cert encodes to other bytes")
		}
	})
}

func FuzzUnmarshalLinkRequest(f *testing.F) {
	keys := mustUserKeys(f)
	for _, name := range []string{"laptop", "Bürorechner 2"} {
		enc, err := (&LinkRequest{Address: testAddr, Name: name, IdentityKey: keys.IdentityPublic(), HPKEKey: keys.HPKEPublic()}).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := UnmarshalLinkRequest(b)
		if err != nil {
			if !isTypedListError(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := r.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("a parsed request does not encode back: %v", err)
		}
	})
}

func FuzzParseLinkCode(f *testing.F) {
	f.Add(mustLinkCode(f).String())
	f.Add("7kq4 m2xd 9rta")
	f.Add("OIL1-0000-ZZZZ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseLinkCode(s)
		if err != nil {
			if !errors.Is(err, ErrBadLinkCode) {
				t.Fatalf("error %v is not ErrBadLinkCode", err)
			}
			return
		}
		if c.v>>LinkCodeBits != 0 {
			t.Fatalf("code %x has bits above 60", c.v)
		}
		again, err := ParseLinkCode(c.String())
		if err != nil || again != c {
			t.Fatalf("String %q of a parsed code does not parse back: %v", c.String(), err)
		}
	})
}

func FuzzParseRecoveryCode(f *testing.F) {
	code := RecoveryCode(mustAccountKey(f))
	f.Add(code)
	f.Add(strings.ToLower(strings.ReplaceAll(code, "-", " ")))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseRecoveryCode(s)
		if err != nil {
			if !errors.Is(err, ErrBadRecoveryCode) {
				t.Fatalf("error %v is not ErrBadRecoveryCode", err)
			}
			return
		}
		again, err := ParseRecoveryCode(RecoveryCode(k))
		if err != nil || !bytes.Equal(again.Seed(), k.Seed()) {
			t.Fatalf("the code of a parsed key does not parse back: %v", err)
		}
	})
}
