package metrics

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// samples parses the sample lines of an exposition into a map from series
// (name and label set, as written) to value, failing on a malformed line.
func samples(t testing.TB, text string) map[string]float64 {
	t.Helper()
	m := make(map[string]float64)
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("sample line without value: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample line %q: %v", line, err)
		}
		if _, dup := m[line[:i]]; dup {
			t.Fatalf("series %s written twice", line[:i])
		}
		m[line[:i]] = v
	}
	return m
}

// setStatm points the package at a statm file with the given content, or at
// a missing file when content is empty, for the rest of the test.
func setStatm(t *testing.T, content string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "statm")
	if content != "" {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := statmPath
	statmPath = path
	t.Cleanup(func() { statmPath = old })
}

func TestRuntimeMetrics(t *testing.T) {
	setStatm(t, "2000 25 10 1 0 100 0\n")
	r := NewRegistry()
	r.MustRegisterRuntime()
	runtime.GC()
	before := time.Now()
	got := samples(t, scrape(t, r))

	positive := []string{
		"go_goroutines", "go_memstats_heap_alloc_bytes", "go_memstats_sys_bytes",
		"go_gc_duration_seconds_count", `go_info{version="` + runtime.Version() + `"}`,
	}
	for _, s := range positive {
		if !(got[s] > 0) {
			t.Errorf("%s = %v, want > 0", s, got[s])
		}
	}
	if want := float64(25 * os.Getpagesize()); got["process_resident_memory_bytes"] != want {
		t.Errorf("process_resident_memory_bytes = %v, want 25 pages = %v", got["process_resident_memory_bytes"], want)
	}
	start := got["process_start_time_seconds"]
	if start > float64(before.Unix()+1) || start < float64(before.Add(-time.Hour).Unix()) {
		t.Errorf("process_start_time_seconds = %v, not within the hour before %v", start, before.Unix())
	}
	prev := -1.0
	for _, q := range gcQuantiles {
		v, ok := got[`go_gc_duration_seconds{quantile="`+q+`"}`]
		if !ok || v < prev {
			t.Errorf("GC pause quantile %s = %v (present %v), below the previous %v", q, v, ok, prev)
		}
		prev = v
	}
	if sum := got["go_gc_duration_seconds_sum"]; sum < prev {
		t.Errorf("go_gc_duration_seconds_sum = %v, less than the longest pause %v", sum, prev)
	}
}

func TestRuntimeWithoutStatm(t *testing.T) {
	setStatm(t, "")
	r := NewRegistry()
	r.MustRegisterRuntime()
	if text := scrape(t, r); strings.Contains(text, "process_resident_memory_bytes") {
		t.Errorf("resident memory reported without a statm file:\n%s", text)
	}
	if _, err := r.Gauge("process_resident_memory_bytes", "h"); err != nil {
		t.Errorf("the name was reserved although it is not written: %v", err)
	}
}

func TestRuntimeStatmUnreadableAtScrape(t *testing.T) {
	for name, content := range map[string]string{
		"one field":          "2000\n",
		"not a number":       "2000 x 1\n",
		"negative residents": "2000 -3 1\n",
	} {
		t.Run(name, func(t *testing.T) {
			setStatm(t, "2000 25 10 1 0 100 0\n")
			r := NewRegistry()
			r.MustRegisterRuntime()
			if err := os.WriteFile(statmPath, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if text := scrape(t, r); strings.Contains(text, "process_resident_memory_bytes") {
				t.Errorf("resident memory reported from statm %q:\n%s", content, text)
			}
		})
	}
}
