package kt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"math/big"
	"strconv"
	"testing"
	"time"
)

func testHead() Head {
	return Head{Domain: "n1.mesh", Size: 1000, Root: sha256.Sum256([]byte("root")), TimeMillis: 1_765_000_000_000}
}

// newKey returns an Ed25519 key made from seed, so failures reproduce.
func newKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// selfSigned returns a DER certificate for pub, signed by signer, naming
// domain: the shape of a federation certificate, without its CA.
func selfSigned(t testing.TB, pub crypto.PublicKey, signer crypto.Signer, domain string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(23),
		Subject:      pkix.Name{CommonName: domain},
		DNSNames:     []string{domain},
		NotBefore:    time.Unix(1_700_000_000, 0),
		NotAfter:     time.Unix(1_900_000_000, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestAHeadSignedWithTheNodeKeyEncodesAsThePackageDocSays(t *testing.T) {
	key := newKey(1)
	s, err := SignHead(testHead(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := testHead()
	var stmt []byte
	stmt = append(stmt, "qpc kt head v1"...)
	stmt = append(stmt, 0, 7)
	stmt = append(stmt, "n1.mesh"...)
	stmt = binary.BigEndian.AppendUint64(stmt, 1000)
	stmt = append(stmt, h.Root[:]...)
	stmt = binary.BigEndian.AppendUint64(stmt, 1_765_000_000_000)
	if !bytes.Equal(h.Statement(), stmt) {
		t.Fatalf("statement %x, want %x", h.Statement(), stmt)
	}
	var want []byte
	want = append(want, 1, 7)
	want = append(want, "n1.mesh"...)
	want = binary.BigEndian.AppendUint64(want, 1000)
	want = append(want, h.Root[:]...)
	want = binary.BigEndian.AppendUint64(want, 1_765_000_000_000)
	want = append(want, 1)
	want = append(want, key.Public().(ed25519.PublicKey)...)
	want = append(want, ed25519.Sign(key, stmt)...)
	if got := s.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("encoding\n got %x\nwant %x", got, want)
	}
}

func TestSignedHeadsRoundTripAndVerify(t *testing.T) {
	key := newKey(2)
	cert := selfSigned(t, key.Public(), key, "n1.mesh")
	for name, c := range map[string][]byte{"node key": nil, "certificate": cert} {
		t.Run(name, func(t *testing.T) {
			s, err := SignHead(testHead(), key, c)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Verify(); err != nil {
				t.Fatal(err)
			}
			b := s.Marshal()
			got, err := ParseSignedHead(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Head != s.Head || got.Kind != s.Kind || !bytes.Equal(got.Key, s.Key) ||
				!bytes.Equal(got.Cert, s.Cert) || !bytes.Equal(got.Signature, s.Signature) {
				t.Fatalf("got %+v, want %+v", got, s)
			}
			if err := got.Verify(); err != nil {
				t.Fatalf("parsed head: %v", err)
			}
			pub, err := got.PublicKey()
			if err != nil || !pub.Equal(key.Public()) {
				t.Fatalf("PublicKey %x, %v", pub, err)
			}
			if !bytes.Equal(got.Marshal(), b) {
				t.Fatal("re-encoding differs")
			}
		})
	}
}

func TestAHeadChangedAfterSigningFailsToVerify(t *testing.T) {
	key := newKey(3)
	other := newKey(4)
	cert := selfSigned(t, key.Public(), key, "n1.mesh")
	otherCert := selfSigned(t, other.Public(), other, "n1.mesh")
	for _, c := range [][]byte{nil, cert} {
		s, err := SignHead(testHead(), key, c)
		if err != nil {
			t.Fatal(err)
		}
		for name, f := range map[string]func(*SignedHead){
			"size":      func(s *SignedHead) { s.Size++ },
			"root":      func(s *SignedHead) { s.Root[31] ^= 1 },
			"time":      func(s *SignedHead) { s.TimeMillis++ },
			"domain":    func(s *SignedHead) { s.Domain = "n2.mesh" },
			"signature": func(s *SignedHead) { s.Signature = append([]byte(nil), s.Signature...); s.Signature[0] ^= 1 },
			"signer": func(s *SignedHead) {
				if s.Kind == SignerNodeKey {
					s.Key = other.Public().(ed25519.PublicKey)
				} else {
					s.Cert = otherCert
				}
			},
		} {
			bad := s
			f(&bad)
			if err := bad.Verify(); !errors.Is(err, ErrSignature) {
				t.Errorf("kind %d, %s changed: got %v, want ErrSignature", s.Kind, name, err)
			}
			// The same through the wire.
			if p, err := ParseSignedHead(bad.Marshal()); err != nil || !errors.Is(p.Verify(), ErrSignature) {
				t.Errorf("kind %d, %s changed, encoded: parse %v", s.Kind, name, err)
			}
		}
	}
}

func TestSignHeadRefusesACertificateOfAnotherKey(t *testing.T) {
	key, other := newKey(5), newKey(6)
	cert := selfSigned(t, other.Public(), other, "n1.mesh")
	if _, err := SignHead(testHead(), key, cert); !errors.Is(err, ErrSignature) {
		t.Fatalf("got %v, want ErrSignature", err)
	}
	if _, err := SignHead(testHead(), key, []byte("not DER")); !errors.Is(err, ErrEncoding) {
		t.Fatalf("garbage certificate: got %v, want ErrEncoding", err)
	}
	h := testHead()
	h.Domain = "N1.mesh"
	if _, err := SignHead(h, key, nil); !errors.Is(err, ErrEncoding) {
		t.Fatalf("upper-case domain: got %v, want ErrEncoding", err)
	}
}

func TestAHeadWhoseCertificateIsNotEd25519IsRefused(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSigned(t, ec.Public(), ec, "n1.mesh")
	s := SignedHead{Head: testHead(), Kind: SignerCertificate, Cert: cert, Signature: make([]byte, 64)}
	if _, err := s.PublicKey(); !errors.Is(err, ErrSignature) {
		t.Fatalf("PublicKey: got %v, want ErrSignature", err)
	}
	p, err := ParseSignedHead(s.Marshal())
	if err != nil {
		t.Fatal(err) // the layout is fine; the key is what is wrong
	}
	if err := p.Verify(); !errors.Is(err, ErrSignature) {
		t.Fatalf("Verify: got %v, want ErrSignature", err)
	}
}

func TestBadSignedHeadsAreRefused(t *testing.T) {
	key := newKey(7)
	s, err := SignHead(testHead(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := s.Marshal()
	kindAt := 2 + 7 + 8 + 32 + 8
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	certHead := func(n int) []byte {
		b := append([]byte(nil), good[:kindAt]...)
		b = append(b, 2)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
		b = append(b, make([]byte, n)...)
		return append(b, make([]byte, 64)...)
	}
	cases := map[string][]byte{
		"empty":                      nil,
		"a trailing byte":            append(append([]byte(nil), good...), 0),
		"version 0":                  mod(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":                  mod(func(b []byte) []byte { b[0] = 2; return b }),
		"a domain of 0 bytes":        mod(func(b []byte) []byte { b[1] = 0; return b }),
		"an upper-case domain":       mod(func(b []byte) []byte { b[2] = 'N'; return b }),
		"a domain of 254 bytes":      mod(func(b []byte) []byte { b[1] = 254; return append(b, make([]byte, 254)...) }),
		"signer kind 0":              mod(func(b []byte) []byte { b[kindAt] = 0; return b }),
		"signer kind 3":              mod(func(b []byte) []byte { b[kindAt] = 3; return b }),
		"a certificate of 0 bytes":   certHead(0),
		"a certificate of 4097":      certHead(MaxCert + 1),
		"a certificate of 65535":     certHead(65535),
		"a signature one byte short": good[:len(good)-1],
	}
	for i := 1; i < len(good); i++ {
		cases["truncated to "+strconv.Itoa(i)+" bytes"] = good[:i]
	}
	for name, b := range cases {
		if _, err := ParseSignedHead(b); !errors.Is(err, ErrEncoding) {
			t.Errorf("%s: got %v, want ErrEncoding", name, err)
		}
	}
	// A certificate of MaxCert bytes is within the bound: the layout parses
	// (the garbage DER is Verify's refusal, not the parser's).
	p, err := ParseSignedHead(certHead(MaxCert))
	if err != nil {
		t.Fatalf("a certificate of %d bytes: %v", MaxCert, err)
	}
	if err := p.Verify(); !errors.Is(err, ErrEncoding) {
		t.Fatalf("garbage DER: Verify %v", err)
	}
}

func TestContradictsNamesAForkAndNothingElse(t *testing.T) {
	key := newKey(8)
	sign := func(f func(*Head)) SignedHead {
		h := testHead()
		f(&h)
		s, err := SignHead(h, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := sign(func(*Head) {})
	for _, c := range []struct {
		name string
		b    SignedHead
		fork bool
		same bool
	}{
		{"the same head", a, false, true},
		{"the same size and root at another time", sign(func(h *Head) { h.TimeMillis += 5 }), false, true},
		{"the same size with another root", sign(func(h *Head) { h.Root[0] ^= 1 }), true, true},
		{"another size", sign(func(h *Head) { h.Size++; h.Root[0] ^= 1 }), false, true},
		{"another domain's head of the same size", sign(func(h *Head) { h.Domain = "n2.mesh"; h.Root[0] ^= 1 }), false, false},
	} {
		reason, fork := Contradicts(a, c.b)
		if fork != c.fork || fork && reason != ReasonFork || !fork && reason != "" {
			t.Errorf("%s: Contradicts = %q, %v", c.name, reason, fork)
		}
		if r2, f2 := Contradicts(c.b, a); r2 != reason || f2 != fork {
			t.Errorf("%s: Contradicts is not symmetric", c.name)
		}
		if SameLog(a, c.b) != c.same {
			t.Errorf("%s: SameLog = %v", c.name, !c.same)
		}
	}
}

func FuzzParseSignedHead(f *testing.F) {
	key := newKey(9)
	s, err := SignHead(testHead(), key, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.Marshal())
	c, err := SignHead(testHead(), key, selfSigned(f, key.Public(), key, "n1.mesh"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c.Marshal())
	f.Add([]byte{1, 1, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSignedHead(b)
		if err != nil {
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("untyped refusal: %v", err)
			}
			return
		}
		if !bytes.Equal(s.Marshal(), b) {
			t.Fatalf("accepted %x, which encodes as %x", b, s.Marshal())
		}
		// A head the fuzzer made verifies only with the signature of the
		// seeds' key over an unchanged statement.
		if err := s.Verify(); err == nil {
			pub, _ := s.PublicKey()
			if !pub.Equal(key.Public()) || s.Head != testHead() {
				t.Fatalf("a forged head verifies: %+v", s)
			}
		} else if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrEncoding) {
			t.Fatalf("untyped Verify error: %v", err)
		}
	})
}
