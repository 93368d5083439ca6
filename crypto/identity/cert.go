package identity

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// SelfSignedValidity is how long a node's self-signed certificate is valid.
// Clients pin it by fingerprint, so a long life avoids breaking pins; a
// certificate from the community CA replaces it for anything stricter.
const SelfSignedValidity = 10 * 365 * 24 * time.Hour

// SelfSignedCertificate makes a DER certificate for k, signed by k itself.
// Its subject common name is the node id and its DNS names are the domain
// and the node id, so that it carries both.
func SelfSignedCertificate(k *NodeKey, domain string, now time.Time) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	id := k.ID()
	names := []string{id}
	if domain != "" && domain != id {
		names = append([]string{domain}, names...)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: id, Organization: []string{"quicprochat node"}},
		DNSNames:              names,
		NotBefore:             now.Add(-time.Hour), // tolerate routers whose clocks lag
		NotAfter:              now.Add(SelfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k.Private)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	return der, nil
}

// MarshalCertificatePEM encodes a DER certificate as a PEM "CERTIFICATE"
// block.
func MarshalCertificatePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
