package main

// Audit item 3 of issue 20 against a real `qpc node` process: before the
// fix, any logged-in user, or a member removed from a group, could freeze
// the group for good by claiming epoch 2^64-2 (or just the next epoch)
// with junk at the group's home node. Now only a member of an epoch can
// claim it. The members here are chat engines in the test process, as the
// REPL runs them; the attackers send orderCommit claims of their own
// making over the client RPC, as a modified client would.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// seqOPAQUE skips Argon2id on the client: it costs a third of a second
// per login and is the client's own business, not the node's.
var seqOPAQUE = opaque.Config{KSF: opaque.Identity{}}

// seqCtx is the bound of one test's calls.
func seqCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// seqNode is where a node process serves clients, and its domain.
type seqNode struct{ addr, fp, domain string }

// seqAccount registers user at node n, logs in on a fresh connection and
// publishes fresh keys; it returns the account and the login's export key.
func seqAccount(t *testing.T, n seqNode, user string) (*client.Account, []byte) {
	t.Helper()
	ctx := seqCtx(t)
	c, err := client.Dial(ctx, n.addr, transport.Trust{Pin: n.fp}, nil)
	if err != nil {
		t.Fatalf("%s dials the node: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	pw := []byte("password of " + user)
	if _, err := c.Register(ctx, seqOPAQUE, n.domain, user, pw); err != nil {
		t.Fatalf("register %s: %v", user, err)
	}
	_, export, err := c.Login(ctx, seqOPAQUE, n.domain, user, pw)
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	a := &client.Account{Client: c, Domain: n.domain, User: user, Keys: keys}
	if err := a.Publish(ctx); err != nil {
		t.Fatalf("publish %s: %v", user, err)
	}
	return a, export
}

// seqMember is an account with its chat engine, reading its mailbox by
// fetch (sync) so that the test decides when messages are handled.
type seqMember struct {
	t      *testing.T
	a      *client.Account
	export []byte
	dir    string
	e      *chat.Engine
	after  uint64
}

func newSeqMember(t *testing.T, n seqNode, user string) *seqMember {
	t.Helper()
	a, export := seqAccount(t, n, user)
	m := &seqMember{t: t, a: a, export: export, dir: t.TempDir()}
	m.open()
	return m
}

// open starts the engine on the member's state directory.
func (m *seqMember) open() {
	m.t.Helper()
	e, err := chat.Open(chat.Options{Dir: m.dir, Account: m.a, ExportKey: m.export})
	if err != nil {
		m.t.Fatalf("%s opens its chat: %v", m.a.User, err)
	}
	// Nobody reads the events here; draining them keeps the engine's
	// queue from growing.
	go func() {
		for range e.Events() {
		}
	}()
	m.t.Cleanup(func() { e.Close() })
	if err := e.Connected(seqCtx(m.t), m.a.Client); err != nil {
		m.t.Fatalf("%s connected: %v", m.a.User, err)
	}
	m.e = e
}

// sync handles everything in the mailbox, in bounded rounds.
func (m *seqMember) sync() {
	m.t.Helper()
	ctx := seqCtx(m.t)
	for range 100 {
		msgs, err := m.a.Client.Fetch(ctx, m.after, 100)
		if err != nil {
			m.t.Fatalf("%s fetch: %v", m.a.User, err)
		}
		if len(msgs) == 0 {
			return
		}
		h := m.e.Handle(ctx, msgs)
		if h != msgs[len(msgs)-1].Seq {
			m.t.Fatalf("%s handled up to %d of %d", m.a.User, h, msgs[len(msgs)-1].Seq)
		}
		if _, err := m.a.Client.Ack(ctx, h); err != nil {
			m.t.Fatal(err)
		}
		m.after = h
	}
	m.t.Fatalf("%s: the mailbox did not empty in 100 rounds", m.a.User)
}

// syncUntil handles the mailbox until cond holds, which federation may
// take a moment to bring about, failing the test after 20 s.
func (m *seqMember) syncUntil(what string, cond func() bool) {
	m.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for m.sync(); !cond(); m.sync() {
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: no %s within 20 s", m.a.User, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (m *seqMember) find(name string) chatdb.Conversation {
	m.t.Helper()
	c, err := m.e.Find(name)
	if err != nil {
		m.t.Fatalf("%s: %v", m.a.User, err)
	}
	return c
}

// texts returns the chat lines of conv as "user: text".
func (m *seqMember) texts(conv chatdb.ConvID) []string {
	m.t.Helper()
	ms, err := m.e.History(conv, 0)
	if err != nil {
		m.t.Fatal(err)
	}
	var out []string
	for _, msg := range ms {
		if !msg.System {
			out = append(out, strings.SplitN(msg.From, "@", 2)[0]+": "+msg.Text)
		}
	}
	return out
}

// send sends text to conv and fails the test if it does not go out.
func (m *seqMember) send(conv chatdb.ConvID, text string) {
	m.t.Helper()
	if _, err := m.e.Send(seqCtx(m.t), conv, text); err != nil {
		m.t.Fatalf("%s sends: %v", m.a.User, err)
	}
}

// mlsState stops the engine to read the MLS state of group as the account
// holds it on disk, as the owner of the account can, and starts it again.
func (m *seqMember) mlsState(group string) *mls.Group {
	m.t.Helper()
	conv := m.find(group)
	if err := m.e.Close(); err != nil {
		m.t.Fatal(err)
	}
	db, err := chatdb.Open(chatdb.Path(m.dir, m.a.Address()), m.export)
	if err != nil {
		m.t.Fatal(err)
	}
	var g *mls.Group
	err = db.View(func(tx *chatdb.Tx) error {
		st, err := tx.GroupState(conv.ID)
		if err != nil {
			return err
		}
		g, err = mls.LoadGroup(st, nil)
		return err
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		m.t.Fatalf("%s reads the state of %s: %v", m.a.User, group, err)
	}
	m.open()
	return g
}

// seqSameEpoch checks that the members hold group in one epoch with one
// epoch authenticator and one member list, and returns the epoch.
func seqSameEpoch(t *testing.T, group string, ms ...*seqMember) uint64 {
	t.Helper()
	var epoch uint64
	var auth []byte
	var members []string
	for i, m := range ms {
		conv := m.find(group)
		ep, au, err := m.e.GroupEpoch(conv.ID)
		if err != nil {
			t.Fatalf("%s: %v", m.a.User, err)
		}
		if i == 0 {
			epoch, auth, members = ep, au, conv.Members
			continue
		}
		if ep != epoch || string(au) != string(auth) || !slices.Equal(conv.Members, members) {
			t.Fatalf("fork: %s at epoch %d with %v, %s at epoch %d with %v",
				ms[0].a.User, epoch, members, m.a.User, ep, conv.Members)
		}
	}
	return epoch
}

// forgedClaim claims epoch of group for a junk commit, proven with the key
// of seed (a member's epoch key seed, or one made up) and naming a next
// key that only the claim's maker knows: accepted, it would hand the
// group's following epoch to the attacker.
func forgedClaim(t *testing.T, seed, group []byte, epoch uint64) client.CommitClaim {
	t.Helper()
	k, err := commitclaim.Key(seed)
	if err != nil {
		t.Fatal(err)
	}
	nextSeed := sha256.Sum256(append([]byte("the attacker's next key "), seed...))
	next, err := commitclaim.Key(nextSeed[:])
	if err != nil {
		t.Fatal(err)
	}
	junk, nextKey := []byte("junk, not an MLS commit"), commitclaim.Public(next)
	return client.CommitClaim{Group: group, Epoch: epoch, Commit: junk, Key: commitclaim.Public(k),
		Proof: commitclaim.Sign(k, group, epoch, junk, nextKey), NextKey: nextKey}
}

// orderString shows a commit order without the commits' bytes.
func orderString(o protocol.CommitOrder) string {
	return fmt.Sprintf("accepted %v, next epoch %d, %d commits handed back", o.Accepted, o.Next, len(o.Missing))
}

// metricsAddr returns where node n, started with --metrics-listen
// 127.0.0.1:0, serves its metrics, as it logs it.
func metricsAddr(t *testing.T, n *fedNode) string {
	t.Helper()
	rec, ok := n.waitLog(10*time.Second, func(r map[string]any) bool { return r["msg"] == "serving metrics" })
	if !ok {
		t.Fatalf("node %s does not serve metrics; logs:\n%s", n.domain, n.Logs())
	}
	u, err := url.Parse(fmt.Sprint(rec["addr"]))
	if err != nil || u.Host == "" {
		t.Fatalf("metrics address %v: %v", rec["addr"], err)
	}
	return u.Host
}

// scrapeCounter reads the counter name with every one of labels (`k="v"`)
// from the node's Prometheus endpoint at addr; a series not yet
// written is 0.
func scrapeCounter(t *testing.T, addr, name string, labels ...string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping the node's metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		series, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(series, name+"{") {
			continue
		}
		if !slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(series, l) }) {
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", sc.Text(), err)
			}
			return v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestStrangersAndExMembersCannotFreezeAGroupAtANodeProcess is the
// audit's attack on a real node process: mallory, registered but never in
// the group, and carol, removed from it and holding her last epoch's key,
// claim the group's next epoch, epoch 2^64-2 and a stale epoch with junk.
// Every claim is refused with ErrBadCommitClaim (the node counts each as
// badCommitClaim and accepts none), and the group then still commits
// (alice adds dave) and its members converge and read alice.
func TestStrangersAndExMembersCannotFreezeAGroupAtANodeProcess(t *testing.T) {
	t.Parallel()
	p := startFedNode(t, domain1, t.TempDir(), "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0")
	metrics := metricsAddr(t, p)
	ctx := seqCtx(t)
	n := seqNode{p.addr, p.fp, domain1}

	alice, bob, carol := newSeqMember(t, n, "alice"), newSeqMember(t, n, "bob"), newSeqMember(t, n, "carol")
	mallory, _ := seqAccount(t, n, "mallory")
	team, err := alice.e.CreateGroup(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	honest := 0 // commits the node should accept: one per change below
	for _, m := range []*seqMember{bob, carol} {
		if err := alice.e.Invite(ctx, team.ID, m.a.User); err != nil {
			t.Fatalf("alice invites %s: %v", m.a.User, err)
		}
		honest++
		m.sync()
		if err := m.e.Join(ctx, m.find("#team").ID); err != nil {
			t.Fatalf("%s joins: %v", m.a.User, err)
		}
	}
	bob.sync()
	seqSameEpoch(t, "#team", alice, bob, carol)

	// carol keeps what a member knows before she is removed: her last
	// epoch's state and its sequencer key.
	carolState := carol.mlsState("#team")
	carolKey, err := chat.EpochKey(carolState)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.e.Remove(ctx, team.ID, "carol"); err != nil {
		t.Fatalf("alice removes carol: %v", err)
	}
	honest++
	bob.sync()
	carol.sync()
	next := seqSameEpoch(t, "#team", alice, bob)
	if next != carolState.Epoch()+1 {
		t.Fatalf("the group is at epoch %d after removing carol at %d", next, carolState.Epoch())
	}
	if _, _, err := carol.e.GroupEpoch(carol.find("#team").ID); !errors.Is(err, chat.ErrLeft) {
		t.Fatalf("carol after her removal: %v, want ErrLeft", err)
	}
	group := alice.find("#team").GroupID
	acceptedBefore := scrapeCounter(t, metrics, "qpc_mls_commits_total", `outcome="accepted"`)
	if acceptedBefore != float64(honest) {
		t.Fatalf("the node accepted %v commits before the attack, want alice's %d", acceptedBefore, honest)
	}

	malloryKey := sha256.Sum256([]byte("a key mallory made up"))
	carolMadeUp := sha256.Sum256([]byte("a key carol made up"))
	attacks := []struct {
		name  string
		who   *client.Client
		claim client.CommitClaim
	}{
		{"mallory, never a member, claims the next epoch", mallory.Client, forgedClaim(t, malloryKey[:], group, next)},
		{"mallory claims epoch 2^64-2", mallory.Client, forgedClaim(t, malloryKey[:], group, math.MaxUint64-1)},
		{"mallory claims stale epoch 0 to fish for the kept commits", mallory.Client, forgedClaim(t, malloryKey[:], group, 0)},
		{"mallory claims the next epoch with carol's old key", mallory.Client, forgedClaim(t, carolKey.Seed(), group, next)},
		{"carol, removed, claims the next epoch with her last epoch's key", carol.a.Client, forgedClaim(t, carolKey.Seed(), group, next)},
		{"carol claims epoch 2^64-2 with her last epoch's key", carol.a.Client, forgedClaim(t, carolKey.Seed(), group, math.MaxUint64-1)},
		{"carol claims the next epoch with a made-up key", carol.a.Client, forgedClaim(t, carolMadeUp[:], group, next)},
		{"carol claims stale epoch 0 with her last epoch's key", carol.a.Client, forgedClaim(t, carolKey.Seed(), group, 0)},
		{"carol claims her last epoch with a made-up key", carol.a.Client, forgedClaim(t, carolMadeUp[:], group, carolState.Epoch())},
	}
	for _, tc := range attacks {
		o, err := tc.who.OrderCommit(ctx, "", tc.claim)
		if !errors.Is(err, protocol.ErrBadCommitClaim) || o.Accepted || len(o.Missing) > 0 {
			t.Errorf("%s: %s, %v; want ErrBadCommitClaim and no commits", tc.name, orderString(o), err)
		}
	}
	// A claim of carol's own last epoch under its real key is a member's
	// claim of an epoch already taken: it is not accepted, and it hands
	// her only the commit that removed her, which her mailbox brought.
	o, err := carol.a.Client.OrderCommit(ctx, "", forgedClaim(t, carolKey.Seed(), group, carolState.Epoch()))
	if err != nil || o.Accepted || o.Next != next || len(o.Missing) != 1 {
		t.Errorf("carol claims her last epoch with its key: %s, %v; want a lost epoch, next %d, 1 commit",
			orderString(o), err, next)
	}

	refused := scrapeCounter(t, metrics, "qpc_rpc_calls_total", `method="orderCommit"`, `result="badCommitClaim"`)
	accepted := scrapeCounter(t, metrics, "qpc_mls_commits_total", `outcome="accepted"`)
	if refused != float64(len(attacks)) || accepted != acceptedBefore {
		t.Errorf("the node counts %v orderCommit calls refused as badCommitClaim and %v commits accepted; want %d and %v",
			refused, accepted, len(attacks), acceptedBefore)
	}
	if bad := scrapeCounter(t, metrics, "qpc_mls_commits_total", `outcome="bad-claim"`); bad != float64(len(attacks)) {
		t.Errorf("the sequencer counts %v claims as bad-claim, want the %d attacks", bad, len(attacks))
	}

	// The group is not frozen: alice adds dave, everyone converges on the
	// epoch after, and alice's message reaches bob and dave.
	dave := newSeqMember(t, n, "dave")
	if err := alice.e.Invite(ctx, team.ID, "dave"); err != nil {
		t.Fatalf("alice adds dave after the attack: %v", err)
	}
	honest++
	dave.sync()
	if err := dave.e.Join(ctx, dave.find("#team").ID); err != nil {
		t.Fatalf("dave joins: %v", err)
	}
	bob.sync()
	if got := seqSameEpoch(t, "#team", alice, bob, dave); got != next+1 {
		t.Fatalf("the group is at epoch %d after adding dave, want %d", got, next+1)
	}
	if got := alice.find("#team").Members; !slices.Equal(got, []string{
		"alice@" + domain1, "bob@" + domain1, "dave@" + domain1}) {
		t.Errorf("alice's members after the attack: %v", got)
	}
	alice.send(team.ID, "still ours")
	for _, m := range []*seqMember{bob, dave} {
		m.sync()
		if got := m.texts(m.find("#team").ID); !slices.Contains(got, "alice: still ours") {
			t.Errorf("%s reads %q, want alice's message", m.a.User, got)
		}
	}
	carol.sync()
	if got := carol.texts(carol.find("#team").ID); slices.Contains(got, "alice: still ours") {
		t.Errorf("carol, removed, reads %q", got)
	}
	if accepted := scrapeCounter(t, metrics, "qpc_mls_commits_total", `outcome="accepted"`); accepted != float64(honest) {
		t.Errorf("the node accepted %v commits in all, want alice's %d", accepted, honest)
	}
}

// TestAnExMemberOnAPeerNodeCannotFreezeAGroupThroughFederation is the
// same attack from another node of the community: the group's home is n1
// (alice's and bob's node); carol, a member on n2 until alice removes her,
// and mallory, a stranger on n2, send their claims to their own node
// naming n1 as the home, and n2 passes them on over federation. Every
// claim comes back refused with ErrBadCommitClaim (n2 counts each as
// badCommitClaim) and n1 accepts none; the group then still commits (bob updates his key) and
// alice and bob converge.
func TestAnExMemberOnAPeerNodeCannotFreezeAGroupThroughFederation(t *testing.T) {
	t.Parallel()
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	flags := federationFlags(t, d1, d2)
	n2 := startFedNode(t, d2, t.TempDir(), "127.0.0.1:0", append(flags[d2], "--metrics-listen", "127.0.0.1:0")...)
	n1 := startFedNode(t, d1, t.TempDir(), "127.0.0.1:0",
		append(flags[d1], "--peer", n2.addr, "--metrics-listen", "127.0.0.1:0")...)
	metrics1, metrics2 := metricsAddr(t, n1), metricsAddr(t, n2)
	if _, ok := linkEvent(t, n1.logProc, 0, 30*time.Second, "federation link up", d2); !ok {
		t.Fatalf("n1 did not link to n2; n1:\n%s\nn2:\n%s", n1.Logs(), n2.Logs())
	}
	home, peer := seqNode{n1.addr, n1.fp, d1}, seqNode{n2.addr, n2.fp, d2}
	ctx := seqCtx(t)

	alice, bob, carol := newSeqMember(t, home, "alice"), newSeqMember(t, home, "bob"), newSeqMember(t, peer, "carol")
	mallory, _ := seqAccount(t, peer, "mallory")
	g, err := alice.e.CreateGroup(ctx, "fed")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.e.Invite(ctx, g.ID, "bob"); err != nil {
		t.Fatalf("alice invites bob: %v", err)
	}
	bob.sync()
	if err := bob.e.Join(ctx, bob.find("#fed").ID); err != nil {
		t.Fatalf("bob joins: %v", err)
	}
	if err := alice.e.Invite(ctx, g.ID, "carol@"+d2); err != nil {
		t.Fatalf("alice invites carol on n2: %v", err)
	}
	carol.syncUntil("invitation to #fed", func() bool { _, err := carol.e.Find("#fed"); return err == nil })
	if err := carol.e.Join(ctx, carol.find("#fed").ID); err != nil {
		t.Fatalf("carol joins: %v", err)
	}
	bob.sync()
	seqSameEpoch(t, "#fed", alice, bob, carol)
	if h := carol.find("#fed").Home; !strings.EqualFold(h, d1) {
		t.Fatalf("carol's #fed has its home at %q, want %s", h, d1)
	}

	carolState := carol.mlsState("#fed")
	carolKey, err := chat.EpochKey(carolState)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.e.Remove(ctx, g.ID, "carol@"+d2); err != nil {
		t.Fatalf("alice removes carol: %v", err)
	}
	bob.sync()
	carol.syncUntil("removal from #fed", func() bool {
		_, _, err := carol.e.GroupEpoch(carol.find("#fed").ID)
		return errors.Is(err, chat.ErrLeft)
	})
	next := seqSameEpoch(t, "#fed", alice, bob)
	if next != carolState.Epoch()+1 {
		t.Fatalf("the group is at epoch %d after removing carol at %d", next, carolState.Epoch())
	}
	const honest = 3 // bob's and carol's invitations, carol's removal
	if got := scrapeCounter(t, metrics1, "qpc_mls_commits_total", `outcome="accepted"`); got != honest {
		t.Fatalf("n1 accepted %v commits before the attack, want alice's %d", got, honest)
	}

	group := alice.find("#fed").GroupID
	madeUp := sha256.Sum256([]byte("a key made up on n2"))
	attacks := []struct {
		name  string
		who   *client.Client
		claim client.CommitClaim
	}{
		{"mallory on n2 claims the next epoch", mallory.Client, forgedClaim(t, madeUp[:], group, next)},
		{"mallory on n2 claims epoch 2^64-2", mallory.Client, forgedClaim(t, madeUp[:], group, math.MaxUint64-1)},
		{"mallory on n2 claims stale epoch 0", mallory.Client, forgedClaim(t, madeUp[:], group, 0)},
		{"carol on n2, removed, claims the next epoch with her last epoch's key", carol.a.Client, forgedClaim(t, carolKey.Seed(), group, next)},
		{"carol on n2 claims epoch 2^64-2 with her last epoch's key", carol.a.Client, forgedClaim(t, carolKey.Seed(), group, math.MaxUint64-1)},
		{"carol on n2 claims her last epoch with a made-up key", carol.a.Client, forgedClaim(t, madeUp[:], group, carolState.Epoch())},
	}
	for _, tc := range attacks {
		o, err := tc.who.OrderCommit(ctx, d1, tc.claim)
		if !errors.Is(err, protocol.ErrBadCommitClaim) || o.Accepted || len(o.Missing) > 0 {
			t.Errorf("%s: %s, %v; want ErrBadCommitClaim and no commits", tc.name, orderString(o), err)
		}
	}
	// n2 answered its clients' calls with n1's refusal; n1, the home,
	// accepted nothing more.
	refused := scrapeCounter(t, metrics2, "qpc_rpc_calls_total", `method="orderCommit"`, `result="badCommitClaim"`)
	accepted := scrapeCounter(t, metrics1, "qpc_mls_commits_total", `outcome="accepted"`)
	if refused != float64(len(attacks)) || accepted != honest {
		t.Errorf("n2 answered %v orderCommit calls with badCommitClaim and n1 accepted %v commits; want %d and %d",
			refused, accepted, len(attacks), honest)
	}
	// n1's sequencer counts them as bad claims: the home sees who tries.
	if bad := scrapeCounter(t, metrics1, "qpc_mls_commits_total", `outcome="bad-claim"`); bad != float64(len(attacks)) {
		t.Errorf("n1's sequencer counts %v claims as bad-claim, want the %d attacks", bad, len(attacks))
	}

	// The group is not frozen: bob commits a key update, alice follows,
	// and alice's message reaches bob.
	if err := bob.e.UpdateKey(ctx, bob.find("#fed").ID); err != nil {
		t.Fatalf("bob updates his key after the attack: %v", err)
	}
	alice.sync()
	if got := seqSameEpoch(t, "#fed", alice, bob); got != next+1 {
		t.Fatalf("the group is at epoch %d after bob's update, want %d", got, next+1)
	}
	alice.send(g.ID, "still ours")
	bob.sync()
	if got := bob.texts(bob.find("#fed").ID); !slices.Contains(got, "alice: still ours") {
		t.Errorf("bob reads %q, want alice's message", got)
	}
}
