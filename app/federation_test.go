package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/federation"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

func init() {
	// Redial a lost peer within tens of milliseconds, not seconds.
	linkBackoff = 50 * time.Millisecond
}

// community is a test CA with its certificate in a file.
type community struct {
	t      testing.TB
	ca     *ca.Authority
	caFile string
}

func newCommunity(t testing.TB) *community {
	t.Helper()
	a, err := ca.New("test community CA", 3*365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "community-ca.crt")
	if err := os.WriteFile(f, a.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return &community{t: t, ca: a, caFile: f}
}

// federated returns a node config for domain with a certificate of c
// issued with o (its Domain set to domain when empty).
func (c *community) federated(domain string, o ca.IssueOptions, peers ...string) config.Node {
	c.t.Helper()
	if o.Domain == "" {
		o.Domain = domain
	}
	cfg := testConfig(c.t)
	cfg.Domain = domain
	certPEM, keyPEM, err := c.ca.Issue(o)
	if err != nil {
		c.t.Fatal(err)
	}
	cfg.FederationCert = filepath.Join(cfg.DataDir, "federation.crt")
	cfg.FederationKey = filepath.Join(cfg.DataDir, "federation.key")
	cfg.FederationCA = c.caFile
	for f, data := range map[string][]byte{cfg.FederationCert: certPEM, cfg.FederationKey: keyPEM} {
		if err := os.WriteFile(f, data, 0o600); err != nil {
			c.t.Fatal(err)
		}
	}
	cfg.Peers = peers
	return cfg
}

// waitLinks polls until n has a link up to each of domains.
func waitLinks(t testing.TB, n *running, domains ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		up := map[string]bool{}
		for _, l := range n.Federation().Links() {
			if l.State == protocol.LinkUp {
				up[l.Domain] = true
			}
		}
		missing := ""
		for _, d := range domains {
			if !up[d] {
				missing = d
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no link to %s: %+v", n.cfg.Domain, missing, n.Federation().Links())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestThreeFederatedNodesExchangeMessagesBothWaysAndHoldOnlyCiphertext(t *testing.T) {
	checkLeaks(t)
	c := newCommunity(t)
	n1 := start(t, c.federated("n1.example.mesh", ca.IssueOptions{}))
	n2 := start(t, c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String()))
	n3 := start(t, c.federated("n3.example.mesh", ca.IssueOptions{}, n1.Addr().String(), n2.Addr().String()))
	for _, n := range []*running{n1, n2, n3} {
		var others []string
		for _, o := range []*running{n1, n2, n3} {
			if o != n {
				others = append(others, o.cfg.Domain)
			}
		}
		waitLinks(t, n, others...)
	}

	users := []struct {
		n    *running
		name string
	}{{n1, "alice"}, {n2, "bob"}, {n3, "carol"}}
	accounts := make([]*client.Account, len(users))
	inboxes := make([]*inbox, len(users))
	for i, u := range users {
		accounts[i] = newAccount(t, u.n, u.name)
		inboxes[i] = subscribe(t, accounts[i], 0)
	}
	ctx := ctxT(t)
	secret := func(from, to int) string {
		return fmt.Sprintf("secret from %s to %s across the mesh", users[from].name, users[to].name)
	}
	for i := range accounts {
		for j := range accounts {
			if i == j {
				continue
			}
			r, err := accounts[i].SendText(ctx, accounts[j].Address(), secret(i, j))
			if err != nil {
				t.Fatalf("%s → %s: %v", accounts[i].Address(), accounts[j].Address(), err)
			}
			if r.Seq == 0 {
				t.Errorf("%s → %s: receipt without a sequence number", accounts[i].Address(), accounts[j].Address())
			}
		}
	}
	for j, in := range inboxes {
		got := in.wait(t, len(accounts)-1)
		want := map[string]string{}
		for i := range accounts {
			if i != j {
				want[accounts[i].Address()] = secret(i, j)
			}
		}
		for _, m := range got {
			if !m.Verified || want[m.From] != string(m.Body) {
				t.Errorf("%s got %q from %s (verified %v, problem %v)", accounts[j].Address(), m.Body, m.From, m.Verified, m.Problem)
			}
			delete(want, m.From)
		}
		if len(want) != 0 {
			t.Errorf("%s is missing messages from %v", accounts[j].Address(), want)
		}
	}
	for _, n := range []*running{n1, n2, n3} {
		for _, l := range n.Federation().Links() {
			if l.RelayedOut != 1 || l.RelayedIn != 1 {
				t.Errorf("%s: link to %s relayed out %d, in %d; want 1 and 1", n.cfg.Domain, l.Domain, l.RelayedOut, l.RelayedIn)
			}
		}
	}

	for _, n := range []*running{n1, n2, n3} {
		n.wait(t)
		db, err := os.ReadFile(filepath.Join(n.cfg.StorePath(), store.FileName))
		if err != nil {
			t.Fatal(err)
		}
		for i := range accounts {
			for j := range accounts {
				if i != j && strings.Contains(string(db), secret(i, j)) {
					t.Errorf("%s's database holds plaintext %q", n.cfg.Domain, secret(i, j))
				}
			}
		}
	}
}

func TestUnknownAddressesGetClearErrorsAndMessagesForADownPeerWaitInTheMesh(t *testing.T) {
	c := newCommunity(t)
	n1 := start(t, c.federated("n1.example.mesh", ca.IssueOptions{}))
	cfg2 := c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String())
	n2 := start(t, cfg2)
	waitLinks(t, n1, "n2.example.mesh")
	alice := newAccount(t, n1, "alice")
	bob := newAccount(t, n2, "bob")
	ctx := ctxT(t)

	if _, err := alice.SendText(ctx, "zoe@n9.example.mesh", "hi"); !errors.Is(err, protocol.ErrUnknownDomain) {
		t.Errorf("to an unknown domain: %v, want ErrUnknownDomain", err)
	}
	if _, err := alice.SendText(ctx, "nobody@n2.example.mesh", "hi"); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("to an unknown user of a peer: %v, want ErrUnknownUser", err)
	}
	out, _, err := alice.Seal(ctx, bob.Address(), 1, []byte("sealed while n2 is up"))
	if err != nil {
		t.Fatal(err)
	}

	n2.wait(t) // n2 goes away; n1 notices at once (the link closes)
	deadline := time.Now().Add(10 * time.Second)
	for n1.Federation().Links()[0].State == protocol.LinkUp && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// The message waits in the mesh at n1: n2's node is not linked.
	r, err := alice.Client.Enqueue(ctx, out)
	if err != nil || r.MeshID == (protocol.MeshID{}) || r.QueuedAt != "n1.example.mesh" {
		t.Fatalf("to a peer that is down: %+v, %v; want it queued in the mesh at n1", r, err)
	}
	waitStatus(t, alice, protocol.MeshQueued, r.MeshID)

	// n2 comes back on the same port with the same data: the link comes
	// back by itself and the message is delivered, once.
	cfg2.Listen = n2.Addr().String()
	n2 = start(t, cfg2)
	waitLinks(t, n1, "n2.example.mesh")
	bob2 := login(t, n2, bob)
	got := subscribe(t, bob2, 0).wait(t, 1)
	if string(got[0].Body) != "sealed while n2 is up" || !got[0].Verified {
		t.Errorf("bob got %+v", got[0])
	}
	waitStatus(t, alice, protocol.MeshDelivered, r.MeshID)
	// Later messages take the link again.
	if r, err := alice.SendText(ctx, bob.Address(), "direct"); err != nil || r.Seq != 2 {
		t.Errorf("after n2's restart: %+v, %v; want it in bob's mailbox as message 2", r, err)
	}
}

// login logs a's user in again on n (after a restart) with a's keys.
func login(t testing.TB, n *running, a *client.Account) *client.Account {
	t.Helper()
	ctx := ctxT(t)
	c, err := dial(t, n.Addr().String(), transportTrust(n))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.Login(ctx, fastOPAQUE, n.cfg.Domain, a.User, []byte("correct horse battery staple "+a.User)); err != nil {
		t.Fatalf("login %s: %v", a.User, err)
	}
	return &client.Account{Client: c, Domain: a.Domain, User: a.User, Keys: a.Keys}
}

func TestPeersWithBadCertificatesAreRefusedAndCounted(t *testing.T) {
	c := newCommunity(t)
	other := newCommunity(t)
	foreign := start(t, other.federated("foreign.example.mesh", ca.IssueOptions{}))
	expired := start(t, c.federated("expired.example.mesh", ca.IssueOptions{
		NotBefore: time.Now().Add(-3 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}))
	denied := start(t, c.federated("denied.example.mesh", ca.IssueOptions{}))
	good := start(t, c.federated("good.example.mesh", ca.IssueOptions{}))

	cfg := c.federated("n1.example.mesh", ca.IssueOptions{},
		foreign.Addr().String(), expired.Addr().String(), denied.Addr().String(), good.Addr().String())
	cfg.FederationDeny = []string{denied.Federation().Fingerprint()}
	cfg.MetricsListen = "127.0.0.1:0"
	n1 := start(t, cfg)
	waitLinks(t, n1, "good.example.mesh")

	text := waitMetrics(t, n1, func(text string) bool {
		return strings.Contains(text, `qpc_federation_refused_total{reason="denied"}`) &&
			strings.Contains(text, `qpc_federation_refused_total{reason="expired"}`) &&
			strings.Contains(text, `qpc_federation_refused_total{reason="unknown-ca"}`)
	})
	if !strings.Contains(text, `qpc_federation_link_up{peer="good.example.mesh"} 1`) {
		t.Errorf("metrics do not show the good link up:\n%s", grep(text, "qpc_federation"))
	}
	for _, l := range n1.Federation().Links() {
		if l.Domain != "good.example.mesh" && l.State == protocol.LinkUp {
			t.Errorf("a link to %s (%s) is up", l.Domain, l.Address)
		}
		if l.Domain == "" && !strings.Contains(l.LastError, "refused") {
			t.Errorf("peer %s: last error %q does not say it was refused", l.Address, l.LastError)
		}
	}
}

func TestANodeWhoseCertificateNamesAnotherDomainDoesNotStart(t *testing.T) {
	c := newCommunity(t)
	cfg := c.federated("n1.example.mesh", ca.IssueOptions{Domain: "n2.example.mesh"})
	_, err := NewNode(cfg, testLogger(t))
	if !errors.Is(err, federation.ErrCertDomain) {
		t.Fatalf("NewNode = %v, want ErrCertDomain", err)
	}
	var fe *config.FlagError
	if !errors.As(err, &fe) || fe.Flag != "federation-cert" {
		t.Errorf("error %v does not name --federation-cert", err)
	}
}

func TestAPeerMayDeliverOnlyToUsersOfTheNodeItLinksTo(t *testing.T) {
	c := newCommunity(t)
	n1 := start(t, c.federated("n1.example.mesh", ca.IssueOptions{}))
	n2 := start(t, c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String()))
	waitLinks(t, n2, "n1.example.mesh")
	newAccount(t, n1, "alice")
	ctx := context.Background()
	// n2 asks n1 to deliver for a third domain, and for a bare name.
	receipts, err := n2.Federation().Relay(ctx, "n1.example.mesh", []protocol.Outgoing{
		{Recipient: "carol@n3.example.mesh", Payload: []byte("x")},
		{Recipient: "alice", Payload: []byte("x")},
		{Recipient: "alice@n1.example.mesh", Payload: []byte("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{protocol.ErrUnknownDomain, protocol.ErrUnknownDomain, nil} {
		if !errors.Is(receipts[i].Err, want) || (want == nil) != (receipts[i].Err == nil) {
			t.Errorf("receipt %d: %v, want %v", i, receipts[i].Err, want)
		}
	}
	if _, err := n2.Federation().ResolveUser(ctx, "alice@n3.example.mesh", 0); !errors.Is(err, protocol.ErrUnknownDomain) {
		t.Errorf("resolve for a domain nobody serves: %v", err)
	}
}

// scrapeMetrics returns the node's /metrics text.
func scrapeMetrics(t testing.TB, n *running) string {
	t.Helper()
	resp, err := http.Get("http://" + n.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(body)
}

// waitMetrics polls the node's metrics until ok accepts them.
func waitMetrics(t testing.TB, n *running, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		text := scrapeMetrics(t, n)
		if ok(text) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never matched:\n%s", grep(text, "qpc_federation"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// grep returns the lines of text that contain s.
func grep(text, s string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func transportTrust(n *running) transport.Trust { return transport.Trust{Pin: n.Fingerprint()} }

func TestAPeerThatRelaysFasterThanItsRateIsRefused(t *testing.T) {
	c := newCommunity(t)
	cfg1 := c.federated("n1.example.mesh", ca.IssueOptions{})
	cfg1.FederationRate = 5 // bursts of 10
	n1 := start(t, cfg1)
	n2 := start(t, c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String()))
	waitLinks(t, n2, "n1.example.mesh")
	newAccount(t, n1, "alice")
	batch := func(n int) []protocol.Outgoing {
		msgs := make([]protocol.Outgoing, n)
		for i := range msgs {
			msgs[i] = protocol.Outgoing{Recipient: "alice@n1.example.mesh", Payload: []byte("x")}
		}
		return msgs
	}
	ctx := ctxT(t)
	receipts, err := n2.Federation().Relay(ctx, "n1.example.mesh", batch(10))
	if err != nil {
		t.Fatalf("a burst within the bound: %v", err)
	}
	for i, r := range receipts {
		if r.Err != nil {
			t.Errorf("receipt %d: %v", i, r.Err)
		}
	}
	if _, err := n2.Federation().Relay(ctx, "n1.example.mesh", batch(10)); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("a second burst at once: %v, want ErrRateLimited", err)
	}
	if got := n1.Federation().Links()[0].RelayedIn; got != 10 {
		t.Errorf("n1 counts %d messages relayed in, want the 10 it stored", got)
	}
}
