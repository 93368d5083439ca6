package metrics

// The Registry's constructors of counters and gauges, side by side: the
// two kinds register alike (one series, a family by labels, or a function
// read at each scrape) and differ in what a sample does (counter.go,
// gauge.go).

// Counter registers and returns a new counter. By convention its name ends
// in _total.
func (r *Registry) Counter(name, help string) (*Counter, error) {
	return registerOne(r, name, help, typeCounter, new(Counter))
}

// Gauge registers and returns a new gauge, starting at 0.
func (r *Registry) Gauge(name, help string) (*Gauge, error) {
	return registerOne(r, name, help, typeGauge, new(Gauge))
}

// CounterVec is a family of counters that differ in the values of a fixed
// set of labels, such as RPCs by method and result. It is safe for
// concurrent use.
//
// Every label combination used is kept, and scraped, until the program
// ends, so label values must come from a small fixed set (method names,
// result codes), never from user names or addresses.
type CounterVec = Vec[*Counter]

// GaugeVec is a family of gauges that differ in the values of a fixed set of
// labels, kept as CounterVec keeps counters. It is safe for concurrent use.
type GaugeVec = Vec[*Gauge]

// CounterVec registers and returns a new counter vector with the given label
// names.
func (r *Registry) CounterVec(name, help string, labelNames ...string) (*CounterVec, error) {
	return registerVec(r, name, help, typeCounter, labelNames, func() *Counter { return new(Counter) })
}

// GaugeVec registers and returns a new gauge vector with the given label
// names.
func (r *Registry) GaugeVec(name, help string, labelNames ...string) (*GaugeVec, error) {
	return registerVec(r, name, help, typeGauge, labelNames, func() *Gauge { return new(Gauge) })
}

// CounterFunc registers a counter whose value is read by calling f at every
// scrape, for counts another component already keeps. f must be safe for
// concurrent use, must be quick, and must never return a smaller value than
// before.
func (r *Registry) CounterFunc(name, help string, f func() float64) error {
	return registerFunc(r, name, help, typeCounter, f)
}

// GaugeFunc registers a gauge whose value is read by calling f at every
// scrape, for values another component already knows, such as open
// connections or mailbox depth. f must be safe for concurrent use and quick:
// it runs on the scraping goroutine, with no lock of the Registry held.
func (r *Registry) GaugeFunc(name, help string, f func() float64) error {
	return registerFunc(r, name, help, typeGauge, f)
}

// MustCounter is Counter for program setup: it panics on an invalid or
// duplicate name.
func (r *Registry) MustCounter(name, help string) *Counter { return must(r.Counter(name, help)) }

// MustGauge is Gauge for program setup: it panics on an invalid or
// duplicate name.
func (r *Registry) MustGauge(name, help string) *Gauge { return must(r.Gauge(name, help)) }

// MustCounterVec is CounterVec for program setup: it panics on an invalid
// or duplicate name or an invalid label name.
func (r *Registry) MustCounterVec(name, help string, labelNames ...string) *CounterVec {
	return must(r.CounterVec(name, help, labelNames...))
}

// MustGaugeVec is GaugeVec for program setup: it panics on an invalid or
// duplicate name or an invalid label name.
func (r *Registry) MustGaugeVec(name, help string, labelNames ...string) *GaugeVec {
	return must(r.GaugeVec(name, help, labelNames...))
}

// MustCounterFunc is CounterFunc for program setup: it panics on an invalid
// or duplicate name or a nil f.
func (r *Registry) MustCounterFunc(name, help string, f func() float64) {
	must(struct{}{}, r.CounterFunc(name, help, f))
}

// MustGaugeFunc is GaugeFunc for program setup: it panics on an invalid or
// duplicate name or a nil f.
func (r *Registry) MustGaugeFunc(name, help string, f func() float64) {
	must(struct{}{}, r.GaugeFunc(name, help, f))
}
