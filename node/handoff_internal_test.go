package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

func handedMsgs(size int, seqs ...uint64) []protocol.Message {
	out := make([]protocol.Message, len(seqs))
	for i, seq := range seqs {
		out[i] = protocol.Message{Seq: seq, Payload: make([]byte, size), Expires: time.Unix(2e9, 0)}
	}
	return out
}

func seqsOf(msgs []protocol.Message) string {
	s := ""
	for _, m := range msgs {
		s += fmt.Sprintf("%d ", m.Seq)
	}
	return s
}

func TestWhatASubscriptionHoldsHandedOverIsBoundedAndTakenInSeqOrder(t *testing.T) {
	now := time.Unix(1e9, 0)
	t.Run("commits crossing are taken in seq order", func(t *testing.T) {
		sub := newSubscription()
		sub.offer(handedMsgs(10, 3, 4))
		sub.offer(handedMsgs(10, 1, 2))
		got, gap := sub.take(100, now)
		if gap || seqsOf(got) != "1 2 3 4 " {
			t.Errorf("took %s(gap %v), want 1 2 3 4", seqsOf(got), gap)
		}
	})
	t.Run("a gap sends push to the store, and drops what was held", func(t *testing.T) {
		sub := newSubscription()
		sub.after = 1
		sub.offer(handedMsgs(10, 3, 4))
		if got, gap := sub.take(100, now); len(got) != 0 || !gap {
			t.Fatalf("took %s(gap %v) with seq 2 missing", seqsOf(got), gap)
		}
		if len(sub.handed) != 0 || sub.handedBytes != 0 {
			t.Errorf("still holds %d messages, %d bytes", len(sub.handed), sub.handedBytes)
		}
	})
	t.Run("the limit and expired messages stop a take", func(t *testing.T) {
		sub := newSubscription()
		msgs := handedMsgs(10, 1, 2, 3, 4)
		msgs[3].Expires = now
		sub.offer(msgs)
		if got, gap := sub.take(2, now); gap || seqsOf(got) != "1 2 " {
			t.Fatalf("took %s(gap %v), want 1 2", seqsOf(got), gap)
		}
		sub.after = 2
		if got, gap := sub.take(100, now); gap || seqsOf(got) != "3 " {
			t.Fatalf("took %s(gap %v), want 3 (4 has expired)", seqsOf(got), gap)
		}
		sub.after = 3
		// The store's Fetch leaves the expired message out: push reads it.
		if got, gap := sub.take(100, now); len(got) != 0 || !gap {
			t.Errorf("took %s(gap %v) at an expired message", seqsOf(got), gap)
		}
	})
	t.Run("bytes and messages past the bound are left to the store", func(t *testing.T) {
		sub := newSubscription()
		seqs := make([]uint64, 300)
		for i := range seqs {
			seqs[i] = uint64(i + 1)
		}
		sub.offer(handedMsgs(1024, seqs...))
		if sub.handedBytes > pushBytes || len(sub.handed) != pushBytes/1024 || !sub.missed {
			t.Fatalf("holds %d messages, %d bytes, missed %v; the bound is %d bytes", len(sub.handed), sub.handedBytes, sub.missed, pushBytes)
		}
		small := make([]uint64, maxHanded+10)
		for i := range small {
			small[i] = uint64(i + 1)
		}
		sub = newSubscription()
		sub.offer(handedMsgs(1, small...))
		if len(sub.handed) != maxHanded || !sub.missed {
			t.Fatalf("holds %d messages, missed %v; the bound is %d", len(sub.handed), sub.missed, maxHanded)
		}
		// Taking all it holds, push then reads the store for the rest.
		got, gap := sub.take(2*maxHanded, now)
		if len(got) != maxHanded || gap {
			t.Fatalf("took %d (gap %v), want %d", len(got), gap, maxHanded)
		}
		sub.after = got[len(got)-1].Seq
		if got, gap := sub.take(2*maxHanded, now); len(got) != 0 || !gap {
			t.Errorf("after a missed hand-off took %d (gap %v), want a read of the store", len(got), gap)
		}
		if sub.handedBytes != 0 {
			t.Errorf("%d bytes counted after everything was taken", sub.handedBytes)
		}
	})
	t.Run("what push has taken is not held again", func(t *testing.T) {
		sub := newSubscription()
		sub.offer(handedMsgs(10, 1, 2))
		sub.take(100, now)
		sub.after = 2
		sub.offer(handedMsgs(10, 2, 3))
		if seqsOf(sub.handed) != "3 " {
			t.Errorf("holds %s, want 3", seqsOf(sub.handed))
		}
	})
}
