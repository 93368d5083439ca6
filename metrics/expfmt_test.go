package metrics

import (
	"math"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestExpfmtParsesOutput reads a scrape of every kind of metric back with
// the parser Prometheus itself uses, and checks that types, help texts,
// escaped label values and values survive the round trip.
func TestExpfmtParsesOutput(t *testing.T) {
	text := scrape(t, exampleRegistry(t))
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("expfmt: %v\ninput:\n%s", err, text)
	}

	wantTypes := map[string]dto.MetricType{
		"go_gc_duration_seconds":            dto.MetricType_SUMMARY,
		"go_goroutines":                     dto.MetricType_GAUGE,
		"go_info":                           dto.MetricType_GAUGE,
		"go_memstats_heap_alloc_bytes":      dto.MetricType_GAUGE,
		"go_memstats_sys_bytes":             dto.MetricType_GAUGE,
		"process_start_time_seconds":        dto.MetricType_GAUGE,
		"qpc_build_info":                    dto.MetricType_GAUGE,
		"qpc_clock_skew_seconds":            dto.MetricType_GAUGE,
		"qpc_connections":                   dto.MetricType_GAUGE,
		"qpc_federation_peers":              dto.MetricType_GAUGE,
		"qpc_mailbox_depth":                 dto.MetricType_GAUGE,
		"qpc_messages_expired_total":        dto.MetricType_COUNTER,
		"qpc_messages_stored_total":         dto.MetricType_COUNTER,
		"qpc_rpc_duration_seconds":          dto.MetricType_HISTOGRAM,
		"qpc_rpcs_total":                    dto.MetricType_COUNTER,
		"qpc_sessions":                      dto.MetricType_GAUGE,
		"qpc_store_commit_duration_seconds": dto.MetricType_HISTOGRAM,
		"qpc_store_commits_total":           dto.MetricType_COUNTER,
	}
	if _, err := residentBytes(); err == nil {
		wantTypes["process_resident_memory_bytes"] = dto.MetricType_GAUGE
	}
	for name, typ := range wantTypes {
		f, ok := families[name]
		if !ok {
			t.Errorf("family %s missing", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("family %s has type %v, want %v", name, f.GetType(), typ)
		}
	}
	if len(families) != len(wantTypes) {
		t.Errorf("parsed %d families, want %d", len(families), len(wantTypes))
	}

	if got, want := families["qpc_clock_skew_seconds"].GetHelp(), "Skew against the \"reference\" clock\\source.\nSecond line."; got != want {
		t.Errorf("help read back as %q, want %q", got, want)
	}
	if v := families["qpc_clock_skew_seconds"].GetMetric()[0].GetGauge().GetValue(); !math.IsNaN(v) {
		t.Errorf("NaN gauge read back as %v", v)
	}
	if v := families["qpc_messages_expired_total"].GetMetric()[0].GetCounter().GetValue(); v != 2.5 {
		t.Errorf("qpc_messages_expired_total read back as %v, want 2.5", v)
	}

	rpcs := map[string]float64{}
	for _, m := range families["qpc_rpcs_total"].GetMetric() {
		rpcs[labels(m)] = m.GetCounter().GetValue()
	}
	wantRPCs := map[string]float64{
		"method=enqueue,result=mailbox_full": 1,
		"method=enqueue,result=ok":           10,
		"method=we\"ird\\method\n,result=ok": 1,
	}
	for k, want := range wantRPCs {
		if got, ok := rpcs[k]; !ok || got != want {
			t.Errorf("qpc_rpcs_total{%q} = %v (present %v), want %v; all: %v", k, got, ok, want, rpcs)
		}
	}

	for _, m := range families["qpc_rpc_duration_seconds"].GetMetric() {
		h := m.GetHistogram()
		if labels(m) == "method=enqueue" {
			if h.GetSampleCount() != 2 || math.Abs(h.GetSampleSum()-20.012) > 1e-9 {
				t.Errorf("enqueue latency: count %d sum %v, want 2 and 20.012", h.GetSampleCount(), h.GetSampleSum())
			}
		}
		var prev uint64
		for _, b := range h.GetBucket() {
			if b.GetCumulativeCount() < prev {
				t.Errorf("%s: bucket le=%v = %d, below the one before", labels(m), b.GetUpperBound(), b.GetCumulativeCount())
			}
			prev = b.GetCumulativeCount()
		}
	}
	commit := families["qpc_store_commit_duration_seconds"].GetMetric()[0].GetHistogram()
	if commit.GetSampleCount() != 3 || !math.IsInf(commit.GetSampleSum(), 1) {
		t.Errorf("commit latency: count %d sum %v, want 3 and +Inf", commit.GetSampleCount(), commit.GetSampleSum())
	}
	if n := len(families["go_gc_duration_seconds"].GetMetric()[0].GetSummary().GetQuantile()); n != len(gcQuantiles) {
		t.Errorf("go_gc_duration_seconds has %d quantiles, want %d", n, len(gcQuantiles))
	}
}

// labels returns a metric's labels as name=value pairs joined by commas.
func labels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}
