// Package metrics is a small, dependency-free metrics library for the qpc
// node. It writes the Prometheus text exposition format 0.0.4, which is all a
// Prometheus server (or promtool, or a curl on the router) needs, without
// linking prometheus/client_golang, which is too large for the mips binary
// budget.
//
// A Registry owns every metric. Metrics are created once during program
// setup with the Registry's constructors, which return an error for an
// invalid or duplicate name; each has a Must variant that panics instead, for
// setup code where such an error is a programming mistake:
//
//	reg := metrics.NewRegistry()
//	rpcs := reg.MustCounterVec("qpc_rpcs_total", "RPCs handled, by method and result.", "method", "result")
//	lat := reg.MustHistogramVec("qpc_rpc_duration_seconds", "RPC latency.", metrics.LatencyBuckets(), "method")
//	reg.MustGaugeFunc("qpc_connections", "Open client connections.", func() float64 { return float64(srv.Conns()) })
//	reg.MustRegisterRuntime()
//	reg.MustRegisterBuildInfo(version.Version, version.Commit, version.Platform())
//	go reg.Serve(ctx, metricsListener) // GET /metrics until ctx is done
//
//	rpcs.With("enqueue", "ok").Inc()
//	lat.With("enqueue").ObserveDuration(time.Since(start))
//
// The hot path is lock-free: counters, gauges and histograms are atomics, a
// Histogram's Observe does not allocate, and a vector's With looks its child
// up in a copy-on-write map without taking a lock once the child exists.
//
// Serve answers scrapes with a minimal HTTP/1.x responder built on package
// net alone: net/http would add about 1.2 MiB to the mips binary, which the
// node does not otherwise link. Programs that link net/http anyway can use
// the http.Handler of package metricshttp instead.
//
// Output is deterministic: families sorted by name, the series of a vector
// sorted by their label values in the order the label names were declared.
// Names follow the Prometheus conventions, which promtool checks: counters
// end in _total, units are base units in the name (_seconds, _bytes).
package metrics
