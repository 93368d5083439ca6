package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/app/apptest"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// TestConcurrentSendsShareCallsAndEachGetsItsOwnReceipt sends many
// messages at once from one client to a real node: they share calls, each
// caller gets its own message's receipt, and a message the node refuses
// fails alone.
func TestConcurrentSendsShareCallsAndEachGetsItsOwnReceipt(t *testing.T) {
	const domain = "coalesce.example.mesh"
	n := apptest.Run(t, domain)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fast := opaque.Config{KSF: opaque.Identity{}}
	account := func(user string) *Client {
		c, err := Dial(ctx, n.Addr, transport.Trust{Pin: n.Fingerprint}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.UseRPCOnly() // the coalescing of RPC calls is what is tested
		if _, err := c.Register(ctx, fast, domain, user, []byte(user)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Login(ctx, fast, domain, user, []byte(user)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	alice, bob := account("alice"), account("bob")

	const senders = 64
	seqs := make([]uint64, senders)
	errs := make([]error, senders)
	var wg sync.WaitGroup
	for i := range senders {
		to := "bob"
		if i == senders/2 {
			to = "nobody"
		}
		wg.Go(func() {
			r, err := alice.Enqueue(ctx, Outgoing{Recipient: to, Payload: []byte(fmt.Sprint(i))})
			seqs[i], errs[i] = r.Seq, err
		})
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for i, err := range errs {
		if i == senders/2 {
			if !errors.Is(err, protocol.ErrUnknownUser) {
				t.Errorf("the message to nobody: %v, want ErrUnknownUser", err)
			}
			continue
		}
		if err != nil || seqs[i] == 0 || seen[seqs[i]] {
			t.Errorf("message %d: seq %d, %v", i, seqs[i], err)
		}
		seen[seqs[i]] = true
	}
	alice.sends.mu.Lock()
	calls, inFlight := alice.sends.calls, alice.sends.inFlight
	alice.sends.mu.Unlock()
	if calls >= senders || inFlight != 0 {
		t.Errorf("%d messages took %d calls, %d still in flight: nothing was shared", senders, calls, inFlight)
	}
	got, err := bob.Fetch(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != senders-1 {
		t.Errorf("bob holds %d messages, want %d", len(got), senders-1)
	}
	t.Logf("%d messages in %d calls", senders, calls)
}

// TestALoneSendIsOneEnqueueAndGivesItsPlaceBack holds that a message sent
// with nothing else waiting goes at once, alone, and leaves no call in
// flight behind it.
func TestALoneSendIsOneEnqueueAndGivesItsPlaceBack(t *testing.T) {
	const domain = "alone.example.mesh"
	n := apptest.Run(t, domain)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fast := opaque.Config{KSF: opaque.Identity{}}
	c, err := Dial(ctx, n.Addr, transport.Trust{Pin: n.Fingerprint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.UseRPCOnly() // the coalescing of RPC calls is what is tested
	if _, err := c.Register(ctx, fast, domain, "carol", []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Login(ctx, fast, domain, "carol", []byte("pw")); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := c.Enqueue(ctx, Outgoing{Recipient: "carol", Payload: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
		c.sends.mu.Lock()
		calls, inFlight, waiting := c.sends.calls, c.sends.inFlight, len(c.sends.waiting)
		c.sends.mu.Unlock()
		if calls != i+1 || inFlight != 0 || waiting != 0 {
			t.Fatalf("after send %d: %d calls, %d in flight, %d waiting", i+1, calls, inFlight, waiting)
		}
	}
}
