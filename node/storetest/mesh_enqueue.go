package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// meshMsg is a message to user that came through the mesh as envelope n.
func meshMsg(user string, n int) protocol.NewMessage {
	m := msg(user, "sealed", time.Hour)
	m.MeshID = MeshID(n)
	m.MeshExpires = t0.Add(2 * time.Hour)
	return m
}

// seenErrorState returns the state of err's *protocol.SeenError, 0 if it has
// none.
func seenErrorState(err error) protocol.SeenState {
	var seen *protocol.SeenError
	if errors.As(err, &seen) {
		return seen.State
	}
	return 0
}

func testEnqueueFromTheMeshStoresAnIDOnce(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	mustCreate(t, s, "bob")
	rs := enqueue(t, s, meshMsg("bob", 1), msg("bob", "direct", time.Hour), meshMsg("bob", 1), meshMsg("bob", 2))
	if rs[0].Err != nil || rs[1].Err != nil || rs[3].Err != nil {
		t.Fatalf("receipts: %+v", rs)
	}
	if got := seenErrorState(rs[2].Err); got != protocol.SeenDelivered {
		t.Errorf("second copy in one call: %v, want a SeenError with state delivered", rs[2].Err)
	}
	rs = enqueue(t, s, meshMsg("bob", 2))
	if got := seenErrorState(rs[0].Err); got != protocol.SeenDelivered {
		t.Errorf("copy in a later call: %v, want a SeenError with state delivered", rs[0].Err)
	}
	if n, _, _ := s.Depth("bob"); n != 3 {
		t.Errorf("mailbox holds %d messages, want 3", n)
	}
	if SeenState(t, s, MeshID(1)) != protocol.SeenDelivered {
		t.Error("a delivered id is not seen as delivered")
	}
	if got := seenErrorState(Hold(t, s, Envelope(1, "a", "o", 1, time.Hour))[0]); got != protocol.SeenDelivered {
		t.Errorf("Hold of a delivered id: %v, want a SeenError with state delivered", got)
	}
	MustHold(t, s, Envelope(3, "a", "o", 1, time.Hour))
	if got := seenErrorState(enqueue(t, s, meshMsg("bob", 3))[0].Err); got != protocol.SeenHeld {
		t.Errorf("Enqueue of a held id: %v, want a SeenError with state held", got)
	}
	if st := MeshStats(t, s); st.Seen != 3 {
		t.Errorf("seen ids: %d, want 3", st.Seen)
	}
	// The id stays seen until MeshExpires, not the message's Expires.
	if _, err := s.ExpireMesh(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if SeenState(t, s, MeshID(2)) != protocol.SeenDelivered {
		t.Error("the id went with the message's expiry")
	}
	if _, err := s.ExpireMesh(t0.Add(2 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if SeenState(t, s, MeshID(2)) != 0 {
		t.Error("the id stayed past MeshExpires")
	}
}

func testConcurrentEnqueuesOfOneIDStoreItOnce(t *testing.T, open Opener) {
	const ids, producers = 10, 32
	opts := MeshConfig()
	opts.Limits.MaxMessages = ids * producers
	s := open(t, opts)
	mustCreate(t, s, "bob")
	var stored, refused atomic.Int64
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range ids {
				n := (p + i) % ids // each producer in another order
				rs, err := s.Enqueue(context.Background(), []protocol.NewMessage{meshMsg("bob", n)})
				switch {
				case err != nil:
					t.Error(err)
					return
				case rs[0].Err == nil:
					stored.Add(1)
				case seenErrorState(rs[0].Err) == protocol.SeenDelivered:
					refused.Add(1)
				default:
					t.Errorf("receipt: %v", rs[0].Err)
				}
			}
		})
	}
	wg.Wait()
	if stored.Load() != ids || refused.Load() != ids*(producers-1) {
		t.Errorf("%d stored, %d refused as seen; want %d and %d", stored.Load(), refused.Load(), ids, ids*(producers-1))
	}
	if n, _, _ := s.Depth("bob"); n != ids {
		t.Errorf("mailbox holds %d messages, want %d", n, ids)
	}
}

func testAMessageTheMailboxRefusesLeavesItsIDUnseen(t *testing.T, open Opener) {
	opts := MeshConfig()
	opts.Limits.MaxMessages = 1
	s := open(t, opts)
	mustCreate(t, s, "bob")
	rs := enqueue(t, s, meshMsg("nobody", 1), meshMsg("bob", 2), meshMsg("bob", 3))
	if !errors.Is(rs[0].Err, protocol.ErrUnknownUser) || rs[1].Err != nil || !errors.Is(rs[2].Err, protocol.ErrMailboxFull) {
		t.Fatalf("receipts: %+v, want unknown user, stored, mailbox full", rs)
	}
	for n, want := range map[int]protocol.SeenState{1: 0, 2: protocol.SeenDelivered, 3: 0} {
		if got := SeenState(t, s, MeshID(n)); got != want {
			t.Errorf("seen state of %d: %v, want %v", n, got, want)
		}
	}
	if _, err := s.Ack("bob", rs[1].Seq); err != nil {
		t.Fatal(err)
	}
	if rs := enqueue(t, s, meshMsg("bob", 3)); rs[0].Err != nil {
		t.Errorf("the refused message, once there is room: %v", rs[0].Err)
	}
}

func testEnqueueFromTheMeshStopsAtMaxSeen(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	mustCreate(t, s, "bob")
	MustHold(t, s, manyEnvelopes(1, MeshQuota.MaxSeen-1, "a", "o")...)
	rs := enqueue(t, s, meshMsg("bob", 100), meshMsg("bob", 101), msg("bob", "direct", time.Hour))
	if rs[0].Err != nil || !errors.Is(rs[1].Err, protocol.ErrMeshFull) || rs[2].Err != nil {
		t.Errorf("receipts at MaxSeen: %+v, want stored, ErrMeshFull, stored (not from the mesh)", rs)
	}
	if n, _, _ := s.Depth("bob"); n != 2 {
		t.Errorf("mailbox holds %d messages, want 2", n)
	}
}

func testHoldAndEnqueueOfOneIDHaveOneWinner(t *testing.T, open Opener) {
	const ids, producers = 10, 16
	s := open(t, MeshConfig())
	mustCreate(t, s, "bob")
	var mu sync.Mutex
	winners := map[int]int{}
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range ids {
				n := (p + i) % ids
				var err error
				if p%2 == 0 {
					var rs []protocol.Receipt
					if rs, err = s.Enqueue(context.Background(), []protocol.NewMessage{meshMsg("bob", n)}); err == nil {
						err = rs[0].Err
					}
				} else {
					var refusals []error
					if refusals, err = s.Hold(context.Background(), []protocol.HeldEnvelope{Envelope(n, "a", "o", 1, time.Hour)}); err == nil {
						err = refusals[0]
					}
				}
				if err != nil && seenErrorState(err) == 0 {
					t.Error(err)
				}
				mu.Lock()
				if err == nil {
					winners[n]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for n := range ids {
		if winners[n] != 1 {
			t.Errorf("id %d was stored %d times", n, winners[n])
		}
	}
}
