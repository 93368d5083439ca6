package attest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
)

// node is a federation certificate of a test CA with its key.
type node struct {
	der []byte
	key ed25519.PrivateKey
}

func newCA(t testing.TB) *ca.Authority {
	t.Helper()
	a, err := ca.New("test community", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func issue(t testing.TB, a *ca.Authority, domain string) node {
	t.Helper()
	certPEM, keyPEM, err := a.Issue(ca.IssueOptions{Domain: domain, NotAfter: time.Now().Add(12 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return node{der: pair.Certificate[0], key: pair.PrivateKey.(ed25519.PrivateKey)}
}

func testKeys() Keys {
	id := make([]byte, 32)
	hk := make([]byte, 1216)
	sig := make([]byte, 64)
	rand.Read(id)
	rand.Read(hk)
	rand.Read(sig)
	return Keys{Address: "carol@d.mesh", IdentityKey: id, HPKEKey: hk, Signature: sig, Published: time.UnixMilli(1_700_000_000_000)}
}

func TestVerifyAnswer(t *testing.T) {
	community, other := newCA(t), newCA(t)
	d := issue(t, community, "d.mesh")
	evil := issue(t, community, "evil.mesh")
	outsider := issue(t, other, "d.mesh")
	now := time.Now()
	k := testKeys()
	good, err := SignAnswer(k, now, d.der, d.key)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(n node, k Keys, at time.Time) []byte {
		p, err := SignAnswer(k, at, n.der, n.key)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	other1 := k
	other1.Address = "dave@d.mesh"
	swapped := k
	swapped.HPKEKey = bytes.Clone(k.HPKEKey)
	swapped.HPKEKey[7] ^= 1
	republished := k
	republished.Published = k.Published.Add(time.Millisecond)

	tests := []struct {
		name   string
		keys   Keys
		proof  []byte
		roots  *x509.CertPool
		now    time.Time
		want   error
		signer string
	}{
		{"an answer signed by the user's domain is accepted", k, good, community.Pool(), now, nil, "d.mesh"},
		{"an answer a minute old is accepted", k, good, community.Pool(), now.Add(time.Minute), nil, "d.mesh"},
		{"no proof is refused", k, nil, community.Pool(), now, ErrNoProof, ""},
		{"a proof from another community is refused", k, sign(outsider, k, now), community.Pool(), now, ErrUntrusted, "d.mesh"},
		{"a proof with no CA to check against is refused", k, good, nil, now, ErrUntrusted, "d.mesh"},
		{"a proof signed by another member node is refused", k, sign(evil, k, now), community.Pool(), now, ErrWrongSigner, "evil.mesh"},
		{"an answer older than the window is refused", k, good, community.Pool(), now.Add(AnswerMaxAge + time.Second), ErrStale, "d.mesh"},
		{"an answer dated in the future is refused", k, sign(d, k, now.Add(AnswerMaxSkew+time.Minute)), community.Pool(), now, ErrStale, "d.mesh"},
		{"the proof of another address is refused", other1, good, community.Pool(), now, ErrBadSignature, "d.mesh"},
		{"a substituted HPKE key is refused", swapped, good, community.Pool(), now, ErrBadSignature, "d.mesh"},
		{"another publish time is refused", republished, good, community.Pool(), now, ErrBadSignature, "d.mesh"},
		{"an expired certificate is refused", k, good, community.Pool(), now.Add(48 * time.Hour), ErrUntrusted, "d.mesh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer, err := VerifyAnswer(tt.keys, tt.proof, tt.roots, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifyAnswer: %v", err)
				}
			} else {
				if !errors.Is(err, tt.want) || !errors.Is(err, ErrForgedKeys) {
					t.Fatalf("VerifyAnswer = %v, want %v and ErrForgedKeys", err, tt.want)
				}
			}
			if signer != tt.signer {
				t.Errorf("signer = %q, want %q", signer, tt.signer)
			}
		})
	}
}

// TestVerifyAnswerBitFlips flips every bit of the proof and of the
// address in turn: not one flipped proof may pass.
func TestVerifyAnswerBitFlips(t *testing.T) {
	community := newCA(t)
	d := issue(t, community, "d.mesh")
	now := time.Now()
	k := testKeys()
	good, err := SignAnswer(k, now, d.der, d.key)
	if err != nil {
		t.Fatal(err)
	}
	roots := community.Pool()
	passed := 0
	// The time field's low bits may flip to a still-fresh time, which the
	// signature then refuses; every flip must fail somewhere.
	for i := range len(good) * 8 {
		p := bytes.Clone(good)
		p[i/8] ^= 1 << (i % 8)
		if _, err := VerifyAnswer(k, p, roots, now); err == nil {
			passed++
			t.Errorf("proof with bit %d flipped verified", i)
		} else if !errors.Is(err, ErrForgedKeys) {
			t.Errorf("bit %d: %v does not wrap ErrForgedKeys", i, err)
		}
	}
	for i := range len(k.IdentityKey) * 8 {
		k2 := k
		k2.IdentityKey = bytes.Clone(k.IdentityKey)
		k2.IdentityKey[i/8] ^= 1 << (i % 8)
		if _, err := VerifyAnswer(k2, good, roots, now); err == nil {
			t.Errorf("identity key with bit %d flipped verified", i)
		}
	}
	t.Logf("%d bit flips of a %d-byte proof, %d passed", len(good)*8, len(good), passed)
}

func TestAnswerRoundTripAndTruncation(t *testing.T) {
	community := newCA(t)
	d := issue(t, community, "d.mesh")
	now := time.UnixMilli(time.Now().UnixMilli())
	good, err := SignAnswer(testKeys(), now, d.der, d.key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAnswer(good)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Answered.Equal(now) || !bytes.Equal(a.Cert, d.der) || len(a.Signature) != ed25519.SignatureSize {
		t.Fatalf("parsed %+v", a)
	}
	if again := a.Marshal(); !bytes.Equal(again, good) {
		t.Fatal("Marshal(ParseAnswer(b)) differs from b")
	}
	for n := range len(good) {
		if _, err := ParseAnswer(good[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseAnswer of the first %d of %d bytes = %v, want ErrMalformed", n, len(good), err)
		}
	}
	if _, err := ParseAnswer(append(bytes.Clone(good), 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a trailing byte: %v, want ErrMalformed", err)
	}
	old := bytes.Clone(good)
	old[0] = 0
	if _, err := ParseAnswer(old); !errors.Is(err, ErrTooOld) {
		t.Fatalf("version 0: %v, want ErrTooOld", err)
	}
	old[0] = 2
	if _, err := ParseAnswer(old); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("version 2: %v, want ErrUnknownVersion", err)
	}
}

func TestSignAnswerRefusesAForeignKey(t *testing.T) {
	community := newCA(t)
	d := issue(t, community, "d.mesh")
	e := issue(t, community, "e.mesh")
	if _, err := SignAnswer(testKeys(), time.Now(), d.der, e.key); !errors.Is(err, ErrMalformed) {
		t.Fatalf("signing with another certificate's key: %v, want ErrMalformed", err)
	}
}

func TestVerifyLink(t *testing.T) {
	community, other := newCA(t), newCA(t)
	d := issue(t, community, "d.mesh")
	r := issue(t, community, "r.mesh")
	outsider := issue(t, other, "d.mesh")
	now := time.Now()
	link := func(n node, neighbour string, at time.Time, validity time.Duration) []byte {
		s, err := SignLink(neighbour, at, validity, n.der, n.key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := link(d, "r.mesh", now, 10*time.Minute)
	flipped := bytes.Clone(good)
	flipped[18+len("r.mesh")] ^= 1 // the first byte of the signature
	tests := []struct {
		name      string
		statement []byte
		domain    string
		neighbour string
		now       time.Time
		want      error
	}{
		{"d's statement naming r backs r's advert of d", good, "d.mesh", "r.mesh", now, nil},
		{"no statement is refused", nil, "d.mesh", "evil.mesh", now, ErrNoProof},
		{"d's statement naming r does not back evil's advert", good, "d.mesh", "evil.mesh", now, ErrWrongNeighbour},
		{"r's own statement does not back a claim to d", link(r, "evil.mesh", now, time.Minute), "d.mesh", "evil.mesh", now, ErrWrongSigner},
		{"a statement of another community is refused", link(outsider, "r.mesh", now, time.Minute), "d.mesh", "r.mesh", now, ErrUntrusted},
		{"an expired statement is refused", good, "d.mesh", "r.mesh", now.Add(10 * time.Minute), ErrStale},
		{"a statement from the future is refused", link(d, "r.mesh", now.Add(AnswerMaxSkew+time.Minute), time.Minute), "d.mesh", "r.mesh", now, ErrStale},
		{"a changed byte is refused", flipped, "d.mesh", "r.mesh", now, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyLink(tt.statement, tt.domain, tt.neighbour, community.Pool(), tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifyLink: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrBadLink) {
				t.Fatalf("VerifyLink = %v, want %v and ErrBadLink", err, tt.want)
			}
		})
	}
	if _, err := SignLink("r.mesh", now, LinkMaxValidity+time.Second, d.der, d.key); !errors.Is(err, ErrMalformed) {
		t.Fatalf("SignLink beyond LinkMaxValidity: %v", err)
	}
}

func TestLinkBitFlipsRoundTripAndTruncation(t *testing.T) {
	community := newCA(t)
	d := issue(t, community, "d.mesh")
	now := time.UnixMilli(time.Now().UnixMilli())
	good, err := SignLink("r.mesh", now, 10*time.Minute, d.der, d.key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLink(good)
	if err != nil {
		t.Fatal(err)
	}
	if l.Neighbour != "r.mesh" || !l.Issued.Equal(now) || !l.Expires.Equal(now.Add(10*time.Minute)) || !bytes.Equal(l.Cert, d.der) {
		t.Fatalf("parsed %+v", l)
	}
	if !bytes.Equal(l.Marshal(), good) {
		t.Fatal("Marshal(ParseLink(b)) differs from b")
	}
	for n := range len(good) {
		if _, err := ParseLink(good[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseLink of the first %d of %d bytes = %v, want ErrMalformed", n, len(good), err)
		}
	}
	roots := community.Pool()
	for i := range len(good) * 8 {
		p := bytes.Clone(good)
		p[i/8] ^= 1 << (i % 8)
		if err := VerifyLink(p, "d.mesh", "r.mesh", roots, now.Add(time.Second)); err == nil {
			t.Errorf("link statement with bit %d flipped verified", i)
		}
	}
}

func TestForgedErrorNamesEveryone(t *testing.T) {
	err := error(&ForgedError{Address: "carol@d.mesh", Domain: "d.mesh", AnsweredBy: "a.mesh", Signer: "evil.mesh", Err: ErrWrongSigner})
	if !errors.Is(err, ErrForgedKeys) || !errors.Is(err, ErrWrongSigner) {
		t.Fatalf("%v does not match its sentinels", err)
	}
	for _, s := range []string{"carol@d.mesh", "d.mesh", "a.mesh", "evil.mesh"} {
		if !bytes.Contains([]byte(err.Error()), []byte(s)) {
			t.Errorf("%q does not name %s", err, s)
		}
	}
}

func TestAnAnswerCoversTheAccountKeyAndTheDeviceList(t *testing.T) {
	community := newCA(t)
	d := issue(t, community, "d.mesh")
	now := time.Now()
	k := testKeys()
	k.AccountKey = bytes.Repeat([]byte{5}, 32)
	k.DeviceList = []byte("a signed device list")
	proof, err := SignAnswer(k, now, d.der, d.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyAnswer(k, proof, community.Pool(), now); err != nil {
		t.Fatalf("the answer as signed: %v", err)
	}
	swappedAccount := k
	swappedAccount.AccountKey = bytes.Repeat([]byte{6}, 32)
	swappedList := k
	swappedList.DeviceList = []byte("another device list")
	stripped := k
	stripped.AccountKey, stripped.DeviceList = nil, nil
	legacy := testKeys()
	legacyProof, err := SignAnswer(legacy, now, d.der, d.key)
	if err != nil {
		t.Fatal(err)
	}
	dressed := legacy
	dressed.AccountKey, dressed.DeviceList = k.AccountKey, k.DeviceList
	for name, c := range map[string]struct {
		keys  Keys
		proof []byte
	}{
		"a swapped account key":                   {swappedAccount, proof},
		"a swapped device list":                   {swappedList, proof},
		"both stripped (the statement of before)": {stripped, proof},
		"both added to an answer of before":       {dressed, legacyProof},
	} {
		if _, err := VerifyAnswer(c.keys, c.proof, community.Pool(), now); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
	// Keys without either are signed as before devices, so that an
	// answer from a node of before still verifies.
	st, err := answerStatement(legacy, now)
	if err != nil || !bytes.HasPrefix(st, []byte(answerContext)) {
		t.Errorf("the statement of keys without devices starts %q, %v", st[:20], err)
	}
}
