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

// Gauge registers and returns a new gauge, starting at 0.
func (r *Registry) Gauge(name, help string) (*Gauge, error) {
	return registerOne(r, name, help, typeGauge, new(Gauge))
}

// MustGauge is Gauge for program setup: it panics on an invalid or
// duplicate name.
func (r *Registry) MustGauge(name, help string) *Gauge {
	return must(r.Gauge(name, help))
}

// GaugeVec is a family of gauges that differ in the values of a fixed set of
// labels. It is safe for concurrent use.
type GaugeVec struct {
	v *vec[*Gauge]
}

// GaugeVec registers and returns a new gauge vector with the given label
// names.
func (r *Registry) GaugeVec(name, help string, labelNames ...string) (*GaugeVec, error) {
	v, err := registerVec(r, name, help, typeGauge, labelNames, func() *Gauge { return new(Gauge) })
	if err != nil {
		return nil, err
	}
	return &GaugeVec{v: v}, nil
}

// MustGaugeVec is GaugeVec for program setup: it panics on an invalid or
// duplicate name or an invalid label name.
func (r *Registry) MustGaugeVec(name, help string, labelNames ...string) *GaugeVec {
	return must(r.GaugeVec(name, help, labelNames...))
}

// With returns the gauge for the label values, as CounterVec.With does.
func (v *GaugeVec) With(labelValues ...string) *Gauge {
	return v.v.mustGet(labelValues)
}

// Get is With returning an error wrapping ErrLabelCount instead of
// panicking when the number of values is wrong.
func (v *GaugeVec) Get(labelValues ...string) (*Gauge, error) {
	return v.v.get(labelValues)
}

// GaugeFunc registers a gauge whose value is read by calling f at every
// scrape, for values another component already knows, such as open
// connections or mailbox depth. f must be safe for concurrent use and quick:
// it runs on the scraping goroutine, with no lock of the Registry held.
func (r *Registry) GaugeFunc(name, help string, f func() float64) error {
	return registerFunc(r, name, help, typeGauge, f)
}

// MustGaugeFunc is GaugeFunc for program setup: it panics on an invalid or
// duplicate name or a nil f.
func (r *Registry) MustGaugeFunc(name, help string, f func() float64) {
	must(struct{}{}, r.GaugeFunc(name, help, f))
}
