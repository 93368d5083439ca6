package config

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// nodeCertFile is the name of the auto-generated certificate in the data
// dir (datadir.NodeCertFile), named in the refusal when it is given as
// --tls-cert. config does not import datadir: it only reads paths.
const nodeCertFile = "node.crt"

// FileProblems returns what makes the certificate and private key files of
// c unfit for a real node at time now, each a *FlagError naming the flag:
// a self-signed, expired, not yet valid or wrongly named --tls-cert
// (ErrSelfSignedCert, ErrCertExpired, ErrCertNotYetValid,
// ErrCertWrongDomain, ErrBadCertFile), and a --tls-key or
// --federation-key that group or others can read or write
// (ErrKeyNotPrivate). --production refuses the first; without it the node
// logs them as warnings. Files that are not there are Validate's concern.
func (c *Node) FileProblems(now time.Time) []error {
	var problems []error
	if c.TLSCert != "" {
		if err := c.checkServerCert(now); err != nil {
			problems = append(problems, &FlagError{Flag: "tls-cert", Err: err})
		}
	}
	for _, f := range []struct{ flag, path string }{{"tls-key", c.TLSKey}, {"federation-key", c.FederationKey}} {
		if err := CheckKeyFile(f.path); err != nil {
			problems = append(problems, &FlagError{Flag: f.flag, Err: err})
		}
	}
	return problems
}

// checkServerCert checks the leaf of --tls-cert: the certificate clients
// see, which they check against the community CA for --domain.
func (c *Node) checkServerCert(now time.Time) error {
	data, err := os.ReadFile(c.TLSCert)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", c.TLSCert, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("%s: %w", c.TLSCert, ErrBadCertFile)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %w: %v", c.TLSCert, ErrBadCertFile, err)
	}
	// Self-signed: it names itself as issuer and its own key verifies its
	// signature (CheckSignatureFrom would refuse a leaf that is no CA).
	if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) &&
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
		what := c.TLSCert
		if sameFile(c.TLSCert, filepath.Join(c.DataDir, nodeCertFile)) {
			what += " (the node's auto-generated certificate)"
		}
		return fmt.Errorf("%s %w", what, ErrSelfSignedCert)
	}
	if now.After(leaf.NotAfter) {
		return fmt.Errorf("%s: %w (not after %s)", c.TLSCert, ErrCertExpired, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return fmt.Errorf("%s: %w (not before %s, now %s)", c.TLSCert, ErrCertNotYetValid,
			leaf.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if err := leaf.VerifyHostname(c.Domain); err != nil {
		return fmt.Errorf("%s: %w (--domain %s; it names %v)", c.TLSCert, ErrCertWrongDomain, c.Domain, leaf.DNSNames)
	}
	return nil
}

// sameFile reports whether a and b are the same file, also when one is a
// link to the other or they are spelled differently.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// CheckKeyFile returns an error wrapping ErrKeyNotPrivate, naming path and
// its mode, when group or others have any access to the private key file at
// path. A missing file or an empty path is no problem here.
func CheckKeyFile(path string) error {
	return checkMode(path, 0o077, ErrKeyNotPrivate)
}

// CheckDir returns an error wrapping ErrLooseDir when group or others can
// write to the directory at path. A missing directory is no problem here:
// the node creates its directories with mode 0700.
func CheckDir(path string) error {
	return checkMode(path, 0o022, ErrLooseDir)
}

// CheckDatabaseFile returns an error wrapping ErrLooseDatabase when group
// or others can read or write the message database at path.
func CheckDatabaseFile(path string) error {
	return checkMode(path, 0o066, ErrLooseDatabase)
}

func checkMode(path string, forbidden fs.FileMode, sentinel error) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&forbidden != 0 {
		return fmt.Errorf("%s is mode %04o: %w", path, perm, sentinel)
	}
	return nil
}
