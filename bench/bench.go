// Package bench is the load generator behind `qpc bench`: it registers
// throwaway users on a node, has senders enqueue messages to receivers that
// are subscribed for push, and measures throughput and the latency from
// enqueue to push; given the node's process and metrics (or a node it
// started itself, SpawnNode), also what the node spent: CPU per message,
// memory, group commits.
//
// It measures the node, not the client's cryptography: payloads are random
// bytes of the requested size with the send time in their first 8 bytes,
// not sealed messages (sealing costs the client about 0.4 ms a message).
package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/protocol"
)

// Options configure a run.
type Options struct {
	// Dial connects a new client to the node.
	Dial func(ctx context.Context) (*client.Client, error)
	// Domain is the node's domain.
	Domain string
	// DialReceiver, if not nil, connects the receivers to another node, of
	// domain ReceiverDomain, so that every message crosses a federation
	// link; nil puts the receivers on the senders' node.
	DialReceiver   func(ctx context.Context) (*client.Client, error)
	ReceiverDomain string
	// Pairs is the number of sender→receiver pairs, each on its own
	// connections.
	Pairs int
	// Messages is how many messages each sender sends.
	Messages int
	// Size is the payload size in bytes (at least 8).
	Size int
	// Window is how many enqueues each sender keeps in flight.
	Window int
	// Progress, if not nil, is called about every second with the messages
	// delivered so far.
	Progress func(delivered, total int)
	// NodePID, if not 0, is the node's process on this machine: the run
	// reads its CPU time and memory from /proc.
	NodePID int
	// NodeIdle, if its RSS is not 0, is the node's idle sample, taken
	// before anyone talked to it (SpawnedNode.Idle); else the run takes it
	// at its start, after the caller's first connections.
	NodeIdle ProcSample
	// NodeMetrics, if not "", is the node's Prometheus URL: the run reads
	// its group-commit counters there.
	NodeMetrics string
	// RPCOnly has the clients send, receive and ack with Cap'n Proto
	// calls, not the message stream (client.UseRPCOnly), to compare.
	RPCOnly bool
}

// Result is what a run measured.
type Result struct {
	Pairs, Messages, Size int
	// Path is how the clients carried messages: "stream" (the message
	// stream) or "rpc" (Cap'n Proto calls).
	Path string
	// Delivered counts messages pushed to their receivers.
	Delivered int
	// Elapsed runs from the first send to the last delivery.
	Elapsed time.Duration
	// Throughput is Delivered / Elapsed, in messages per second.
	Throughput float64
	// Latency percentiles from enqueue to push.
	P50, P90, P99, Max time.Duration
	// ReceiptP50 is the median wait of a sender for its message's
	// receipt: from enqueue to the node's answer that it is on disk.
	ReceiptP50 time.Duration

	// What the node spent, with Options.NodePID: CPU per delivered
	// message over the run; resident and anonymous memory before the
	// run (idle, the node just started) and at their peaks during it.
	NodeCPUPerMsg      time.Duration
	RSSIdle, RSSPeak   int64
	AnonIdle, AnonPeak int64
	// The node's group commits during the run, with Options.NodeMetrics.
	Commits                      float64
	CommitsPerSec, MsgsPerCommit float64
	// CommitMean is a group commit's mean duration, from the start of
	// its transaction to the end of its sync, and CommitBusy the share of
	// the run the committer spent in commits: near 1, every message waits
	// for the commit before its own, and the commit's duration decides
	// the latency.
	CommitMean time.Duration
	CommitBusy float64
}

// fastKSF is the key stretching of throwaway bench accounts: the identity
// function, because Argon2id's 64 MiB per login is not what is measured.
var fastKSF = opaque.Config{KSF: opaque.Identity{}}

// ackEvery is how many messages a receiver handles between acks.
const ackEvery = 256

type peer struct {
	c    *client.Client
	user string
	addr string // user@domain
}

// Run performs one benchmark run and deletes its accounts afterwards.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Pairs < 1 || o.Messages < 1 || o.Size < 8 || o.Window < 1 {
		return Result{}, errors.New("bench: pairs, messages and window must be at least 1, size at least 8")
	}
	if o.DialReceiver != nil && o.ReceiverDomain == "" {
		return Result{}, errors.New("bench: a receiver node needs its domain")
	}
	idle := o.NodeIdle
	if o.NodePID != 0 && idle.RSS == 0 {
		var err error
		if idle, err = ReadProc(o.NodePID); err != nil {
			return Result{}, err
		}
	}
	tag := make([]byte, 4)
	rand.Read(tag)
	var peers []*peer
	defer func() {
		for _, p := range peers {
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			p.c.DeleteAccount(dctx)
			cancel()
			p.c.Close()
		}
	}()
	rdial, rdomain := o.Dial, o.Domain
	if o.DialReceiver != nil {
		rdial, rdomain = o.DialReceiver, o.ReceiverDomain
	}
	newPeer := func(dial func(context.Context) (*client.Client, error), domain, role string, i int) (*peer, error) {
		c, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		if o.RPCOnly {
			c.UseRPCOnly()
		}
		user := fmt.Sprintf("bench-%x-%s%d", tag, role, i)
		pw := []byte(user)
		if _, err := c.Register(ctx, fastKSF, domain, user, pw); err != nil {
			c.Close()
			if errors.Is(err, protocol.ErrRateLimited) || errors.Is(err, protocol.ErrAccountsFull) {
				// The node's registration bounds (issue 20) count every
				// bench account; say which knobs let a benchmark through.
				return nil, fmt.Errorf("registering %s on %s: %w (the bench registers two accounts per client: "+
					"raise --register-rate, --register-rate-node and --max-accounts on a node you benchmark; `make run` does)",
					user, domain, err)
			}
			return nil, err
		}
		p := &peer{c: c, user: user, addr: user + "@" + domain}
		peers = append(peers, p)
		if _, _, err := c.Login(ctx, fastKSF, domain, user, pw); err != nil {
			return nil, err
		}
		return p, nil
	}
	senders := make([]*peer, o.Pairs)
	receivers := make([]*peer, o.Pairs)
	for i := range o.Pairs {
		var err error
		if senders[i], err = newPeer(o.Dial, o.Domain, "s", i); err != nil {
			return Result{}, err
		}
		if receivers[i], err = newPeer(rdial, rdomain, "r", i); err != nil {
			return Result{}, err
		}
	}

	total := o.Pairs * o.Messages
	latencies := make([][]time.Duration, o.Pairs)
	receipts := make([][]time.Duration, o.Pairs)
	var delivered atomic.Int64
	allDone := make(chan struct{})
	var lastDelivery atomic.Int64
	acked := make([]uint64, o.Pairs)
	for i, r := range receivers {
		_, err := r.c.Subscribe(ctx, 0, func(msgs []protocol.Message) {
			now := time.Now()
			for _, m := range msgs {
				sent := int64(binary.BigEndian.Uint64(m.Payload))
				latencies[i] = append(latencies[i], now.Sub(time.Unix(0, sent)))
			}
			lastDelivery.Store(now.UnixNano())
			if int(delivered.Add(int64(len(msgs)))) == total {
				close(allDone)
			}
			// Acknowledge in bulk, off the push goroutine: every ack is a
			// synced write on the node, as a real client would batch them.
			if upto := msgs[len(msgs)-1].Seq; upto-acked[i] >= ackEvery || int(delivered.Load()) == total {
				acked[i] = upto
				go r.c.Ack(context.Background(), upto)
			}
		})
		if err != nil {
			return Result{}, err
		}
	}

	probe, err := startProbe(ctx, o)
	if err != nil {
		return Result{}, err
	}
	defer probe.stop()
	start := time.Now()
	errc := make(chan error, o.Pairs)
	var wg sync.WaitGroup
	for i, s := range senders {
		receipts[i] = make([]time.Duration, o.Messages)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- send(ctx, s.c, receivers[i].addr, o, receipts[i])
		}()
	}
	stopProgress := make(chan struct{})
	if o.Progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					o.Progress(int(delivered.Load()), total)
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			close(stopProgress)
			return Result{}, err
		}
	}
	select {
	case <-allDone:
	case <-ctx.Done():
		close(stopProgress)
		return Result{}, fmt.Errorf("bench: %d of %d messages delivered: %w", delivered.Load(), total, ctx.Err())
	}
	close(stopProgress)

	all := slices.Concat(latencies...)
	slices.Sort(all)
	res := Result{
		Pairs: o.Pairs, Messages: o.Messages, Size: o.Size,
		Delivered: len(all),
		Elapsed:   time.Unix(0, lastDelivery.Load()).Sub(start),
		Path:      "rpc",
	}
	if senders[0].c.UsesMsgStream(ctx) && receivers[0].c.UsesMsgStream(ctx) {
		res.Path = "stream"
	}
	res.Throughput = float64(res.Delivered) / res.Elapsed.Seconds()
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	res.P50, res.P90, res.P99, res.Max = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	waits := slices.Concat(receipts...)
	slices.Sort(waits)
	res.ReceiptP50 = waits[len(waits)/2]
	if err := probe.finish(ctx, &res, idle); err != nil {
		return Result{}, err
	}
	return res, nil
}

// send enqueues o.Messages messages to addr with o.Window in flight: o.Window
// workers, each sending its next message as soon as its last is stored.
// The payloads are random once per sender, so the bench spends its CPU on
// the client library, not on making test data; each message is its own
// buffer, stamped with its send time as it leaves. waits[n] gets message
// n's wait for its receipt.
func send(ctx context.Context, c *client.Client, addr string, o Options, waits []time.Duration) error {
	random := make([]byte, o.Size)
	rand.Read(random)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range o.Window {
		wg.Go(func() {
			for n := next.Add(1); n <= int64(o.Messages) && firstErr.Load() == nil; n = next.Add(1) {
				payload := make([]byte, o.Size)
				copy(payload[8:], random[8:])
				sent := time.Now()
				binary.BigEndian.PutUint64(payload, uint64(sent.UnixNano()))
				if _, err := c.Enqueue(ctx, client.Outgoing{Recipient: addr, Payload: payload}); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				waits[n-1] = time.Since(sent)
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return nil
}
