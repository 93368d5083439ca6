package metrics

import "fmt"

// Counters and gauges are each one sample per series; they differ only in
// how they count and in the type line of their family. What registers and
// scrapes them, alone, by label values or through a function, is written
// here once for both.

// sample is a metric written as one value per series: *Counter, *Gauge.
type sample interface {
	write(w *textWriter)
}

// registerOne registers m as the only series of the family name.
func registerOne[T sample](r *Registry, name, help string, typ metricType, m T) (T, error) {
	err := r.register(&family{name: name, help: help, typ: typ, write: func(w *textWriter, f *family) {
		w.header(f.name, f.help, f.typ)
		w.series(f.name, "", nil, nil, "", "")
		m.write(w)
	}})
	if err != nil {
		var zero T
		return zero, err
	}
	return m, nil
}

// registerVec registers a family of series that differ in the values of
// labelNames, each made by newChild on first use. A family without
// series yet writes nothing, not even its header.
func registerVec[T sample](r *Registry, name, help string, typ metricType, labelNames []string, newChild func() T) (*Vec[T], error) {
	if err := checkLabelNames(name, labelNames); err != nil {
		return nil, err
	}
	v := newVec(name, labelNames, newChild)
	err := r.register(&family{name: name, help: help, typ: typ, write: func(w *textWriter, f *family) {
		children := v.children()
		if len(children) == 0 {
			return
		}
		w.header(f.name, f.help, f.typ)
		for _, c := range children {
			w.series(f.name, "", v.labelNames, c.values, "", "")
			c.metric.write(w)
		}
	}})
	if err != nil {
		return nil, err
	}
	return &Vec[T]{v: v}, nil
}

// Vec is a family of samples of one kind that differ in the values of a
// fixed set of labels: CounterVec and GaugeVec. It is safe for concurrent
// use.
type Vec[T sample] struct {
	v *vec[T]
}

// With returns the sample for the label values, given in the order of the
// label names, creating it on first use; later calls return the same
// sample, without locking. Invalid UTF-8 in a value is replaced by U+FFFD.
// With panics if the number of values differs from the number of label
// names, a programming error; Get returns an error instead.
func (v *Vec[T]) With(labelValues ...string) T {
	return v.v.mustGet(labelValues)
}

// Get is With returning an error wrapping ErrLabelCount instead of
// panicking when the number of values is wrong.
func (v *Vec[T]) Get(labelValues ...string) (T, error) {
	return v.v.get(labelValues)
}

// registerFunc registers a family of one series whose value f returns at
// every scrape.
func registerFunc(r *Registry, name, help string, typ metricType, f func() float64) error {
	if f == nil {
		return fmt.Errorf("metrics: %q: %w", name, ErrNilFunc)
	}
	return r.register(&family{name: name, help: help, typ: typ, write: func(w *textWriter, fam *family) {
		w.header(fam.name, fam.help, fam.typ)
		w.series(fam.name, "", nil, nil, "", "")
		w.float(f())
	}})
}
