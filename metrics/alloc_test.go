//go:build !race

// The race detector allocates on its own, so this test runs without it.

package metrics

import (
	"io"
	"testing"
	"time"
)

func TestHotPathDoesNotAllocate(t *testing.T) {
	r := NewRegistry()
	c := r.MustCounter("c_total", "C.")
	cv := r.MustCounterVec("cv_total", "CV.", "method", "result")
	g := r.MustGauge("g", "G.")
	h := r.MustHistogram("h_seconds", "H.", LatencyBuckets())
	hv := r.MustHistogramVec("hv_seconds", "HV.", LatencyBuckets(), "method")
	cv.With("enqueue", "ok")
	hv.With("fetch")
	method := "enqueue"
	ops := map[string]func(){
		"Counter.Inc":                          func() { c.Inc() },
		"Counter.Add":                          func() { c.Add(0.5) },
		"CounterVec.With of an existing child": func() { cv.With(method, "ok").Inc() },
		"Gauge.Add":                            func() { g.Add(-1) },
		"Histogram.Observe":                    func() { h.Observe(0.02) },
		"HistogramVec.With.ObserveDuration":    func() { hv.With("fetch").ObserveDuration(time.Millisecond) },
		"WriteText once the buffer has grown":  func() { _ = r.WriteText(io.Discard) },
	}
	for name, op := range ops {
		if n := testing.AllocsPerRun(100, op); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
}
