package metrics

import (
	"math"
	"sync/atomic"
)

// Gauge is a value that goes up and down: items queued, bytes in use. It is
// safe for concurrent use. The zero value is a gauge at 0, but only gauges
// created by a Registry are exported.
type Gauge struct {
	bits atomic.Uint64 // float64 bits
}

// Set sets the gauge to v.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Add adds v, which may be negative.
func (g *Gauge) Add(v float64) { addFloat(&g.bits, v) }

// Inc adds 1.
func (g *Gauge) Inc() { g.Add(1) }

// Dec subtracts 1.
func (g *Gauge) Dec() { g.Add(-1) }

// Value returns the current value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

func (g *Gauge) write(w *textWriter) { w.float(g.Value()) }
