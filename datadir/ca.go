package datadir

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/internal/atomicfile"
)

// The files of a community CA and of the certificates it issues are
// written here rather than in crypto/ca, which only makes and returns
// their bytes: crypto packages import nothing of the project but other
// crypto packages (DESIGN §2), and how files reach the disk (atomically,
// with which modes, never over an existing one) is this package's concern.

// InitCA makes a new CA named name (ca.DefaultName if empty), valid for
// ca.DefaultValidity, and writes it to dir as ca.key (0600) and ca.crt
// (0644); dir is created with mode 0700 if missing. It fails with
// ca.ErrExists if dir already holds ca.key or ca.crt.
func InitCA(dir, name string) (*ca.Authority, error) {
	keyPath, certPath := filepath.Join(dir, ca.KeyFile), filepath.Join(dir, ca.CertFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	// Checked before generating anything, so a refusal is immediate.
	if err := refuseExisting(keyPath, certPath); err != nil {
		return nil, err
	}
	a, err := ca.New(name, ca.DefaultValidity, time.Now())
	if err != nil {
		return nil, err
	}
	keyPEM, err := a.KeyPEM()
	if err != nil {
		return nil, err
	}
	if err := writePair(keyPath, keyPEM, certPath, a.CertPEM); err != nil {
		return nil, err
	}
	return a, nil
}

// IssueCAFiles issues a node certificate with a (see ca.Authority.Issue)
// and writes it to two files named by the path prefix out: out+".crt"
// (the certificate alone, not followed by the CA's, mode 0644) and
// out+".key" (mode 0600). For out "/tmp/node1/federation" they are
// /tmp/node1/federation.crt and /tmp/node1/federation.key. The directory
// must exist. It fails with ca.ErrExists, writing nothing, if either file
// is already there.
func IssueCAFiles(a *ca.Authority, o ca.IssueOptions, out string) error {
	if out == "" {
		return fmt.Errorf("ca: empty output path")
	}
	certPath, keyPath := out+".crt", out+".key"
	if err := refuseExisting(keyPath, certPath); err != nil {
		return err
	}
	crt, key, err := a.Issue(o)
	if err != nil {
		return err
	}
	return writePair(keyPath, key, certPath, crt)
}

// refuseExisting returns ca.ErrExists naming the first of paths that
// exists, or another error if one cannot be checked.
func refuseExisting(paths ...string) error {
	for _, p := range paths {
		_, err := os.Lstat(p)
		switch {
		case err == nil:
			return fmt.Errorf("%w: %s", ca.ErrExists, p)
		case !os.IsNotExist(err):
			return fmt.Errorf("ca: %w", err)
		}
	}
	return nil
}

// writePair writes a private key (0600) and then its certificate (0644),
// each atomically. If the certificate cannot be written the key is removed
// again, so that a second attempt is not refused with ca.ErrExists for a
// key nobody has a certificate for.
//
// The existence check before and the rename here are not one atomic step:
// two runs at the same instant into the same place could race. An admin
// tool run by hand does not, and atomic renames work on every file system
// a CA may be kept on (including FAT on a USB stick, where hard links,
// the race-free way, do not).
func writePair(keyPath string, keyPEM []byte, certPath string, certPEM []byte) error {
	if err := refuseExisting(keyPath, certPath); err != nil {
		return err
	}
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	if err := atomicfile.Write(certPath, certPEM, 0o644); err != nil {
		os.Remove(keyPath)
		return fmt.Errorf("ca: %w", err)
	}
	return nil
}
