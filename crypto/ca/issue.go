package ca

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
)

// DefaultLeafValidity is how long a node certificate is valid when
// IssueOptions.NotAfter is zero: 825 days, the longest that browsers and
// most TLS tooling accept for a leaf, which also keeps rotation a thing
// admins do every two years rather than forget.
const DefaultLeafValidity = 825 * 24 * time.Hour

// ClockSkew is how far before now a node certificate becomes valid when
// IssueOptions.NotBefore is zero, so that a node whose clock is a little
// behind the admin's accepts a certificate issued a moment ago.
const ClockSkew = time.Minute

// maxDomainLen is the longest DNS name in text form (RFC 1035 §2.3.4).
const maxDomainLen = 253

// maxLabelLen is the longest DNS label.
const maxLabelLen = 63

// IssueOptions says what node certificate to issue.
type IssueOptions struct {
	// Domain is the node's mail domain, the certificate's common name and
	// only DNS name. It must pass ValidateDomain.
	Domain string
	// NotBefore is when the certificate becomes valid; zero means
	// ClockSkew before now.
	NotBefore time.Time
	// NotAfter is when it expires; zero means NotBefore plus
	// DefaultLeafValidity. It may not be later than the CA's NotAfter.
	NotAfter time.Time
}

// Issue makes a new Ed25519 node key and a certificate for it, signed by
// the CA, and returns both PEM-encoded (the key as PKCS #8). The
// certificate serves as a TLS server and client certificate for o.Domain.
func (a *Authority) Issue(o IssueOptions) (certPEM, keyPEM []byte, err error) {
	if err := ValidateDomain(o.Domain); err != nil {
		return nil, nil, err
	}
	now := time.Now()
	if now.After(a.Cert.NotAfter) {
		return nil, nil, fmt.Errorf("%w on %s", ErrCAExpired, a.Cert.NotAfter.UTC().Format(time.DateOnly))
	}
	notBefore, notAfter := o.NotBefore, o.NotAfter
	if notBefore.IsZero() {
		notBefore = now.Add(-ClockSkew)
	}
	if notAfter.IsZero() {
		notAfter = notBefore.Add(DefaultLeafValidity)
	}
	if !notAfter.After(notBefore) {
		return nil, nil, fmt.Errorf("%w: not after %s is not later than not before %s",
			ErrBadValidity, notAfter.UTC().Format(time.RFC3339), notBefore.UTC().Format(time.RFC3339))
	}
	if notAfter.After(a.Cert.NotAfter) {
		return nil, nil, fmt.Errorf("%w: it would be valid until %s, the CA only until %s", ErrOutlivesCA,
			notAfter.UTC().Format(time.RFC3339), a.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: generate node key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: o.Domain},
		// Exactly one name: a peer takes the node's domain from it, and a
		// second name would let one node speak for two domains.
		DNSNames:  []string{o.Domain},
		NotBefore: notBefore,
		NotAfter:  notAfter,
		KeyUsage:  x509.KeyUsageDigitalSignature,
		// Federation links are mutual TLS: the node that dials is the
		// client, and either node may dial.
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, pub, a.key)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: create certificate: %w", err)
	}
	keyPEM, err = identity.MarshalPrivateKeyPEM(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: encode node key: %w", err)
	}
	return encodeCertPEM(der), keyPEM, nil
}

// ValidateDomain returns nil if d can be a node certificate's DNS name: a
// lowercase DNS name of letters a-z, digits and '-' in dot-separated
// labels of 1 to 63 characters that neither start nor end with '-', at
// most 253 characters in all, whose last label is not all digits (which
// would make it read as an IP address). Otherwise it returns an error
// wrapping ErrBadDomain that says what is wrong.
//
// Uppercase is refused rather than folded: the certificate would then name
// a different string than the node's configured domain.
func ValidateDomain(d string) error {
	if d == "" {
		return fmt.Errorf("%w: empty", ErrBadDomain)
	}
	if len(d) > maxDomainLen {
		return fmt.Errorf("%w: %d characters, more than %d", ErrBadDomain, len(d), maxDomainLen)
	}
	if lower := strings.ToLower(d); lower != d {
		return fmt.Errorf("%w: %q has uppercase letters (use %q)", ErrBadDomain, d, lower)
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return fmt.Errorf("%w: %q has an empty label (a leading, trailing or double dot)", ErrBadDomain, d)
		case len(l) > maxLabelLen:
			return fmt.Errorf("%w: %q has a label longer than %d characters", ErrBadDomain, d, maxLabelLen)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Errorf("%w: %q has a label that starts or ends with '-'", ErrBadDomain, d)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%w: %q holds %q (allowed: a-z, 0-9, '-' and '.')", ErrBadDomain, d, r)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("%w: %q ends in a numeric label, like an IP address", ErrBadDomain, d)
	}
	return nil
}
