package federation

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/quicprochat/qpc/transport"
)

// peerID is what a verified certificate says about a peer.
type peerID struct {
	domain      string // the certificate's one DNS SAN, lowercase
	fingerprint string // SHA-256 of the leaf, lowercase hex
}

// verifier decides whether a peer's certificate chain is acceptable: it
// chains to the community CA for the usage at hand, names exactly one
// domain, is not on the deny list and is not this node's own.
type verifier struct {
	roots      *x509.CertPool
	deny       map[string]bool
	selfFP     string
	selfDomain string
	now        func() time.Time
}

func (v *verifier) verify(chain []*x509.Certificate, usage x509.ExtKeyUsage) (peerID, error) {
	if len(chain) == 0 {
		return peerID{}, refused(ReasonNoCertificate, "no certificate")
	}
	leaf := chain[0]
	id := peerID{fingerprint: transport.Fingerprint(leaf.Raw)}
	if v.deny[id.fingerprint] {
		return id, refused(ReasonDenied, "certificate %s is on the deny list", id.fingerprint)
	}
	if id.fingerprint == v.selfFP {
		return id, refused(ReasonSelf, "that is this node's own certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: inter,
		CurrentTime:   v.now(),
		KeyUsages:     []x509.ExtKeyUsage{usage},
	}); err != nil {
		return id, &RefusedError{Reason: chainReason(err), Err: err}
	}
	if len(leaf.DNSNames) != 1 {
		return id, refused(ReasonBadSAN, "certificate names %d domains (%s); a node certificate names exactly one",
			len(leaf.DNSNames), strings.Join(leaf.DNSNames, ", "))
	}
	id = identityOf(leaf)
	if id.domain == v.selfDomain {
		return id, refused(ReasonSelf, "certificate names this node's own domain %s", id.domain)
	}
	return id, nil
}

// identityOf reads the peer's identity from a leaf that verify accepted.
func identityOf(leaf *x509.Certificate) peerID {
	return peerID{domain: strings.ToLower(leaf.DNSNames[0]), fingerprint: transport.Fingerprint(leaf.Raw)}
}

// chainReason classifies a chain verification failure.
func chainReason(err error) string {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return ReasonUnknownCA
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return ReasonExpired
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return ReasonBadUsage
	}
	return ReasonInvalid
}

// serverTLS returns the configuration a node accepts links with: its
// federation certificate, a client certificate required and checked by
// check, which is told the remote address.
func serverTLS(cert tls.Certificate, check func(cs tls.ConnectionState, remote string) error) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		remote := ""
		if hello.Conn != nil {
			remote = hello.Conn.RemoteAddr().String()
		}
		return &tls.Config{
			MinVersion:   tls.VersionTLS13,
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{transport.ALPNFederation},
			// Verified by check rather than by crypto/tls, so that the
			// reason is known (and counted) and the peer's domain comes
			// from its SAN rather than from a name it was dialed by.
			ClientAuth: tls.RequireAnyClientCert,
			VerifyConnection: func(cs tls.ConnectionState) error {
				return check(cs, remote)
			},
		}, nil
	}
}

// clientTLS returns the configuration a node dials a link with.
func clientTLS(cert tls.Certificate, host string, check func(cs tls.ConnectionState) error) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{cert},
		NextProtos:         []string{transport.ALPNFederation},
		ServerName:         host,
		InsecureSkipVerify: true, // check verifies the chain against the community CA
		VerifyConnection:   check,
	}
}
