package identity

import (
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"regexp"
	"testing"
	"time"
)

func TestNodeIDIs26LowercaseBase32Characters(t *testing.T) {
	k, err := GenerateNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	id := k.ID()
	if !regexp.MustCompile(`^[a-z2-7]{26}$`).MatchString(id) {
		t.Errorf("node id %q is not 26 base32 characters", id)
	}
	if NodeID(k.Public()) != id {
		t.Error("NodeID of the public key differs from NodeKey.ID")
	}
}

func TestNodeIDOfAKnownKey(t *testing.T) {
	// SHA-256 of 32 zero bytes is 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925;
	// its base32 starts MZUHVLPYMK6XO3EPYGFY5H4OEAEJOFEFN3RDHM.
	pub := make(ed25519.PublicKey, ed25519.PublicKeySize)
	if got, want := NodeID(pub), "mzuhvlpymk6xo3epygfy5h4oea"; got != want {
		t.Errorf("NodeID(zero key) = %q, want %q", got, want)
	}
}

func TestPrivateKeyPEMRoundTrips(t *testing.T) {
	k, _ := GenerateNodeKey()
	data, err := MarshalPrivateKeyPEM(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePrivateKeyPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(k.Private) {
		t.Error("key changed in a PEM round trip")
	}
}

func TestParsePrivateKeyPEMRejectsOtherContent(t *testing.T) {
	tests := []struct {
		name string
		data string
		want error
	}{
		{"an empty file is refused", "", ErrNoPEM},
		{"text without PEM is refused", "hello", ErrNoPEM},
		{"a certificate block is refused", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", ErrNotEd25519},
		{"a private key block with garbage is refused", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", ErrNotEd25519},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParsePrivateKeyPEM([]byte(tt.data)); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSelfSignedCertificateCarriesNodeIDAndDomain(t *testing.T) {
	k, _ := GenerateNodeKey()
	der, err := SelfSignedCertificate(k, "node1.example.mesh", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != k.ID() {
		t.Errorf("CN = %q, want node id %q", cert.Subject.CommonName, k.ID())
	}
	for _, name := range []string{"node1.example.mesh", k.ID()} {
		if err := cert.VerifyHostname(name); err != nil {
			t.Errorf("certificate does not name %s: %v", name, err)
		}
	}
	if !k.Public().Equal(cert.PublicKey) {
		t.Error("certificate is not for the node key")
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
}
