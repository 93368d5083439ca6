package app

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"net"
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
