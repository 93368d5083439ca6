package app

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/ktwatch"
	"github.com/quicprochat/qpc/node/store"
)

// ktSigner returns what signs the key transparency log's heads: the
// federation key with its certificate when federation is on, so that
// every node of the community can check the heads against the CA, else
// the node key (design23, "Who signs").
func (n *Node) ktSigner(cfg config.Node) (store.KTLog, error) {
	l := store.KTLog{Domain: cfg.Domain, Key: n.key.Private}
	if !cfg.Federation() {
		return l, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.FederationCert, cfg.FederationKey)
	if err != nil {
		return l, &config.FlagError{Flag: "federation-cert", Err: fmt.Errorf("with --federation-key: %w", err)}
	}
	key, ok := cert.PrivateKey.(ed25519.PrivateKey)
	if !ok || len(cert.Certificate) == 0 {
		return l, &config.FlagError{Flag: "federation-key", Err: fmt.Errorf("%s is not an Ed25519 key", cfg.FederationKey)}
	}
	l.Key, l.Cert = key, cert.Certificate[0]
	return l, nil
}

// newKTWatch builds the watch over key transparency logs; roots is the
// community CA (nil without federation: then only the node's own log is
// watched).
func (n *Node) newKTWatch(cfg config.Node, roots *x509.CertPool) (*ktwatch.Watch, error) {
	return ktwatch.New(ktwatch.Config{
		Domain:     cfg.Domain,
		Own:        n.store,
		Store:      n.store,
		Roots:      roots,
		OnEvidence: n.metrics.ktInconsistency.Inc,
		Log:        n.log.With("component", "kt"),
	})
}
