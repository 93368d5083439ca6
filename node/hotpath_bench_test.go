package node_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
)

// BenchmarkHotPath measures a message's way through the node without the
// network: Conn.Enqueue, the group commit on a real bbolt file (synced), the
// hub's wake-up, the subscription's fetch and its delivery to a listener,
// and the receiver's acks. A regression of the node's own cost per message
// shows here without QUIC's noise. One op is one message delivered.
func BenchmarkHotPath(b *testing.B) {
	for _, c := range []struct{ pairs, window int }{{16, 32}, {1, 1}} {
		for _, wal := range []bool{true, false} { // the store's write-ahead log, and the old path
			b.Run(fmt.Sprintf("pairs=%d,window=%d,wal=%v", c.pairs, c.window, wal), func(b *testing.B) {
				benchHotPath(b, c.pairs, c.window, store.Options{NoWAL: !wal})
			})
		}
	}
}

// countingListener counts what it is pushed and acks every ackEvery
// messages, as a client does.
type countingListener struct {
	conn      *node.Conn
	delivered *atomic.Int64
	pushes    *atomic.Int64
	unacked   int
	wg        *sync.WaitGroup
}

const ackEvery = 256

func (l *countingListener) Deliver(_ context.Context, msgs []protocol.Message) error {
	l.delivered.Add(int64(len(msgs)))
	l.pushes.Add(1)
	if l.unacked += len(msgs); l.unacked >= ackEvery {
		l.unacked = 0
		upto := msgs[len(msgs)-1].Seq
		l.wg.Go(func() { l.conn.Ack(upto) })
	}
	return nil
}

func benchHotPath(b *testing.B, pairs, window int, opts store.Options) {
	st, err := store.Open(filepath.Join(b.TempDir(), store.FileName), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg := opaque.DefaultConfig()
	secrets, err := opaque.GenerateServerSecrets(cfg)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := opaque.NewServer(cfg, secrets)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := node.New(node.Config{
		Identity: protocol.Identity{Domain: domain},
		Limits:   node.Limits{EnqueueRate: 1e9, EnqueueBurst: 1e9},
		Store:    st,
		OPAQUE:   srv,
	})
	if err != nil {
		b.Fatal(err)
	}
	conn := func(user string, i int) *node.Conn {
		c := svc.NewConn(fmt.Sprintf("192.0.2.%d:%d", i%250+1, i))
		if err := register(c, user); err != nil {
			b.Fatal(err)
		}
		if _, err := login(c, user); err != nil {
			b.Fatal(err)
		}
		return c
	}
	var delivered, pushes atomic.Int64
	var acks sync.WaitGroup
	senders := make([]*node.Conn, pairs)
	for i := range pairs {
		senders[i] = conn(fmt.Sprintf("s%d", i), 2*i)
		r := conn(fmt.Sprintf("r%d", i), 2*i+1)
		sub, err := r.Subscribe(&countingListener{conn: r, delivered: &delivered, pushes: &pushes, wg: &acks}, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Cancel()
		defer r.Close()
		defer senders[i].Close()
	}
	payload := make([]byte, 256)
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for i := range pairs {
		for range window {
			wg.Go(func() {
				msg := []protocol.Outgoing{{Recipient: fmt.Sprintf("r%d", i), Payload: payload}}
				for next.Add(1) <= int64(b.N) {
					rs, _, err := senders[i].Enqueue(context.Background(), msg)
					if err == nil {
						err = rs[0].Err
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	for deadline := time.Now().Add(time.Minute); delivered.Load() < int64(b.N); time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d messages delivered", delivered.Load(), b.N)
		}
	}
	b.StopTimer()
	acks.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	// Messages per push: each push is a Cap'n Proto call over a network.
	b.ReportMetric(float64(delivered.Load())/float64(max(pushes.Load(), 1)), "msgs/push")
}
