package app

import (
	"context"
	"sync"
)

// calls counts the RPCs a node is running, so that shutdown can wait for
// them to finish. Unlike a sync.WaitGroup it allows new calls to begin while
// someone waits, and the wait can give up.
type calls struct {
	mu      sync.Mutex
	running int
	idle    chan struct{} // closed when running drops to 0
}

func newCalls() *calls {
	c := &calls{idle: make(chan struct{})}
	close(c.idle)
	return c
}

// Begin records a call and returns the function that ends it; calling that
// function more than once is harmless.
func (c *calls) Begin() (end func()) {
	c.mu.Lock()
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
