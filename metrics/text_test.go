package metrics

import (
	"math"
	"strings"
	"testing"
)

// scrape returns the Registry's text output, failing the test on error.
func scrape(t testing.TB, r *Registry) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	return b.String()
}

func TestWriteTextGolden(t *testing.T) {
	tests := []struct {
		name  string
		setup func(r *Registry)
		want  string
	}{
		{
			name:  "an empty registry writes nothing",
			setup: func(*Registry) {},
			want:  "",
		},
		{
			name: "a counter of whole increments is an exact integer",
			setup: func(r *Registry) {
				c := r.MustCounter("qpc_messages_stored_total", "Messages stored.")
				c.Inc()
				c.AddUint64(1 << 60)
				c.Add(2)
			},
			want: `# HELP qpc_messages_stored_total Messages stored.
# TYPE qpc_messages_stored_total counter
qpc_messages_stored_total 1152921504606846979
`,
		},
		{
			name: "a counter with a fractional increment is a float",
			setup: func(r *Registry) {
				c := r.MustCounter("qpc_cpu_seconds_total", "CPU seconds.")
				c.Add(1.5)
				c.Inc()
			},
			want: `# HELP qpc_cpu_seconds_total CPU seconds.
# TYPE qpc_cpu_seconds_total counter
qpc_cpu_seconds_total 2.5
`,
		},
		{
			name: "an unused counter is zero",
			setup: func(r *Registry) {
				r.MustCounter("qpc_expired_total", "Messages expired.")
			},
			want: `# HELP qpc_expired_total Messages expired.
# TYPE qpc_expired_total counter
qpc_expired_total 0
`,
		},
		{
			name: "a counter vector is sorted by label values and escapes them",
			setup: func(r *Registry) {
				v := r.MustCounterVec("qpc_rpcs_total", "RPCs by method and result.", "method", "result")
				v.With("fetch", "ok").Add(3)
				v.With("enqueue", "ok").Inc()
				v.With("enqueue", "error").Inc()
				v.With(`a"b\c`+"\nd", "ok").Inc()
			},
			want: `# HELP qpc_rpcs_total RPCs by method and result.
# TYPE qpc_rpcs_total counter
qpc_rpcs_total{method="a\"b\\c\nd",result="ok"} 1
qpc_rpcs_total{method="enqueue",result="error"} 1
qpc_rpcs_total{method="enqueue",result="ok"} 1
qpc_rpcs_total{method="fetch",result="ok"} 3
`,
		},
		{
			name: "a vector without children writes nothing",
			setup: func(r *Registry) {
				r.MustCounterVec("qpc_rpcs_total", "RPCs.", "method")
				r.MustGaugeVec("qpc_queue", "Queue.", "name")
				r.MustHistogramVec("qpc_rpc_duration_seconds", "Latency.", []float64{1}, "method")
			},
			want: "",
		},
		{
			name: "help text escapes backslash and newline but not quotes",
			setup: func(r *Registry) {
				r.MustGauge("qpc_x", "A \"quoted\" C:\\path\nsecond line.")
			},
			want: `# HELP qpc_x A "quoted" C:\\path\nsecond line.
# TYPE qpc_x gauge
qpc_x 0
`,
		},
		{
			name: "gauges go up and down and print integers without exponent",
			setup: func(r *Registry) {
				r.MustGauge("qpc_a", "A.").Set(1e6)
				g := r.MustGauge("qpc_b", "B.")
				g.Set(10)
				g.Add(-2.5)
				g.Dec()
				g.Inc()
				g.Inc()
				r.MustGauge("qpc_c", "C.").Set(math.NaN())
				r.MustGauge("qpc_d", "D.").Set(math.Inf(-1))
				r.MustGauge("qpc_e", "E.").Set(1e-7)
				r.MustGauge("qpc_f", "F.").Set(math.Copysign(0, -1))
			},
			want: `# HELP qpc_a A.
# TYPE qpc_a gauge
qpc_a 1000000
# HELP qpc_b B.
# TYPE qpc_b gauge
qpc_b 8.5
# HELP qpc_c C.
# TYPE qpc_c gauge
qpc_c NaN
# HELP qpc_d D.
# TYPE qpc_d gauge
qpc_d -Inf
# HELP qpc_e E.
# TYPE qpc_e gauge
qpc_e 1e-07
# HELP qpc_f F.
# TYPE qpc_f gauge
qpc_f 0
`,
		},
		{
			name: "a gauge vector",
			setup: func(r *Registry) {
				v := r.MustGaugeVec("qpc_peers", "Peers by state.", "state")
				v.With("up").Set(3)
				v.With("down").Set(1)
			},
			want: `# HELP qpc_peers Peers by state.
# TYPE qpc_peers gauge
qpc_peers{state="down"} 1
qpc_peers{state="up"} 3
`,
		},
		{
			name: "func metrics are read at scrape time",
			setup: func(r *Registry) {
				depth := 41.0
				r.MustGaugeFunc("qpc_mailbox_depth", "Messages waiting.", func() float64 { return depth })
				r.MustCounterFunc("qpc_commits_total", "Commits.", func() float64 { return 7 })
				depth++
			},
			want: `# HELP qpc_commits_total Commits.
# TYPE qpc_commits_total counter
qpc_commits_total 7
# HELP qpc_mailbox_depth Messages waiting.
# TYPE qpc_mailbox_depth gauge
qpc_mailbox_depth 42
`,
		},
		{
			name: "a histogram's buckets are cumulative and end with +Inf",
			setup: func(r *Registry) {
				h := r.MustHistogram("qpc_commit_duration_seconds", "Store commit latency.", []float64{0.005, 0.01, 1, 1000000})
				h.Observe(0.005) // on a bound: counts in that bucket
				h.Observe(0.007)
				h.Observe(0.5)
				h.ObserveDuration(2 * 1e9) // 2 s
				h.Observe(5e6)
			},
			want: `# HELP qpc_commit_duration_seconds Store commit latency.
# TYPE qpc_commit_duration_seconds histogram
qpc_commit_duration_seconds_bucket{le="0.005"} 1
qpc_commit_duration_seconds_bucket{le="0.01"} 2
qpc_commit_duration_seconds_bucket{le="1"} 3
qpc_commit_duration_seconds_bucket{le="1000000"} 4
qpc_commit_duration_seconds_bucket{le="+Inf"} 5
qpc_commit_duration_seconds_sum 5000002.512
qpc_commit_duration_seconds_count 5
`,
		},
		{
			name: "a histogram given +Inf as last bound has it once; NaN counts in +Inf",
			setup: func(r *Registry) {
				h := r.MustHistogram("qpc_h", "H.", []float64{1, math.Inf(1)})
				h.Observe(math.NaN())
			},
			want: `# HELP qpc_h H.
# TYPE qpc_h histogram
qpc_h_bucket{le="1"} 0
qpc_h_bucket{le="+Inf"} 1
qpc_h_sum NaN
qpc_h_count 1
`,
		},
		{
			name: "a histogram vector puts le after the declared labels",
			setup: func(r *Registry) {
				v := r.MustHistogramVec("qpc_rpc_duration_seconds", "RPC latency.", []float64{0.1, 1}, "method")
				v.With("fetch").Observe(0.05)
				v.With("enqueue").Observe(0.5)
				v.With("enqueue").Observe(0.25)
			},
			want: `# HELP qpc_rpc_duration_seconds RPC latency.
# TYPE qpc_rpc_duration_seconds histogram
qpc_rpc_duration_seconds_bucket{method="enqueue",le="0.1"} 0
qpc_rpc_duration_seconds_bucket{method="enqueue",le="1"} 2
qpc_rpc_duration_seconds_bucket{method="enqueue",le="+Inf"} 2
qpc_rpc_duration_seconds_sum{method="enqueue"} 0.75
qpc_rpc_duration_seconds_count{method="enqueue"} 2
qpc_rpc_duration_seconds_bucket{method="fetch",le="0.1"} 1
qpc_rpc_duration_seconds_bucket{method="fetch",le="1"} 1
qpc_rpc_duration_seconds_bucket{method="fetch",le="+Inf"} 1
qpc_rpc_duration_seconds_sum{method="fetch"} 0.05
qpc_rpc_duration_seconds_count{method="fetch"} 1
`,
		},
		{
			name: "a histogram without finite bounds has only +Inf",
			setup: func(r *Registry) {
				r.MustHistogram("qpc_h", "H.", nil).Observe(3)
			},
			want: `# HELP qpc_h H.
# TYPE qpc_h histogram
qpc_h_bucket{le="+Inf"} 1
qpc_h_sum 3
qpc_h_count 1
`,
		},
		{
			name: "build info is a gauge of 1 with escaped labels",
			setup: func(r *Registry) {
				r.MustRegisterBuildInfo("0.1.0", "abc\"123", "linux/mips")
			},
			want: `# HELP qpc_build_info Build of the running qpc binary; always 1.
# TYPE qpc_build_info gauge
qpc_build_info{version="0.1.0",commit="abc\"123",platform="linux/mips"} 1
`,
		},
		{
			name: "families are sorted by name whatever the order of registration",
			setup: func(r *Registry) {
				r.MustGauge("b", "B.")
				r.MustGauge("a_z", "A.")
				r.MustGauge("A", "Upper.")
				r.MustGauge("a", "A.")
			},
			want: `# HELP A Upper.
# TYPE A gauge
A 0
# HELP a A.
# TYPE a gauge
a 0
# HELP a_z A.
# TYPE a_z gauge
a_z 0
# HELP b B.
# TYPE b gauge
b 0
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry()
			tt.setup(r)
			if got := scrape(t, r); got != tt.want {
				t.Errorf("output:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-3, "-3"},
		{1e6, "1000000"},
		{999999999999999, "999999999999999"},
		{1e15, "1e+15"},
		{123456.789, "123456.789"},
		{-0.0001, "-0.0001"},
		{0.00009, "9e-05"},
		{1e21, "1e+21"},
		{0.1, "0.1"},
		{0.0005, "0.0005"},
		{2.5e-5, "2.5e-05"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "+Inf"},
		{math.Inf(-1), "-Inf"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
	}
	for _, tt := range tests {
		if got := string(appendFloat(nil, tt.in)); got != tt.want {
			t.Errorf("appendFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCounterIgnoresDecreases(t *testing.T) {
	c := NewRegistry().MustCounter("c_total", "C.")
	c.Add(2)
	c.Add(-1)
	c.Add(math.NaN())
	c.Add(0)
	if got := c.Value(); got != 2 {
		t.Errorf("Value() = %v after Add(2), Add(-1), Add(NaN), Add(0), want 2", got)
	}
}

func TestVecReplacesInvalidUTF8(t *testing.T) {
	r := NewRegistry()
	v := r.MustCounterVec("c_total", "C.", "l")
	v.With("a\xffb").Inc()
	v.With("a\uFFFDb").Inc()
	want := "# HELP c_total C.\n# TYPE c_total counter\nc_total{l=\"a\uFFFDb\"} 2\n"
	if got := scrape(t, r); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

func TestVecWithReturnsTheSameChild(t *testing.T) {
	v := NewRegistry().MustHistogramVec("h", "H.", []float64{1}, "a", "b")
	// The same values split differently must name different children.
	ab, a_b := v.With("ab", ""), v.With("a", "b")
	if ab == a_b {
		t.Fatal(`With("ab", "") and With("a", "b") returned the same child`)
	}
	if got := v.With("a", "b"); got != a_b {
		t.Error(`second With("a", "b") returned a new child`)
	}
	if got, err := v.Get("ab", ""); err != nil || got != ab {
		t.Errorf(`Get("ab", "") = %p, %v; want %p, nil`, got, err, ab)
	}
}

func TestAppendTextKeepsWhatIsInTheBuffer(t *testing.T) {
	r := NewRegistry()
	r.MustGauge("g", "G.").Set(1)
	got := string(r.AppendText([]byte("prefix\n")))
	if want := "prefix\n# HELP g G.\n# TYPE g gauge\ng 1\n"; got != want {
		t.Errorf("AppendText = %q, want %q", got, want)
	}
	if got2 := string(r.AppendText(nil)); got2 != scrape(t, r) {
		t.Errorf("AppendText(nil) = %q, WriteText wrote %q", got2, scrape(t, r))
	}
}
