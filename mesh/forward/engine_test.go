package forward

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// unusedLocal stands in for the node's service where a test delivers
// nothing; it fails the test if called.
type unusedLocal struct{ t *testing.T }

func (l unusedLocal) DeliverMesh(context.Context, []protocol.NewMessage) ([]protocol.Receipt, error) {
	l.t.Error("DeliverMesh called")
	return nil, nil
}

// newEngine returns an engine of n1.example.mesh with cfg on an
// in-memory store (node/storetest holds it to node/store's semantics).
func newEngine(t *testing.T, cfg Config) (*Engine, *memstore.Store) {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	_, key, _ := ed25519.GenerateKey(nil)
	cfg.Domain, cfg.Key, cfg.Store, cfg.Local = "n1.example.mesh", key, st, unusedLocal{t}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

func TestSendCapsTTLAndHopsAtTheNodesAndHoldsInOrder(t *testing.T) {
	e, st := newEngine(t, Config{TTL: time.Hour, MaxHops: 3})
	cases := []struct {
		ttl      time.Duration
		hops     uint8
		wantTTL  time.Duration
		wantHops uint8
	}{
		{0, 0, time.Hour, 3},
		{2 * time.Hour, 10, time.Hour, 3},
		{30 * time.Minute, 2, 30 * time.Minute, 2},
		{1500 * time.Millisecond, 1, 2 * time.Second, 1},
	}
	var out []protocol.MeshOutgoing
	for i, c := range cases {
		out = append(out, protocol.MeshOutgoing{Sender: "alice", Recipient: "carol@n3.example.mesh", Payload: []byte{byte(i)}, TTL: c.ttl, MaxHops: c.hops})
	}
	// The same message twice in one millisecond is one envelope.
	out = append(out, out[0])
	receipts := e.Send(context.Background(), out)
	for i, r := range receipts[:len(cases)] {
		if r.Err != nil || r.QueuedAt != "n1.example.mesh" || r.MeshID == (protocol.MeshID{}) {
			t.Fatalf("receipt %d: %+v", i, r)
		}
	}
	if err := receipts[len(cases)].Err; !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("the same message again: %v, want ErrBadRequest", err)
	}
	if !e.Pending("n3.example.mesh") {
		t.Error("nothing pending for n3")
	}
	held, err := st.Held("n3.example.mesh", 0, 10)
	if err != nil || len(held) != len(cases) {
		t.Fatalf("held %d, %v", len(held), err)
	}
	for i, h := range held {
		env, err := envelope.Unmarshal(h.Data)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Verify(time.Now()); err != nil {
			t.Errorf("envelope %d: %v", i, err)
		}
		if env.TTL != cases[i].wantTTL || env.MaxHops != cases[i].wantHops || env.OriginDomain != "n1.example.mesh" {
			t.Errorf("envelope %d: TTL %s, max hops %d, origin %s; want %s, %d", i, env.TTL, env.MaxHops, env.OriginDomain, cases[i].wantTTL, cases[i].wantHops)
		}
	}
	st2, err := e.Status("alice", []protocol.MeshID{held[0].ID})
	if err != nil || st2[0].State != protocol.MeshQueued || st2[0].At != "n1.example.mesh" {
		t.Errorf("status %+v, %v", st2, err)
	}
}

func TestSendRefusesWhatCannotBeAnEnvelope(t *testing.T) {
	e, _ := newEngine(t, Config{})
	r := e.Send(context.Background(), []protocol.MeshOutgoing{
		{Sender: "alice", Recipient: "carol", Payload: []byte("x")},
		{Sender: "alice", Recipient: "carol@n3.example.mesh"},
	})
	for i, rr := range r {
		if rr.Err == nil || rr.MeshID != (protocol.MeshID{}) {
			t.Errorf("receipt %d: %+v, want an error", i, rr)
		}
	}
	if e.Pending("n3.example.mesh") {
		t.Error("a refused message is pending")
	}
}

func TestReasonNamesAndOutcomes(t *testing.T) {
	// The words are metric label values (qpc_mesh_dropped_total,
	// qpc_mesh_refused_total) that docs and dashboards name.
	for err, want := range map[error]string{
		protocol.ErrExpired: "expired", protocol.ErrHopLimit: "hop-limit", protocol.ErrMeshFull: "store-full",
		protocol.ErrBadEnvelope: "bad-envelope", protocol.ErrUnknownUser: "unknown-user", protocol.ErrNeighbourQuota: "neighbour-quota",
		protocol.ErrMailboxFull: "mailbox-full", protocol.ErrRateLimited: "rate-limited", protocol.ErrUnknownDomain: "unknown-domain",
		protocol.ErrShuttingDown: "shutting-down", protocol.ErrPeerUnreachable: "link", errNotReady: "link",
		nodeError(signed.ErrBadSignature): "bad-envelope", nodeError(signed.ErrExpired): "expired",
		signed.ErrBadSignature: "bad-envelope", signed.ErrMalformed: "bad-envelope", signed.ErrVersion: "bad-envelope",
		signed.ErrCreatedInFuture: "bad-envelope", signed.ErrExpired: "expired", signed.ErrHopLimit: "hop-limit",
		envelope.ErrRecipient: "bad-envelope",
		nil:                   "other", errors.New("disk on fire"): "other",
	} {
		if got := reasonName(err); got != want {
			t.Errorf("reasonName(%v) = %s, want %s", err, got, want)
		}
	}
	if Refused.String() != "refused" || Outcome(9).String() != "refused" || Delivered.String() != "delivered" {
		t.Error("outcome names")
	}
}

// TestAFailedCheckCrossesTheWireAsItsReason: what the previous hop and the
// origin are told (the protocol error, and with it the wire code) comes
// from the same row as the word counted here.
func TestAFailedCheckCrossesTheWireAsItsReason(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{fmt.Errorf("envelope: %w: TTL ran out", signed.ErrExpired), protocol.ErrExpired},
		{fmt.Errorf("envelope: %w: 8 of 8", signed.ErrHopLimit), protocol.ErrHopLimit},
		{fmt.Errorf("envelope: %w: not the origin's", signed.ErrBadSignature), protocol.ErrBadEnvelope},
		{fmt.Errorf("envelope: %w: carol", envelope.ErrRecipient), protocol.ErrBadEnvelope},
		{errors.New("undecodable"), protocol.ErrBadEnvelope},
		{protocol.ErrMeshFull, protocol.ErrMeshFull},
	} {
		got := nodeError(c.err)
		if !errors.Is(got, c.want) || protocol.CodeOf(got) != protocol.CodeOf(c.want) {
			t.Errorf("nodeError(%v) = %v (code %v), want %v", c.err, got, protocol.CodeOf(got), c.want)
		}
		if !strings.Contains(got.Error(), c.err.Error()) {
			t.Errorf("nodeError(%v) = %q lost the detail", c.err, got)
		}
		if reasonName(got) != reasonName(c.err) && c.err.Error() != "undecodable" {
			t.Errorf("%v counts as %s, but as %s once on the wire", c.err, reasonName(c.err), reasonName(got))
		}
	}
	if nodeError(nil) != nil {
		t.Error("nodeError(nil) is not nil")
	}
}

func TestAFirstHopBeforeThePeersNodeIDIsKnownIsRefusedForNow(t *testing.T) {
	e, st := newEngine(t, Config{})
	_, key, _ := ed25519.GenerateKey(nil)
	env, err := envelope.Sign(key, "n2.example.mesh", "carol@n3.example.mesh", []byte("x"), time.Now(), time.Hour, 8)
	if err != nil {
		t.Fatal(err)
	}
	env.Hops = 1
	r := e.Receive(context.Background(), "n2.example.mesh", "", incoming(t, env))
	if r[0].Outcome != Refused || !errors.Is(r[0].Err, protocol.ErrPeerUnreachable) {
		t.Fatalf("result %+v, want refused as not ready", r[0])
	}
	if got := reasonName(r[0].Err); got != "link" {
		t.Errorf("reason %q, want link", got)
	}
	if s, _ := st.MeshStats(); s.Envelopes != 0 {
		t.Errorf("held %d envelopes", s.Envelopes)
	}
	// Once the id is known, the same envelope is taken.
	if r := e.Receive(context.Background(), "n2.example.mesh", env.OriginID(), incoming(t, env)); r[0].Outcome != Accepted {
		t.Errorf("with the node id: %+v, want accepted", r[0])
	}
}
