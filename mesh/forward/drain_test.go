package forward

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/mesh/route"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// These tests drive the engine's drain, receive and expiry logic by hand
// (no Run loop, no QUIC) against fakeLinks and the in-memory store.

// fakeLinks records what the engine hands to neighbours and answers with
// answer, or fails the call with err.
type fakeLinks struct {
	mu      sync.Mutex
	calls   []forwardCall
	answer  func(i int, env *envelope.Envelope) Result
	err     error
	reports []Report
}

type forwardCall struct {
	neighbour string
	envs      []*envelope.Envelope
}

func (l *fakeLinks) Forward(_ context.Context, neighbour string, next []envelope.Next) ([]Result, error) {
	// Recorded as the neighbour reads them.
	envs := make([]*envelope.Envelope, len(next))
	for i, n := range next {
		env, err := n.Decode()
		if err != nil {
			return nil, err
		}
		envs[i] = env
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, forwardCall{neighbour, envs})
	if l.err != nil {
		return nil, l.err
	}
	out := make([]Result, len(envs))
	for i, env := range envs {
		out[i] = l.answer(i, env)
	}
	return out, nil
}

func (l *fakeLinks) Routes(context.Context, string, []route.Advert) error { return nil }

func (l *fakeLinks) Report(_ context.Context, _ string, reports []Report) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reports = append(l.reports, reports...)
	return nil
}

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recordingLocal is the node's service for envelopes to this node: it
// delivers into st as node.Service.DeliverMesh does, and records what
// came.
type recordingLocal struct {
	st  *memstore.Store
	got []protocol.NewMessage
}

func (l *recordingLocal) DeliverMesh(ctx context.Context, msgs []protocol.NewMessage) ([]protocol.Receipt, error) {
	l.got = append(l.got, msgs...)
	return l.st.Enqueue(ctx, msgs)
}

const (
	self = "n1.example.mesh"
	n2   = "n2.example.mesh"
	n3   = "n3.example.mesh"
)

// drainFixture is an engine of n1 whose route to n3 leads through the
// neighbour n2, with links answering answer.
type drainFixture struct {
	e     *Engine
	st    *memstore.Store
	links *fakeLinks
	clock *testClock
	local *recordingLocal
}

func newDrainFixture(t *testing.T, answer func(int, *envelope.Envelope) Result) *drainFixture {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	clk := &testClock{t: time.Now().Truncate(time.Second)}
	_, key, _ := ed25519.GenerateKey(nil)
	local := &recordingLocal{st: st}
	e, err := New(Config{Domain: self, Key: key, Store: st, Local: local, Now: clk.now, Batch: 2, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	links := &fakeLinks{answer: answer}
	e.links = links
	e.LinkUp(n2)
	if err := e.Learn(n2, []route.Advert{{Domain: n2, Hops: 0}, {Domain: n3, Hops: 1}}); err != nil {
		t.Fatal(err)
	}
	return &drainFixture{e: e, st: st, links: links, clock: clk, local: local}
}

// send has alice send payloads to carol@n3 and returns their ids.
func (f *drainFixture) send(t *testing.T, payloads ...string) []protocol.MeshID {
	t.Helper()
	var out []protocol.MeshOutgoing
	for _, p := range payloads {
		out = append(out, protocol.MeshOutgoing{Sender: "alice", Recipient: "carol@" + n3, Payload: []byte(p)})
	}
	var ids []protocol.MeshID
	for i, r := range f.e.Send(context.Background(), out) {
		if r.Err != nil {
			t.Fatalf("Send of %q: %v", payloads[i], r.Err)
		}
		ids = append(ids, r.MeshID)
	}
	return ids
}

// states returns alice's statuses of ids.
func (f *drainFixture) states(t *testing.T, ids []protocol.MeshID) []protocol.MessageStatus {
	t.Helper()
	sts, err := f.e.Status("alice", ids)
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

// heldSeqs returns the seqs held for n3.
func (f *drainFixture) heldSeqs(t *testing.T) []uint64 {
	t.Helper()
	held, err := f.st.Held(n3, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, h := range held {
		seqs = append(seqs, h.Seq)
	}
	return seqs
}

func accept(int, *envelope.Envelope) Result { return Result{Outcome: Accepted} }

func TestADrainForwardsEveryHeldEnvelopeInOrderInBatches(t *testing.T) {
	f := newDrainFixture(t, accept)
	ids := f.send(t, "1", "2", "3")
	if rest := f.e.drain(context.Background(), n3); rest != 0 {
		t.Errorf("drain rests %s, want 0 when all went", rest)
	}
	var got []string
	for _, c := range f.links.calls {
		if c.neighbour != n2 {
			t.Errorf("forwarded to %s, want the next hop %s", c.neighbour, n2)
		}
		for _, env := range c.envs {
			if env.Hops != 1 {
				t.Errorf("envelope %q left with hop count %d, want 1", env.Payload, env.Hops)
			}
			got = append(got, string(env.Payload))
		}
	}
	if len(f.links.calls) != 2 || !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("%d calls carrying %v; want 2 batches (Batch 2) of 1 2 3", len(f.links.calls), got)
	}
	if seqs := f.heldSeqs(t); len(seqs) != 0 || f.e.Pending(n3) {
		t.Errorf("still held %v, pending %v", seqs, f.e.Pending(n3))
	}
	for i, st := range f.states(t, ids) {
		if st.State != protocol.MeshForwarded || st.At != n2 {
			t.Errorf("status %d: %+v, want forwarded at %s", i, st, n2)
		}
		if state, ok, _ := f.st.Seen(ids[i]); !ok || state != protocol.SeenForwarded {
			t.Errorf("seen state of %d: %v %v, want forwarded", i, state, ok)
		}
	}
}

func TestADrainKeepsWhatTheNextHopRefusedAndRestsThen(t *testing.T) {
	f := newDrainFixture(t, func(i int, env *envelope.Envelope) Result {
		if string(env.Payload) == "2" {
			return Result{Outcome: Refused, Err: fmt.Errorf("%w: full", protocol.ErrMeshFull)}
		}
		return Result{Outcome: Accepted}
	})
	f.send(t, "1", "2", "3")
	if rest := f.e.drain(context.Background(), n3); rest != DefaultRetryDelay {
		t.Errorf("drain rests %s, want RetryDelay after a refusal", rest)
	}
	// The refusal ends the drain after its batch (Batch 2): 1 went, 2
	// was refused, 3 waits untried for the rest to pass.
	if seqs := f.heldSeqs(t); !slices.Equal(seqs, []uint64{2, 3}) {
		t.Errorf("held %v, want the refused 2 and the untried 3", seqs)
	}
	if calls := len(f.links.calls); calls != 1 {
		t.Errorf("%d calls, want the drain to stop after the refusing one", calls)
	}
}

func TestADrainDropsWhatTheNextHopRejectsAndTellsTheSenderWhy(t *testing.T) {
	f := newDrainFixture(t, func(int, *envelope.Envelope) Result {
		return Result{Outcome: Rejected, Err: fmt.Errorf("%w: carol", protocol.ErrUnknownUser)}
	})
	ids := f.send(t, "1")
	f.e.drain(context.Background(), n3)
	st := f.states(t, ids)[0]
	if st.State != protocol.MeshDropped || !errors.Is(st.Reason, protocol.ErrUnknownUser) || st.At != n2 {
		t.Errorf("status %+v, want dropped at %s for ErrUnknownUser", st, n2)
	}
	if state, _, _ := f.st.Seen(ids[0]); state != protocol.SeenDropped {
		t.Errorf("seen state %v, want dropped", state)
	}
}

func TestAFailedCallKeepsEverythingAndAWithdrawnRouteCallsNobody(t *testing.T) {
	f := newDrainFixture(t, accept)
	f.links.err = errors.New("stream reset")
	f.send(t, "1", "2")
	if rest := f.e.drain(context.Background(), n3); rest != linkRetry {
		t.Errorf("drain rests %s after a failed call, want %s", rest, linkRetry)
	}
	if seqs := f.heldSeqs(t); !slices.Equal(seqs, []uint64{1, 2}) {
		t.Errorf("held %v after a failed call, want both", seqs)
	}
	f.links.err = nil
	f.e.LinkDown(n2)
	calls := len(f.links.calls)
	if rest := f.e.drain(context.Background(), n3); rest != 0 || len(f.links.calls) != calls {
		t.Errorf("without a route: rest %s, %d more calls; want none", rest, len(f.links.calls)-calls)
	}
	if seqs := f.heldSeqs(t); len(seqs) != 2 {
		t.Errorf("held %v without a route, want both kept", seqs)
	}
}

func TestHeldEnvelopesThatExpireAreDroppedAndTheSenderTold(t *testing.T) {
	f := newDrainFixture(t, accept)
	f.e.LinkDown(n2)
	ids := f.send(t, "1")
	f.clock.add(time.Hour)
	f.e.expire(f.clock.now())
	if seqs := f.heldSeqs(t); len(seqs) != 0 || f.e.Pending(n3) {
		t.Errorf("held %v, pending %v after expiry", seqs, f.e.Pending(n3))
	}
	if st := f.states(t, ids)[0]; st.State != protocol.MeshExpired || !errors.Is(st.Reason, protocol.ErrExpired) {
		t.Errorf("status %+v, want expired", st)
	}
	if got := f.e.Counters()["dropped:expired"]; got != 1 {
		t.Errorf("dropped:expired counts %d, want 1", got)
	}
}

// relayedFrom is an envelope of origin (signed with key) for rcpt as
// the neighbour hands it over on hop hops.
func relayedFrom(t *testing.T, key ed25519.PrivateKey, origin, rcpt, payload string, now time.Time, hops, maxHops uint8) *envelope.Envelope {
	t.Helper()
	env, err := envelope.Sign(key, origin, rcpt, []byte(payload), now, time.Hour, maxHops)
	if err != nil {
		t.Fatal(err)
	}
	env.Hops = hops
	return env
}

func TestReceiveDeliversHoldsAndAnswersRepeatsAsDuplicateOrLooped(t *testing.T) {
	f := newDrainFixture(t, accept)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.st.CreateAccount(node.Account{User: "bob", Created: f.clock.now()}))
	_, key, _ := ed25519.GenerateKey(nil)
	now := f.clock.now()
	forBob := relayedFrom(t, key, "n0.example.mesh", "bob@"+self, "hi bob", now, 2, 8)
	forCarol := relayedFrom(t, key, "n0.example.mesh", "carol@"+n3, "hi carol", now, 2, 8)
	worn := relayedFrom(t, key, "n0.example.mesh", "carol@"+n3, "worn out", now, 3, 3)
	nobody := relayedFrom(t, key, "n0.example.mesh", "nobody@"+self, "lost", now, 2, 8)
	tampered := relayedFrom(t, key, "n0.example.mesh", "carol@"+n3, "genuine", now, 2, 8)
	tampered.Payload = []byte("forged")
	ctx := context.Background()
	got := f.e.Receive(ctx, n2, "n2id", incoming(t, forBob, forCarol, worn, nobody, tampered, nil))
	want := []Outcome{Delivered, Accepted, Rejected, Rejected, Rejected, Rejected}
	for i, r := range got {
		if r.Outcome != want[i] {
			t.Errorf("envelope %d: %v (%v), want %v", i, r.Outcome, r.Err, want[i])
		}
	}
	for i, wantErr := range map[int]error{2: protocol.ErrHopLimit, 3: protocol.ErrUnknownUser, 4: protocol.ErrBadEnvelope, 5: protocol.ErrBadEnvelope} {
		if !errors.Is(got[i].Err, wantErr) {
			t.Errorf("envelope %d: %v, want %v", i, got[i].Err, wantErr)
		}
	}
	if len(f.local.got) != 2 || f.local.got[0].MeshFrom != n2 || f.local.got[0].MeshID != forBob.ID() {
		t.Errorf("delivered locally %+v, want bob's and nobody's with their ids, from %s", f.local.got, n2)
	}
	if msgs, _ := f.st.Fetch("bob", 0, 10); len(msgs) != 1 || string(msgs[0].Payload) != "hi bob" {
		t.Errorf("bob's mailbox: %+v", msgs)
	}
	// Both again: duplicates. Then carol's forwarded on and handed back:
	// a loop.
	again := f.e.Receive(ctx, n2, "n2id", incoming(t, forBob, forCarol))
	if again[0].Outcome != Duplicate || again[1].Outcome != Duplicate {
		t.Errorf("the same envelopes again: %+v, want duplicates", again)
	}
	f.e.drain(ctx, n3)
	if looped := f.e.Receive(ctx, n2, "n2id", incoming(t, forCarol)); looped[0].Outcome != Looped {
		t.Errorf("an envelope this node forwarded, handed back: %+v, want looped", looped[0])
	}
}

func TestAnEnvelopeForADeviceIsDeliveredToThatDevicesQueue(t *testing.T) {
	f := newDrainFixture(t, accept)
	const desk = "00000000000000dd"
	if err := f.st.CreateAccount(node.Account{User: "bob", Created: f.clock.now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.PutKeys("bob", protocol.PublishedKeys{IdentityKey: []byte{1}, HPKEKey: []byte{2}, Signature: []byte{3}},
		node.Devices{Primary: "00000000000000aa", Current: []string{"00000000000000aa", desk}}); err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	env := relayedFrom(t, key, "n0.example.mesh", "bob#"+desk+"@"+self, "for the desk", f.clock.now(), 2, 8)
	if got := f.e.Receive(context.Background(), n2, "n2id", incoming(t, env)); got[0].Outcome != Delivered {
		t.Fatalf("the envelope for bob's desk: %v (%v)", got[0].Outcome, got[0].Err)
	}
	if msgs, _ := f.st.Fetch("bob#"+desk, 0, 10); len(msgs) != 1 || string(msgs[0].Payload) != "for the desk" {
		t.Errorf("the desk's queue: %+v", msgs)
	}
	if msgs, _ := f.st.Fetch("bob", 0, 10); len(msgs) != 0 {
		t.Errorf("the primary's queue got %d messages", len(msgs))
	}
}
