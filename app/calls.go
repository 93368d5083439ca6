package app

import (
	"context"
	"fmt"
	"sync"

	"github.com/quicprochat/qpc/protocol"
)

// MaxCalls bounds the client calls a node serves at once, whatever the
// number of connections: each connection may have transport.MaxCallsInFlight
// calls unanswered, and this keeps a thousand connections from running
// sixty thousand handlers. It is above what `qpc bench --clients 16` keeps
// in flight (16 senders with windows of 32).
const MaxCalls = 1024

// ErrBusy refuses a client call because the node serves MaxCalls already.
// It wraps protocol.ErrRateLimited, so that clients see the rateLimited code
// and retry later, as they do for their own rate.
var ErrBusy = fmt.Errorf("node busy: %w", protocol.ErrRateLimited)

// calls counts the RPCs a node is running, so that shutdown can wait for
// them to finish. Unlike a sync.WaitGroup it allows new calls to begin while
// someone waits, and the wait can give up.
type calls struct {
	max    int    // bound of TryBegin; 0: none
	onBusy func() // told of each call TryBegin refuses; may be nil

	mu      sync.Mutex
	running int
	idle    chan struct{} // closed when running drops to 0
}

func newCalls() *calls {
	c := &calls{idle: make(chan struct{}), max: MaxCalls}
	close(c.idle)
	return c
}

// TryBegin is Begin for a client's call: it fails with ErrBusy, and the
// call is not counted, when max calls are running already. Federation
// calls use Begin: peers are few and rate-limited by their own bounds.
func (c *calls) TryBegin() (end func(), err error) {
	c.mu.Lock()
	if c.max > 0 && c.running >= c.max {
		c.mu.Unlock()
		if c.onBusy != nil {
			c.onBusy()
		}
		return nil, ErrBusy
	}
	return c.beginLocked(), nil
}

// Begin records a call and returns the function that ends it; calling that
// function more than once is harmless.
func (c *calls) Begin() (end func()) {
	c.mu.Lock()
	return c.beginLocked()
}

// beginLocked is Begin with c.mu held; it unlocks it.
func (c *calls) beginLocked() (end func()) {
	if c.running == 0 {
		c.idle = make(chan struct{})
	}
	c.running++
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.running--
			if c.running == 0 {
				close(c.idle)
			}
			c.mu.Unlock()
		})
	}
}

// Running returns how many calls are running.
func (c *calls) Running() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running
}

// Wait returns nil once no call is running, or ctx's error if that comes
// first.
func (c *calls) Wait(ctx context.Context) error {
	c.mu.Lock()
	idle := c.idle
	c.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
