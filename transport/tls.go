// Package transport carries qpc's services over QUIC: TLS 1.3 configurations
// for nodes and clients, certificate pinning, UDP listeners and dialers, and
// the Cap'n Proto RPC connection on a connection's first bidirectional
// stream.
//
// One UDP port serves every service; the ALPN protocol chosen in the TLS
// handshake says which one a connection speaks.
package transport

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// ALPN protocol identifiers, one per service (DESIGN §3).
const (
	ALPNClient     = "quicprochat/1"
	ALPNFederation = "quicprochat/federation/1"
)

// Fingerprint returns the lowercase hex SHA-256 of a DER certificate: the
// value clients pin.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// ParseFingerprint normalises a pin given by a person: hex, optionally with
// colons (as openssl prints them) and in any case. It must be 32 bytes.
func ParseFingerprint(s string) (string, error) {
	clean := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("%w: want 64 hex digits of a SHA-256, got %q", ErrBadFingerprint, s)
	}
	return clean, nil
}

// ServerTLS returns the TLS configuration a node serves with: TLS 1.3
// only, ALPN quicprochat/1 with cert. When federation is not nil, a
// handshake that offers ALPN quicprochat/federation/1 gets the
// configuration federation returns for it instead (its certificate, mutual
// TLS); without it, such a handshake fails for want of a common protocol.
func ServerTLS(cert tls.Certificate, federation func(*tls.ClientHelloInfo) (*tls.Config, error)) *tls.Config {
	conf := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{ALPNClient},
	}
	if federation != nil {
		conf.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if slices.Contains(hello.SupportedProtos, ALPNFederation) {
				return federation(hello)
			}
			return nil, nil
		}
	}
	return conf
}

// Trust says how a client decides that a node's certificate is the right
// one. Exactly one way applies, in this order: Pin, then CAFile, then
// TOFU.
type Trust struct {
	// Pin is the expected certificate fingerprint (see ParseFingerprint).
	Pin string
	// CAFile is a PEM file of CA certificates; the node's certificate must
	// chain to one of them and name the host dialed.
	CAFile string
	// TOFU is called with the server's certificate fingerprint when neither
	// Pin nor CAFile is set; it returns nil to accept. Nil refuses.
	TOFU func(fingerprint string) error
}

// ClientTLS returns the TLS configuration a client dials host with.
func ClientTLS(host string, trust Trust) (*tls.Config, error) {
	conf := &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{ALPNClient},
		ServerName: host,
	}
	switch {
	case trust.Pin != "":
		pin, err := ParseFingerprint(trust.Pin)
		if err != nil {
			return nil, err
		}
		// Pinning replaces chain verification: the pin names the exact
		// certificate, which for a self-signed node is all there is.
		conf.InsecureSkipVerify = true
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			got := leafFingerprint(cs)
			if got != pin {
				return &PinMismatchError{Want: pin, Got: got}
			}
			return nil
		}
	case trust.CAFile != "":
		pemData, err := os.ReadFile(trust.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("CA file %s: %w", trust.CAFile, ErrNoCertificates)
		}
		// Verified here rather than by crypto/tls so that the caller gets
		// the x509 error itself, not a TLS alert that QUIC reports in its
		// place.
		conf.InsecureSkipVerify = true
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs, pool, host)
		}
	case trust.TOFU != nil:
		conf.InsecureSkipVerify = true
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			return trust.TOFU(leafFingerprint(cs))
		}
	default:
		return nil, ErrNoTrust
	}
	return conf, nil
}

func verifyChain(cs tls.ConnectionState, roots *x509.CertPool, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("node sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		DNSName:       host,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("node certificate: %w", err)
	}
	return nil
}

func leafFingerprint(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	return Fingerprint(cs.PeerCertificates[0].Raw)
}
