package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
)

// ktGossipTo hands heads to the node at addr with ktGossip (no session
// needed) and returns the evidence it answers with.
func ktGossipTo(t *testing.T, addr, fp string, heads ...[]byte) []protocol.KTEvidence {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dialPinned(t, addr, fp)
	defer c.Close()
	ev, err := c.KTGossip(ctx, heads)
	if err != nil {
		t.Fatalf("ktGossip: %v", err)
	}
	return ev
}

// forgedHeads are two heads of domain's log of one size with different
// roots, signed with a federation certificate that a's CA issued for
// domain: a fork.
func forgedHeads(t *testing.T, a *ca.Authority, domain string) (first, second []byte) {
	t.Helper()
	certPEM, keyPEM, err := a.Issue(ca.IssueOptions{Domain: domain})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(root byte) []byte {
		sh, err := kt.SignHead(kt.Head{Domain: domain, Size: 7, Root: kt.Hash{root}, TimeMillis: time.Now().UnixMilli()},
			pair.PrivateKey.(ed25519.PrivateKey), pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return sh.Marshal()
	}
	return sign(1), sign(2)
}

// TestQPCStatusShowsTheKeyLogAndEvidenceThatReachedTheNodeByGossip: a
// fork of n3's log, handed to n1 by a client, reaches n2 when n2 links to
// n1, and `qpc status` on n2 shows it (table and --json), with n2's own
// log's size.
func TestQPCStatusShowsTheKeyLogAndEvidenceThatReachedTheNodeByGossip(t *testing.T) {
	t.Parallel()
	const d1, d2, d3 = "n1.example.mesh", "n2.example.mesh", "n3.example.mesh"
	a, err := ca.New("test community CA", 3*365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	flags := federationFlagsOf(t, a, d1, d2)
	n1 := startFedNode(t, d1, t.TempDir(), "127.0.0.1:0", flags[d1]...)
	first, second := forgedHeads(t, a, d3)
	if ev := ktGossipTo(t, n1.addr, n1.fp, first, second); len(ev) != 1 || ev[0].Reason != "fork" {
		t.Fatalf("n1 answers the fork with %+v", ev)
	}
	if _, ok := n1.waitLog(10*time.Second, func(r map[string]any) bool {
		return r["msg"] == "kt: a key transparency log misbehaves" && r["level"] == "WARN" && r["domain"] == d3
	}); !ok {
		t.Errorf("n1 logged no warning of the fork:\n%s", n1.Logs())
	}
	n2 := startFedNode(t, d2, t.TempDir(), "127.0.0.1:0", append(flags[d2], "--peer", n1.addr)...)
	carol := newCLIUser(t, "carol", plainCommand)
	carol.mustRun("register", "--server", n2.addr, "--pin", n2.fp, "--username", "carol")

	deadline := time.Now().Add(60 * time.Second)
	var out string
	for {
		code, stdout, stderr := runQPC("status", "--server", n2.addr, "--pin", n2.fp)
		if code != exitOK {
			t.Fatalf("qpc status: %d %s", code, stderr)
		}
		out = stdout
		if strings.Contains(out, "WARNING") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("qpc status on n2 never showed the evidence:\n%s\nn2:\n%s", out, n2.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("qpc status on n2:\n%s", out)
	for _, want := range []string{"key log      1 entries", d3, "fork", d1} {
		if !strings.Contains(out, want) {
			t.Errorf("qpc status lacks %q:\n%s", want, out)
		}
	}
	code, stdout, stderr := runQPC("status", "--server", n2.addr, "--pin", n2.fp, "--json")
	if code != exitOK {
		t.Fatalf("qpc status --json: %d %s", code, stderr)
	}
	var js struct {
		KT struct {
			Size     *uint64 `json:"size"`
			Evidence []struct {
				Domain, Reason string
				ReportedBy     string `json:"reported_by"`
			} `json:"evidence"`
		} `json:"key_transparency"`
	}
	if err := json.Unmarshal([]byte(stdout), &js); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if js.KT.Size == nil || *js.KT.Size != 1 || len(js.KT.Evidence) != 1 || js.KT.Evidence[0].Domain != d3 ||
		js.KT.Evidence[0].Reason != "fork" || js.KT.Evidence[0].ReportedBy != d1 {
		t.Errorf("qpc status --json: %s", stdout)
	}
	// n1 has no evidence against itself and says so.
	_, out1, _ := runQPC("status", "--server", n1.addr, "--pin", n1.fp)
	if !strings.Contains(out1, "key log      0 entries") {
		t.Errorf("qpc status on n1:\n%s", out1)
	}
}

// TestTheTamperHooksMakeTheServedKeysDisagreeWithTheLog checks the hooks
// that issue 23's client tests use: after tamperKeys on the stopped node,
// the restarted node serves bob's keys for alice with alice's entry,
// whose keys hash is not theirs; after tamperLogEntry, the entry served
// is not the one the head's tree holds.
func TestTheTamperHooksMakeTheServedKeysDisagreeWithTheLog(t *testing.T) {
	t.Parallel()
	const d = "n1.example.mesh"
	dir := t.TempDir()
	n := startFedNode(t, d, dir, "127.0.0.1:0")
	ctx := acctContext(t)
	an := &acctNode{logProc: n.logProc, addr: n.addr, fp: n.fp}
	alice, _ := accountOn(t, ctx, an, d, "alice")
	accountOn(t, ctx, an, d, "bob")
	before, err := alice.Client.ResolveUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !entryHolds(t, before) {
		t.Fatal("the untouched node's entry does not hold alice's keys")
	}
	n.kill(t)
	tamperKeys(t, dir, "alice", "bob")
	tamperLogEntry(t, dir, 1)
	n = startFedNode(t, d, dir, "127.0.0.1:0")
	an = &acctNode{logProc: n.logProc, addr: n.addr, fp: n.fp}
	carol, _ := accountOn(t, ctx, an, d, "carol")
	after, err := carol.Client.ResolveUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(after.IdentityKey, before.IdentityKey) || entryHolds(t, after) {
		t.Error("after tamperKeys the node serves alice's own keys, or keys her entry holds")
	}
	bobs, err := carol.Client.ResolveUser(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := kt.ParseSignedHead(bobs.Transparency.Head)
	if err != nil {
		t.Fatal(err)
	}
	inc := make([]kt.Hash, len(bobs.Transparency.Inclusion))
	for i, h := range bobs.Transparency.Inclusion {
		copy(inc[i][:], h)
	}
	if kt.VerifyInclusion(kt.LeafHash(bobs.Transparency.Entry), bobs.Transparency.Index, sh.Size, inc, sh.Root) == nil {
		t.Error("after tamperLogEntry bob's changed entry is still proven in the head")
	}

	// The thorough attacker: keys and log rewritten, the head re-signed
	// by the node with the size it had and another root.
	n.kill(t)
	tamperKeysAndLog(t, dir, "alice", "carol")
	n = startFedNode(t, d, dir, "127.0.0.1:0")
	an = &acctNode{logProc: n.logProc, addr: n.addr, fp: n.fp}
	dave, _ := accountOn(t, ctx, an, d, "dave")
	forged, err := dave.Client.ResolveUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !entryHolds(t, forged) {
		t.Error("after tamperKeysAndLog alice's entry does not hold the keys served")
	}
	fh, err := kt.ParseSignedHead(forged.Transparency.Head)
	if err != nil || fh.Verify() != nil {
		t.Fatalf("the re-signed head: %+v, %v", fh, err)
	}
	if fh.Size != sh.Size+1 {
		t.Fatalf("head of size %d after dave's registration, want %d", fh.Size, sh.Size+1)
	}
	// The head of the earlier size that the node signs now differs from
	// the one it showed before: a fork.
	if ev := ktGossipTo(t, n.addr, n.fp, before.Transparency.Head); len(ev) != 1 || ev[0].Reason != "fork" {
		t.Errorf("the node answers the head it showed before the rewrite with %+v, want a fork", ev)
	}
}

// accountOn registers user on n (of domain), logs in and publishes fresh
// keys.
func accountOn(t *testing.T, ctx context.Context, n *acctNode, domain, user string) (*client.Account, client.Session) {
	t.Helper()
	c := n.dial(t)
	if _, err := c.Register(ctx, acctKSF, domain, user, acctPassword(user)); err != nil {
		t.Fatalf("register %s: %v", user, err)
	}
	s, _, err := c.Login(ctx, acctKSF, domain, user, acctPassword(user))
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	a := &client.Account{Client: c, Domain: domain, User: user, Keys: keys}
	if err := a.Publish(ctx); err != nil {
		t.Fatalf("publish %s: %v", user, err)
	}
	return a, s
}

// entryHolds reports whether k's transparency entry holds k's keys.
func entryHolds(t *testing.T, k protocol.PublishedKeys) bool {
	t.Helper()
	if k.Transparency == nil {
		t.Fatal("an answer without a transparency proof")
	}
	e, err := kt.ParseEntry(k.Transparency.Entry)
	if err != nil {
		t.Fatal(err)
	}
	return e.Keys == kt.KeysHash(k.IdentityKey, k.HPKEKey, k.Signature, k.AccountKey, k.DeviceList)
}
