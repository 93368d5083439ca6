package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const prodDomain = "node1.example.mesh"

// certs makes PEM certificates in dir: issued by a test CA with the given
// names and validity, or self-signed.
type certs struct {
	t      *testing.T
	dir    string
	ca     *x509.Certificate
	caPriv ed25519.PrivateKey
	serial int64
}

func newCerts(t *testing.T) *certs {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "community CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &certs{t: t, dir: t.TempDir(), ca: ca, caPriv: priv, serial: 1}
}

// leaf writes a certificate for names valid from nb to na, issued by the
// CA or (selfSigned) by its own key, to path (in c.dir unless absolute).
func (c *certs) leaf(path string, names []string, nb, na time.Time, selfSigned bool) string {
	c.t.Helper()
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.dir, path)
	}
	c.serial++
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(c.serial), Subject: pkix.Name{CommonName: "leaf"}, DNSNames: names,
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	parent, signer := c.ca, c.caPriv
	if selfSigned {
		parent, signer = tmpl, priv
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, path string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Chmod, since the umask would take bits off WriteFile's mode.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestProductionRefusesUnfitCertificatesAndKeys(t *testing.T) {
	c := newCerts(t)
	now := time.Now()
	good := c.leaf("good.crt", []string{prodDomain}, now.Add(-time.Hour), now.Add(time.Hour), false)
	key := writeFile(t, filepath.Join(c.dir, "tls.key"), 0o600)
	dataDir := t.TempDir()
	fedCert := c.leaf("fed.crt", []string{prodDomain}, now.Add(-time.Hour), now.Add(time.Hour), false)
	fedCA := filepath.Join(c.dir, "ca.pem")
	os.WriteFile(fedCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.ca.Raw}), 0o600)

	tests := []struct {
		name     string
		setup    func(n *Node)
		flag     string
		sentinel error
		mention  []string
	}{
		{"the node's own self-signed certificate from its data dir", func(n *Node) {
			n.TLSCert = c.leaf(filepath.Join(dataDir, "node.crt"), []string{prodDomain}, now.Add(-time.Hour), now.Add(time.Hour), true)
		}, "tls-cert", ErrSelfSignedCert, []string{filepath.Join(dataDir, "node.crt"), "auto-generated", "qpc ca issue"}},
		{"any self-signed certificate", func(n *Node) {
			n.TLSCert = c.leaf("self.crt", []string{prodDomain}, now.Add(-time.Hour), now.Add(time.Hour), true)
		}, "tls-cert", ErrSelfSignedCert, []string{"self.crt"}},
		{"an expired certificate", func(n *Node) {
			n.TLSCert = c.leaf("expired.crt", []string{prodDomain}, now.Add(-48*time.Hour), now.Add(-time.Hour), false)
		}, "tls-cert", ErrCertExpired, []string{"expired.crt", "qpc ca issue"}},
		{"a certificate not valid yet", func(n *Node) {
			n.TLSCert = c.leaf("future.crt", []string{prodDomain}, now.Add(time.Hour), now.Add(48*time.Hour), false)
		}, "tls-cert", ErrCertNotYetValid, []string{"future.crt", "clock"}},
		{"a certificate for another domain", func(n *Node) {
			n.TLSCert = c.leaf("other.crt", []string{"node2.example.mesh"}, now.Add(-time.Hour), now.Add(time.Hour), false)
		}, "tls-cert", ErrCertWrongDomain, []string{"other.crt", prodDomain, "node2.example.mesh"}},
		{"a file that is no certificate", func(n *Node) {
			n.TLSCert = writeFile(t, filepath.Join(c.dir, "junk.crt"), 0o600)
		}, "tls-cert", ErrBadCertFile, []string{"junk.crt"}},
		{"a world-readable TLS key", func(n *Node) {
			n.TLSKey = writeFile(t, filepath.Join(c.dir, "world.key"), 0o644)
		}, "tls-key", ErrKeyNotPrivate, []string{"world.key", "0644", "chmod 600"}},
		{"a group-readable TLS key", func(n *Node) {
			n.TLSKey = writeFile(t, filepath.Join(c.dir, "group.key"), 0o640)
		}, "tls-key", ErrKeyNotPrivate, []string{"group.key", "0640", "0640 included", "chmod 600"}},
		{"a group-writable TLS key", func(n *Node) {
			n.TLSKey = writeFile(t, filepath.Join(c.dir, "gw.key"), 0o620)
		}, "tls-key", ErrKeyNotPrivate, []string{"gw.key"}},
		{"a world-readable federation key", func(n *Node) {
			n.FederationCert, n.FederationCA = fedCert, fedCA
			n.FederationKey = writeFile(t, filepath.Join(c.dir, "fed.key"), 0o644)
		}, "federation-key", ErrKeyNotPrivate, []string{"fed.key", "0644"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := Default()
			n.Domain, n.DataDir, n.StoreDir, n.Production = prodDomain, dataDir, t.TempDir(), true
			n.TLSCert, n.TLSKey = good, key
			tt.setup(&n)
			err := n.Validate()
			var fe *FlagError
			if !errors.As(err, &fe) || fe.Flag != tt.flag || !errors.Is(err, tt.sentinel) {
				t.Fatalf("Validate = %v, want --%s with %v", err, tt.flag, tt.sentinel)
			}
			for _, m := range append(tt.mention, "--"+tt.flag) {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not mention %q", err, m)
				}
			}
			// Without --production the node starts, and the same
			// problem is there for its log.
			n.Production = false
			if err := n.Validate(); err != nil {
				t.Errorf("without --production: %v", err)
			}
			if p := n.FileProblems(now); len(p) == 0 || !errors.Is(p[0], tt.sentinel) {
				t.Errorf("FileProblems without --production = %v", p)
			}
		})
	}

	t.Run("a certificate of the community CA for the domain, with a 0600 key", func(t *testing.T) {
		n := Default()
		n.Domain, n.DataDir, n.StoreDir, n.Production = prodDomain, dataDir, t.TempDir(), true
		n.TLSCert, n.TLSKey = good, key
		n.FederationCert, n.FederationCA = fedCert, fedCA
		n.FederationKey = writeFile(t, filepath.Join(c.dir, "fedok.key"), 0o600)
		if err := n.Validate(); err != nil {
			t.Errorf("good setup refused: %v", err)
		}
		if p := n.FileProblems(now); len(p) != 0 {
			t.Errorf("good setup has problems: %v", p)
		}
	})
	t.Run("a read-only key (0400) is accepted", func(t *testing.T) {
		if err := CheckKeyFile(writeFile(t, filepath.Join(c.dir, "ro.key"), 0o400)); err != nil {
			t.Error(err)
		}
	})
}

func TestDirectoryAndDatabaseModes(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name     string
		mode     os.FileMode
		check    func(string) error
		isDir    bool
		sentinel error
	}{
		{"a 0777 directory is refused", 0o777, CheckDir, true, ErrLooseDir},
		{"a group-writable directory is refused", 0o770, CheckDir, true, ErrLooseDir},
		{"a 0755 directory is accepted", 0o755, CheckDir, true, nil},
		{"a 0700 directory is accepted", 0o700, CheckDir, true, nil},
		{"a 0666 database is refused", 0o666, CheckDatabaseFile, false, ErrLooseDatabase},
		{"a 0640 database is refused", 0o640, CheckDatabaseFile, false, ErrLooseDatabase},
		{"a 0604 database is refused", 0o604, CheckDatabaseFile, false, ErrLooseDatabase},
		{"a 0600 database is accepted", 0o600, CheckDatabaseFile, false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if tt.isDir {
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.mode); err != nil {
					t.Fatal(err)
				}
			} else {
				writeFile(t, path, tt.mode)
			}
			err := tt.check(path)
			if tt.sentinel == nil {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod") {
				t.Errorf("err = %v, want %v naming %s and the fix", err, tt.sentinel, path)
			}
		})
	}
	if err := CheckDir(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a missing directory (the node makes it 0700): %v", err)
	}
}
