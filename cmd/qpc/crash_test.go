package main

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/transport"
)

// TestSIGKILLUnderLoadLosesNoAcknowledgedMessage kills a node with SIGKILL
// while a client enqueues 5,000 messages with many in flight, then checks
// the database and that every message the node acknowledged is there.
func TestSIGKILLUnderLoadLosesNoAcknowledgedMessage(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fast := opaque.Config{KSF: opaque.Identity{}}
	connect := func(addr, user string, register bool) *client.Client {
		t.Helper()
		c, err := client.Dial(ctx, addr, transport.Trust{Pin: p.fp}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if register {
			if _, err := c.Register(ctx, fast, "node1.example.mesh", user, []byte(user)); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := c.Login(ctx, fast, "node1.example.mesh", user, []byte(user)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	connect(p.addr, "bob", true).Close()
	alice := connect(p.addr, "alice", true)

	const total, window = 5000, 64
	var mu sync.Mutex
	acked := map[uint64]uint32{} // seq → message number
	killAt := make(chan struct{})
	var wg sync.WaitGroup
	sem := make(chan struct{}, window)
	for i := range uint32(total) {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			payload := binary.BigEndian.AppendUint32(nil, i)
			r, err := alice.Enqueue(ctx, client.Outgoing{Recipient: "bob", Payload: payload})
			if err != nil {
				return // in flight when the node died: not acknowledged
			}
			mu.Lock()
			acked[r.Seq] = i
			if len(acked) == total/5 {
				close(killAt)
			}
			mu.Unlock()
		}()
		select {
		case <-killAt:
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-p.done
			p.done <- nil
			goto killed
		default:
		}
	}
	t.Fatal("the load finished before the node was killed")
killed:
	// The calls still in flight can never be answered by the dead node.
	// Closing the connection fails them now, not at the QUIC idle timeout
	// (60 s); a reply that was on its way is lost with them, which can only
	// leave a stored message out of acked, never put one in.
	alice.Close()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("node killed with %d messages acknowledged", len(acked))

	if err := store.Check(filepath.Join(dataDir, store.FileName)); err != nil {
		t.Fatalf("database after SIGKILL: %v", err)
	}
	q := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	bob := connect(q.addr, "bob", false)
	defer bob.Close()
	found := map[uint64]uint32{}
	for after := uint64(0); ; {
		msgs, err := bob.Fetch(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			found[m.Seq] = binary.BigEndian.Uint32(m.Payload)
		}
		after = msgs[len(msgs)-1].Seq
	}
	for seq, i := range acked {
		if got, ok := found[seq]; !ok || got != i {
			t.Errorf("acknowledged message %d (seq %d) lost: found %v %d", i, seq, ok, got)
		}
	}
	t.Logf("after restart bob's mailbox holds %d messages, all %d acknowledged among them", len(found), len(acked))
}
