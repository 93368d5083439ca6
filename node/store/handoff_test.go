package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

func TestACommitHandsOverWhatItStoredOncePerQueueInSeqOrder(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "bob", "carol")
	type call struct {
		queue string
		msgs  []protocol.Message
	}
	var calls []call
	// f runs on the committer before Enqueue returns, so calls needs no
	// lock here.
	s.HandOffCommits(func(queue string, msgs []protocol.Message) {
		calls = append(calls, call{queue, msgs})
	})
	rs, err := s.Enqueue(context.Background(), []protocol.NewMessage{
		msg("bob", "b1", time.Hour), msg("carol", "c1", time.Hour), msg("nobody", "lost", time.Hour), msg("bob", "b2", time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rs[2].Err == nil {
		t.Fatalf("a message to an unknown user was stored: %+v", rs[2])
	}
	got := fmt.Sprint(calls[:min(len(calls), 3)])
	if len(calls) != 2 || calls[0].queue != "bob" || calls[1].queue != "carol" {
		t.Fatalf("hand-offs %s, want bob's then carol's", got)
	}
	for _, c := range []struct {
		got  []protocol.Message
		want []string
	}{{calls[0].msgs, []string{"b1", "b2"}}, {calls[1].msgs, []string{"c1"}}} {
		if len(c.got) != len(c.want) {
			t.Fatalf("hand-offs %s", got)
		}
		for i, m := range c.got {
			if m.Seq != uint64(i+1) || string(m.Payload) != c.want[i] || !m.Expires.Equal(t0.Add(time.Hour)) || !m.Enqueued.Equal(t0) {
				t.Errorf("handed over %+v, want seq %d %q", m, i+1, c.want[i])
			}
		}
	}
	// What was handed over is what Fetch reads.
	fetched, err := s.Fetch("bob", 0, 10)
	if err != nil || len(fetched) != 2 || string(fetched[1].Payload) != "b2" || fetched[1].Seq != calls[0].msgs[1].Seq {
		t.Errorf("Fetch: %+v, %v", fetched, err)
	}
	// A call that stores nothing hands nothing over.
	calls = nil
	if _, err := s.Enqueue(context.Background(), []protocol.NewMessage{msg("nobody", "lost", time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Errorf("a commit that stored nothing handed over %v", calls)
	}
}
