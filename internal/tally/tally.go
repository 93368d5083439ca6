// Package tally keeps named counters that only grow, such as the mesh
// engines' counts of forwarded, dropped and refused items, cheap to add to
// from many goroutines and read as one snapshot.
package tally

import (
	"sync"
	"sync/atomic"
)

// Counters is a set of named counters; the zero value is ready to use.
type Counters struct {
	mu sync.Mutex
	m  map[string]*atomic.Uint64
}

// Add adds n to the counter name; n ≤ 0 adds nothing.
func (c *Counters) Add(name string, n int) {
	if n <= 0 {
		return
	}
	c.mu.Lock()
	v := c.m[name]
	if v == nil {
		if c.m == nil {
			c.m = map[string]*atomic.Uint64{}
		}
		v = new(atomic.Uint64)
		c.m[name] = v
	}
	c.mu.Unlock()
	v.Add(uint64(n))
}

// Snapshot returns every counter that was added to.
func (c *Counters) Snapshot() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]uint64, len(c.m))
	for k, v := range c.m {
		out[k] = v.Load()
	}
	return out
}
