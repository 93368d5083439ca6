package node_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/node/storetest"
	"github.com/quicprochat/qpc/protocol"
)

// These tests drive the service's logic, each refusal and bound that a
// client meets, on the in-memory store.

// loggedIn registers user and returns a connection logged in as user, from
// a source address of its own (by its first letter) so that no
// registration throttle is shared.
func loggedIn(t *testing.T, f *fixture, user string) *node.Conn {
	t.Helper()
	c := f.conn(t, fmt.Sprintf("192.0.2.%d:1", user[0]))
	must(t, register(c, user))
	if _, err := login(c, user); err != nil {
		t.Fatalf("login of %s: %v", user, err)
	}
	return c
}

// send enqueues payloads to rcpt on c and returns the receipts.
func send(t *testing.T, c *node.Conn, rcpt string, payloads ...string) []protocol.Receipt {
	t.Helper()
	var msgs []protocol.Outgoing
	for _, p := range payloads {
		msgs = append(msgs, protocol.Outgoing{Recipient: rcpt, Payload: []byte(p)})
	}
	rs, _, err := c.Enqueue(context.Background(), msgs)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return rs
}

func TestMessagesArriveInOrderAndAnAckRemovesThemOnce(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	alice, bob := loggedIn(t, f, "alice"), loggedIn(t, f, "bob")
	rs := send(t, alice, "bob", "one", "two")
	rs = append(rs, send(t, alice, "bob@"+strings.ToUpper(domain), "three")...)
	for i, r := range rs {
		if r.Err != nil || r.Seq != uint64(i+1) {
			t.Errorf("receipt %d: %+v, want seq %d", i, r, i+1)
		}
	}
	got, err := bob.Fetch(0, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("Fetch: %d messages, %v", len(got), err)
	}
	for i, want := range []string{"one", "two", "three"} {
		if string(got[i].Payload) != want || got[i].Seq != uint64(i+1) {
			t.Errorf("message %d: seq %d %q, want %q", i, got[i].Seq, got[i].Payload, want)
		}
		if want := f.clock.now().Add(node.DefaultLimits().DefaultTTL); !got[i].Expires.Equal(want) {
			t.Errorf("message %d expires %s, want the default TTL from now (%s)", i, got[i].Expires, want)
		}
	}
	if n, err := bob.Ack(2); err != nil || n != 2 {
		t.Fatalf("Ack(2) = %d, %v", n, err)
	}
	if n, err := bob.Ack(2); err != nil || n != 0 {
		t.Errorf("Ack(2) again = %d, %v; want nothing left to remove", n, err)
	}
	if got, _ := bob.Fetch(0, 0); len(got) != 1 || got[0].Seq != 3 {
		t.Errorf("after the ack: %+v, want only message 3", got)
	}
	if mine, err := alice.Fetch(0, 0); err != nil || len(mine) != 0 {
		t.Errorf("alice's mailbox: %d, %v; want empty", len(mine), err)
	}
}

func TestEnqueueRefusesEachBadMessageAloneAndBadBatchesWhole(t *testing.T) {
	f := newFixture(t, node.Limits{MaxPayload: 8, MaxTTL: time.Hour, DefaultTTL: time.Minute, MaxBatch: 4},
		memstore.Options{Limits: node.MailboxLimits{MaxMessages: 2}})
	alice := loggedIn(t, f, "alice")
	loggedIn(t, f, "bob")
	ctx := context.Background()
	msgs := []protocol.Outgoing{
		{Recipient: "bob", Payload: []byte("fine")},
		{Recipient: "nobody", Payload: []byte("x")},
		{Recipient: "bob", Payload: []byte("123456789")},
		{Recipient: "bob", Payload: []byte("x"), TTL: 2 * time.Hour},
	}
	rs, _, err := alice.Enqueue(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{nil, protocol.ErrUnknownUser, protocol.ErrPayloadTooLarge, protocol.ErrTTLTooLong} {
		if !errors.Is(rs[i].Err, want) || (want == nil && rs[i].Err != nil) {
			t.Errorf("message %d: %v, want %v", i, rs[i].Err, want)
		}
	}
	for _, m := range []protocol.Outgoing{
		{Recipient: "bob", Payload: nil},
		{Recipient: "Bob Smith", Payload: []byte("x")},
	} {
		if rs, _, err := alice.Enqueue(ctx, []protocol.Outgoing{m}); err != nil || !errors.Is(rs[0].Err, protocol.ErrBadRequest) {
			t.Errorf("Enqueue(%+v) = %+v, %v; want ErrBadRequest in the receipt", m, rs, err)
		}
	}
	if rs, _, err := alice.Enqueue(ctx, []protocol.Outgoing{{Recipient: "bob@other.mesh", Payload: []byte("x")}}); err != nil || !errors.Is(rs[0].Err, protocol.ErrUnknownDomain) {
		t.Errorf("to another domain without federation: %+v, %v; want ErrUnknownDomain", rs, err)
	}
	// Bob holds 1 of 2: the second fits, the third is refused.
	if rs := send(t, alice, "bob", "2nd", "3rd"); rs[0].Err != nil || !errors.Is(rs[1].Err, protocol.ErrMailboxFull) {
		t.Errorf("filling bob's mailbox: %+v, want the second refused with ErrMailboxFull", rs)
	}
	for _, batch := range [][]protocol.Outgoing{nil, make([]protocol.Outgoing, 5)} {
		if _, _, err := alice.Enqueue(ctx, batch); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("a batch of %d: %v, want ErrBadRequest", len(batch), err)
		}
	}
	anon := f.conn(t, "192.0.2.99:1")
	if _, _, err := anon.Enqueue(ctx, msgs[:1]); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("Enqueue before login: %v, want ErrUnauthenticated", err)
	}
	if _, err := anon.Fetch(0, 1); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("Fetch before login: %v, want ErrUnauthenticated", err)
	}
}

func TestAConnectionEnqueuesNoFasterThanItsBurstThenItsRate(t *testing.T) {
	f := newFixture(t, node.Limits{EnqueueBurst: 3, EnqueueRate: 1}, memstore.Options{})
	alice := loggedIn(t, f, "alice")
	loggedIn(t, f, "bob")
	send(t, alice, "bob", "1", "2")
	if _, _, err := alice.Enqueue(context.Background(), []protocol.Outgoing{{Recipient: "bob", Payload: []byte("3")}, {Recipient: "bob", Payload: []byte("4")}}); !errors.Is(err, protocol.ErrRateLimited) {
		t.Fatalf("two more after a burst of 3 spent 2: %v, want ErrRateLimited", err)
	}
	if n, _, _ := f.st.Depth("bob"); n != 2 {
		t.Errorf("a refused batch stored something: bob holds %d", n)
	}
	send(t, alice, "bob", "3")
	f.clock.add(2 * time.Second)
	if rs := send(t, alice, "bob", "4", "5"); rs[1].Err != nil || rs[1].Seq != 5 {
		t.Errorf("after two seconds at one a second: %+v", rs)
	}
}

func TestASessionResumesUntilItExpiresAndAForgedTokenNever(t *testing.T) {
	f := newFixture(t, node.Limits{SessionTTL: time.Hour}, memstore.Options{})
	c := f.conn(t, "192.0.2.1:1")
	must(t, register(c, "alice"))
	tok, err := login(c, "alice")
	must(t, err)
	again := f.conn(t, "192.0.2.1:2")
	if s, err := again.ResumeSession(tok); err != nil || s.User != "alice" || again.User() != "alice" {
		t.Fatalf("ResumeSession = %+v, %v; user %q", s, err, again.User())
	}
	for _, bad := range [][]byte{nil, tok[:len(tok)-1], make([]byte, len(tok))} {
		if _, err := f.conn(t, "192.0.2.1:3").ResumeSession(bad); !errors.Is(err, protocol.ErrInvalidToken) {
			t.Errorf("ResumeSession of a %d-byte forged token: %v, want ErrInvalidToken", len(bad), err)
		}
	}
	f.clock.add(time.Hour)
	late := f.conn(t, "192.0.2.1:4")
	if _, err := late.ResumeSession(tok); !errors.Is(err, protocol.ErrSessionExpired) {
		t.Errorf("ResumeSession at its expiry: %v, want ErrSessionExpired", err)
	}
	if late.User() != "" {
		t.Errorf("an expired session bound the connection to %q", late.User())
	}
}

func TestKeyPackagesAreHandedOutOnceThenTheLastResortOne(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{MaxKeyPackages: 2})
	alice, bob := loggedIn(t, f, "alice"), loggedIn(t, f, "bob")
	kp1, kp2, last := realKeyPackage(t, mls.X25519AES128GCMSHA256Ed25519), realKeyPackage(t, mls.X25519AES128GCMSHA256Ed25519), realKeyPackage(t, mls.X25519AES128GCMSHA256Ed25519)
	must(t, alice.UploadKeyPackages([][]byte{kp1, kp2}, last))
	if err := alice.UploadKeyPackages([][]byte{realKeyPackage(t, mls.X25519AES128GCMSHA256Ed25519)}, nil); !errors.Is(err, protocol.ErrTooManyKeyPackages) {
		t.Errorf("a third package over a bound of 2: %v, want ErrTooManyKeyPackages", err)
	}
	if n, lastResort, err := alice.KeyPackageCount(0); err != nil || n != 2 || !lastResort {
		t.Errorf("KeyPackageCount = %d, %v, %v; want 2 and a last-resort one", n, lastResort, err)
	}
	ctx := context.Background()
	for i, want := range [][]byte{kp1, kp2, last, last} {
		pkg, lastResort, err := bob.FetchKeyPackage(ctx, "alice", 0)
		if err != nil || string(pkg) != string(want) || lastResort != (i >= 2) {
			t.Errorf("fetch %d: %d bytes, last resort %v, %v", i, len(pkg), lastResort, err)
		}
	}
	if _, _, err := bob.FetchKeyPackage(ctx, "carol", 0); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("a key package of nobody: %v, want ErrUnknownUser", err)
	}
	if _, _, err := alice.FetchKeyPackage(ctx, "bob", 0); !errors.Is(err, protocol.ErrNoKeyPackage) {
		t.Errorf("a key package of a user who uploaded none: %v, want ErrNoKeyPackage", err)
	}
	for _, bad := range [][]byte{{}, []byte("not a key package")} {
		if err := alice.UploadKeyPackages([][]byte{bad}, nil); !errors.Is(err, protocol.ErrBadRequest) {
			t.Errorf("uploading %q: %v, want ErrBadRequest", bad, err)
		}
	}
}

func TestTheNodeOrdersEachEpochsCommitOnce(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	alice, bob := loggedIn(t, f, "alice"), loggedIn(t, f, "bob")
	ctx := context.Background()
	g := []byte("group")
	if o, err := alice.OrderCommit(ctx, "", storetest.Claim(g, 0, storetest.Commit("alice", 0))); err != nil || !o.Accepted || o.Next != 1 {
		t.Fatalf("the first claim: %+v, %v", o, err)
	}
	o, err := bob.OrderCommit(ctx, domain, storetest.Claim(g, 0, storetest.Commit("bob", 0)))
	if err != nil || o.Accepted || o.Next != 1 || len(o.Missing) != 1 || string(o.Missing[0]) != string(storetest.Commit("alice", 0)) {
		t.Errorf("bob's claim of the same epoch: %+v, %v; want alice's commit back", o, err)
	}
	if _, err := bob.OrderCommit(ctx, "", storetest.ClaimBy("mallory", g, 1, []byte("junk"))); !errors.Is(err, protocol.ErrBadCommitClaim) {
		t.Errorf("a claim with another epoch key: %v, want ErrBadCommitClaim", err)
	}
	if _, err := bob.OrderCommit(ctx, "other.mesh", storetest.Claim(g, 1, storetest.Commit("bob", 1))); !errors.Is(err, protocol.ErrUnknownDomain) {
		t.Errorf("a group homed on another node without federation: %v, want ErrUnknownDomain", err)
	}
	anon := f.conn(t, "192.0.2.99:1")
	if _, err := anon.OrderCommit(ctx, "", storetest.Claim(g, 1, storetest.Commit("x", 1))); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("a claim before login: %v, want ErrUnauthenticated", err)
	}
}

func TestMessagesFromTheMeshAreDeliveredOnceByTheirID(t *testing.T) {
	f := newFixture(t, node.Limits{MaxTTL: time.Hour, DefaultTTL: time.Hour}, memstore.Options{})
	bob := loggedIn(t, f, "bob")
	now := f.clock.now()
	m := protocol.NewMessage{Recipient: "bob", Payload: []byte("through the mesh"), Enqueued: now,
		Expires: now.Add(48 * time.Hour), MeshID: storetest.MeshID(1), MeshExpires: now.Add(48 * time.Hour), MeshFrom: "n2.mesh"}
	rs, err := f.svc.DeliverMesh(context.Background(), []protocol.NewMessage{m, m})
	if err != nil {
		t.Fatal(err)
	}
	var seen *protocol.SeenError
	if rs[0].Err != nil || rs[0].Seq != 1 || !errors.As(rs[1].Err, &seen) || seen.State != protocol.SeenDelivered {
		t.Errorf("the same id twice in one call: %+v, want stored once then SeenError(delivered)", rs)
	}
	got, _ := bob.Fetch(0, 0)
	if len(got) != 1 || !got[0].Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("bob got %+v, want one message, its expiry cut to the node's MaxTTL", got)
	}
}
