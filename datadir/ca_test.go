package datadir

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/crypto/ca"
)

// initCA makes a CA in a fresh directory and returns it with the directory.
func initCA(t *testing.T) (*ca.Authority, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	a, err := InitCA(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return a, dir
}

// verify checks the node certificate in certPEM, which must be one PEM
// block and nothing else, against a's pool for one use.
func verify(t *testing.T, a *ca.Authority, certPEM []byte, domain string, usage x509.ExtKeyUsage) (*x509.Certificate, error) {
	t.Helper()
	b, rest := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("not exactly one certificate PEM: %q", certPEM)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Verify(x509.VerifyOptions{Roots: a.Pool(), DNSName: domain, KeyUsages: []x509.ExtKeyUsage{usage}})
	return c, err
}

func TestInitWritesFilesThatLoadReadsBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "ca")
	a, err := InitCA(dir, "Freifunk Testdorf")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Cert.Subject.CommonName; got != "Freifunk Testdorf" {
		t.Errorf("common name %q", got)
	}
	for path, want := range map[string]fs.FileMode{
		dir:                             0o700,
		filepath.Join(dir, ca.KeyFile):  0o600,
		filepath.Join(dir, ca.CertFile): 0o644,
	} {
		if got := mode(t, path); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("directory holds %d entries, want ca.key and ca.crt only", len(entries))
	}
	keyPEM, _ := os.ReadFile(filepath.Join(dir, ca.KeyFile))
	if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
		t.Errorf("ca.key is not a PKCS #8 PEM block: %q", keyPEM)
	}
	certPEM, _ := os.ReadFile(filepath.Join(dir, ca.CertFile))
	if !bytes.Equal(certPEM, a.CertPEM) {
		t.Error("ca.crt differs from CertPEM")
	}

	b, err := ca.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Cert.Equal(a.Cert) || b.Fingerprint() != a.Fingerprint() || !bytes.Equal(b.CertPEM, a.CertPEM) {
		t.Error("the loaded CA differs from the one created")
	}
	// The loaded key signs: what it issues verifies against the original.
	crt, _, err := b.Issue(ca.IssueOptions{Domain: "node1.example.mesh"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t, a, crt, "node1.example.mesh", x509.ExtKeyUsageServerAuth); err != nil {
		t.Error(err)
	}
}

func TestInitNeverOverwritesACA(t *testing.T) {
	for _, existing := range []string{ca.KeyFile, ca.CertFile} {
		t.Run("when "+existing+" exists", func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, existing)
			if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := InitCA(dir, "")
			if !errors.Is(err, ca.ErrExists) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want ErrExists naming %s", err, path)
			}
			if got, _ := os.ReadFile(path); string(got) != "precious" {
				t.Errorf("%s was overwritten", existing)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("directory holds %d entries, want the existing file only", len(entries))
			}
		})
	}
	t.Run("when both exist from an earlier init", func(t *testing.T) {
		a, dir := initCA(t)
		if _, err := InitCA(dir, ""); !errors.Is(err, ca.ErrExists) {
			t.Fatalf("error %v, want ErrExists", err)
		}
		b, err := ca.Load(dir)
		if err != nil || b.Fingerprint() != a.Fingerprint() {
			t.Errorf("the first CA is gone: %v", err)
		}
	})
}

func TestIssueFilesWritesACertificateAndAPrivateKey(t *testing.T) {
	a, _ := initCA(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "federation")
	if err := IssueCAFiles(a, ca.IssueOptions{Domain: "node1.example.mesh"}, out); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, out+".key"); got != 0o600 {
		t.Errorf("key mode %04o, want 0600", got)
	}
	if got := mode(t, out+".crt"); got != 0o644 {
		t.Errorf("certificate mode %04o, want 0644", got)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "federation.crt federation.key" {
		t.Errorf("directory holds %q, want federation.crt and federation.key", names)
	}
	crt, _ := os.ReadFile(out + ".crt")
	key, _ := os.ReadFile(out + ".key")
	// parseLeaf fails if the CA certificate followed the leaf.
	if _, err := verify(t, a, crt, "node1.example.mesh", x509.ExtKeyUsageClientAuth); err != nil {
		t.Error(err)
	}
	if _, err := tls.X509KeyPair(crt, key); err != nil {
		t.Errorf("the files are not a pair: %v", err)
	}
}

func TestIssueFilesNeverOverwrites(t *testing.T) {
	a, _ := initCA(t)
	for _, ext := range []string{".crt", ".key"} {
		t.Run("when the "+ext+" file exists", func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "node1")
			if err := os.WriteFile(out+ext, []byte("precious"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := IssueCAFiles(a, ca.IssueOptions{Domain: "node1.example.mesh"}, out)
			if !errors.Is(err, ca.ErrExists) || !strings.Contains(err.Error(), out+ext) {
				t.Errorf("error %v, want ErrExists naming %s", err, out+ext)
			}
			if got, _ := os.ReadFile(out + ext); string(got) != "precious" {
				t.Error("the existing file was overwritten")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("directory holds %d entries, want the existing file only", len(entries))
			}
		})
	}
}

func TestIssueFilesFailsCleanlyOnBadInput(t *testing.T) {
	a, _ := initCA(t)
	dir := t.TempDir()
	if err := IssueCAFiles(a, ca.IssueOptions{Domain: "node1.example.mesh"}, filepath.Join(dir, "missing", "node1")); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	if err := IssueCAFiles(a, ca.IssueOptions{Domain: "bad_domain"}, filepath.Join(dir, "node1")); !errors.Is(err, ca.ErrBadDomain) {
		t.Errorf("error %v, want ErrBadDomain", err)
	}
	if err := IssueCAFiles(a, ca.IssueOptions{Domain: "node1.example.mesh"}, ""); err == nil {
		t.Error("an empty output path was accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed attempts left %d files behind", len(entries))
	}
}
