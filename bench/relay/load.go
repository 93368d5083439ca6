package relay

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/transport"
)

// Options configure a load run, as bench.Options do for a node.
type Options struct {
	Addr                          string
	Pairs, Messages, Size, Window int
}

// Result is what a load run measured, as bench.Result for a node.
type Result struct {
	Delivered          int
	Elapsed            time.Duration
	Throughput         float64
	P50, P90, P99, Max time.Duration
}

// ErrBadOptions is a run that cannot be made.
var ErrBadOptions = errors.New("relay: pairs, messages and window must be at least 1, size at least 8")

// Load runs o.Pairs sender→receiver pairs against the relay at o.Addr,
// each sender keeping o.Window messages unacked, and measures from
// send to push as qpc bench does.
func Load(ctx context.Context, o Options) (Result, error) {
	if o.Pairs < 1 || o.Messages < 1 || o.Size < 8 || o.Window < 1 {
		return Result{}, ErrBadOptions
	}
	var conns []*quic.Conn
	defer func() {
		for _, c := range conns {
			c.CloseWithError(0, "")
		}
	}()
	open := func(role byte, pair int) (*quic.Stream, *bufio.Reader, error) {
		c, err := transport.Dial(ctx, o.Addr, clientTLS())
		if err != nil {
			return nil, nil, err
		}
		conns = append(conns, c)
		st, err := c.OpenStreamSync(ctx)
		if err != nil {
			return nil, nil, err
		}
		hello := []byte{role, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(hello[1:], uint32(pair))
		if _, err := st.Write(appendFrame(nil, frameHello, hello)); err != nil {
			return nil, nil, err
		}
		return st, bufio.NewReaderSize(st, 64<<10), nil
	}
	total := o.Pairs * o.Messages
	lat := make([][]time.Duration, o.Pairs)
	var delivered atomic.Int64
	var last atomic.Int64
	allDone := make(chan struct{})
	errc := make(chan error, 2*o.Pairs)
	var rwg sync.WaitGroup
	for i := range o.Pairs {
		_, r, err := open('r', i)
		if err != nil {
			return Result{}, err
		}
		if f, err := readFrame(r); err != nil || f[0] != frameAck {
			return Result{}, fmt.Errorf("relay: receiver %d not registered: %v", i, err)
		}
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				f, err := readFrame(r)
				if err != nil {
					return
				}
				if f[0] != framePush || len(f) < 9 {
					errc <- fmt.Errorf("%w: type %d to a receiver", ErrFrame, f[0])
					return
				}
				now := time.Now()
				lat[i] = append(lat[i], now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(f[1:])))))
				last.Store(now.UnixNano())
				if delivered.Add(1) == int64(total) {
					close(allDone)
				}
			}
		}()
	}
	type sender struct {
		st *quic.Stream
		r  *bufio.Reader
	}
	senders := make([]sender, o.Pairs)
	for i := range o.Pairs {
		st, r, err := open('s', i)
		if err != nil {
			return Result{}, err
		}
		senders[i] = sender{st, r}
	}
	start := time.Now()
	for _, s := range senders {
		go func() { errc <- send(s.st, s.r, o) }()
	}
	for range o.Pairs {
		select {
		case err := <-errc:
			if err != nil {
				return Result{}, err
			}
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	select {
	case <-allDone:
	case err := <-errc:
		return Result{}, err
	case <-ctx.Done():
		return Result{}, fmt.Errorf("relay: %d of %d delivered: %w", delivered.Load(), total, ctx.Err())
	}
	for _, c := range conns {
		c.CloseWithError(0, "")
	}
	rwg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	res := Result{Delivered: len(all), Elapsed: time.Unix(0, last.Load()).Sub(start)}
	res.Throughput = float64(res.Delivered) / res.Elapsed.Seconds()
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	res.P50, res.P90, res.P99, res.Max = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	return res, nil
}

// send writes o.Messages messages with o.Window unacked, and returns once
// all are acked.
func send(st *quic.Stream, r *bufio.Reader, o Options) error {
	credit := make(chan struct{}, o.Window)
	for range o.Window {
		credit <- struct{}{}
	}
	ackErr := make(chan error, 1)
	go func() {
		acked := 0
		for acked < o.Messages {
			f, err := readFrame(r)
			if err != nil {
				ackErr <- err
				return
			}
			if f[0] != frameAck || len(f) != 5 {
				ackErr <- fmt.Errorf("%w: type %d to a sender", ErrFrame, f[0])
				return
			}
			n := int(binary.BigEndian.Uint32(f[1:]))
			acked += n
			for range n {
				credit <- struct{}{}
			}
		}
		ackErr <- nil
	}()
	payload := make([]byte, o.Size)
	rand.Read(payload[8:])
	for range o.Messages {
		select {
		case <-credit:
		case err := <-ackErr:
			return err
		}
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		if _, err := st.Write(appendFrame(nil, frameSend, payload)); err != nil {
			return err
		}
	}
	return <-ackErr
}
