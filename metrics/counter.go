package metrics

import (
	"math"
	"sync/atomic"
)

// Counter is a value that only goes up: requests served, messages stored.
// Whole increments are kept as an exact uint64; fractional ones (Add(0.5))
// in a separate float, so the common Inc is a single atomic add. It is safe
// for concurrent use. The zero value is a counter at 0, but only counters
// created by a Registry are exported.
type Counter struct {
	ints atomic.Uint64
	frac atomic.Uint64 // float64 bits of the fractional increments
}

// Inc adds 1.
func (c *Counter) Inc() { c.ints.Add(1) }

// AddUint64 adds n.
func (c *Counter) AddUint64(n uint64) { c.ints.Add(n) }

// Add adds v. A counter never goes down: a negative or NaN v is ignored.
func (c *Counter) Add(v float64) {
	switch {
	case !(v > 0):
		// Catches NaN too.
		return
	case v == math.Trunc(v) && v < maxExactInt:
		c.ints.Add(uint64(v))
	default:
		addFloat(&c.frac, v)
	}
}

// Value returns the current count.
func (c *Counter) Value() float64 {
	return float64(c.ints.Load()) + math.Float64frombits(c.frac.Load())
}

func (c *Counter) write(w *textWriter) {
	n, f := c.ints.Load(), c.frac.Load()
	if f == 0 {
		w.uint(n)
		return
	}
	w.float(float64(n) + math.Float64frombits(f))
}

// addFloat adds v to the float64 whose bits are in bits.
func addFloat(bits *atomic.Uint64, v float64) {
	for {
		old := bits.Load()
		next := math.Float64bits(math.Float64frombits(old) + v)
		if bits.CompareAndSwap(old, next) {
			return
		}
	}
}
