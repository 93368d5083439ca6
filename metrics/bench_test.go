package metrics

import (
	"fmt"
	"io"
	"testing"
	"time"
)

func BenchmarkCounterInc(b *testing.B) {
	c := NewRegistry().MustCounter("c_total", "C.")
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
}

func BenchmarkCounterIncParallel(b *testing.B) {
	c := NewRegistry().MustCounter("c_total", "C.")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}

func BenchmarkCounterVecWithInc(b *testing.B) {
	v := NewRegistry().MustCounterVec("qpc_rpcs_total", "RPCs.", "method", "result")
	methods := []string{"enqueue", "fetch", "ack", "resolveUser", "publishKeys", "health"}
	for _, m := range methods {
		v.With(m, "ok")
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v.With(methods[i%len(methods)], "ok").Inc()
		i++
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	h := NewRegistry().MustHistogram("h_seconds", "H.", LatencyBuckets())
	b.ReportAllocs()
	v := 0.0
	for b.Loop() {
		h.Observe(v)
		v += 0.0001
	}
}

func BenchmarkHistogramVecWithObserveDuration(b *testing.B) {
	v := NewRegistry().MustHistogramVec("h_seconds", "H.", LatencyBuckets(), "method")
	v.With("enqueue")
	b.ReportAllocs()
	for b.Loop() {
		v.With("enqueue").ObserveDuration(3 * time.Millisecond)
	}
}

// BenchmarkWriteText scrapes a registry of about 50 series: 20 counters of
// a vector, a histogram vector of 2 children with 13 buckets (32 series),
// and a few plain metrics.
func BenchmarkWriteText(b *testing.B) {
	r := NewRegistry()
	cv := r.MustCounterVec("qpc_rpcs_total", "RPCs.", "method", "result")
	for i := range 10 {
		cv.With(fmt.Sprintf("method%d", i), "ok").Add(float64(i))
		cv.With(fmt.Sprintf("method%d", i), "error").Inc()
	}
	hv := r.MustHistogramVec("qpc_rpc_duration_seconds", "Latency.", LatencyBuckets(), "method")
	hv.With("enqueue").Observe(0.003)
	hv.With("fetch").Observe(0.03)
	r.MustGauge("qpc_sessions", "Sessions.").Set(12)
	r.MustGaugeFunc("qpc_connections", "Connections.", func() float64 { return 4 })
	r.MustCounter("qpc_messages_stored_total", "Stored.").Add(1234)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.WriteText(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteTextRuntime is a scrape of the runtime metrics alone, which
// read the memory statistics once.
func BenchmarkWriteTextRuntime(b *testing.B) {
	r := NewRegistry()
	r.MustRegisterRuntime()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.WriteText(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
