package metrics

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// Histogram counts observations, such as RPC latencies, in buckets with
// fixed upper bounds, and keeps their sum. Observe is lock-free and does not
// allocate. It is safe for concurrent use.
type Histogram struct {
	shape *bucketShape
	// counts are per bucket, not cumulative: one atomic add per Observe.
	// The last one is the +Inf bucket. The exposed _count is their total,
	// so that it always equals the +Inf bucket in the output.
	counts []atomic.Uint64
	sum    atomic.Uint64 // float64 bits
}

// bucketShape is the bounds of a histogram, shared by the children of a
// HistogramVec, with their "le" label values formatted once.
type bucketShape struct {
	upper []float64 // finite, strictly increasing; +Inf is implied
	le    []string
}

func newBucketShape(metric string, buckets []float64) (*bucketShape, error) {
	upper := slices.Clone(buckets)
	if n := len(upper); n > 0 && math.IsInf(upper[n-1], 1) {
		upper = upper[:n-1]
	}
	for i, b := range upper {
		if math.IsNaN(b) || math.IsInf(b, 1) || i > 0 && !(upper[i-1] < b) {
			return nil, fmt.Errorf("metrics: %q: bounds %v: %w", metric, buckets, ErrInvalidBuckets)
		}
	}
	s := &bucketShape{upper: upper, le: make([]string, len(upper))}
	for i, b := range upper {
		s.le[i] = string(appendFloat(nil, b))
	}
	return s, nil
}

func newHistogram(s *bucketShape) *Histogram {
	return &Histogram{shape: s, counts: make([]atomic.Uint64, len(s.upper)+1)}
}

// Observe records v: it counts in the first bucket whose upper bound is at
// least v, and is added to the sum. NaN counts in the +Inf bucket only and
// makes the sum NaN, as in other Prometheus clients.
func (h *Histogram) Observe(v float64) {
	// Binary search for the first bound >= v; written out because the
	// comparison must send NaN to the end, and to keep the hot path free of
	// closures.
	upper := h.shape.upper
	lo, hi := 0, len(upper)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v <= upper[m] {
			hi = m
		} else {
			lo = m + 1
		}
	}
	h.counts[lo].Add(1)
	addFloat(&h.sum, v)
}

// ObserveDuration records d in seconds, the base unit that Prometheus
// expects in a name such as qpc_rpc_duration_seconds.
func (h *Histogram) ObserveDuration(d time.Duration) {
	h.Observe(d.Seconds())
}

// Count returns the number of observations so far.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Sum returns the sum of the observations so far.
func (h *Histogram) Sum() float64 {
	return math.Float64frombits(h.sum.Load())
}

func (h *Histogram) write(w *textWriter, name string, labelNames, labelValues []string) {
	var cum uint64
	for i, le := range h.shape.le {
		cum += h.counts[i].Load()
		w.series(name, "_bucket", labelNames, labelValues, "le", le)
		w.uint(cum)
	}
	cum += h.counts[len(h.shape.le)].Load()
	w.series(name, "_bucket", labelNames, labelValues, "le", "+Inf")
	w.uint(cum)
	w.series(name, "_sum", labelNames, labelValues, "", "")
	w.float(h.Sum())
	w.series(name, "_count", labelNames, labelValues, "", "")
	w.uint(cum)
}

// Histogram registers and returns a new histogram with the given bucket
// upper bounds, which must be strictly increasing and not NaN; a final +Inf
// may be given or left out, the +Inf bucket is always there.
func (r *Registry) Histogram(name, help string, buckets []float64) (*Histogram, error) {
	shape, err := newBucketShape(name, buckets)
	if err != nil {
		return nil, err
	}
	h := newHistogram(shape)
	err = r.register(&family{name: name, help: help, typ: typeHistogram, write: func(w *textWriter, f *family) {
		w.header(f.name, f.help, f.typ)
		h.write(w, f.name, nil, nil)
	}})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// MustHistogram is Histogram for program setup: it panics on an invalid or
// duplicate name or invalid buckets.
func (r *Registry) MustHistogram(name, help string, buckets []float64) *Histogram {
	return must(r.Histogram(name, help, buckets))
}

// HistogramVec is a family of histograms with the same buckets that differ
// in the values of a fixed set of labels, such as RPC latency by method. It
// is safe for concurrent use.
type HistogramVec struct {
	v *vec[*Histogram]
}

// HistogramVec registers and returns a new histogram vector with the given
// buckets, as for Histogram, and label names; "le" is reserved.
func (r *Registry) HistogramVec(name, help string, buckets []float64, labelNames ...string) (*HistogramVec, error) {
	if err := checkLabelNames(name, labelNames, "le"); err != nil {
		return nil, err
	}
	shape, err := newBucketShape(name, buckets)
	if err != nil {
		return nil, err
	}
	v := newVec(name, labelNames, func() *Histogram { return newHistogram(shape) })
	err = r.register(&family{name: name, help: help, typ: typeHistogram, write: func(w *textWriter, f *family) {
		children := v.children()
		if len(children) == 0 {
			return
		}
		w.header(f.name, f.help, f.typ)
		for _, c := range children {
			c.metric.write(w, f.name, v.labelNames, c.values)
		}
	}})
	if err != nil {
		return nil, err
	}
	return &HistogramVec{v: v}, nil
}

// MustHistogramVec is HistogramVec for program setup: it panics on an
// invalid or duplicate name, invalid buckets or an invalid label name.
func (r *Registry) MustHistogramVec(name, help string, buckets []float64, labelNames ...string) *HistogramVec {
	return must(r.HistogramVec(name, help, buckets, labelNames...))
}

// With returns the histogram for the label values, as CounterVec.With does.
func (v *HistogramVec) With(labelValues ...string) *Histogram {
	return v.v.mustGet(labelValues)
}

// Get is With returning an error wrapping ErrLabelCount instead of
// panicking when the number of values is wrong.
func (v *HistogramVec) Get(labelValues ...string) (*Histogram, error) {
	return v.v.get(labelValues)
}

// LatencyBuckets returns bounds in seconds from 1 ms to 10 s, for RPC and
// storage latencies on small routers, where a bbolt commit on flash can take
// tens of milliseconds. The slice is new on every call.
func LatencyBuckets() []float64 {
	return []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// ExponentialBuckets returns count bounds, the first start and each next one
// factor times the one before. start must be positive, factor above 1 and
// count at least 1.
func ExponentialBuckets(start, factor float64, count int) ([]float64, error) {
	if !(start > 0) || !(factor > 1) || count < 1 || math.IsInf(start*math.Pow(factor, float64(count-1)), 0) {
		return nil, fmt.Errorf("metrics: exponential buckets (%v, %v, %d): %w", start, factor, count, ErrInvalidBuckets)
	}
	b := make([]float64, count)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b, nil
}

// LinearBuckets returns count bounds, the first start and each next one
// width more than the one before. width must be positive and count at
// least 1.
func LinearBuckets(start, width float64, count int) ([]float64, error) {
	if math.IsNaN(start) || math.IsInf(start, 0) || !(width > 0) || math.IsInf(width, 0) || count < 1 {
		return nil, fmt.Errorf("metrics: linear buckets (%v, %v, %d): %w", start, width, count, ErrInvalidBuckets)
	}
	b := make([]float64, count)
	for i := range b {
		b[i] = start + float64(i)*width
	}
	return b, nil
}
