package app

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
	"github.com/quicprochat/qpc/transport"
)

// rawNode is a bare NodeService connection to n, for the key transparency
// calls that package client does not make yet (no session needed).
func rawNode(t testing.TB, n *running) schemas.NodeService {
	t.Helper()
	ctx := ctxT(t)
	host, _, err := net.SplitHostPort(n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conf, err := transport.ClientTLS(host, transportTrust(n))
	if err != nil {
		t.Fatal(err)
	}
	qc, err := transport.Dial(ctx, n.Addr().String(), conf)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := transport.OpenRPC(ctx, qc, capnp.Client{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	node := schemas.NodeService(rc.Bootstrap(context.Background()))
	t.Cleanup(func() {
		node.Release()
		rc.Close()
		qc.CloseWithError(transport.CodeNormal, "")
	})
	return node
}

// resolveAt calls resolveUser with knownSize, which package client does
// not send yet (issue 23 part C).
func resolveAt(t testing.TB, node schemas.NodeService, user string, knownSize uint64) protocol.PublishedKeys {
	t.Helper()
	fut, release := node.ResolveUser(ctxT(t), func(p schemas.NodeService_resolveUser_Params) error {
		p.SetKnownSize(knownSize)
		return p.SetUser(user)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		t.Fatalf("resolve %s: %v", user, err)
	}
	w, err := res.Keys()
	if err != nil {
		t.Fatal(err)
	}
	k, err := protocol.KeysFromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// gossip hands heads to n and returns the evidence it answers with.
func gossip(t testing.TB, node schemas.NodeService, heads ...[]byte) []protocol.KTEvidence {
	t.Helper()
	fut, release := node.KtGossip(ctxT(t), func(p schemas.NodeService_ktGossip_Params) error {
		return protocol.DataListToWire(heads, p.NewHeads)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		t.Fatalf("ktGossip: %v", err)
	}
	list, err := res.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := protocol.KTEvidenceFromWire(list)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// checkProof checks k's transparency proof as a client of domain's node
// would (package client does it for real, issue 23 part C): the head is
// signed by domain's federation certificate from roots, the entry is
// addr's and holds k's keys, the inclusion proof leads to the head's root
// and, from known (nil for none), the consistency proof too.
func checkProof(t testing.TB, k protocol.PublishedKeys, addr string, roots *x509.CertPool, known *kt.SignedHead) kt.SignedHead {
	t.Helper()
	p := k.Transparency
	if p == nil {
		t.Fatalf("the answer for %s has no transparency proof", addr)
	}
	sh, err := kt.ParseSignedHead(p.Head)
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Verify(); err != nil {
		t.Fatal(err)
	}
	if sh.Kind != kt.SignerCertificate {
		t.Fatalf("a federated node's head is of signer kind %d", sh.Kind)
	}
	c, err := x509.ParseCertificate(sh.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil || len(c.DNSNames) != 1 || c.DNSNames[0] != sh.Domain {
		t.Fatalf("head signer %v does not chain to the community CA: %v", c.DNSNames, err)
	}
	e, err := kt.ParseEntry(p.Entry)
	if err != nil {
		t.Fatal(err)
	}
	if e.Address != addr || e.Keys != kt.KeysHash(k.IdentityKey, k.HPKEKey, k.Signature, k.AccountKey, k.DeviceList) {
		t.Errorf("the entry %+v is not of %s's keys", e, addr)
	}
	if !strings.HasSuffix(addr, "@"+sh.Domain) {
		t.Errorf("the head of %s proves %s", sh.Domain, addr)
	}
	hashes := func(b [][]byte) []kt.Hash {
		out := make([]kt.Hash, len(b))
		for i := range b {
			copy(out[i][:], b[i])
		}
		return out
	}
	if err := kt.VerifyInclusion(kt.LeafHash(p.Entry), p.Index, sh.Size, hashes(p.Inclusion), sh.Root); err != nil {
		t.Errorf("inclusion: %v", err)
	}
	if known != nil && known.Size != sh.Size {
		if err := kt.VerifyConsistency(known.Size, sh.Size, known.Root, sh.Root, hashes(p.Consistency)); err != nil {
			t.Errorf("consistency from %d to %d: %v", known.Size, sh.Size, err)
		}
	}
	return sh
}

// session returns a raw connection to n bound to a session of a's user:
// a login over another connection, resumed here.
func session(t testing.TB, n *running, a *client.Account) schemas.NodeService {
	t.Helper()
	c, err := dial(t, n.Addr().String(), transportTrust(n))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, _, err := c.Login(ctxT(t), fastOPAQUE, n.cfg.Domain, a.User, pwOf(a.User))
	if err != nil {
		t.Fatal(err)
	}
	node := rawNode(t, n)
	fut, release := node.ResumeSession(ctxT(t), func(p schemas.NodeService_resumeSession_Params) error {
		return p.SetToken(sess.Token)
	})
	defer release()
	if _, err := fut.Struct(); err != nil {
		t.Fatalf("resume: %v", err)
	}
	return node
}

func TestResolveAnswersCarryProofsThatVerifyLocallyAndAcrossFederation(t *testing.T) {
	checkLeaks(t)
	c := newCommunity(t)
	n1 := start(t, c.federated("n1.example.mesh", ca.IssueOptions{}))
	n2 := start(t, c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String()))
	waitLinks(t, n2, "n1.example.mesh")
	roots := c.ca.Pool()

	alice := newAccount(t, n1, "alice")
	bob := newAccount(t, n2, "bob")
	ctx := ctxT(t)
	k, err := bob.Client.ResolveUser(ctx, "alice@n1.example.mesh")
	if err != nil {
		t.Fatal(err)
	}
	first := checkProof(t, k, "alice@n1.example.mesh", roots, nil)
	if first.Size != 1 {
		t.Errorf("n1's log has %d entries after one registration", first.Size)
	}
	newAccount(t, n1, "carol")
	newAccount(t, n1, "dave")
	// A client that kept the first head sends its size; the proof
	// leads from it to the new head, across federation.
	bobRaw := session(t, n2, bob)
	k2 := resolveAt(t, bobRaw, "alice@n1.example.mesh", first.Size)
	second := checkProof(t, k2, "alice@n1.example.mesh", roots, &first)
	if second.Size != 3 || len(k2.Transparency.Consistency) == 0 {
		t.Errorf("head of size %d, consistency of %d hashes", second.Size, len(k2.Transparency.Consistency))
	}
	// Locally too.
	local := resolveAt(t, session(t, n1, alice), "carol", first.Size)
	checkProof(t, local, "carol@n1.example.mesh", roots, &first)
	// n2 passed n1's head on and keeps it for gossip.
	heads, err := n2.kt.Heads()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, h := range heads {
		if sh, err := kt.ParseSignedHead(h); err == nil && sh.Domain == "n1.example.mesh" && sh.Size == 3 {
			found = true
		}
	}
	if !found {
		t.Errorf("n2 does not remember n1's head of size 3 (%d heads)", len(heads))
	}
}

// community heads: a head of domain signed with a certificate of c.
func (c *community) head(t testing.TB, domain string, size uint64, root kt.Hash) []byte {
	t.Helper()
	certPEM, keyPEM, err := c.ca.Issue(ca.IssueOptions{Domain: domain})
	if err != nil {
		t.Fatal(err)
	}
	return signHead(t, certPEM, keyPEM, domain, size, root)
}

func signHead(t testing.TB, certPEM, keyPEM []byte, domain string, size uint64, root kt.Hash) []byte {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := kt.SignHead(kt.Head{Domain: domain, Size: size, Root: root, TimeMillis: time.Now().UnixMilli()},
		pair.PrivateKey.(ed25519.PrivateKey), pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return sh.Marshal()
}

// ktMetric reads qpc_kt_inconsistency_total from n's metrics.
func ktMetric(t testing.TB, n *running) string {
	t.Helper()
	for _, line := range strings.Split(scrapeMetrics(t, n), "\n") {
		if strings.HasPrefix(line, "qpc_kt_inconsistency_total ") {
			return line
		}
	}
	return ""
}

func TestAForgedForkHandedToOneNodeBecomesEvidenceThereAndReachesTheOtherByGossip(t *testing.T) {
	checkLeaks(t)
	c := newCommunity(t)
	cfg1 := c.federated("n1.example.mesh", ca.IssueOptions{})
	cfg1.MetricsListen = "127.0.0.1:0"
	n1 := start(t, cfg1)
	// Two heads of n3's log of one size with different roots, both
	// signed with a federation certificate the community CA issued for
	// n3: n3 showed different logs to different people.
	a := c.head(t, "n3.example.mesh", 5, kt.Hash{1})
	b := c.head(t, "n3.example.mesh", 5, kt.Hash{2})
	// And heads nobody may sign: a bare key for n3, and a certificate
	// of another community.
	other := newCommunity(t)
	stranger := other.head(t, "n3.example.mesh", 5, kt.Hash{3})

	raw := rawNode(t, n1)
	if ev := gossip(t, raw, a, stranger); len(ev) != 0 {
		t.Fatalf("evidence from one head and a stranger's: %+v", ev)
	}
	ev := gossip(t, raw, b)
	if len(ev) != 1 || ev[0].Reason != kt.ReasonFork || ev[0].Domain != "n3.example.mesh" || ev[0].ReportedBy != "n1.example.mesh" {
		t.Fatalf("n1 answers the fork with %+v", ev)
	}
	if m := ktMetric(t, n1); m != "qpc_kt_inconsistency_total 1" {
		t.Errorf("n1's metric: %q", m)
	}
	// n2 comes up and links to n1: the gossip of the new link brings
	// the evidence, which n2 checks and keeps.
	cfg2 := c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String())
	cfg2.MetricsListen = "127.0.0.1:0"
	n2 := start(t, cfg2)
	waitLinks(t, n2, "n1.example.mesh")
	client2 := dialN(t, n2)
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := client2.Health(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(h.KTEvidence) == 1 {
			e := h.KTEvidence[0]
			if e.Reason != kt.ReasonFork || e.Domain != "n3.example.mesh" || e.ReportedBy != "n1.example.mesh" {
				t.Errorf("n2 shows %+v", e)
			}
			if len(h.KTHead) == 0 {
				t.Error("n2's health has no head of its own log")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the evidence never reached n2: %+v", h.KTEvidence)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := ktMetric(t, n2); m != "qpc_kt_inconsistency_total 1" {
		t.Errorf("n2's metric: %q", m)
	}
	// Both nodes gossip their own heads: n1 knows n2's.
	deadline = time.Now().Add(30 * time.Second)
	for {
		heads, err := n1.kt.Heads()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, h := range heads {
			if sh, err := kt.ParseSignedHead(h); err == nil && sh.Domain == "n2.example.mesh" {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("n1 never got n2's head by gossip")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAHeadThatItsOwnNodeCannotProveConsistentIsEvidence(t *testing.T) {
	checkLeaks(t)
	c := newCommunity(t)
	cfg1 := c.federated("n1.example.mesh", ca.IssueOptions{})
	n1 := start(t, cfg1)
	n2 := start(t, c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String()))
	waitLinks(t, n2, "n1.example.mesh")
	newAccount(t, n1, "alice")
	newAccount(t, n1, "carol")
	bob := newAccount(t, n2, "bob")
	// bob's lookup leaves n1's head of size 2 with n2.
	if _, err := bob.Client.ResolveUser(ctxT(t), "alice@n1.example.mesh"); err != nil {
		t.Fatal(err)
	}
	newAccount(t, n1, "dave")
	// A head of size 3 with n1's own federation signature that is not
	// n1's log: n1's key signed a log nobody else sees. Only n1's proof
	// can tell, and n2 asks it.
	certPEM, keyPEM := readPair(t, cfg1.FederationCert, cfg1.FederationKey)
	forged := signHead(t, certPEM, keyPEM, "n1.example.mesh", 3, kt.Hash{9})
	ev := gossip(t, rawNode(t, n2), forged)
	if len(ev) != 1 || ev[0].Reason != kt.ReasonInconsistent || ev[0].Domain != "n1.example.mesh" || ev[0].ReportedBy != "n2.example.mesh" {
		t.Fatalf("n2 answers with %+v, want one inconsistency of n1", ev)
	}
	// A head of a size n1's log never had: n1 refuses to prove it.
	beyond := signHead(t, certPEM, keyPEM, "n1.example.mesh", 50, kt.Hash{9})
	ev = gossip(t, rawNode(t, n2), beyond)
	if len(ev) != 2 || ev[0].Reason != kt.ReasonInconsistent {
		t.Fatalf("n2 answers with %+v, want a second inconsistency", ev)
	}
}

func readPair(t testing.TB, certFile, keyFile string) (certPEM, keyPEM []byte) {
	t.Helper()
	var err error
	if certPEM, err = os.ReadFile(certFile); err != nil {
		t.Fatal(err)
	}
	if keyPEM, err = os.ReadFile(keyFile); err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

func TestKTEntriesAndConsistencyNeedNoSessionAndAreBounded(t *testing.T) {
	n := start(t, testConfig(t))
	for _, u := range []string{"alice", "bob", "carol"} {
		newAccount(t, n, u)
	}
	raw := rawNode(t, n)
	ctx := ctxT(t)
	fut, release := raw.KtEntries(ctx, func(p schemas.NodeService_ktEntries_Params) error {
		p.SetStart(1)
		p.SetCount(100)
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		t.Fatal(err)
	}
	list, _ := res.Entries()
	if list.Len() != 2 {
		t.Fatalf("%d entries from 1 of a log of 3", list.Len())
	}
	cf, crelease := raw.KtConsistency(ctx, func(p schemas.NodeService_ktConsistency_Params) error {
		p.SetFirst(1)
		return nil
	})
	defer crelease()
	cres, err := cf.Struct()
	if err != nil {
		t.Fatal(err)
	}
	head, _ := cres.Head()
	sh, err := kt.ParseSignedHead(head)
	if err != nil || sh.Size != 3 || sh.Kind != kt.SignerNodeKey || !sh.Key.Equal(n.key.Public()) {
		t.Fatalf("head %+v, %v: want size 3 signed by the node key", sh, err)
	}
	proof, _ := cres.Proof()
	if proof.Len() == 0 {
		t.Error("no consistency proof from 1 to 3")
	}
	bad, brelease := raw.KtConsistency(ctx, func(p schemas.NodeService_ktConsistency_Params) error {
		p.SetFirst(4)
		return nil
	})
	defer brelease()
	if _, err := bad.Struct(); !errors.Is(protocol.FromException(err), protocol.ErrBadRequest) {
		t.Errorf("a size beyond the log: %v, want badRequest", err)
	}
}

func TestLinkedNodesGossipHeadsAgainAtTheirInterval(t *testing.T) {
	checkLeaks(t)
	ktGossipInterval = 50 * time.Millisecond
	t.Cleanup(func() { ktGossipInterval = 0 })
	c := newCommunity(t)
	n1 := start(t, c.federated("n1.example.mesh", ca.IssueOptions{}))
	n2 := start(t, c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String()))
	waitLinks(t, n2, "n1.example.mesh")
	waitLinks(t, n1, "n2.example.mesh")
	// The link is up and has gossiped once; the fork comes after.
	a := c.head(t, "n3.example.mesh", 5, kt.Hash{1})
	b := c.head(t, "n3.example.mesh", 5, kt.Hash{2})
	if ev := gossip(t, rawNode(t, n1), a, b); len(ev) != 1 {
		t.Fatalf("n1 answers with %+v", ev)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ev, err := n2.kt.Evidence(10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) == 1 && ev[0].Reason == kt.ReasonFork && ev[0].Domain == "n3.example.mesh" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the next gossip never brought the evidence to n2: %+v", ev)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And n2 learns n1's log as it grows.
	newAccount(t, n1, "alice")
	deadline = time.Now().Add(30 * time.Second)
	for {
		heads, err := n2.kt.Heads()
		if err != nil {
			t.Fatal(err)
		}
		grown := false
		for _, h := range heads {
			if sh, err := kt.ParseSignedHead(h); err == nil && sh.Domain == "n1.example.mesh" && sh.Size == 1 {
				grown = true
			}
		}
		if grown {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("n2 never got n1's head of size 1 by gossip")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
