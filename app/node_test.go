package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/transport"
	"github.com/quicprochat/qpc/version"
)

// testLogger logs to the test's output when run with -v, else nowhere.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func testConfig(t testing.TB) config.Node {
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Domain = "node1.example.mesh"
	cfg.DataDir = t.TempDir()
	return cfg
}

type running struct {
	*Node
	stop func()
	done chan error
}

// start builds and runs a node; the test's cleanup stops it and checks that
// Run returned nil.
func start(t testing.TB, cfg config.Node) *running {
	t.Helper()
	n, err := NewNode(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Node: n, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- n.Run(ctx) }()
	t.Cleanup(func() { r.wait(t) })
	return r
}

// wait stops the node and returns once Run has.
func (r *running) wait(t testing.TB) {
	t.Helper()
	r.stop()
	select {
	case err, ok := <-r.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(r.done)
		}
	case <-time.After(2 * ShutdownGrace):
		t.Fatal("node did not stop")
	}
}

func dial(t testing.TB, addr string, trust transport.Trust) (*client.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return client.Dial(ctx, addr, trust, testLogger(t))
}

func health(t testing.TB, c *client.Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := c.Health(ctx)
	if err != nil {
		t.Fatalf("health: %v", err)
	}
	if h.Domain != "node1.example.mesh" || h.Version != version.Version || h.Platform != version.Platform() {
		t.Errorf("health = %+v", h)
	}
	return h.NodeID
}

func TestHealthOverQUICAndTheNodeIDSurvivesARestart(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig(t)

	n1 := start(t, cfg)
	c, err := dial(t, n1.Addr().String(), transport.Trust{Pin: n1.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	if got := health(t, c); got != n1.NodeID() {
		t.Errorf("health says node %s, node says %s", got, n1.NodeID())
	}
	c.Close()
	n1.wait(t)

	n2 := start(t, cfg)
	if n2.NodeID() != n1.NodeID() {
		t.Errorf("node id changed across restart: %s → %s", n1.NodeID(), n2.NodeID())
	}
	if n2.Fingerprint() != n1.Fingerprint() {
		t.Error("certificate changed across restart")
	}
	c, err = dial(t, n2.Addr().String(), transport.Trust{Pin: n1.Fingerprint()})
	if err != nil {
		t.Fatalf("the old pin no longer works after a restart: %v", err)
	}
	if got := health(t, c); got != n1.NodeID() {
		t.Errorf("after restart health says node %s, want %s", got, n1.NodeID())
	}
	c.Close()
	n2.wait(t)
}

func TestAWrongPinIsRefused(t *testing.T) {
	n := start(t, testConfig(t))
	wrong := "00" + n.Fingerprint()[2:]
	if wrong == n.Fingerprint() {
		wrong = "11" + n.Fingerprint()[2:]
	}
	_, err := dial(t, n.Addr().String(), transport.Trust{Pin: wrong})
	var pe *transport.PinMismatchError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *PinMismatchError", err)
	}
	if pe.Got != n.Fingerprint() || pe.Want != wrong {
		t.Errorf("error reports got %s want %s", pe.Got, pe.Want)
	}
}

func TestTrustOnFirstUseRecordsThenHoldsTheNodeToItsCertificate(t *testing.T) {
	kn := &client.KnownNodes{Path: filepath.Join(t.TempDir(), "known_nodes")}
	cfg := testConfig(t)
	n := start(t, cfg)
	addr := n.Addr().String()
	tofu := transport.Trust{TOFU: func(fp string) error { return kn.Check(addr, fp) }}

	for i := range 2 {
		c, err := dial(t, addr, tofu)
		if err != nil {
			t.Fatalf("contact %d: %v", i+1, err)
		}
		c.Close()
	}

	// Another node answering on the same address is a different certificate.
	n.wait(t)
	cfg.Listen = addr
	cfg.DataDir = t.TempDir()
	start(t, cfg)
	_, err := dial(t, addr, tofu)
	var ce *client.KnownNodeChangedError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *KnownNodeChangedError", err)
	}
}

func TestACertificateFromTheCommunityCAIsAcceptedAndAnUnknownCARefused(t *testing.T) {
	dir := t.TempDir()
	caPEM, issue := testCA(t, "community CA")
	otherPEM, _ := testCA(t, "other CA")
	certFile, keyFile := issue(dir, "node1.example.mesh", net.ParseIP("127.0.0.1"))

	cfg := testConfig(t)
	cfg.TLSCert, cfg.TLSKey, cfg.Production = certFile, keyFile, true
	cfg.StoreDir = t.TempDir()
	n := start(t, cfg)

	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, caPEM, 0o600)
	c, err := dial(t, n.Addr().String(), transport.Trust{CAFile: caFile})
	if err != nil {
		t.Fatalf("the community CA's certificate was refused: %v", err)
	}
	health(t, c)
	c.Close()

	otherFile := filepath.Join(dir, "other.pem")
	os.WriteFile(otherFile, otherPEM, 0o600)
	_, err = dial(t, n.Addr().String(), transport.Trust{CAFile: otherFile})
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Fatalf("err = %v, want x509.UnknownAuthorityError", err)
	}
}

func TestShutdownWithAnOpenClientConnectionReturnsNil(t *testing.T) {
	checkLeaks(t)
	n := start(t, testConfig(t))
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	health(t, c)
	n.wait(t) // fails the test unless Run returns nil

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Health(ctx); err == nil {
		t.Error("the client's connection still works after the node stopped")
	}
}

func TestShutdownWaitsForCallsInFlightUpToTheGracePeriod(t *testing.T) {
	checkLeaks(t)
	n := start(t, testConfig(t))
	end := n.calls.Begin()
	n.stop()
	select {
	case <-n.done:
		t.Fatal("Run returned while a call was in flight")
	case <-time.After(200 * time.Millisecond):
	}
	end()
	n.wait(t)

	// A call that never ends is cut off once the grace period is over.
	m := start(t, testConfig(t))
	m.grace = 50 * time.Millisecond
	m.calls.Begin()
	m.wait(t)
}

func TestNodeRefusesAMismatchedCertificateAndKey(t *testing.T) {
	dir := t.TempDir()
	_, issue := testCA(t, "ca")
	cert1, _ := issue(dir, "a.example.mesh", nil)
	_, key2 := issue(t.TempDir(), "b.example.mesh", nil)
	cfg := testConfig(t)
	cfg.TLSCert, cfg.TLSKey = cert1, key2
	_, err := NewNode(cfg, testLogger(t))
	var fe *config.FlagError
	if !errors.As(err, &fe) || fe.Flag != "tls-cert" {
		t.Errorf("err = %v, want a FlagError for --tls-cert", err)
	}
}

func TestNodeRefusesAPortInUse(t *testing.T) {
	n := start(t, testConfig(t))
	cfg := testConfig(t)
	cfg.Listen = n.Addr().String()
	_, err := NewNode(cfg, testLogger(t))
	var fe *config.FlagError
	if !errors.As(err, &fe) || fe.Flag != "listen" {
		t.Errorf("err = %v, want a FlagError for --listen", err)
	}
}

// testCA makes a CA; issue writes a certificate and key for a domain (and
// an IP address) signed by it, and returns their paths.
func testCA(t testing.TB, name string) (caPEM []byte, issue func(dir, domain string, ip net.IP) (certFile, keyFile string)) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return identity.MarshalCertificatePEM(der), func(dir, domain string, ip net.IP) (string, string) {
		t.Helper()
		k, _ := identity.GenerateNodeKey()
		leaf := &x509.Certificate{
			SerialNumber: big.NewInt(2),
			Subject:      pkix.Name{CommonName: domain},
			DNSNames:     []string{domain},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		if ip != nil {
			leaf.IPAddresses = []net.IP{ip}
		}
		der, err := x509.CreateCertificate(rand.Reader, leaf, ca, k.Public(), priv)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, _ := identity.MarshalPrivateKeyPEM(k.Private)
		certFile, keyFile := filepath.Join(dir, domain+".crt"), filepath.Join(dir, domain+".key")
		if err := os.WriteFile(certFile, identity.MarshalCertificatePEM(der), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		return certFile, keyFile
	}
}

// checkLeaks fails the test if it leaves goroutines behind. Cleanups run
// last-in first-out, so this check runs after every node the test started
// has stopped.
func checkLeaks(t testing.TB) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func TestProductionRefusesAWorldReadableNodeKey(t *testing.T) {
	dir := t.TempDir()
	_, issue := testCA(t, "ca")
	certFile, keyFile := issue(dir, "node1.example.mesh", nil)
	cfg := testConfig(t)
	cfg.TLSCert, cfg.TLSKey, cfg.StoreDir, cfg.Production = certFile, keyFile, t.TempDir(), true
	n, err := NewNode(cfg, testLogger(t)) // creates node.key 0600
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	if err := os.Chmod(filepath.Join(cfg.DataDir, "node.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewNode(cfg, testLogger(t))
	if !errors.Is(err, config.ErrWorldReadableKey) {
		t.Errorf("err = %v, want ErrWorldReadableKey", err)
	}
}
