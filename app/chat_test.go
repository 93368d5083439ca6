package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/mls"
)

// chatter is an account with its chat engine, reading its mailbox by
// fetch (sync) so that a test decides when messages are handled.
type chatter struct {
	t     testing.TB
	a     *client.Account
	e     *chat.Engine
	after uint64
	dir   string

	mu     sync.Mutex
	events []chat.Event
}

func newChatter(t testing.TB, n *running, name string) *chatter {
	t.Helper()
	a := newAccount(t, n, name)
	return openChatter(t, a, t.TempDir())
}

func openChatter(t testing.TB, a *client.Account, dir string) *chatter {
	return openChatterLog(t, a, dir, testLogger(t))
}

func openChatterLog(t testing.TB, a *client.Account, dir string, log *slog.Logger) *chatter {
	t.Helper()
	return openChatterOpts(t, a, chat.Options{Dir: dir, Log: log})
}

// openChatterOpts opens a's chat engine with o, its account and export key
// filled in.
func openChatterOpts(t testing.TB, a *client.Account, o chat.Options) *chatter {
	t.Helper()
	key := sha256.Sum256([]byte("export key of " + a.Address()))
	o.Account, o.ExportKey = a, key[:]
	dir := o.Dir
	e, err := chat.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	ch := &chatter{t: t, a: a, e: e, dir: dir}
	go func() {
		for ev := range e.Events() {
			ch.mu.Lock()
			ch.events = append(ch.events, ev)
			ch.mu.Unlock()
		}
	}()
	t.Cleanup(func() { e.Close() })
	if err := e.Connected(ctxT(t), a.Client); err != nil {
		t.Fatalf("%s connected: %v", a.Address(), err)
	}
	return ch
}

// sync handles everything in the mailbox.
func (c *chatter) sync() {
	c.t.Helper()
	ctx := ctxT(c.t)
	for {
		msgs, err := c.a.Client.Fetch(ctx, c.after, 100)
		if err != nil {
			c.t.Fatalf("%s fetch: %v", c.a.Address(), err)
		}
		if len(msgs) == 0 {
			return
		}
		h := c.e.Handle(ctx, msgs)
		if h != msgs[len(msgs)-1].Seq {
			c.t.Fatalf("%s handled up to %d of %d", c.a.Address(), h, msgs[len(msgs)-1].Seq)
		}
		if _, err := c.a.Client.Ack(ctx, h); err != nil {
			c.t.Fatal(err)
		}
		c.after = h
	}
}

func (c *chatter) find(name string) chatdb.Conversation {
	c.t.Helper()
	conv, err := c.e.Find(name)
	if err != nil {
		c.t.Fatalf("%s: %v", c.a.Address(), err)
	}
	return conv
}

// texts returns the chat lines (not system lines) of conv as "from: text".
func (c *chatter) texts(conv chatdb.ConvID) []string {
	c.t.Helper()
	ms, err := c.e.History(conv, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if !m.System {
			out = append(out, strings.SplitN(m.From, "@", 2)[0]+": "+m.Text)
		}
	}
	return out
}

func (c *chatter) send(conv chatdb.ConvID, text string) chatdb.Message {
	c.t.Helper()
	m, err := c.e.Send(ctxT(c.t), conv, text)
	if err != nil {
		c.t.Fatalf("%s send: %v", c.a.Address(), err)
	}
	return m
}

func (c *chatter) statuses() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []string
	for _, ev := range c.events {
		if ev.Status != "" {
			s = append(s, ev.Status)
		}
	}
	return s
}

// sameSuite checks that every member's group is in cipher suite want.
func sameSuite(t testing.TB, group string, want mls.CipherSuiteID, cs ...*chatter) {
	t.Helper()
	for _, c := range cs {
		got, err := c.e.GroupSuite(c.find(group).ID)
		if err != nil || got != want {
			t.Fatalf("%s: %s is in suite %v (%v), want %v", c.a.Address(), group, got, err, want)
		}
	}
}

// sameEpoch checks that every member's group is in one epoch with one
// epoch authenticator and one member list: no fork.
func sameEpoch(t testing.TB, group string, cs ...*chatter) uint64 {
	t.Helper()
	var epoch uint64
	var auth []byte
	var members []string
	for i, c := range cs {
		conv := c.find(group)
		ep, au, err := c.e.GroupEpoch(conv.ID)
		if err != nil {
			t.Fatalf("%s: %v", c.a.Address(), err)
		}
		if i == 0 {
			epoch, auth, members = ep, au, conv.Members
			continue
		}
		if ep != epoch || !bytes.Equal(au, auth) || !slices.Equal(conv.Members, members) {
			t.Fatalf("fork: %s at epoch %d members %v, %s at epoch %d members %v (authenticators equal: %v)",
				cs[0].a.Address(), epoch, members, c.a.Address(), ep, conv.Members, bytes.Equal(au, auth))
		}
	}
	return epoch
}

func TestChatGroupAcrossTwoFederatedNodes(t *testing.T) {
	c := newCommunity(t)
	n1 := start(t, c.federated("n1.example.mesh", ca.IssueOptions{}))
	n2 := start(t, c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String()))
	waitLinks(t, n1, "n2.example.mesh")
	waitLinks(t, n2, "n1.example.mesh")
	sizes := &sizeLog{}
	alice := openChatterLog(t, newAccount(t, n1, "alice"), t.TempDir(), slog.New(sizes))
	bob, carol := newChatter(t, n1, "bob"), newChatter(t, n2, "carol")
	ctx := ctxT(t)

	begin := time.Now()
	g, err := alice.e.CreateGroup(ctx, "friends")
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"bob", "carol@n2.example.mesh"} {
		if err := alice.e.Invite(ctx, g.ID, who); err != nil {
			t.Fatalf("invite %s: %v", who, err)
		}
	}
	for _, m := range []*chatter{bob, carol} {
		m.sync()
		conv := m.find("#friends")
		if !conv.Invited || conv.InvitedBy != "alice@n1.example.mesh" {
			t.Fatalf("%s: invitation %+v", m.a.Address(), conv)
		}
		if err := m.e.Join(ctx, conv.ID); err != nil {
			t.Fatal(err)
		}
	}
	alice.send(g.ID, "hello friends")
	bob.sync()
	carol.sync()
	took := time.Since(begin)
	for _, m := range []*chatter{bob, carol} {
		if got := m.texts(m.find("#friends").ID); !slices.Equal(got, []string{"alice: hello friends"}) {
			t.Fatalf("%s reads %q", m.a.Address(), got)
		}
	}
	t.Logf("group of 3 over two nodes: create, 2 invites, 2 joins, first message read by all: %v", took)
	sameEpoch(t, "#friends", alice, bob, carol)
	// Everyone publishes post-quantum KeyPackages, so the group is in the
	// post-quantum suite, at every member.
	sameSuite(t, "#friends", mls.MLKEM768X25519AES256GCMSHA384Ed25519, alice, bob, carol)

	// Carol, on the other node, writes; her group's commits are ordered
	// at alice's node (n1), through federation.
	carol.send(carol.find("#friends").ID, "hi from n2")
	if err := carol.e.UpdateKey(ctx, carol.find("#friends").ID); err != nil {
		t.Fatalf("carol's update across federation: %v", err)
	}
	alice.sync()
	bob.sync()
	for _, m := range []*chatter{alice, bob} {
		if got := m.texts(m.find("#friends").ID); !slices.Contains(got, "carol: hi from n2") {
			t.Fatalf("%s reads %q", m.a.Address(), got)
		}
	}
	sameEpoch(t, "#friends", alice, bob, carol)

	// Removing carol gives the group new keys; she is told, and what
	// follows is not even sent to her.
	if err := alice.e.Remove(ctx, g.ID, "carol@n2.example.mesh"); err != nil {
		t.Fatal(err)
	}
	alice.send(g.ID, "carol is gone")
	bob.sync()
	carol.sync()
	if got := bob.texts(bob.find("#friends").ID); !slices.Contains(got, "alice: carol is gone") {
		t.Fatalf("bob reads %q", got)
	}
	cc := carol.find("#friends")
	if !cc.Left {
		t.Fatalf("carol's group after removal: %+v", cc)
	}
	if got := carol.texts(cc.ID); slices.Contains(got, "alice: carol is gone") {
		t.Fatalf("carol read a message sent after her removal: %q", got)
	}
	if err := carol.e.UpdateKey(ctx, cc.ID); err == nil {
		t.Fatal("carol still commits in a group she was removed from")
	}
	sameEpoch(t, "#friends", alice, bob)
	sameSuite(t, "#friends", mls.MLKEM768X25519AES256GCMSHA384Ed25519, alice, bob)
	for _, l := range sizes.lines() {
		t.Log("alice's", l)
	}
}

// sizeLog keeps the engine's debug lines about MLS message sizes.
type sizeLog struct {
	mu sync.Mutex
	ls []string
}

func (s *sizeLog) Enabled(context.Context, slog.Level) bool { return true }
func (s *sizeLog) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, "mls ") {
		return nil
	}
	line := r.Message
	r.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	s.mu.Lock()
	s.ls = append(s.ls, line)
	s.mu.Unlock()
	return nil
}
func (s *sizeLog) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *sizeLog) WithGroup(string) slog.Handler      { return s }
func (s *sizeLog) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ls)
}

func TestChatARestartedEngineKeepsItsHistoryAndItsGroups(t *testing.T) {
	n := start(t, testConfig(t))
	alice, bob := newChatter(t, n, "alice"), newChatter(t, n, "bob")
	ctx := ctxT(t)
	g, err := alice.e.CreateGroup(ctx, "crew")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.e.Invite(ctx, g.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	bob.sync()
	if err := bob.e.Join(ctx, bob.find("#crew").ID); err != nil {
		t.Fatal(err)
	}
	alice.send(g.ID, "before the restart")
	bob.sync()

	// Bob's machine restarts: the engine is opened again from its files.
	bob.e.Close()
	bob = openChatter(t, bob.a, bob.dir)
	bob.after = 0
	if got := bob.texts(bob.find("#crew").ID); !slices.Equal(got, []string{"alice: before the restart"}) {
		t.Fatalf("history after restart: %q", got)
	}
	bob.send(bob.find("#crew").ID, "after the restart")
	if err := bob.e.UpdateKey(ctx, bob.find("#crew").ID); err != nil {
		t.Fatal(err)
	}
	alice.sync()
	alice.send(g.ID, "welcome back")
	bob.sync()
	if got := alice.texts(g.ID); !slices.Equal(got, []string{"alice: before the restart", "bob: after the restart", "alice: welcome back"}) {
		t.Fatalf("alice: %q", got)
	}
	if got := bob.texts(bob.find("#crew").ID); !slices.Equal(got, []string{"alice: before the restart", "bob: after the restart", "alice: welcome back"}) {
		t.Fatalf("bob: %q", got)
	}
	sameEpoch(t, "#crew", alice, bob)
}

func TestChatTwoMembersCommittingAtOnceDoNotForkTheGroup(t *testing.T) {
	c := newCommunity(t)
	cfg1 := c.federated("n1.example.mesh", ca.IssueOptions{})
	cfg1.MetricsListen = "127.0.0.1:0"
	n1 := start(t, cfg1)
	n2 := start(t, c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String()))
	waitLinks(t, n1, "n2.example.mesh")
	waitLinks(t, n2, "n1.example.mesh")
	alice, bob, carol := newChatter(t, n1, "alice"), newChatter(t, n1, "bob"), newChatter(t, n2, "carol")
	ctx := ctxT(t)
	g, err := alice.e.CreateGroup(ctx, "race")
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"bob", "carol@n2.example.mesh"} {
		if err := alice.e.Invite(ctx, g.ID, who); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*chatter{bob, carol} {
		m.sync()
		if err := m.e.Join(ctx, m.find("#race").ID); err != nil {
			t.Fatal(err)
		}
	}
	start := sameEpoch(t, "#race", alice, bob, carol)

	// Bob (on n1) and carol (on n2, ordering through federation) commit at
	// the same moment, from the same epoch, over and over.
	const rounds = 5
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, m := range []*chatter{bob, carol} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = m.e.UpdateKey(ctx, m.find("#race").ID)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: commit %d: %v", r, i, err)
			}
		}
		alice.sync()
		bob.sync()
		carol.sync()
		if got := sameEpoch(t, "#race", alice, bob, carol); got != start+uint64(2*(r+1)) {
			t.Fatalf("round %d: epoch %d, want %d: a commit was lost", r, got, start+uint64(2*(r+1)))
		}
	}
	// The race really happened: the home node refused claims, and the
	// losers' commits still landed (the epochs above).
	var refused int
	for _, line := range strings.Split(scrapeMetrics(t, n1), "\n") {
		if v, ok := strings.CutPrefix(line, `qpc_mls_commits_total{outcome="refused"} `); ok {
			refused, _ = strconv.Atoi(v)
		}
	}
	if refused == 0 {
		t.Fatalf("no claim was refused in %d rounds of simultaneous commits: the test did not race", rounds)
	}
	t.Logf("%d claims refused over %d rounds of simultaneous commits, each rebased by its loser", refused, rounds)

	// The group still works for everyone.
	bob.send(bob.find("#race").ID, "still one group")
	alice.sync()
	carol.sync()
	for _, m := range []*chatter{alice, carol} {
		if got := m.texts(m.find("#race").ID); !slices.Contains(got, "bob: still one group") {
			t.Fatalf("%s reads %q", m.a.Address(), got)
		}
	}
}

func TestChatDMBothWaysAndSimultaneousDMsConverge(t *testing.T) {
	n := start(t, testConfig(t))
	alice, bob := newChatter(t, n, "alice"), newChatter(t, n, "bob")
	ctx := ctxT(t)
	// Both start the DM at once: two groups, and both keep the same one.
	var wg sync.WaitGroup
	for _, p := range [][2]any{{alice, "bob"}, {bob, "alice"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p[0].(*chatter).e.DM(ctx, p[1].(string)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	alice.sync()
	bob.sync()
	ad, bd := alice.find("@bob"), bob.find("@alice")
	if !bytes.Equal(ad.GroupID, bd.GroupID) {
		t.Fatalf("alice's DM group %x, bob's %x", ad.GroupID, bd.GroupID)
	}
	alice.send(ad.ID, "hi bob")
	bob.sync()
	bob.send(bd.ID, "hi alice")
	alice.sync()
	if got := bob.texts(bd.ID); !slices.Equal(got, []string{"alice: hi bob", "bob: hi alice"}) {
		t.Fatalf("bob's DM: %q", got)
	}
	if got := alice.texts(ad.ID); !slices.Equal(got, []string{"alice: hi bob", "bob: hi alice"}) {
		t.Fatalf("alice's DM: %q", got)
	}
	// The DM to oneself stays on this machine.
	note, err := alice.e.DM(ctx, "alice")
	if err != nil || note.Kind != chatdb.KindNote {
		t.Fatalf("note: %+v %v", note, err)
	}
	alice.send(note.ID, "buy milk")
	if got := alice.texts(note.ID); !slices.Equal(got, []string{"alice: buy milk"}) {
		t.Fatalf("note: %q", got)
	}
}

func TestChatMessagesQueuedOfflineLeaveOnceOnReconnect(t *testing.T) {
	n := start(t, testConfig(t))
	alice, bob := newChatter(t, n, "alice"), newChatter(t, n, "bob")
	ctx := ctxT(t)
	dm, err := alice.e.DM(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	bob.sync()
	alice.e.Disconnected()
	for _, text := range []string{"one", "two", "three"} {
		if m := alice.send(dm.ID, text); m.Status != chatdb.StatusQueued {
			t.Fatalf("offline send %q: status %d", text, m.Status)
		}
	}
	bob.sync()
	if got := bob.texts(bob.find("@alice").ID); len(got) != 0 {
		t.Fatalf("bob got %q while alice was offline", got)
	}
	if err := alice.e.Connected(ctx, alice.a.Client); err != nil {
		t.Fatal(err)
	}
	// Connecting again sends nothing twice.
	if err := alice.e.Connected(ctx, alice.a.Client); err != nil {
		t.Fatal(err)
	}
	bob.sync()
	if got := bob.texts(bob.find("@alice").ID); !slices.Equal(got, []string{"alice: one", "alice: two", "alice: three"}) {
		t.Fatalf("bob got %q", got)
	}
	for _, m := range mustHistory(t, alice, dm.ID) {
		// bob is on alice's node: its receipt with a mailbox seq is
		// delivery.
		if !m.System && m.Status != chatdb.StatusDelivered {
			t.Fatalf("alice's %q is %s, want delivered", m.Text, m.Status)
		}
	}
}

func mustHistory(t testing.TB, c *chatter, conv chatdb.ConvID) []chatdb.Message {
	t.Helper()
	ms, err := c.e.History(conv, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestChatSafetyNumbersMatchAndAChangedKeyOfAVerifiedContactIsFlagged(t *testing.T) {
	n := start(t, testConfig(t))
	alice, bob := newChatter(t, n, "alice"), newChatter(t, n, "bob")
	ctx := ctxT(t)
	an, _, err := alice.e.SafetyNumber(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	bn, _, err := bob.e.SafetyNumber(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if an != bn || len(strings.ReplaceAll(an, " ", "")) != 60 {
		t.Fatalf("alice sees %q, bob sees %q", an, bn)
	}
	if err := bob.e.Verify(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, ct, _ := bob.e.SafetyNumber(ctx, "alice"); !ct.Verified || ct.KeyChanged {
		t.Fatalf("after verifying: %+v", ct)
	}

	// Alice gets new keys (a new machine); bob's next run sees the change.
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	alice.a.Keys = keys
	if err := alice.a.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	bob.e.Close()
	fresh := &client.Account{Client: bob.a.Client, Domain: bob.a.Domain, User: bob.a.User, Keys: bob.a.Keys}
	bob2 := openChatter(t, fresh, bob.dir)
	n2, ct, err := bob2.e.SafetyNumber(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if n2 == bn || !ct.KeyChanged || !ct.Verified {
		t.Fatalf("after alice's key changed: number changed %v, contact %+v", n2 != bn, ct)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.ContainsFunc(bob2.statuses(), func(s string) bool { return strings.Contains(s, "CHANGED") }) {
		if time.Now().After(deadline) {
			t.Fatalf("no loud warning: %q", bob2.statuses())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
