package metrics

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestRegistrationErrors(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name     string
		register func(r *Registry) error
		want     error
	}{
		{"an empty name is refused", func(r *Registry) error { _, err := r.Counter("", "h"); return err }, ErrInvalidName},
		{"a name starting with a digit is refused", func(r *Registry) error { _, err := r.Gauge("1x", "h"); return err }, ErrInvalidName},
		{"a name with a dash is refused", func(r *Registry) error { _, err := r.Histogram("a-b", "h", nil); return err }, ErrInvalidName},
		{"a name with non-ASCII letters is refused", func(r *Registry) error { return r.GaugeFunc("zähler", "h", func() float64 { return 0 }) }, ErrInvalidName},
		{"a name already registered is refused", func(r *Registry) error { _, err := r.Counter("taken", "h"); return err }, ErrDuplicateName},
		{"a name already registered as another type is refused", func(r *Registry) error { _, err := r.GaugeVec("taken", "h", "l"); return err }, ErrDuplicateName},
		{"a histogram whose _count is taken is refused", func(r *Registry) error { _, err := r.Histogram("hist", "h", nil); return err }, ErrDuplicateName},
		{"a name that is a histogram's series is refused", func(r *Registry) error { _, err := r.Counter("lat_bucket", "h"); return err }, ErrDuplicateName},
		{"a name that is a summary's series is refused", func(r *Registry) error { _, err := r.Gauge("go_gc_duration_seconds_sum", "h"); return err }, ErrDuplicateName},
		{"the runtime set twice is refused", func(r *Registry) error { return r.RegisterRuntime() }, ErrDuplicateName},
		{"build info twice is refused", func(r *Registry) error { return r.RegisterBuildInfo("v", "c", "p") }, ErrDuplicateName},
		{"a label name with a dash is refused", func(r *Registry) error { _, err := r.CounterVec("c", "h", "a-b"); return err }, ErrInvalidLabelName},
		{"a label name with a colon is refused", func(r *Registry) error { _, err := r.CounterVec("c", "h", "a:b"); return err }, ErrInvalidLabelName},
		{"an empty label name is refused", func(r *Registry) error { _, err := r.GaugeVec("c", "h", ""); return err }, ErrInvalidLabelName},
		{"a reserved __ label name is refused", func(r *Registry) error { _, err := r.GaugeVec("c", "h", "__name"); return err }, ErrInvalidLabelName},
		{"a label declared twice is refused", func(r *Registry) error { _, err := r.CounterVec("c", "h", "a", "b", "a"); return err }, ErrInvalidLabelName},
		{"le on a histogram is refused", func(r *Registry) error { _, err := r.HistogramVec("c", "h", nil, "le"); return err }, ErrInvalidLabelName},
		{"decreasing buckets are refused", func(r *Registry) error { _, err := r.Histogram("c", "h", []float64{2, 1}); return err }, ErrInvalidBuckets},
		{"repeated buckets are refused", func(r *Registry) error { _, err := r.Histogram("c", "h", []float64{1, 1}); return err }, ErrInvalidBuckets},
		{"NaN buckets are refused", func(r *Registry) error { _, err := r.HistogramVec("c", "h", []float64{math.NaN()}, "l"); return err }, ErrInvalidBuckets},
		{"+Inf before the end is refused", func(r *Registry) error { _, err := r.Histogram("c", "h", []float64{1, inf, inf}); return err }, ErrInvalidBuckets},
		{"a nil gauge func is refused", func(r *Registry) error { return r.GaugeFunc("c", "h", nil) }, ErrNilFunc},
		{"a nil counter func is refused", func(r *Registry) error { return r.CounterFunc("c", "h", nil) }, ErrNilFunc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry()
			r.MustCounter("taken", "h")
			r.MustGauge("hist_count", "h")
			r.MustHistogram("lat", "h", nil)
			r.MustRegisterRuntime()
			r.MustRegisterBuildInfo("v", "c", "p")
			before := scrape(t, r)

			err := tt.register(r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "metrics: ") {
				t.Errorf("error %q does not say it comes from metrics", err)
			}
			// A refused registration leaves nothing behind; runtime values
			// change between scrapes, so compare the names only.
			if got := familyNames(scrape(t, r)); got != familyNames(before) {
				t.Errorf("families after the refused registration:\n%s\nbefore:\n%s", got, familyNames(before))
			}
		})
	}
}

// familyNames returns the # TYPE lines of an exposition.
func familyNames(text string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "# TYPE ") {
			b.WriteString(line)
		}
	}
	return b.String()
}

func TestNamesValid(t *testing.T) {
	r := NewRegistry()
	for _, name := range []string{"a", "_", ":", "a:b_c9", "A_Z", "job:rpc:rate5m"} {
		if _, err := r.Gauge(name, "h"); err != nil {
			t.Errorf("Gauge(%q): %v", name, err)
		}
	}
	if _, err := r.CounterVec("v", "h", "_a", "b9", "Z"); err != nil {
		t.Errorf("CounterVec with labels _a, b9, Z: %v", err)
	}
	if _, err := r.Histogram("h", "h", []float64{math.Inf(-1), -1, 0, 1, math.Inf(1)}); err != nil {
		t.Errorf("Histogram with bounds -Inf, -1, 0, 1, +Inf: %v", err)
	}
}

func TestMustPanicsOnError(t *testing.T) {
	r := NewRegistry()
	r.MustCounter("c_total", "h")
	defer func() {
		err, _ := recover().(error)
		if !errors.Is(err, ErrDuplicateName) {
			t.Errorf("MustCounter of a taken name panicked with %v, want ErrDuplicateName", err)
		}
	}()
	r.MustCounter("c_total", "h")
}

func TestVecLabelCount(t *testing.T) {
	r := NewRegistry()
	cv := r.MustCounterVec("c_total", "h", "a", "b")
	gv := r.MustGaugeVec("g", "h", "a")
	hv := r.MustHistogramVec("h", "h", nil, "a")
	gets := map[string]func() error{
		"CounterVec.Get with one of two values":    func() error { _, err := cv.Get("x"); return err },
		"CounterVec.Get with three of two values":  func() error { _, err := cv.Get("x", "y", "z"); return err },
		"GaugeVec.Get with no value":               func() error { _, err := gv.Get(); return err },
		"HistogramVec.Get with two of one value":   func() error { _, err := hv.Get("x", "y"); return err },
		"CounterVec.With with one of two values":   func() error { return recovered(func() { cv.With("x") }) },
		"GaugeVec.With with two of one value":      func() error { return recovered(func() { gv.With("x", "y") }) },
		"HistogramVec.With with none of one value": func() error { return recovered(func() { hv.With() }) },
	}
	for name, get := range gets {
		if err := get(); !errors.Is(err, ErrLabelCount) {
			t.Errorf("%s: error %v, want ErrLabelCount", name, err)
		}
	}
	if got := scrape(t, r); got != "" {
		t.Errorf("a wrong label count created a series:\n%s", got)
	}
}

// recovered runs f and returns the error it panicked with.
func recovered(f func()) (err error) {
	defer func() { err, _ = recover().(error) }()
	f()
	return nil
}

func TestBucketGenerators(t *testing.T) {
	exp, err := ExponentialBuckets(0.001, 10, 4)
	if err != nil || !equalFloats(exp, []float64{0.001, 0.01, 0.1, 1}) {
		t.Errorf("ExponentialBuckets(0.001, 10, 4) = %v, %v", exp, err)
	}
	lin, err := LinearBuckets(-1, 0.5, 5)
	if err != nil || !equalFloats(lin, []float64{-1, -0.5, 0, 0.5, 1}) {
		t.Errorf("LinearBuckets(-1, 0.5, 5) = %v, %v", lin, err)
	}
	bad := map[string]func() ([]float64, error){
		"ExponentialBuckets(0, 2, 3)":     func() ([]float64, error) { return ExponentialBuckets(0, 2, 3) },
		"ExponentialBuckets(1, 1, 3)":     func() ([]float64, error) { return ExponentialBuckets(1, 1, 3) },
		"ExponentialBuckets(1, 2, 0)":     func() ([]float64, error) { return ExponentialBuckets(1, 2, 0) },
		"ExponentialBuckets(1, 1e300, 3)": func() ([]float64, error) { return ExponentialBuckets(1, 1e300, 3) },
		"LinearBuckets(0, 0, 3)":          func() ([]float64, error) { return LinearBuckets(0, 0, 3) },
		"LinearBuckets(NaN, 1, 3)":        func() ([]float64, error) { return LinearBuckets(math.NaN(), 1, 3) },
		"LinearBuckets(0, 1, 0)":          func() ([]float64, error) { return LinearBuckets(0, 1, 0) },
	}
	for name, f := range bad {
		if b, err := f(); !errors.Is(err, ErrInvalidBuckets) {
			t.Errorf("%s = %v, %v; want ErrInvalidBuckets", name, b, err)
		}
	}
	r := NewRegistry()
	if _, err := r.Histogram("h", "h", LatencyBuckets()); err != nil {
		t.Errorf("LatencyBuckets() are refused: %v", err)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return true
}
