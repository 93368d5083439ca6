package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
)

// benchOptions have mailboxes that the benchmarks never fill.
func benchOptions() Options {
	return Options{Limits: node.MailboxLimits{MaxMessages: 1 << 30, MaxBytes: 1 << 40}}
}

// BenchmarkEnqueue measures durable enqueues of 256-byte payloads, one
// message per call. Each producer waits for its receipt before the next
// call, the worst case for group commit: a batch holds at most one message
// per producer. producers=16x16 is 16 producers that each keep 16 calls in
// flight, as the client library pipelines sends (DESIGN §8).
func BenchmarkEnqueue(b *testing.B) {
	for _, c := range []struct {
		name      string
		producers int
	}{
		{"producers=1", 1},
		{"producers=16", 16},
		{"producers=16x16", 256},
	} {
		producers := c.producers
		b.Run(c.name, func(b *testing.B) {
			s := openTest(b, benchOptions())
			users := make([]string, min(producers, 16))
			for p := range users {
				users[p] = fmt.Sprintf("u%d", p)
			}
			mustCreate(b, s, users...)
			payload := make([]byte, 256)
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			var wg sync.WaitGroup
			for p := range producers {
				n := b.N / producers
				if p < b.N%producers {
					n++
				}
				wg.Go(func() {
					for range n {
						now := time.Now()
						rs, err := s.Enqueue(context.Background(), []node.NewMessage{{
							Recipient: users[p%len(users)], Payload: payload, Enqueued: now, Expires: now.Add(time.Hour),
						}})
						if err != nil || rs[0].Err != nil {
							b.Errorf("Enqueue: %v %v", err, rs)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

// BenchmarkFetchAck measures draining a mailbox of 256-byte messages 100 at
// a time: Fetch, then Ack of what was fetched.
func BenchmarkFetchAck(b *testing.B) {
	s := openTest(b, benchOptions())
	mustCreate(b, s, "bob")
	payload := make([]byte, 256)
	now := time.Now()
	for left := b.N; left > 0; {
		n := min(left, 1000)
		msgs := make([]node.NewMessage, n)
		for i := range msgs {
			msgs[i] = node.NewMessage{Recipient: "bob", Payload: payload, Enqueued: now, Expires: now.Add(time.Hour)}
		}
		if _, err := s.Enqueue(context.Background(), msgs); err != nil {
			b.Fatal(err)
		}
		left -= n
	}
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	var after uint64
	for fetched := 0; fetched < b.N; {
		msgs, err := s.Fetch("bob", after, 100)
		if err != nil || len(msgs) == 0 {
			b.Fatalf("Fetch: %d messages, %v", len(msgs), err)
		}
		after = msgs[len(msgs)-1].Seq
		if _, err := s.Ack("bob", after); err != nil {
			b.Fatal(err)
		}
		fetched += len(msgs)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
