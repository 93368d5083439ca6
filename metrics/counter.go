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

// Counter registers and returns a new counter. By convention its name ends
// in _total.
func (r *Registry) Counter(name, help string) (*Counter, error) {
	return registerOne(r, name, help, typeCounter, new(Counter))
}

// MustCounter is Counter for program setup: it panics on an invalid or
// duplicate name.
func (r *Registry) MustCounter(name, help string) *Counter {
	return must(r.Counter(name, help))
}

// CounterVec is a family of counters that differ in the values of a fixed
// set of labels, such as RPCs by method and result. It is safe for
// concurrent use.
//
// Every label combination used is kept, and scraped, until the program
// ends, so label values must come from a small fixed set (method names,
// result codes), never from user names or addresses.
type CounterVec struct {
	v *vec[*Counter]
}

// CounterVec registers and returns a new counter vector with the given label
// names.
func (r *Registry) CounterVec(name, help string, labelNames ...string) (*CounterVec, error) {
	v, err := registerVec(r, name, help, typeCounter, labelNames, func() *Counter { return new(Counter) })
	if err != nil {
		return nil, err
	}
	return &CounterVec{v: v}, nil
}

// MustCounterVec is CounterVec for program setup: it panics on an invalid
// or duplicate name or an invalid label name.
func (r *Registry) MustCounterVec(name, help string, labelNames ...string) *CounterVec {
	return must(r.CounterVec(name, help, labelNames...))
}

// With returns the counter for the label values, given in the order of the
// label names, creating it on first use; later calls return the same
// counter, without locking. Invalid UTF-8 in a value is replaced by U+FFFD.
// With panics if the number of values differs from the number of label
// names, a programming error; Get returns an error instead.
func (v *CounterVec) With(labelValues ...string) *Counter {
	return v.v.mustGet(labelValues)
}

// Get is With returning an error wrapping ErrLabelCount instead of
// panicking when the number of values is wrong.
func (v *CounterVec) Get(labelValues ...string) (*Counter, error) {
	return v.v.get(labelValues)
}

// CounterFunc registers a counter whose value is read by calling f at every
// scrape, for counts another component already keeps. f must be safe for
// concurrent use, must be quick, and must never return a smaller value than
// before.
func (r *Registry) CounterFunc(name, help string, f func() float64) error {
	return registerFunc(r, name, help, typeCounter, f)
}

// MustCounterFunc is CounterFunc for program setup: it panics on an invalid
// or duplicate name or a nil f.
func (r *Registry) MustCounterFunc(name, help string, f func() float64) {
	must(struct{}{}, r.CounterFunc(name, help, f))
}
