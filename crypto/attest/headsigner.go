package attest

import (
	"crypto/ed25519"
	"crypto/x509"
	"time"
)

// CheckHeadSigner checks the federation certificate (DER) that signed a
// key transparency tree head of domain's log: it must chain to roots at
// now, name exactly domain and hold an Ed25519 key, which it returns for
// the caller to verify the head's signature with. A head of another
// node's log is believed only this way, since a node that relays it could
// otherwise sign one of its own; the refusal wraps ErrMalformed,
// ErrUntrusted or ErrWrongSigner.
func CheckHeadSigner(cert []byte, roots *x509.CertPool, now time.Time, domain string) (ed25519.PublicKey, error) {
	_, pub, err := checkCert(cert, roots, now, domain)
	return pub, err
}
