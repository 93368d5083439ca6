package ca_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
)

// parseLeaf decodes a PEM file that must hold exactly one certificate.
func parseLeaf(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, rest := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("not a certificate PEM: %q", certPEM)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("more than one block: %q", rest)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verify checks a node certificate against a's pool for one use, at the
// current time.
func verify(t *testing.T, a *ca.Authority, certPEM []byte, domain string, usage x509.ExtKeyUsage) (*x509.Certificate, error) {
	t.Helper()
	c := parseLeaf(t, certPEM)
	_, err := c.Verify(x509.VerifyOptions{Roots: a.Pool(), DNSName: domain, KeyUsages: []x509.ExtKeyUsage{usage}})
	return c, err
}

func TestIssuedCertificateServesAsTLSServerAndClient(t *testing.T) {
	a, _ := initCA(t)
	const domain = "node1.example.mesh"
	crt, key, err := a.Issue(ca.IssueOptions{Domain: domain})
	if err != nil {
		t.Fatal(err)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := verify(t, a, crt, domain, usage); err != nil {
			t.Errorf("usage %d: %v", usage, err)
		}
	}
	if _, err := verify(t, a, crt, "node2.example.mesh", x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("the certificate verifies for another domain")
	}
	c := parseLeaf(t, crt)
	if c.Subject.CommonName != domain || len(c.DNSNames) != 1 || c.DNSNames[0] != domain {
		t.Errorf("common name %q, DNS names %q; want %s alone", c.Subject.CommonName, c.DNSNames, domain)
	}
	if len(c.IPAddresses)+len(c.EmailAddresses)+len(c.URIs) != 0 {
		t.Errorf("other names: %v %v %v", c.IPAddresses, c.EmailAddresses, c.URIs)
	}
	if c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("IsCA %v, basic constraints %v; want a leaf that says so", c.IsCA, c.BasicConstraintsValid)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("key usage %b", c.KeyUsage)
	}
	if c.PublicKeyAlgorithm != x509.Ed25519 {
		t.Errorf("key algorithm %s", c.PublicKeyAlgorithm)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.Cmp(a.Cert.SerialNumber) == 0 {
		t.Errorf("serial %s", c.SerialNumber)
	}
	if !strings.Contains(string(key), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key is not PKCS #8 PEM: %q", key)
	}
	// What a node does with the two files: they must be a pair.
	if _, err := tls.X509KeyPair(crt, key); err != nil {
		t.Errorf("certificate and key are not a pair: %v", err)
	}
}

func TestIssueDefaultsToAMinuteAgoFor825Days(t *testing.T) {
	a, _ := initCA(t)
	before := time.Now()
	crt, _, err := a.Issue(ca.IssueOptions{Domain: "node1.example.mesh"})
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	c := parseLeaf(t, crt)
	// Certificates carry whole seconds.
	lo, hi := before.Add(-ca.ClockSkew).Truncate(time.Second), after.Add(-ca.ClockSkew)
	if c.NotBefore.Before(lo) || c.NotBefore.After(hi) {
		t.Errorf("not before %s, want between %s and %s", c.NotBefore, lo, hi)
	}
	if got := c.NotAfter.Sub(c.NotBefore); got != 825*24*time.Hour {
		t.Errorf("valid for %s, want 825 days", got)
	}
}

func TestIssueKeepsTheGivenValidity(t *testing.T) {
	a, _ := initCA(t)
	nb := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	na := nb.Add(90 * 24 * time.Hour)
	crt, _, err := a.Issue(ca.IssueOptions{Domain: "n.mesh", NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	if c := parseLeaf(t, crt); !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na) {
		t.Errorf("valid %s to %s, want %s to %s", c.NotBefore, c.NotAfter, nb, na)
	}
}

func TestAnExpiredCertificateFailsVerification(t *testing.T) {
	a, _ := initCA(t)
	now := time.Now()
	crt, _, err := a.Issue(ca.IssueOptions{Domain: "old.example.mesh", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify(t, a, crt, "old.example.mesh", x509.ExtKeyUsageClientAuth)
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("error %v, want an expired certificate", err)
	}
}

func TestACertificateOfAnotherCAFailsVerification(t *testing.T) {
	a, _ := initCA(t)
	other, _ := initCA(t)
	crt, _, err := other.Issue(ca.IssueOptions{Domain: "node1.example.mesh"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify(t, a, crt, "node1.example.mesh", x509.ExtKeyUsageServerAuth)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("error %v, want an unknown authority", err)
	}
}

// A node's key, if it leaked, cannot be turned into a sub-CA: the CA
// allows no intermediates, so even a CA certificate the CA key signed does
// not extend the chain.
func TestTheCAAllowsNoIntermediates(t *testing.T) {
	a, _ := initCA(t)
	now := time.Now()
	subPub, subPriv, _ := ed25519.GenerateKey(rand.Reader)
	subTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "sub"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	subDER, err := x509.CreateCertificate(rand.Reader, subTmpl, a.Cert, subPub, a.Signer())
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := x509.ParseCertificate(subDER)
	leafPub, _, _ := ed25519.GenerateKey(rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "x.mesh"}, DNSNames: []string{"x.mesh"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, sub, leafPub, subPriv)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	inter := x509.NewCertPool()
	inter.AddCert(sub)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: a.Pool(), Intermediates: inter, DNSName: "x.mesh"})
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &invalid) || invalid.Reason != x509.TooManyIntermediates {
		t.Errorf("error %v, want too many intermediates", err)
	}
}

func TestIssueRefusesImpossibleValidity(t *testing.T) {
	now := time.Now()
	a, err := ca.New("short", 30*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ca.New("expired", time.Hour, now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ca   *ca.Authority
		o    ca.IssueOptions
		want error
	}{
		{"the default 825 days from a CA valid for 30", a, ca.IssueOptions{Domain: "n.mesh"}, ca.ErrOutlivesCA},
		{"one second past the CA", a, ca.IssueOptions{Domain: "n.mesh", NotAfter: a.Cert.NotAfter.Add(time.Second)}, ca.ErrOutlivesCA},
		{"not after before not before", a, ca.IssueOptions{Domain: "n.mesh", NotBefore: now, NotAfter: now.Add(-time.Second)}, ca.ErrBadValidity},
		{"not after equal to not before", a, ca.IssueOptions{Domain: "n.mesh", NotBefore: now, NotAfter: now}, ca.ErrBadValidity},
		{"an expired CA", expired, ca.IssueOptions{Domain: "n.mesh", NotAfter: now.Add(-time.Minute)}, ca.ErrCAExpired},
		{"a bad domain", a, ca.IssueOptions{Domain: "Node1.mesh"}, ca.ErrBadDomain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt, key, err := tt.ca.Issue(tt.o)
			if !errors.Is(err, tt.want) || crt != nil || key != nil {
				t.Errorf("error %v (certificate %v, key %v), want %v and nothing issued", err, crt != nil, key != nil, tt.want)
			}
		})
	}
	// Up to the CA's last second is fine.
	if _, _, err := a.Issue(ca.IssueOptions{Domain: "n.mesh", NotAfter: a.Cert.NotAfter}); err != nil {
		t.Errorf("a certificate that expires with the CA is refused: %v", err)
	}
}

func TestValidateDomain(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	name253 := strings.Join([]string{label63, label63, label63, strings.Repeat("b", 61)}, ".")
	good := []struct{ name, domain string }{
		{"a usual mesh domain is accepted", "node1.example.mesh"},
		{"a single label, like a router's host name, is accepted", "openwrt"},
		{"a single letter is accepted", "a"},
		{"inner hyphens are accepted", "ff-node-1.berlin.freifunk.net"},
		{"digits in the last label are accepted with a letter", "node.b2"},
		{"a label of 63 characters is accepted", label63 + ".mesh"},
		{"a name of 253 characters is accepted", name253},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			if err := ca.ValidateDomain(tt.domain); err != nil {
				t.Error(err)
			}
		})
	}
	bad := []struct{ name, domain, says string }{
		{"an empty domain is refused", "", "empty"},
		{"uppercase is refused with the lowercase form", "Node1.Example.mesh", `"node1.example.mesh"`},
		{"a trailing dot is refused", "node1.mesh.", "empty label"},
		{"a leading dot is refused", ".node1.mesh", "empty label"},
		{"a double dot is refused", "node1..mesh", "empty label"},
		{"a label of 64 characters is refused", strings.Repeat("a", 64) + ".mesh", "longer than 63"},
		{"a name of 254 characters is refused", name253 + "b", "more than 253"},
		{"a label starting with a hyphen is refused", "-node.mesh", "'-'"},
		{"a label ending with a hyphen is refused", "node-.mesh", "'-'"},
		{"an underscore is refused", "my_node.mesh", `'_'`},
		{"a wildcard is refused", "*.example.mesh", `'*'`},
		{"a space is refused", "node 1.mesh", `' '`},
		{"a port is refused", "node1.mesh:7000", `':'`},
		{"a non-ASCII letter is refused", "knoten-ü.mesh", `'ü'`},
		{"an IPv4 address is refused", "192.168.1.1", "numeric"},
		{"an all-digit last label is refused", "node.123", "numeric"},
		{"an IPv6 address is refused", "fe80::1", `':'`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := ca.ValidateDomain(tt.domain)
			if !errors.Is(err, ca.ErrBadDomain) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %v, want ErrBadDomain saying %s", err, tt.says)
			}
		})
	}
}

// The point of it all: two nodes with certificates from one CA complete a
// TLS 1.3 handshake in which each verifies the other, and each learns the
// other's domain from the certificate.
func TestTwoNodesCompleteAMutualTLSHandshake(t *testing.T) {
	a, _ := initCA(t)
	pair := func(domain string) tls.Certificate {
		crt, key, err := a.Issue(ca.IssueOptions{Domain: domain})
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.X509KeyPair(crt, key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Loopback TCP rather than net.Pipe: its buffers let either side send
	// an alert while the other is still writing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// A handshake that hangs fails the test instead of stalling it.
	deadline := time.Now().Add(10 * time.Second)
	sc.SetDeadline(deadline)
	cc.SetDeadline(deadline)
	server := tls.Server(sc, &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair("node1.example.mesh")},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: a.Pool(),
	})
	client := tls.Client(cc, &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair("node2.example.mesh")},
		RootCAs: a.Pool(), ServerName: "node1.example.mesh",
	})
	defer server.Close()
	defer client.Close()
	serverErr := make(chan error, 1)
	go func() { serverErr <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := <-serverErr; err != nil {
		t.Fatalf("server: %v", err)
	}
	if got := client.ConnectionState().PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != "node1.example.mesh" {
		t.Errorf("the client sees %q", got)
	}
	if got := server.ConnectionState().PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != "node2.example.mesh" {
		t.Errorf("the server sees %q", got)
	}
}
