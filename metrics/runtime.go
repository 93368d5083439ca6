package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"
)

// startTime stands in for the process start time: the package is
// initialised within milliseconds of it, and reading the real one portably
// would need the kernel's clock tick rate, which Go cannot ask for without
// cgo.
var startTime = time.Now()

// statmPath is where Linux reports the process' memory use in pages; a
// variable so that tests can point it at a file of their own.
var statmPath = "/proc/self/statm"

// gcQuantiles are the quantiles of recent GC pauses that
// go_gc_duration_seconds reports, the same ones Prometheus' Go client does.
var gcQuantiles = []string{"0", "0.25", "0.5", "0.75", "1"}

// RegisterRuntime registers the Go runtime and process metrics:
//
//	go_goroutines                  goroutines that exist now
//	go_info{version}               the Go version the binary was built with
//	go_memstats_heap_alloc_bytes   bytes of allocated heap objects
//	go_memstats_sys_bytes          bytes obtained from the operating system
//	go_gc_duration_seconds         summary of recent GC pause durations
//	process_resident_memory_bytes  resident set size (only where /proc/self/statm can be read)
//	process_start_time_seconds     start time in seconds since the Unix epoch
//
// The memory statistics are read once per scrape, which stops the world for
// a few microseconds; nothing is read between scrapes.
func (r *Registry) RegisterRuntime() error {
	families := []*family{
		{name: "go_goroutines", help: "Number of goroutines that currently exist.", typ: typeGauge,
			write: gaugeWriter(func(*textWriter) float64 { return float64(runtime.NumGoroutine()) })},
		{name: "go_info", help: "Information about the Go environment.", typ: typeGauge,
			write: func(w *textWriter, f *family) {
				w.header(f.name, f.help, f.typ)
				w.series(f.name, "", nil, nil, "version", runtime.Version())
				w.uint(1)
			}},
		{name: "go_memstats_heap_alloc_bytes", help: "Number of heap bytes allocated and still in use.", typ: typeGauge,
			write: gaugeWriter(func(w *textWriter) float64 { return float64(w.memStats().HeapAlloc) })},
		{name: "go_memstats_sys_bytes", help: "Number of bytes obtained from the operating system.", typ: typeGauge,
			write: gaugeWriter(func(w *textWriter) float64 { return float64(w.memStats().Sys) })},
		{name: "go_gc_duration_seconds", help: "A summary of the pause duration of garbage collection cycles.", typ: typeSummary,
			write: writeGCSummary},
		{name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.", typ: typeGauge,
			write: gaugeWriter(func(*textWriter) float64 { return float64(startTime.UnixNano()) / 1e9 })},
	}
	if _, err := residentBytes(); err == nil {
		families = append(families, &family{
			name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", typ: typeGauge,
			write: func(w *textWriter, f *family) {
				rss, err := residentBytes()
				if err != nil {
					return
				}
				w.header(f.name, f.help, f.typ)
				w.series(f.name, "", nil, nil, "", "")
				w.uint(rss)
			}})
	}
	return r.register(families...)
}

// MustRegisterRuntime is RegisterRuntime for program setup: it panics when
// one of the names is already registered.
func (r *Registry) MustRegisterRuntime() {
	must(struct{}{}, r.RegisterRuntime())
}

// gaugeWriter writes an unlabelled gauge whose value comes from the scrape.
func gaugeWriter(value func(w *textWriter) float64) func(*textWriter, *family) {
	return func(w *textWriter, f *family) {
		v := value(w)
		w.header(f.name, f.help, f.typ)
		w.series(f.name, "", nil, nil, "", "")
		w.float(v)
	}
}

// writeGCSummary writes quantiles of the pauses the runtime remembers (the
// last 256), and the count and total of all pauses since the start.
func writeGCSummary(w *textWriter, f *family) {
	m := w.memStats()
	var pauses [len(m.PauseNs)]uint64
	n := copy(pauses[:], m.PauseNs[:min(int(m.NumGC), len(m.PauseNs))])
	recent := pauses[:n]
	slices.Sort(recent)
	w.header(f.name, f.help, f.typ)
	for i, q := range gcQuantiles {
		var ns uint64
		if n > 0 {
			ns = recent[(n-1)*i/(len(gcQuantiles)-1)]
		}
		w.series(f.name, "", nil, nil, "quantile", q)
		w.float(float64(ns) / 1e9)
	}
	w.series(f.name, "_sum", nil, nil, "", "")
	w.float(float64(m.PauseTotalNs) / 1e9)
	w.series(f.name, "_count", nil, nil, "", "")
	w.uint(uint64(m.NumGC))
}

// errStatm reports a /proc/self/statm this package cannot read.
var errStatm = errors.New("unexpected statm format")

// residentBytes reads the resident set size from statm, whose second field
// is resident pages.
func residentBytes() (uint64, error) {
	b, err := os.ReadFile(statmPath)
	if err != nil {
		return 0, err
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0, fmt.Errorf("%s: %w", statmPath, errStatm)
	}
	pages, err := strconv.ParseUint(string(fields[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", statmPath, errStatm)
	}
	return pages * uint64(os.Getpagesize()), nil
}

// RegisterBuildInfo registers qpc_build_info, a gauge that is always 1 and
// carries the build's version, commit and platform as labels, so that a
// dashboard can tell which build each node runs.
func (r *Registry) RegisterBuildInfo(version, commit, platform string) error {
	v, err := r.GaugeVec("qpc_build_info", "Build of the running qpc binary; always 1.", "version", "commit", "platform")
	if err != nil {
		return err
	}
	v.With(version, commit, platform).Set(1)
	return nil
}

// MustRegisterBuildInfo is RegisterBuildInfo for program setup: it panics
// when qpc_build_info is already registered.
func (r *Registry) MustRegisterBuildInfo(version, commit, platform string) {
	must(struct{}{}, r.RegisterBuildInfo(version, commit, platform))
}
