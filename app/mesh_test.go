package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
)

func init() {
	meshExpireInterval = 100 * time.Millisecond
}

// mesh is a community of nodes on loopback linked as a graph.
type mesh struct {
	t     testing.TB
	c     *community
	nodes map[string]*running
	cfgs  map[string]config.Node
	down  map[string]bool // stopped nodes
}

// domainOf names test node i.
func meshDomain(i int) string { return fmt.Sprintf("n%d.example.mesh", i) }

// newMesh starts nodes n1..nN, node b dialing node a for each edge {a, b}
// with a < b, and waits for every link and for every node to have a
// route to every other.
func newMesh(t testing.TB, nodes int, edges [][2]int, tweak func(i int, cfg *config.Node)) *mesh {
	t.Helper()
	m := &mesh{t: t, c: newCommunity(t), nodes: map[string]*running{}, cfgs: map[string]config.Node{}, down: map[string]bool{}}
	for i := 1; i <= nodes; i++ {
		var peers []string
		for _, e := range edges {
			if e[1] == i {
				peers = append(peers, m.nodes[meshDomain(e[0])].Addr().String())
			}
		}
		cfg := m.c.federated(meshDomain(i), ca.IssueOptions{}, peers...)
		if tweak != nil {
			tweak(i, &cfg)
		}
		m.cfgs[cfg.Domain] = cfg
		m.nodes[cfg.Domain] = start(t, cfg)
	}
	for i := 1; i <= nodes; i++ {
		var linked []string
		for _, e := range edges {
			if e[0] == i {
				linked = append(linked, meshDomain(e[1]))
			}
			if e[1] == i {
				linked = append(linked, meshDomain(e[0]))
			}
		}
		waitLinks(t, m.n(i), linked...)
	}
	for i := 1; i <= nodes; i++ {
		for j := 1; j <= nodes; j++ {
			if i != j {
				m.waitRoute(i, meshDomain(j))
			}
		}
	}
	return m
}

func (m *mesh) n(i int) *running { return m.nodes[meshDomain(i)] }

// waitRoute polls until node i has a route to domain.
func (m *mesh) waitRoute(i int, domain string) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, ok := m.n(i).mesh.NextHop(domain); ok {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s has no route to %s: %+v", meshDomain(i), domain, m.n(i).mesh.Table().Routes(time.Now()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restart stops node i and starts it again on the same port and data.
func (m *mesh) restart(i int) {
	m.t.Helper()
	m.stop(i)
	m.begin(i)
}

func (m *mesh) stop(i int) {
	m.t.Helper()
	n := m.n(i)
	cfg := m.cfgs[n.cfg.Domain]
	cfg.Listen = n.Addr().String()
	m.cfgs[n.cfg.Domain] = cfg
	n.wait(m.t)
	m.down[n.cfg.Domain] = true
	// The others see its links go at once (it closes them), but not in
	// the same instant.
	deadline := time.Now().Add(10 * time.Second)
	for d, o := range m.nodes {
		if m.down[d] {
			continue
		}
		for {
			up := false
			for _, l := range o.Federation().Links() {
				up = up || l.Domain == n.cfg.Domain && l.State == protocol.LinkUp
			}
			if !up {
				break
			}
			if time.Now().After(deadline) {
				m.t.Fatalf("%s still has a link to %s", d, n.cfg.Domain)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (m *mesh) begin(i int) {
	m.t.Helper()
	d := meshDomain(i)
	m.nodes[d] = start(m.t, m.cfgs[d])
	delete(m.down, d)
}

// waitStatus polls the sender's node until each id has state want.
func waitStatus(t testing.TB, a *client.Account, want protocol.MeshState, ids ...protocol.MeshID) []protocol.MessageStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := a.Client.MessageStatus(ctxT(t), ids)
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for _, s := range st {
			done = done && s.State == want
		}
		if done {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("statuses %+v, want all %s", st, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noPlaintext checks that no node's database holds any of secrets.
func (m *mesh) noPlaintext(secrets ...string) {
	m.t.Helper()
	for d, n := range m.nodes {
		db, err := os.ReadFile(filepath.Join(n.cfg.StorePath(), store.FileName))
		if err != nil {
			m.t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(db), s) {
				m.t.Errorf("%s's database holds plaintext %q", d, s)
			}
		}
	}
}

func chain(n int) [][2]int {
	var e [][2]int
	for i := 1; i < n; i++ {
		e = append(e, [2]int{i, i + 1})
	}
	return e
}

func TestAMessageCrossesAChainThroughANodeNotLinkedToEither(t *testing.T) {
	checkLeaks(t)
	m := newMesh(t, 3, chain(3), nil)
	alice := newAccount(t, m.n(1), "alice")
	carol := newAccount(t, m.n(3), "carol")
	in := subscribe(t, carol, 0)
	ctx := ctxT(t)

	// alice's node has no link to n3: it finds carol's keys through n2
	// and sends the message into the mesh.
	r, err := alice.SendText(ctx, carol.Address(), "through the middle")
	if err != nil {
		t.Fatal(err)
	}
	if r.MeshID == (protocol.MeshID{}) || r.QueuedAt != meshDomain(1) || r.Seq != 0 {
		t.Fatalf("receipt %+v, want one queued in the mesh at n1", r)
	}
	got := in.wait(t, 1)
	if string(got[0].Body) != "through the middle" || !got[0].Verified || got[0].From != alice.Address() {
		t.Errorf("carol got %+v", got[0])
	}
	st := waitStatus(t, alice, protocol.MeshDelivered, r.MeshID)
	if st[0].At != meshDomain(3) || st[0].Recipient != carol.Address() {
		t.Errorf("status %+v, want delivered at n3 to carol", st[0])
	}
	// Nobody else may read it.
	bob := newAccount(t, m.n(2), "bob")
	if st, _ := bob.Client.MessageStatus(ctx, []protocol.MeshID{r.MeshID}); st[0].State != protocol.MeshUnknown {
		t.Errorf("another user sees the status: %+v", st[0])
	}
	for i := 1; i <= 3; i++ {
		if held, _ := m.n(i).store.MeshStats(); held.Envelopes != 0 {
			t.Errorf("%s still holds %d envelopes", meshDomain(i), held.Envelopes)
		}
	}
	m.noPlaintext("through the middle")
}

func TestAPartitionedRecipientGetsEveryMessageOnceAndInOrder(t *testing.T) {
	m := newMesh(t, 3, chain(3), nil)
	alice := newAccount(t, m.n(1), "alice")
	bob := newAccount(t, m.n(2), "bob")
	carol := newAccount(t, m.n(3), "carol")
	ctx := ctxT(t)
	// Sealed while carol's keys can be found; sent while n3 is down.
	seal := func(a *client.Account, count int) []client.Outgoing {
		msgs := make([]client.Outgoing, count)
		for i := range msgs {
			out, _, err := a.Seal(ctx, carol.Address(), 1, []byte(fmt.Sprintf("%s %03d", a.User, i)))
			if err != nil {
				t.Fatal(err)
			}
			msgs[i] = out
		}
		return msgs
	}
	fromAlice, fromBob := seal(alice, 100), seal(bob, 10)
	send := func(a *client.Account, out client.Outgoing) protocol.MeshID {
		r, err := a.Client.Enqueue(ctx, out)
		if err != nil || r.MeshID == (protocol.MeshID{}) {
			t.Fatalf("%s: %+v, %v; want it queued in the mesh", a.User, r, err)
		}
		return r.MeshID
	}

	m.stop(3)
	var ids []protocol.MeshID
	for _, out := range fromBob {
		send(bob, out) // these wait on n2's disk
	}
	for i, out := range fromAlice {
		if i == len(fromAlice)/2 {
			m.restart(2) // the middle node restarts with envelopes on its disk
			bob = login(t, m.n(2), bob)
		}
		ids = append(ids, send(alice, out))
	}
	held := map[string]int{}
	for i := 1; i <= 2; i++ {
		st, err := m.n(i).store.MeshStats()
		if err != nil {
			t.Fatal(err)
		}
		held[meshDomain(i)] = st.Envelopes
	}
	t.Logf("while n3 is down: %v envelopes held", held)
	if held[meshDomain(1)]+held[meshDomain(2)] != 110 || held[meshDomain(2)] < 10 {
		t.Fatalf("held %v, want 110 in all and bob's 10 on n2", held)
	}

	m.begin(3)
	carol = login(t, m.n(3), carol)
	subscribe(t, carol, 0).wait(t, 110)
	time.Sleep(500 * time.Millisecond) // room for a duplicate to show up
	got := subscribe(t, carol, 0).wait(t, 110)
	if len(got) != 110 {
		t.Fatalf("carol got %d messages, want 110", len(got))
	}
	next := map[string]int{}
	for _, g := range got {
		if !g.Verified {
			t.Fatalf("unverified message %+v", g)
		}
		user := strings.Fields(string(g.Body))[0]
		if want := fmt.Sprintf("%s %03d", user, next[user]); string(g.Body) != want {
			t.Fatalf("carol got %q after %d of %s's, want %q", g.Body, next[user], user, want)
		}
		next[user]++
	}
	if next["alice"] != 100 || next["bob"] != 10 {
		t.Errorf("carol got %v", next)
	}
	waitStatus(t, alice, protocol.MeshDelivered, ids...)
}

// sendAll sends one message from every node to a user on every other node
// straight into the mesh (not by a direct relay), and checks that each is
// delivered exactly once and that no envelope is left anywhere.
func sendAll(t testing.TB, m *mesh, nodes int) {
	t.Helper()
	ctx := ctxT(t)
	for j := 1; j <= nodes; j++ {
		newAccount(t, m.n(j), "user")
	}
	for i := 1; i <= nodes; i++ {
		var out []protocol.MeshOutgoing
		for j := 1; j <= nodes; j++ {
			if i != j {
				out = append(out, protocol.MeshOutgoing{Sender: "user", Recipient: "user@" + meshDomain(j),
					Payload: []byte(fmt.Sprintf("from %d to %d", i, j))})
			}
		}
		for k, r := range m.n(i).mesh.Send(ctx, out) {
			if r.Err != nil {
				t.Fatalf("n%d → %s: %v", i, out[k].Recipient, r.Err)
			}
		}
	}
	for j := 1; j <= nodes; j++ {
		deadline := time.Now().Add(30 * time.Second)
		for {
			msgs, err := m.n(j).store.Fetch("user", 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) == nodes-1 || time.Now().After(deadline) {
				seen := map[string]bool{}
				for _, msg := range msgs {
					if seen[string(msg.Payload)] {
						t.Errorf("n%d got %q twice", j, msg.Payload)
					}
					seen[string(msg.Payload)] = true
				}
				if len(msgs) != nodes-1 {
					t.Errorf("n%d got %d messages, want %d", j, len(msgs), nodes-1)
				}
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond) // room for anything still circulating
	for i := 1; i <= nodes; i++ {
		st, err := m.n(i).store.MeshStats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Envelopes != 0 {
			t.Errorf("n%d still holds %d envelopes", i, st.Envelopes)
		}
		c := m.n(i).mesh.Counters()
		if c["looped"] != 0 || c["duplicate"] != 0 {
			t.Errorf("n%d counters %v: an envelope went round", i, c)
		}
		if msgs, _ := m.n(i).store.Fetch("user", 0, 1000); len(msgs) != nodes-1 {
			t.Errorf("n%d's mailbox has %d messages later, want %d", i, len(msgs), nodes-1)
		}
	}
}

func TestInARingEveryEnvelopeArrivesOnceAndNoneCirculates(t *testing.T) {
	m := newMesh(t, 4, [][2]int{{1, 2}, {2, 3}, {3, 4}, {1, 4}}, nil)
	sendAll(t, m, 4)
	m3 := newMesh(t, 3, [][2]int{{1, 2}, {2, 3}, {1, 3}}, nil)
	sendAll(t, m3, 3)
}

func TestInAFullMeshOfFiveEveryEnvelopeArrivesOnce(t *testing.T) {
	var edges [][2]int
	for i := 1; i <= 5; i++ {
		for j := i + 1; j <= 5; j++ {
			edges = append(edges, [2]int{i, j})
		}
	}
	m := newMesh(t, 5, edges, nil)
	sendAll(t, m, 5)
}

func TestAnEnvelopeWhoseTTLRunsOutIsDroppedAndTheSenderSeesIt(t *testing.T) {
	m := newMesh(t, 2, chain(2), func(i int, cfg *config.Node) { cfg.MetricsListen = "127.0.0.1:0" })
	alice := newAccount(t, m.n(1), "alice")
	ctx := ctxT(t)
	// Nobody serves n9: the envelope waits at n1 until its TTL runs out.
	r, err := alice.Client.Enqueue(ctx, client.Outgoing{Recipient: "zoe@n9.example.mesh", Payload: []byte("x"), TTL: time.Second})
	if err != nil || r.MeshID == (protocol.MeshID{}) {
		t.Fatalf("receipt %+v, %v", r, err)
	}
	st := waitStatus(t, alice, protocol.MeshExpired, r.MeshID)
	if !errors.Is(st[0].Reason, protocol.ErrExpired) || st[0].At != meshDomain(1) {
		t.Errorf("status %+v, want expired at n1", st[0])
	}
	waitMetrics(t, m.n(1), func(text string) bool {
		return strings.Contains(text, `qpc_mesh_dropped_total{reason="expired"} 1`)
	})
}

func TestTheHopLimitStopsForwarding(t *testing.T) {
	m := newMesh(t, 3, chain(3), nil)
	alice := newAccount(t, m.n(1), "alice")
	carol := newAccount(t, m.n(3), "carol")
	ctx := ctxT(t)
	out, _, err := alice.Seal(ctx, carol.Address(), 1, []byte("too far"))
	if err != nil {
		t.Fatal(err)
	}
	out.MaxHops = 1 // n1 → n2 is the one hop; n2 may not forward it
	r, err := alice.Client.Enqueue(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, alice, protocol.MeshDropped, r.MeshID)
	if !errors.Is(st[0].Reason, protocol.ErrHopLimit) {
		t.Errorf("status %+v, want dropped for the hop limit", st[0])
	}
	if c := m.n(1).mesh.Counters(); c["dropped:hop-limit"] != 1 {
		t.Errorf("n1 counters %v, want one drop for the hop limit", c)
	}
	if msgs, _ := m.n(3).store.Fetch("carol", 0, 10); len(msgs) != 0 {
		t.Errorf("carol got %d messages", len(msgs))
	}
}

func TestTamperedEnvelopesAreRejectedAndCounted(t *testing.T) {
	m := newMesh(t, 2, chain(2), nil)
	newAccount(t, m.n(1), "alice")
	n1, n2 := m.n(1), m.n(2)
	ctx := ctxT(t)
	now := time.Now()
	sign := func(key ed25519.PrivateKey, origin string) *envelope.Envelope {
		e, err := envelope.Sign(key, origin, "alice@"+meshDomain(1), []byte("sealed"), now, time.Hour, 8)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	honest := sign(n2.key.Private, meshDomain(2))

	payload := *honest // payload changed after signing
	payload.Payload = []byte("tampered")
	payload.Hops = 1
	resigned := sign(otherKey, meshDomain(2)) // n2's domain, another key
	resigned.Hops = 1
	claimed := sign(n2.key.Private, meshDomain(9)) // first hop claiming another origin
	claimed.Hops = 1
	unraised := *honest // the sender did not count its hop
	good := *honest
	good.Hops = 1

	results, err := n2.Federation().Forward(ctx, meshDomain(1), nextOf(t, &payload, resigned, claimed, &unraised, &good, &good))
	if err != nil {
		t.Fatal(err)
	}
	want := []forward.Outcome{forward.Rejected, forward.Rejected, forward.Rejected, forward.Rejected, forward.Delivered, forward.Duplicate}
	for i, r := range results {
		if r.Outcome != want[i] {
			t.Errorf("envelope %d: %s (%v), want %s", i, r.Outcome, r.Err, want[i])
		}
		if r.Outcome == forward.Rejected && !errors.Is(r.Err, protocol.ErrBadEnvelope) {
			t.Errorf("envelope %d rejected with %v, want ErrBadEnvelope", i, r.Err)
		}
	}
	if c := n1.mesh.Counters(); c["dropped:bad-envelope"] != 4 || c["delivered"] != 1 || c["duplicate"] != 1 {
		t.Errorf("n1 counters %v", c)
	}
	if msgs, _ := n1.store.Fetch("alice", 0, 10); len(msgs) != 1 || string(msgs[0].Payload) != "sealed" {
		t.Errorf("alice's mailbox: %+v", msgs)
	}
}

func TestAFullStoreRefusesNewEnvelopesAndEvictsNothing(t *testing.T) {
	m := newMesh(t, 2, chain(2), func(i int, cfg *config.Node) {
		cfg.MeshStoreBytes = 8 << 10
		cfg.MeshDomainBytes = 8 << 10
		cfg.MeshOriginBytes = 8 << 10
	})
	alice := newAccount(t, m.n(1), "alice")
	ctx := ctxT(t)
	var held, refused []protocol.MeshID
	for i := 0; i < 20; i++ {
		// Each message its own bytes: a store commits within a
		// millisecond, and the same bytes to the same recipient in the
		// same millisecond are one message to the mesh (mesh/forward).
		payload := make([]byte, 1000)
		payload[0] = byte(i)
		r, err := alice.Client.Enqueue(ctx, client.Outgoing{Recipient: "zoe@n9.example.mesh", Payload: payload})
		switch {
		case err == nil && r.MeshID != (protocol.MeshID{}):
			held = append(held, r.MeshID)
		case errors.Is(err, protocol.ErrMeshFull) || errors.Is(r.Err, protocol.ErrMeshFull):
			refused = append(refused, protocol.MeshID{})
		default:
			t.Fatalf("message %d: %+v, %v", i, r, err)
		}
	}
	if len(held) == 0 || len(refused) == 0 {
		t.Fatalf("%d held and %d refused; the bound should fall between", len(held), len(refused))
	}
	st, err := m.n(1).store.MeshStats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Envelopes != len(held) || st.Bytes > 8<<10 || st.MaxBytes != 8<<10 {
		t.Errorf("store holds %d envelopes (%d bytes), want the %d accepted within 8 KiB", st.Envelopes, st.Bytes, len(held))
	}
	c := m.n(1).mesh.Counters()
	if c["refused:store-full"] != uint64(len(refused)) || c["held"] != uint64(len(held)) {
		t.Errorf("counters %v, want %d held and %d refused", c, len(held), len(refused))
	}
	for k := range c {
		if strings.HasPrefix(k, "dropped") {
			t.Errorf("something was dropped: %v", c)
		}
	}
	waitStatus(t, alice, protocol.MeshQueued, held...)
}

// BenchmarkDeliveryAfterARouteAppears measures DESIGN §8's store-and-
// forward budget: a message waits at n1 while carol's node n3 is down;
// from the moment n1 has a route to n3 again (n3 restarted and linked to
// n2, which advertised it) to the message being in carol's mailbox.
//
//	go test -run '^$' -bench DeliveryAfterARouteAppears -benchtime 5x ./app
func BenchmarkDeliveryAfterARouteAppears(b *testing.B) {
	m := newMesh(b, 3, chain(3), nil)
	for i := 1; i <= 3; i++ {
		newAccount(b, m.n(i), "user")
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		m.stop(3)
		for {
			if _, ok := m.n(1).mesh.NextHop(meshDomain(3)); !ok {
				break
			}
			time.Sleep(time.Millisecond)
		}
		payload := fmt.Sprintf("round %d", i)
		r := m.n(1).mesh.Send(context.Background(), []protocol.MeshOutgoing{{Sender: "user", Recipient: "user@" + meshDomain(3), Payload: []byte(payload)}})
		if r[0].Err != nil {
			b.Fatal(r[0].Err)
		}
		m.begin(3)
		var appeared time.Time
		for {
			if _, ok := m.n(1).mesh.NextHop(meshDomain(3)); ok {
				appeared = time.Now()
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		for {
			msgs, err := m.n(3).store.Fetch("user", 0, 1000)
			if err != nil {
				b.Fatal(err)
			}
			if len(msgs) > 0 && string(msgs[len(msgs)-1].Payload) == payload {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		total += time.Since(appeared)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/delivery")
}

// nextOf returns envs as a forward call sends them, hop counts as they
// are: the tests play a neighbour that counted (or failed to count) its
// hop.
func nextOf(t *testing.T, envs ...*envelope.Envelope) []envelope.Next {
	t.Helper()
	out := make([]envelope.Next, len(envs))
	for i, e := range envs {
		n, err := envelope.NextOf(e)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = n
	}
	return out
}
