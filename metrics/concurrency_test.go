package metrics

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentUse updates every kind of metric from many goroutines while
// others scrape and create new vector children, then checks that no update
// was lost. Run with -race, it also checks that the hot path and the scrape
// share memory only through atomics.
func TestConcurrentUse(t *testing.T) {
	const (
		workers = 16
		ops     = 2000
	)
	r := NewRegistry()
	c := r.MustCounter("c_total", "C.")
	cf := r.MustCounter("cf_total", "Fractional C.")
	cv := r.MustCounterVec("cv_total", "CV.", "method", "result")
	g := r.MustGauge("g", "G.")
	h := r.MustHistogram("h_seconds", "H.", []float64{1, 2, 3})
	hv := r.MustHistogramVec("hv_seconds", "HV.", []float64{1}, "method")
	r.MustGaugeFunc("gf", "GF.", func() float64 { return g.Value() })
	r.MustRegisterRuntime()

	done := make(chan struct{})
	var scrapers sync.WaitGroup
	for range 2 {
		scrapers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				checkHistogramInvariants(t, scrape(t, r))
			}
		})
	}

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			methods := []string{"fetch", "enqueue", "ack", fmt.Sprintf("own%d", w)}
			for i := range ops {
				c.Inc()
				cf.Add(0.5)
				cv.With(methods[i%len(methods)], "ok").Inc()
				g.Add(1)
				h.Observe(float64(i % 4)) // 0, 1, 2, 3: one in each finite bucket
				hv.With(methods[i%2]).Observe(0.5)
				g.Add(-1)
			}
		})
	}
	wg.Wait()
	close(done)
	scrapers.Wait()

	const total = workers * ops
	if got := c.Value(); got != total {
		t.Errorf("counter = %v, want %d", got, total)
	}
	if got := cf.Value(); got != total/2 {
		t.Errorf("fractional counter = %v, want %d", got, total/2)
	}
	if got := g.Value(); got != 0 {
		t.Errorf("gauge = %v after as many +1 as -1, want 0", got)
	}
	if got := h.Count(); got != total {
		t.Errorf("histogram count = %d, want %d", got, total)
	}
	if got, want := h.Sum(), float64(total/4*(0+1+2+3)); got != want {
		t.Errorf("histogram sum = %v, want %v", got, want)
	}
	s := samples(t, scrape(t, r))
	for le, want := range map[string]float64{"1": total / 2, "2": total * 3 / 4, "3": total, "+Inf": total} {
		if got := s[`h_seconds_bucket{le="`+le+`"}`]; got != want {
			t.Errorf("bucket le=%s = %v, want %v", le, got, want)
		}
	}
	for _, m := range []string{"fetch", "enqueue", "ack"} {
		if got := s[`cv_total{method="`+m+`",result="ok"}`]; got != total/4 {
			t.Errorf("cv_total{method=%q} = %v, want %d", m, got, total/4)
		}
	}
	for w := range workers {
		if got := s[fmt.Sprintf(`cv_total{method="own%d",result="ok"}`, w)]; got != ops/4 {
			t.Errorf("cv_total{method=own%d} = %v, want %d", w, got, ops/4)
		}
	}
	if got := s[`hv_seconds_count{method="fetch"}`] + s[`hv_seconds_count{method="enqueue"}`]; got != total {
		t.Errorf("hv_seconds counts add up to %v, want %d", got, total)
	}
}

// checkHistogramInvariants checks, in every histogram of a scrape, that the
// buckets never decrease and that _count equals the +Inf bucket, which must
// hold even while observations are being made.
func checkHistogramInvariants(t *testing.T, text string) {
	t.Helper()
	var prev float64
	var inf string
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, value, _ := strings.Cut(line, " ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Errorf("line %q: %v", line, err)
			return
		}
		switch {
		case strings.Contains(series, "_bucket{"):
			if strings.HasSuffix(series, `le="+Inf"}`) {
				inf = value
			}
			if v < prev {
				t.Errorf("bucket %s = %v, below the bucket before it (%v)", series, v, prev)
			}
			prev = v
		case strings.HasPrefix(series, "h_seconds_count") || strings.HasPrefix(series, "hv_seconds_count"):
			if value != inf {
				t.Errorf("%s = %s, but the +Inf bucket is %s", series, value, inf)
			}
			prev = 0 // _count ends a histogram's series
		}
	}
}
