package app

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// replayExportKey stands in for the OPAQUE export key of the test account.
var replayExportKey = []byte("export key of the replay test, at least 32 bytes long")

// TestASealedMessageEnqueuedThreeTimesIsOpenedOnce is audit item 8 on a
// real node: the sealed bytes of one message are enqueued three times, as a
// relay re-wrapping them in new envelopes would; the recipient opens it
// once and marks the copies as replayed, also after a restart of the
// client, and refuses a message signed outside the window.
func TestASealedMessageEnqueuedThreeTimesIsOpenedOnce(t *testing.T) {
	n := start(t, testConfig(t))
	alice, bob := newAccount(t, n, "alice"), newAccount(t, n, "bob")
	ctx := ctxT(t)
	stateDir := t.TempDir()
	load := func() *client.ReplayCache {
		t.Helper()
		rc, err := client.LoadReplayCache(stateDir, bob.User, bob.Domain, replayExportKey)
		if err != nil {
			t.Fatal(err)
		}
		return rc
	}
	out, id, err := alice.Seal(ctx, "bob", sealed.ContentText, []byte("pay 10 EUR to bob"))
	if err != nil {
		t.Fatal(err)
	}
	enqueue := func(payload []byte, times int) {
		t.Helper()
		for range times {
			if _, err := alice.Client.Enqueue(ctx, client.Outgoing{Recipient: out.Recipient, Payload: payload}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// receive opens and acknowledges what is in bob's mailbox, saving the
	// replay cache before the ack as qpc recv does.
	receive := func() (shown []client.Received, replayed int) {
		t.Helper()
		msgs, err := bob.Client.Fetch(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			r := bob.Open(ctx, m)
			if r.Replayed {
				replayed++
				continue
			}
			shown = append(shown, r)
		}
		if err := bob.Replay.Save(); err != nil {
			t.Fatal(err)
		}
		if len(msgs) > 0 {
			if _, err := bob.Client.Ack(ctx, msgs[len(msgs)-1].Seq); err != nil {
				t.Fatal(err)
			}
		}
		return shown, replayed
	}

	bob.Replay = load()
	enqueue(out.Payload, 3)
	shown, replayed := receive()
	if len(shown) != 1 || replayed != 2 || string(shown[0].Body) != "pay 10 EUR to bob" || !shown[0].Verified || shown[0].ID != id {
		t.Fatalf("shown %+v, %d replayed; want the message once and 2 copies", shown, replayed)
	}

	// The client restarts: a copy that comes later is known from the
	// file alone.
	bob.Replay = load()
	enqueue(out.Payload, 1)
	if shown, replayed := receive(); len(shown) != 0 || replayed != 1 {
		t.Errorf("after a restart: shown %+v, %d replayed; want the copy dropped", shown, replayed)
	}

	// A message sealed by alice's own keys, dated before the window.
	b, err := alice.ResolvePeer(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	stale, err := sealed.Seal(out.Recipient, b.Bundle.HPKEKey, alice.Keys, alice.Address(),
		sealed.Message{Time: time.Now().Add(-client.ReplayWindow - time.Hour), ContentType: sealed.ContentText, Body: []byte("old")})
	if err != nil {
		t.Fatal(err)
	}
	enqueue(stale, 1)
	shown, _ = receive()
	if len(shown) != 1 || !errors.Is(shown[0].Problem, client.ErrStaleMessage) || shown[0].Verified || shown[0].Body != nil {
		t.Errorf("stale message: %+v, want refused with ErrStaleMessage and no body", shown)
	}
}

// TestTheChatEngineShowsAReplayedSealedTextOnce checks the path of qpc
// repl: sealed 1:1 texts that come to the chat engine are filed once, by
// the engine's own seen-set, however often their bytes are enqueued.
func TestTheChatEngineShowsAReplayedSealedTextOnce(t *testing.T) {
	n := start(t, testConfig(t))
	alice := newAccount(t, n, "alice")
	bob := newChatter(t, n, "bob")
	ctx := ctxT(t)
	out, _, err := alice.Seal(ctx, "bob", sealed.ContentText, []byte("pay 10 EUR to bob"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := alice.Client.Enqueue(ctx, out); err != nil {
			t.Fatal(err)
		}
	}
	bob.sync()
	got := bob.texts(bob.find(alice.Address()).ID)
	if !slices.Equal(got, []string{"alice: pay 10 EUR to bob"}) {
		t.Errorf("DM history %q, want the message once", got)
	}
}
