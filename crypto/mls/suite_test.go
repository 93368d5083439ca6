package mls

import (
	"bytes"
	"crypto/hpke"
	"errors"
	"testing"
)

// TestPostQuantumSuiteDefinition checks the post-quantum suite against the
// figures draft-ietf-mls-pq-ciphersuites-06 and draft-ietf-hpke-pq define
// for MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519. There are no official
// test vectors for it, so these known answers come from the definitions:
// identifiers, the sizes of keys, encapsulations, hashes and AEAD keys, and
// the determinism of DeriveKeyPair.
func TestPostQuantumSuiteDefinition(t *testing.T) {
	cs, err := Suite(MLKEM768X25519AES256GCMSHA384Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	hs := cs.(hpkeSuite)
	checks := []struct {
		name      string
		got, want int
	}{
		{"code point (private use until IANA assigns TBD2)", int(cs.ID()), 0xF002},
		{"HPKE KEM id MLKEM768-X25519", int(hs.kem.ID()), int(PQSuiteKEMID)},
		{"HPKE KEM id constant", int(PQSuiteKEMID), 0x647A},
		{"HPKE KDF id HKDF-SHA384", int(hs.kdf.ID()), 0x0002},
		{"HPKE AEAD id AES-256-GCM", int(hs.aead.ID()), 0x0002},
		{"Nh (SHA-384)", cs.HashLen(), 48},
		{"Nk (AES-256)", cs.AEADKeyLen(), 32},
		{"Nn", cs.AEADNonceLen(), 12},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got 0x%04x, want 0x%04x", c.name, c.got, c.want)
		}
	}
	if got := cs.ID().String(); got != "MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519" {
		t.Errorf("name %q", got)
	}
	if !IsPostQuantum(cs.ID()) || IsPostQuantum(X25519AES128GCMSHA256Ed25519) {
		t.Error("IsPostQuantum does not tell the suites apart")
	}

	// Key and encapsulation sizes of MLKEM768-X25519: Npk = 1184 + 32,
	// Nsk = 32 (the seed), Nenc = 1088 + 32.
	priv, pub, err := cs.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	if len(priv) != 32 || len(pub) != 1216 {
		t.Errorf("key pair of %d/%d bytes, want 32/1216", len(priv), len(pub))
	}
	enc, ct, err := cs.HPKESeal(pub, []byte("info"), []byte("aad"), []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != 1120 || len(ct) != len("hello")+16 {
		t.Errorf("encapsulation %d bytes (want 1120), ciphertext %d (want %d)", len(enc), len(ct), len("hello")+16)
	}
	pt, err := cs.HPKEOpen(priv, []byte("info"), []byte("aad"), enc, ct)
	if err != nil || string(pt) != "hello" {
		t.Fatalf("open: %q %v", pt, err)
	}
	// A suite-1 key or a key of the wrong size is refused with a typed error.
	_, pub1, _ := suite1.GenerateKeyPair()
	if _, _, err := cs.HPKESeal(pub1, nil, nil, nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("sealing to an X25519 key: %v, want ErrInvalidKey", err)
	}
	if _, err := cs.AEAD(make([]byte, 16)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("AES-128 key in the AES-256 suite: %v, want ErrInvalidKey", err)
	}

	// DeriveKeyPair is deterministic in its input (RFC 9420 derives node
	// keys from path secrets of Nh bytes with it).
	ikm := bytes.Repeat([]byte{7}, cs.HashLen())
	p1, q1, err := cs.DeriveKeyPair(ikm)
	if err != nil {
		t.Fatal(err)
	}
	p2, q2, _ := cs.DeriveKeyPair(ikm)
	if !bytes.Equal(p1, p2) || !bytes.Equal(q1, q2) {
		t.Error("DeriveKeyPair is not deterministic")
	}
	if q, _ := cs.HPKEPublicKey(p1); !bytes.Equal(q, q1) {
		t.Error("HPKEPublicKey does not match DeriveKeyPair")
	}
	other, _, _ := cs.DeriveKeyPair(bytes.Repeat([]byte{8}, cs.HashLen()))
	if bytes.Equal(other, p1) {
		t.Error("different inputs derive the same key")
	}

	// The standard library's KEM under its registry id is the one we use.
	k, err := hpke.NewKEM(0x647A)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.NewPublicKey(pub); err != nil {
		t.Errorf("the registry's KEM 0x647A does not read our public key: %v", err)
	}
}

// TestSuiteLabelsAreRFC9420s checks that the post-quantum suite derives
// with the labels RFC 9420 defines (the draft changes none): a secret
// expanded with "MLS 1.0 " + label by hand equals ExpandWithLabel's, and the
// same inputs give different outputs in the two suites (their KDFs differ).
func TestSuiteLabelsAreRFC9420s(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		secret := bytes.Repeat([]byte{1}, cs.HashLen())
		got, err := ExpandWithLabel(cs, secret, "key", []byte("ctx"), 16)
		if err != nil {
			t.Fatal(err)
		}
		// KDFLabel: uint16 length, opaque label<V> = "MLS 1.0 key", opaque context<V>.
		info := append([]byte{0, 16, byte(len("MLS 1.0 key"))}, "MLS 1.0 key"...)
		info = append(info, 3, 'c', 't', 'x')
		want, err := cs.Expand(secret, info, 16)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("ExpandWithLabel %x, by hand %x", got, want)
		}
	})
	a, _ := ExpandWithLabel(suite1, make([]byte, 32), "key", nil, 16)
	b, _ := ExpandWithLabel(suitePQ, make([]byte, 32), "key", nil, 16)
	if bytes.Equal(a, b) {
		t.Error("both suites derive the same key")
	}
}

// TestKeyPackageOfOneSuiteIsRefusedByTheOther checks that a KeyPackage only
// serves a group of its own suite: no silent use of a classic key in a PQ
// group or the reverse.
func TestKeyPackageOfOneSuiteIsRefusedByTheOther(t *testing.T) {
	classic := newBundle(t, suite1, "classic")
	pq := newBundle(t, suitePQ, "pq")
	g, err := NewGroup(suitePQ, []byte("g"), newBundle(t, suitePQ, "a"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.AddMembers(&classic.KeyPackage); !errors.Is(err, ErrKeyPackage) {
		t.Errorf("adding a suite-1 KeyPackage to a PQ group: %v, want ErrKeyPackage", err)
	}
	g1, err := NewGroup(suite1, []byte("g1"), newBundle(t, suite1, "a"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g1.AddMembers(&pq.KeyPackage); !errors.Is(err, ErrKeyPackage) {
		t.Errorf("adding a PQ KeyPackage to a suite-1 group: %v, want ErrKeyPackage", err)
	}
	// A Welcome of a PQ group does not join with a classic bundle.
	out, err := g.AddMembers(&pq.KeyPackage)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := JoinGroup(out.Welcome, classic, nil, nil); err == nil {
		t.Error("a classic bundle joined from a PQ Welcome")
	}
	if _, err := JoinGroup(out.Welcome, pq, nil, nil); err != nil {
		t.Errorf("join: %v", err)
	}
}
