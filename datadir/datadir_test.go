package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/quicprochat/qpc/crypto/identity"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestFirstStartCreatesPrivateDirKeyAndCertificate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "qpc")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := mode(t, path); m != 0o700 {
		t.Errorf("data dir mode %o, want 700", m)
	}
	key, created, err := d.NodeKey()
	if err != nil || !created {
		t.Fatalf("NodeKey: created=%v err=%v", created, err)
	}
	cert, created, err := d.SelfSignedCert(key, "n.example.mesh")
	if err != nil || !created {
		t.Fatalf("SelfSignedCert: created=%v err=%v", created, err)
	}
	for _, f := range []string{NodeKeyFile, NodeCertFile} {
		if m := mode(t, d.Join(f)); m != 0o600 {
			t.Errorf("%s mode %o, want 600", f, m)
		}
	}
	if cert.Leaf == nil || cert.Leaf.Subject.CommonName != key.ID() {
		t.Errorf("certificate is not for node %s", key.ID())
	}
	if d.Loose() {
		t.Error("a fresh data dir reports itself loose")
	}
}

func TestRestartKeepsKeyAndCertificate(t *testing.T) {
	path := t.TempDir()
	d1, _ := Open(path)
	k1, _, _ := d1.NodeKey()
	c1, _, _ := d1.SelfSignedCert(k1, "n.example.mesh")

	d2, _ := Open(path)
	k2, created, err := d2.NodeKey()
	if err != nil || created {
		t.Fatalf("second start: created=%v err=%v", created, err)
	}
	if k2.ID() != k1.ID() {
		t.Errorf("node id changed across restart: %s → %s", k1.ID(), k2.ID())
	}
	c2, created, err := d2.SelfSignedCert(k2, "n.example.mesh")
	if err != nil || created {
		t.Fatalf("second start: cert created=%v err=%v", created, err)
	}
	if string(c1.Certificate[0]) != string(c2.Certificate[0]) {
		t.Error("certificate changed across restart, which breaks every client's pin")
	}
}

func TestNewDomainGetsNewCertificate(t *testing.T) {
	d, _ := Open(t.TempDir())
	k, _, _ := d.NodeKey()
	d.SelfSignedCert(k, "old.example.mesh")
	cert, created, err := d.SelfSignedCert(k, "new.example.mesh")
	if err != nil || !created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	if err := cert.Leaf.VerifyHostname("new.example.mesh"); err != nil {
		t.Error(err)
	}
}

func TestCorruptKeyIsAnErrorAndLeftAlone(t *testing.T) {
	d, _ := Open(t.TempDir())
	garbage := []byte("not a key\n")
	if err := os.WriteFile(d.Join(NodeKeyFile), garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := d.NodeKey()
	if !errors.Is(err, identity.ErrNoPEM) {
		t.Errorf("err = %v, want ErrNoPEM", err)
	}
	if got, _ := os.ReadFile(d.Join(NodeKeyFile)); string(got) != string(garbage) {
		t.Error("a corrupt node key was overwritten")
	}
}

func TestOpenRefusesAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := Open(f); err == nil {
		t.Error("Open accepted a regular file as data dir")
	}
}

func TestLooseDirIsReported(t *testing.T) {
	path := t.TempDir()
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
	d, _ := Open(path)
	if !d.Loose() {
		t.Error("a 0755 data dir is not reported loose")
	}
}
