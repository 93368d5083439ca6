// Package datadir manages a node's data directory: the small, persistent
// files that make a node itself across restarts.
//
//	<data-dir>/          mode 0700
//	  node.key           Ed25519 node key, PKCS #8 PEM, mode 0600
//	  node.crt           self-signed TLS certificate for node.key, PEM, mode 0600
//	  opaque.json        OPAQUE server secrets (JSON, base64 fields), mode 0600
//	  report.key         the admin's report key (X-Wing seed, PEM), mode 0600
//
// Files are written to a temporary name, synced and renamed, so a crash
// leaves either the old file or the new one.
package datadir

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/internal/atomicfile"
)

// File names inside the data directory.
const (
	NodeKeyFile  = "node.key"
	NodeCertFile = "node.crt"
)

// Dir is an opened data directory.
type Dir struct {
	path string
}

// Open creates path with mode 0700 when it is missing and returns it. An
// existing directory keeps its mode; Loose tells whether others can enter
// it.
func Open(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("data dir: empty path")
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("data dir %s: not a directory", path)
	}
	return &Dir{path: path}, nil
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// Join returns the path of name inside the directory.
func (d *Dir) Join(name string) string { return filepath.Join(d.path, name) }

// Loose reports whether users other than the owner can enter the directory,
// which exposes the node key to them.
func (d *Dir) Loose() bool {
	fi, err := os.Stat(d.path)
	return err == nil && fi.Mode().Perm()&0o077 != 0
}

// NodeKey reads node.key, or generates and writes one on first start.
// created reports which happened. A node.key that cannot be parsed is an
// error and is left untouched: replacing it would change the node's
// identity.
func (d *Dir) NodeKey() (key *identity.NodeKey, created bool, err error) {
	path := d.Join(NodeKeyFile)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		priv, err := identity.ParsePrivateKeyPEM(data)
		if err != nil {
			return nil, false, fmt.Errorf("node key %s: %w", path, err)
		}
		return &identity.NodeKey{Private: priv}, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("node key: %w", err)
	}
	key, err = identity.GenerateNodeKey()
	if err != nil {
		return nil, false, err
	}
	pemKey, err := identity.MarshalPrivateKeyPEM(key.Private)
	if err != nil {
		return nil, false, fmt.Errorf("encode node key: %w", err)
	}
	if err := atomicfile.Write(path, pemKey, 0o600); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// SelfSignedCert returns the node's self-signed TLS certificate for key,
// creating node.crt on first start. A stored certificate that no longer
// matches key, or names another domain, is replaced, since clients pin
// the certificate's fingerprint this happens only when the admin changed
// the key or the domain. created reports whether a new one was written.
func (d *Dir) SelfSignedCert(key *identity.NodeKey, domain string) (cert tls.Certificate, created bool, err error) {
	path := d.Join(NodeCertFile)
	keyPEM, err := identity.MarshalPrivateKeyPEM(key.Private)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("encode node key: %w", err)
	}
	if certPEM, err := os.ReadFile(path); err == nil {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err == nil && cert.Leaf != nil && cert.Leaf.VerifyHostname(domain) == nil {
			return cert, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return tls.Certificate{}, false, fmt.Errorf("node certificate: %w", err)
	}
	der, err := identity.SelfSignedCertificate(key, domain, time.Now())
	if err != nil {
		return tls.Certificate{}, false, err
	}
	certPEM := identity.MarshalCertificatePEM(der)
	if err := atomicfile.Write(path, certPEM, 0o600); err != nil {
		return tls.Certificate{}, false, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("node certificate: %w", err)
	}
	return cert, true, nil
}
