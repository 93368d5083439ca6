package federation

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

func newCA(t *testing.T) *ca.Authority {
	t.Helper()
	a, err := ca.New("test CA", 3*365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func issue(t *testing.T, a *ca.Authority, o ca.IssueOptions) tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := a.Issue(o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c.Leaf, _ = x509.ParseCertificate(c.Certificate[0])
	return c
}

// issueRaw signs a leaf from tmpl with the CA, for shapes Issue refuses to
// make (several SANs, no client usage).
func issueRaw(t *testing.T, a *ca.Authority, tmpl *x509.Certificate) *x509.Certificate {
	t.Helper()
	k, _ := identity.GenerateNodeKey()
	tmpl.SerialNumber = big.NewInt(7)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.Cert, k.Public(), a.Signer())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestCertificateChecksNameTheirReason(t *testing.T) {
	community, other := newCA(t), newCA(t)
	self := issue(t, community, ca.IssueOptions{Domain: "n1.example.mesh"})
	good := issue(t, community, ca.IssueOptions{Domain: "n2.example.mesh"})
	denied := issue(t, community, ca.IssueOptions{Domain: "n3.example.mesh"})
	v := &verifier{
		roots:      community.Pool(),
		deny:       map[string]bool{transport.Fingerprint(denied.Certificate[0]): true},
		selfFP:     transport.Fingerprint(self.Certificate[0]),
		selfDomain: "n1.example.mesh",
		now:        time.Now,
	}
	tests := []struct {
		name   string
		chain  []*x509.Certificate
		usage  x509.ExtKeyUsage
		reason string
	}{
		{"a certificate of the community names its peer's domain", []*x509.Certificate{good.Leaf}, x509.ExtKeyUsageClientAuth, ""},
		{"no certificate is refused", nil, x509.ExtKeyUsageServerAuth, ReasonNoCertificate},
		{"a certificate of another CA is refused", []*x509.Certificate{issue(t, other, ca.IssueOptions{Domain: "n2.example.mesh"}).Leaf}, x509.ExtKeyUsageServerAuth, ReasonUnknownCA},
		{"an expired certificate is refused", []*x509.Certificate{issue(t, community, ca.IssueOptions{Domain: "n2.example.mesh",
			NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}).Leaf}, x509.ExtKeyUsageServerAuth, ReasonExpired},
		{"a certificate naming two domains is refused", []*x509.Certificate{issueRaw(t, community, &x509.Certificate{
			Subject: pkix.Name{CommonName: "x"}, DNSNames: []string{"a.mesh", "b.mesh"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}})}, x509.ExtKeyUsageServerAuth, ReasonBadSAN},
		{"a server-only certificate cannot dial", []*x509.Certificate{issueRaw(t, community, &x509.Certificate{
			Subject: pkix.Name{CommonName: "x"}, DNSNames: []string{"a.mesh"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})}, x509.ExtKeyUsageClientAuth, ReasonBadUsage},
		{"a certificate on the deny list is refused", []*x509.Certificate{denied.Leaf}, x509.ExtKeyUsageServerAuth, ReasonDenied},
		{"this node's own certificate is refused", []*x509.Certificate{self.Leaf}, x509.ExtKeyUsageServerAuth, ReasonSelf},
		{"another certificate for this node's domain is refused", []*x509.Certificate{issue(t, community, ca.IssueOptions{Domain: "n1.example.mesh"}).Leaf}, x509.ExtKeyUsageServerAuth, ReasonSelf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.verify(tt.chain, tt.usage)
			if tt.reason == "" {
				if err != nil || id.domain != "n2.example.mesh" {
					t.Fatalf("verify = %+v, %v; want n2.example.mesh", id, err)
				}
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) || re.Reason != tt.reason {
				t.Fatalf("verify = %v, want reason %s", err, tt.reason)
			}
		})
	}
}

// endpoint is a Manager on a real QUIC listener on loopback.
type endpoint struct {
	m  *Manager
	ln *transport.Listener
}

// noInbound is an Inbound that serves nothing: these tests are about links,
// not about the node service behind them (app's tests cover that).
type noInbound struct{}

func (noInbound) Allow(int) error { return nil }

func (noInbound) Deliver(context.Context, []protocol.Outgoing) ([]protocol.Receipt, time.Time, error) {
	return nil, time.Time{}, protocol.ErrShuttingDown
}
func (noInbound) ResolveUser(context.Context, string, uint64) (protocol.PublishedKeys, error) {
	return protocol.PublishedKeys{}, protocol.ErrUnknownUser
}
func (noInbound) FetchKeyPackage(context.Context, string, uint16) ([]byte, bool, error) {
	return nil, false, protocol.ErrNoKeyPackage
}
func (noInbound) OrderCommit(context.Context, string, protocol.CommitClaim) (protocol.CommitOrder, error) {
	return protocol.CommitOrder{}, protocol.ErrUnknownDomain
}

func newEndpoint(t *testing.T, a *ca.Authority, domain string, peers ...string) *endpoint {
	t.Helper()
	m, err := New(Config{
		Domain: domain, NodeID: "id-" + domain, Version: "test",
		Cert: issue(t, a, ca.IssueOptions{Domain: domain}), Roots: a.Pool(),
		Peers: peers, Inbound: func(string) Inbound { return noInbound{} },
		MinBackoff: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	clientCert := issue(t, a, ca.IssueOptions{Domain: "clients." + domain})
	ln, err := transport.Listen("127.0.0.1:0", transport.ServerTLS(clientCert, m.ServerTLS), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &endpoint{m: m, ln: ln}
}

// run serves the endpoint until the test ends.
func (e *endpoint) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() {
		e.m.Run(ctx, e.ln, nil)
		done <- struct{}{}
	}()
	go func() {
		for {
			conn, err := e.ln.Accept(ctx)
			if err != nil {
				done <- struct{}{}
				return
			}
			e.m.Accept(ctx, conn)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		e.ln.Close()
	})
}

func (e *endpoint) addr() string { return e.ln.Addr().String() }

func waitUp(t *testing.T, m *Manager, domain string) protocol.Link {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range m.Links() {
			if l.Domain == domain && l.State == protocol.LinkUp {
				return l
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: no link up to %s: %+v", m.cfg.Domain, domain, m.Links())
	return protocol.Link{}
}

func TestTwoNodesDialingEachOtherKeepOneLink(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // after the endpoints' cleanups
	a := newCA(t)
	e1 := newEndpoint(t, a, "n1.example.mesh")
	e2 := newEndpoint(t, a, "n2.example.mesh", e1.addr())
	e1.m.cfg.Peers = []string{e2.addr()}
	e1.run(t)
	e2.run(t)
	waitUp(t, e1.m, "n2.example.mesh")
	waitUp(t, e2.m, "n1.example.mesh")
	// Both ends settle on the link n1 (the smaller domain) dialed, and
	// each reports that one link: n2's own dial, which lost, may still be
	// "connecting" for a moment, but must not stay.
	deadline := time.Now().Add(10 * time.Second)
	for {
		l1, l2 := e1.m.link("n2.example.mesh"), e2.m.link("n1.example.mesh")
		settled := l1 != nil && l2 != nil && l1.outgoing && !l2.outgoing
		if settled && len(e1.m.Links()) == 1 && len(e2.m.Links()) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("links did not settle: n1 has %+v, n2 has %+v; reported: %+v and %+v; want one each",
				l1, l2, e1.m.Links(), e2.m.Links())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refusals records the reasons an Observer is told.
type refusals struct {
	nopObserver
	ch chan string
}

func (r *refusals) Refused(reason string) { r.ch <- reason }

func TestAPeerClaimingAnotherDomainThanItsCertificateIsDropped(t *testing.T) {
	a := newCA(t)
	e1 := newEndpoint(t, a, "n1.example.mesh")
	seen := &refusals{ch: make(chan string, 100)}
	e1.m.obs = seen
	liar := newEndpoint(t, a, "n2.example.mesh", e1.addr())
	liar.m.cfg.Domain = "n3.example.mesh" // what its health answer claims
	e1.run(t)
	liar.run(t)
	select {
	case reason := <-seen.ch:
		if reason != ReasonDomainMismatch {
			t.Fatalf("refused for %s, want %s", reason, ReasonDomainMismatch)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("n1 never refused the liar")
	}
	if l := e1.m.link("n2.example.mesh"); l != nil {
		t.Errorf("n1 keeps a link to the liar")
	}
	if l := e1.m.link("n3.example.mesh"); l != nil {
		t.Errorf("n1 keeps a link to the domain the liar claims")
	}
}
