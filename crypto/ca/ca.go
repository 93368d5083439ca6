// Package ca is a community's certificate authority for federation.
//
// The nodes of one community link to each other with mutual TLS. Each node
// presents a certificate issued by the community CA whose only DNS name is
// the node's mail domain, so a peer learns which domain it talks to from
// the certificate alone, and trusts any node the CA vouched for without
// knowing its certificate in advance.
//
// A CA lives in a directory of two PEM files:
//
//	ca.key  the CA's Ed25519 private key, PKCS #8 "PRIVATE KEY", mode 0600
//	ca.crt  its self-signed certificate, "CERTIFICATE", mode 0644
//
// The key belongs offline (an admin's laptop or a USB stick), never on a
// router: whoever holds it can add nodes to the community. Node
// certificates are leaves: the CA certificate allows no intermediates
// below it, they serve as both TLS server and client, and they expire no
// later than the CA.
package ca

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quicprochat/qpc/crypto/identity"
)

// File names inside a CA directory.
const (
	KeyFile  = "ca.key"
	CertFile = "ca.crt"
)

// DefaultName is the common name of a CA created without a name.
const DefaultName = "qpc community CA"

// DefaultValidity is how long a CA made by Init is valid. Replacing a CA
// means handing a new ca.crt to every node of the community at once, so it
// is made to outlast the routers it serves.
const DefaultValidity = 20 * 365 * 24 * time.Hour

// caBackdate is how far before its creation a CA certificate becomes
// valid, so that routers whose clocks lag a little accept it at once.
const caBackdate = time.Hour

// maxNameLen is the upper bound X.520 sets for a common name.
const maxNameLen = 64

// Authority is a community CA: its certificate and, unexported so that it
// is only ever used to sign, its private key.
type Authority struct {
	// Cert is the CA certificate.
	Cert *x509.Certificate
	// CertPEM is Cert as one PEM "CERTIFICATE" block, as written to ca.crt.
	CertPEM []byte

	key ed25519.PrivateKey
}

// New makes a CA with a fresh Ed25519 key and a self-signed certificate
// named name (DefaultName if empty), valid from now for validity.
func New(name string, validity time.Duration, now time.Time) (*Authority, error) {
	if name == "" {
		name = DefaultName
	}
	if err := validateName(name); err != nil {
		return nil, err
	}
	if validity <= 0 {
		return nil, fmt.Errorf("%w: CA validity %s is not positive", ErrBadValidity, validity)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-caBackdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// Node certificates only: a leaked node key must not be able to
		// mint further certificates that chain to the community CA.
		MaxPathLen:     0,
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, fmt.Errorf("ca: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca: parse new certificate: %w", err)
	}
	return &Authority{Cert: cert, CertPEM: encodeCertPEM(der), key: priv}, nil
}

// KeyPEM returns the CA's private key as a PEM "PRIVATE KEY" block (PKCS
// #8), as ca.key holds it. Writing it is the caller's business (package
// datadir): crypto packages return bytes and touch no files.
func (a *Authority) KeyPEM() ([]byte, error) {
	b, err := identity.MarshalPrivateKeyPEM(a.key)
	if err != nil {
		return nil, fmt.Errorf("ca: encode key: %w", err)
	}
	return b, nil
}

// Load reads the CA in dir and checks that ca.crt is a CA certificate,
// that ca.key is its key, and that ca.key is not accessible to group or
// others (ErrKeyPermissions; not checked on Windows, whose permissions Go
// does not map to these bits).
func Load(dir string) (*Authority, error) {
	keyPath, certPath := filepath.Join(dir, KeyFile), filepath.Join(dir, CertFile)
	certData, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	cert, der, err := parseSingleCert(certData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%s: %w (subject %s)", certPath, ErrNotCA, cert.Subject)
	}
	certKey, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: %w: the certificate's key is %s", certPath, ErrNotEd25519, cert.PublicKeyAlgorithm)
	}
	if err := checkKeyPermissions(keyPath); err != nil {
		return nil, err
	}
	keyData, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	key, err := identity.ParsePrivateKeyPEM(keyData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", keyPath, ErrNotEd25519, err)
	}
	if !certKey.Equal(key.Public()) {
		return nil, fmt.Errorf("%s does not belong to %s: %w", keyPath, certPath, ErrKeyMismatch)
	}
	return &Authority{Cert: cert, CertPEM: encodeCertPEM(der), key: key}, nil
}

// Pool returns a certificate pool holding only the CA certificate, for
// verifying node certificates (tls.Config RootCAs and ClientCAs).
func (a *Authority) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.Cert)
	return p
}

// Fingerprint returns the lowercase hex SHA-256 of the CA certificate's
// DER, the form in which qpc shows every certificate fingerprint.
func (a *Authority) Fingerprint() string { return fingerprint(a.Cert.Raw) }

// Signer returns the CA key as a crypto.Signer. It exists for tests that
// need certificates Issue refuses to make (two DNS names, a CA below the
// CA) to check that peers reject them; Issue is the way to make node
// certificates.
func (a *Authority) Signer() crypto.Signer { return a.key }

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func encodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// randomSerial returns a serial of 128 random bits, made positive and
// non-zero as RFC 5280 wants by adding one.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("ca: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func validateName(name string) error {
	if len(name) > maxNameLen {
		return fmt.Errorf("%w: %q is longer than %d bytes", ErrBadName, name, maxNameLen)
	}
	if !utf8.ValidString(name) || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %q holds control characters", ErrBadName, name)
		}
	}
	return nil
}

// parseSingleCert decodes a PEM file that must hold exactly one
// certificate and nothing else, as ca.crt does.
func parseSingleCert(data []byte) (*x509.Certificate, []byte, error) {
	blocks, err := certBlocks(data)
	if err != nil {
		return nil, nil, err
	}
	if len(blocks) != 1 {
		return nil, nil, fmt.Errorf("%w: want exactly one certificate, found %d", ErrMalformed, len(blocks))
	}
	cert, err := x509.ParseCertificate(blocks[0])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return cert, blocks[0], nil
}

func checkKeyPermissions(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s: %w (mode %04o; chmod 600 %s)", path, ErrKeyPermissions, perm, path)
	}
	return nil
}
