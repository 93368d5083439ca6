package app

import (
	"context"
	"errors"
	"testing"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/protocol"
)

// TestAClientFallsBackToRPCWithANodeWithoutTheMessageStream runs a node
// that never reads a message stream, as one before it: the client waits
// for HELLO in vain, then sends, receives, acks and has its bounds
// checked over RPC.
func TestAClientFallsBackToRPCWithANodeWithoutTheMessageStream(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MaxPayload = 4096
	n, err := NewNode(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	n.noMsgStream = true
	runCtx, stop := context.WithCancel(context.Background())
	r := &running{Node: n, stop: stop, done: make(chan error, 1)}
	go func() { r.done <- n.Run(runCtx) }()
	t.Cleanup(func() { r.wait(t) })
	alice, bob := newAccountNoPublish(t, r, "alice"), newAccountNoPublish(t, r, "bob")
	ctx := ctxT(t)
	if alice.UsesMsgStream(ctx) {
		t.Fatal("the client uses a message stream the node never answered")
	}
	got := make(chan []protocol.Message, 8)
	sub, err := bob.Subscribe(ctx, 0, func(m []protocol.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel(ctx)
	rs, err := alice.EnqueueBatch(ctx, []client.Outgoing{{Recipient: "bob", Payload: []byte("one")}, {Recipient: "bob", Payload: []byte("two")}})
	if err != nil || len(rs) != 2 || rs[0].Seq != 1 || rs[1].Seq != 2 {
		t.Fatalf("batch over RPC: %+v, %v", rs, err)
	}
	if _, err := alice.Enqueue(ctx, client.Outgoing{Recipient: "bob", Payload: make([]byte, 4097)}); !errors.Is(err, protocol.ErrPayloadTooLarge) {
		t.Errorf("an oversized message over RPC: %v", err)
	}
	var seen []protocol.Message
	for len(seen) < 2 {
		select {
		case m := <-got:
			seen = append(seen, m...)
		case <-ctx.Done():
			t.Fatalf("bob got %d of 2 messages", len(seen))
		}
	}
	if string(seen[0].Payload) != "one" || string(seen[1].Payload) != "two" {
		t.Errorf("bob got %q, %q", seen[0].Payload, seen[1].Payload)
	}
	if removed, err := bob.Ack(ctx, 2); err != nil || removed != 2 {
		t.Errorf("ack over RPC: %d, %v", removed, err)
	}
}
