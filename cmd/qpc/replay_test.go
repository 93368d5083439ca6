package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// TestRecvShowsAReplayedSealedMessageOnce is audit item 8: a relay
// re-wraps the sealed payload of "pay 10 EUR to bob" in new envelopes (here:
// the same bytes enqueued again, which is all a new envelope carries to the
// mailbox), and qpc recv, a real process against a real node, must show it
// once, drop the copies, and keep dropping them in a later run.
func TestRecvShowsAReplayedSealedMessageOnce(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	const domain = "node1.example.mesh"
	qpc, dir := cliUsers(t, p, "alice", "bob")
	if out, errOut, err := qpc("alice", "send", "--to", "bob", "pay 10 EUR to bob"); err != nil {
		t.Fatalf("send: %v\n%s%s", err, out, errOut)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	login := func(user string) (*client.Client, []byte) {
		t.Helper()
		c := dialPinned(t, p.addr, p.fp)
		t.Cleanup(func() { c.Close() })
		_, exportKey, err := c.Login(ctx, opaqueConfig(), domain, user, []byte("password of "+user))
		if err != nil {
			t.Fatalf("login %s: %v", user, err)
		}
		return c, exportKey
	}
	// The sealed bytes as they sit in bob's mailbox, read without acking.
	bobConn, _ := login("bob")
	msgs, err := bobConn.Fetch(ctx, 0, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %d messages, %v", len(msgs), err)
	}
	payload := msgs[0].Payload
	// The attacker's connection: any account may enqueue bytes for bob.
	attacker, aliceExport := login("alice")
	replay := func(n int) {
		t.Helper()
		for range n {
			if _, err := attacker.Enqueue(ctx, client.Outgoing{Recipient: "bob@" + domain, Payload: payload}); err != nil {
				t.Fatalf("enqueue a copy: %v", err)
			}
		}
	}
	replay(2)

	out, errOut, err := qpc("bob", "recv", "--json")
	if err != nil {
		t.Fatalf("recv: %v\n%s%s", err, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got recvJSON
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &got) != nil || got.Text != "pay 10 EUR to bob" || !got.Verified {
		t.Fatalf("recv printed %d line(s), want the message once:\n%s\nstderr: %s", len(lines), out, errOut)
	}
	if !strings.Contains(errOut, "2 replayed message(s) dropped") {
		t.Errorf("recv did not count the dropped copies: %q", errOut)
	}
	if rest, err := bobConn.Fetch(ctx, 0, 10); err != nil || len(rest) != 0 {
		t.Errorf("after recv, %d message(s) left on the node (%v): the copies must be acknowledged", len(rest), err)
	}

	// A copy enqueued after that run meets a new process, which knows the
	// id from the replay cache file alone.
	replay(1)
	out, errOut, err = qpc("bob", "recv", "--json")
	if err != nil || out != "" || !strings.Contains(errOut, "1 replayed message(s) dropped") {
		t.Errorf("recv of a copy in a new process: %v, stdout %q, stderr %q", err, out, errOut)
	}

	// Messages signed outside the window are refused, not shown: alice's
	// own keys seal them, so only their time is wrong.
	st, err := client.LoadState(filepath.Join(dir, "alice"), "alice", domain, aliceExport)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := identity.UnmarshalUserKeys(st.Keys)
	if err != nil {
		t.Fatal(err)
	}
	alice := &client.Account{Client: attacker, Domain: domain, User: "alice", Keys: keys}
	bob, err := alice.ResolvePeer(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{time.Now().Add(-client.ReplayWindow - time.Hour), time.Now().Add(client.MaxClockSkew + time.Hour)} {
		env, err := sealed.Seal("bob@"+domain, bob.Bundle.HPKEKey, keys, "alice@"+domain,
			sealed.Message{Time: at, ContentType: sealed.ContentText, Body: []byte("pay 99 EUR to mallory")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := attacker.Enqueue(ctx, client.Outgoing{Recipient: "bob@" + domain, Payload: env}); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, err = qpc("bob", "recv")
	if err != nil || strings.Count(out, "REFUSED") != 2 || strings.Contains(out, "mallory") {
		t.Errorf("recv of messages outside the window: %v\nstdout %q\nstderr %q", err, out, errOut)
	}
	if rest, err := bobConn.Fetch(ctx, 0, 10); err != nil || len(rest) != 0 {
		t.Errorf("refused messages left on the node: %d (%v)", len(rest), err)
	}
}
