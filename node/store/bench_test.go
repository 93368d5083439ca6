package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
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
						rs, err := s.Enqueue(context.Background(), []protocol.NewMessage{{
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
		msgs := make([]protocol.NewMessage, n)
		for i := range msgs {
			msgs[i] = protocol.NewMessage{Recipient: "bob", Payload: payload, Enqueued: now, Expires: now.Add(time.Hour)}
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

// BenchmarkHold measures durable Holds of envelopes with 1 KiB of Data,
// batch envelopes per call; an op is one call. callers>1 runs that many
// goroutines that each wait for their call before the next, as the mesh
// engine's links do: every Hold is a transaction and a sync of its own.
func BenchmarkHold(b *testing.B) {
	for _, c := range []struct {
		batch, callers int
	}{{1, 1}, {16, 1}, {256, 1}, {1, 16}} {
		name := fmt.Sprintf("batch=%d", c.batch)
		if c.callers > 1 {
			name += fmt.Sprintf("/callers=%d", c.callers)
		}
		b.Run(name, func(b *testing.B) {
			opts := benchOptions()
			opts.Mesh = protocol.MeshQuota{MaxBytes: 1 << 40, DomainBytes: 1 << 40, OriginBytes: 1 << 40, MaxSeen: 1 << 30}
			s := openTest(b, opts)
			data := make([]byte, 1024)
			var next atomic.Uint64
			b.SetBytes(int64(c.batch * len(data)))
			b.ResetTimer()
			var wg sync.WaitGroup
			for p := range c.callers {
				calls := b.N / c.callers
				if p < b.N%c.callers {
					calls++
				}
				wg.Go(func() {
					for range calls {
						envs := make([]protocol.HeldEnvelope, c.batch)
						now := time.Now()
						for i := range envs {
							n := next.Add(1)
							envs[i] = protocol.HeldEnvelope{
								Domain: fmt.Sprintf("d%d", n%8), Origin: fmt.Sprintf("o%d", n%8),
								Expires: now.Add(time.Hour), Held: now, Data: data,
							}
							binary.BigEndian.PutUint64(envs[i].ID[:], n)
						}
						refusals, err := s.Hold(context.Background(), envs)
						if err != nil || slices.ContainsFunc(refusals, func(err error) bool { return err != nil }) {
							b.Errorf("Hold: %v %v", err, refusals)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N*c.batch)/b.Elapsed().Seconds(), "envelopes/s")
		})
	}
}

// BenchmarkAddPosts measures durable AddPosts of posts with 1 KiB of Data,
// batch posts per call, spread over 8 channels; an op is one call.
// callers>1 runs that many goroutines that each wait for their call before
// the next, as the flood engine's links do, so that group commit shares
// syncs between them. The bounds on kept posts are the defaults, so past
// 4 MiB every post evicts one (the steady state of a busy node); the
// seen-set is unbounded, so that no post is refused.
func BenchmarkAddPosts(b *testing.B) {
	for _, c := range []struct {
		batch, callers int
	}{{1, 1}, {64, 1}, {1, 16}} {
		name := fmt.Sprintf("batch=%d", c.batch)
		if c.callers > 1 {
			name += fmt.Sprintf("/callers=%d", c.callers)
		}
		b.Run(name, func(b *testing.B) {
			opts := benchOptions()
			opts.Channels.MaxSeen = 1 << 30
			s := openTest(b, opts)
			data := make([]byte, 1024)
			var next atomic.Uint64
			b.SetBytes(int64(c.batch * len(data)))
			b.ResetTimer()
			var wg sync.WaitGroup
			for p := range c.callers {
				calls := b.N / c.callers
				if p < b.N%c.callers {
					calls++
				}
				wg.Go(func() {
					for range calls {
						posts := make([]protocol.StoredPost, c.batch)
						expires := time.Now().Add(time.Hour)
						for i := range posts {
							n := next.Add(1)
							posts[i] = protocol.StoredPost{Expires: expires, Data: data}
							binary.BigEndian.PutUint64(posts[i].ID[:], n)
							posts[i].Channel[0] = byte(n % 8)
						}
						errs, _, err := s.AddPosts(context.Background(), posts)
						if err != nil || slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
							b.Errorf("AddPosts: %v %v", err, errs)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N*c.batch)/b.Elapsed().Seconds(), "posts/s")
		})
	}
}

// BenchmarkCommitPages measures the bbolt pages one group commit writes in
// the steady state of `qpc bench`: 16 queues, each getting 5 messages of
// 256 bytes per commit, and each acked 256 messages at a time, as the
// bench's receivers ack. The pages a commit writes are what it spends in
// pwrite, and what stops the node short of a relay that appends all
// messages to one bucket (docs/bench.md). One op is one commit.
func BenchmarkCommitPages(b *testing.B) {
	const queues, perQueue, ackEvery = 16, 5, 256
	s := openTest(b, benchOptions())
	users := make([]string, queues)
	for q := range users {
		users[q] = fmt.Sprintf("receiver%02d", q)
	}
	mustCreate(b, s, users...)
	payload := make([]byte, 256)
	last := make([]uint64, queues)
	acked := make([]uint64, queues)
	// commitOnce enqueues one commit's messages in one call (so that they
	// are one transaction) and acks what a receiver would ack by now.
	commitOnce := func() {
		now := time.Now()
		msgs := make([]protocol.NewMessage, 0, queues*perQueue)
		for q := range queues {
			for range perQueue {
				msgs = append(msgs, protocol.NewMessage{Recipient: users[q], Payload: payload, Enqueued: now, Expires: now.Add(time.Hour)})
			}
		}
		rs, err := s.Enqueue(context.Background(), msgs)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range rs {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			last[i/perQueue] = r.Seq
		}
		for q := range queues {
			if last[q]-acked[q] >= ackEvery {
				acked[q] += ackEvery
				if _, err := s.Ack(users[q], acked[q]); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	// Fill the queues to their steady depth first.
	for range 2 * ackEvery / perQueue {
		commitOnce()
	}
	writes := func() int64 { st := s.db.Stats(); return st.TxStats.GetWrite() }
	before := writes()
	b.ResetTimer()
	for range b.N {
		commitOnce()
	}
	// Acks commit in transactions of their own here (one call at a
	// time), so their pages count per op as they do in the node's
	// commits that carry them.
	b.ReportMetric(float64(writes()-before)/float64(b.N), "pages/commit")
}

// BenchmarkCommitPagesWindow1 measures the group commit of `qpc bench
// --window 1` (16 pairs, one message each in flight: about 8 messages of
// 256 bytes to 8 queues per commit, queues 200 messages deep, no acks
// yet) beside the same messages appended to one bucket, as the relay of
// bench/relay writes them, with the store's bbolt options. One op is one
// commit. A queue's bucket costs its commit two pages (its leaf and its
// root), whatever the messages: the relay's commit writes a quarter of
// the node's pages, and its sync waits for a quarter of the writes
// (docs/bench.md, round 3).
func BenchmarkCommitPagesWindow1(b *testing.B) {
	const queues, depth = 8, 200
	payload := make([]byte, 256)
	report := func(b *testing.B, db *bolt.DB, before bolt.TxStats) {
		after := db.Stats().TxStats
		n := float64(b.N)
		b.ReportMetric(float64(after.GetWrite()-before.GetWrite())/n, "pages/commit")
		b.ReportMetric(float64((after.GetWriteTime()-before.GetWriteTime()).Microseconds())/n, "write+sync-µs/commit")
	}
	for _, wal := range []bool{false, true} {
		name := "store without WAL"
		if wal {
			// The log's write and sync are the commit; bbolt's pages
			// are the checkpoints', spread over the commits.
			name = "store with WAL"
		}
		b.Run(name, func(b *testing.B) {
			opts := benchOptions()
			opts.NoWAL = !wal
			s := openTest(b, opts)
			users := make([]string, queues)
			for q := range users {
				users[q] = fmt.Sprintf("receiver%02d", q)
			}
			mustCreate(b, s, users...)
			commitOnce := func() {
				now := time.Now()
				msgs := make([]protocol.NewMessage, queues)
				for q := range msgs {
					msgs[q] = protocol.NewMessage{Recipient: users[q], Payload: payload, Enqueued: now, Expires: now.Add(time.Hour)}
				}
				rs, err := s.Enqueue(context.Background(), msgs)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range rs {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			for range depth {
				commitOnce()
			}
			var written int64
			if wal {
				written = s.wal.written
			}
			before := s.db.Stats().TxStats
			b.ResetTimer()
			for range b.N {
				commitOnce()
			}
			report(b, s.db, before)
			if wal {
				b.ReportMetric(float64(s.wal.written-written)/float64(b.N), "wal-bytes/commit")
			}
		})
	}
	b.Run("one bucket (the relay)", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "relay.db"), fileMode, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		var seq uint64
		commitOnce := func() {
			err := db.Update(func(tx *bolt.Tx) error {
				m, err := tx.CreateBucketIfNotExists([]byte("m"))
				if err != nil {
					return err
				}
				for range queues {
					seq++
					if err := m.Put(binary.BigEndian.AppendUint64(nil, seq), payload); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		for range depth {
			commitOnce()
		}
		before := db.Stats().TxStats
		b.ResetTimer()
		for range b.N {
			commitOnce()
		}
		report(b, db, before)
	})
}
