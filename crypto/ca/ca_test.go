package ca_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
)

// initCA makes a CA in a fresh directory, written as datadir.InitCA
// writes it, and returns it with the directory.
func initCA(t *testing.T) (*ca.Authority, string) {
	t.Helper()
	a, err := ca.New("", ca.DefaultValidity, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := a.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return a, writeCA(t, keyPEM, a.CertPEM)
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestNewMakesACAThatCanOnlyIssueLeaves(t *testing.T) {
	now := time.Now()
	a, err := ca.New("", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	c := a.Cert
	if c.Subject.CommonName != ca.DefaultName {
		t.Errorf("common name %q, want %q", c.Subject.CommonName, ca.DefaultName)
	}
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("IsCA %v, basic constraints %v, max path len %d (zero %v); want a CA with path length 0",
			c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("key usage %b", c.KeyUsage)
	}
	if c.PublicKeyAlgorithm != x509.Ed25519 {
		t.Errorf("key algorithm %s", c.PublicKeyAlgorithm)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 129 {
		t.Errorf("serial %s is not a positive number of at most 128 random bits (+1)", c.SerialNumber)
	}
	if !c.NotAfter.Equal(now.Add(time.Hour).Truncate(time.Second)) {
		t.Errorf("not after %s, want %s", c.NotAfter, now.Add(time.Hour))
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	b, _ := ca.New("", time.Hour, now)
	if a.Cert.SerialNumber.Cmp(b.Cert.SerialNumber) == 0 {
		t.Error("two CAs have the same serial number")
	}
}

func TestNewRefusesBadNamesAndValidities(t *testing.T) {
	tests := []struct {
		name     string
		caName   string
		validity time.Duration
		want     error
	}{
		{"a name longer than 64 bytes", strings.Repeat("x", 65), time.Hour, ca.ErrBadName},
		{"a name of spaces", "   ", time.Hour, ca.ErrBadName},
		{"a name with a newline", "evil\nCA", time.Hour, ca.ErrBadName},
		{"a name that is not UTF-8", "\xff\xfe", time.Hour, ca.ErrBadName},
		{"a validity of zero", "ok", 0, ca.ErrBadValidity},
		{"a negative validity", "ok", -time.Hour, ca.ErrBadValidity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ca.New(tt.caName, tt.validity, time.Now()); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// writeCA writes key and certificate PEM as a CA directory.
func writeCA(t *testing.T, keyPEM, certPEM []byte) string {
	t.Helper()
	dir := t.TempDir()
	if keyPEM != nil {
		if err := os.WriteFile(filepath.Join(dir, ca.KeyFile), keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if certPEM != nil {
		if err := os.WriteFile(filepath.Join(dir, ca.CertFile), certPEM, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadRefusesBrokenCADirectories(t *testing.T) {
	_, good := initCA(t)
	goodKey, _ := os.ReadFile(filepath.Join(good, ca.KeyFile))
	goodCert, _ := os.ReadFile(filepath.Join(good, ca.CertFile))
	_, other := initCA(t)
	otherKey, _ := os.ReadFile(filepath.Join(other, ca.KeyFile))
	a, _ := ca.Load(good)
	leafCert, leafKey, err := a.Issue(ca.IssueOptions{Domain: "node1.example.mesh"})
	if err != nil {
		t.Fatal(err)
	}
	noSignKey, noSignCert := selfSigned(t, x509.KeyUsageDigitalSignature)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})

	tests := []struct {
		name     string
		key      []byte
		cert     []byte
		want     error
		mentions string
	}{
		{"a key from another CA", otherKey, goodCert, ca.ErrKeyMismatch, ca.KeyFile},
		{"a node certificate instead of a CA", leafKey, leafCert, ca.ErrNotCA, ca.CertFile},
		{"a CA certificate that may not sign certificates", noSignKey, noSignCert, ca.ErrNotCA, ca.CertFile},
		{"a missing key", nil, goodCert, fs.ErrNotExist, ca.KeyFile},
		{"a missing certificate", goodKey, nil, fs.ErrNotExist, ca.CertFile},
		{"a certificate file of garbage", goodKey, []byte("not PEM at all"), ca.ErrNoCertificate, ca.CertFile},
		{"two certificates in ca.crt", goodKey, append(append([]byte{}, goodCert...), leafCert...), ca.ErrMalformed, ca.CertFile},
		{"a key file of garbage", []byte("garbage"), goodCert, ca.ErrNotEd25519, ca.KeyFile},
		{"an ECDSA key", ecPEM, goodCert, ca.ErrNotEd25519, ca.KeyFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeCA(t, tt.key, tt.cert)
			_, err := ca.Load(dir)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.mentions) {
				t.Errorf("error %v, want %v naming %s", err, tt.want, tt.mentions)
			}
		})
	}
}

// selfSigned makes a self-signed Ed25519 CA certificate with the given key
// usage, and returns its key and certificate as PEM.
func selfSigned(t *testing.T, usage x509.KeyUsage) (keyPEM, certPEM []byte) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "odd CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: usage, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(priv)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestLoadRefusesAKeyOthersCanRead(t *testing.T) {
	_, dir := initCA(t)
	keyPath := filepath.Join(dir, ca.KeyFile)
	for _, perm := range []fs.FileMode{0o640, 0o604, 0o660} {
		if err := os.Chmod(keyPath, perm); err != nil {
			t.Fatal(err)
		}
		_, err := ca.Load(dir)
		if !errors.Is(err, ca.ErrKeyPermissions) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: error %v, want ErrKeyPermissions with the fix", perm, err)
		}
	}
	if err := os.Chmod(keyPath, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Load(dir); err != nil {
		t.Errorf("a read-only key of its owner is refused: %v", err)
	}
}

func TestPoolHoldsOnlyTheCA(t *testing.T) {
	a, _ := initCA(t)
	want := x509.NewCertPool()
	want.AddCert(a.Cert)
	if !a.Pool().Equal(want) {
		t.Error("the pool is not the CA certificate alone")
	}
	b, _ := initCA(t)
	if a.Pool().Equal(b.Pool()) {
		t.Error("the pools of two CAs are equal")
	}
}
