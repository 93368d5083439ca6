package metrics_test

import (
	"os"
	"time"

	"github.com/quicprochat/qpc/metrics"
)

func Example() {
	reg := metrics.NewRegistry()
	rpcs := reg.MustCounterVec("qpc_rpcs_total", "RPCs handled, by method and result.", "method", "result")
	lat := reg.MustHistogramVec("qpc_rpc_duration_seconds", "RPC latency by method.", []float64{0.01, 0.1}, "method")
	depth := 3
	reg.MustGaugeFunc("qpc_mailbox_depth", "Messages waiting in all mailboxes.", func() float64 { return float64(depth) })

	// On the hot path:
	rpcs.With("enqueue", "ok").Inc()
	lat.With("enqueue").ObserveDuration(4 * time.Millisecond)

	// What GET /metrics on reg.Handler() serves:
	if err := reg.WriteText(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// # HELP qpc_mailbox_depth Messages waiting in all mailboxes.
	// # TYPE qpc_mailbox_depth gauge
	// qpc_mailbox_depth 3
	// # HELP qpc_rpc_duration_seconds RPC latency by method.
	// # TYPE qpc_rpc_duration_seconds histogram
	// qpc_rpc_duration_seconds_bucket{method="enqueue",le="0.01"} 1
	// qpc_rpc_duration_seconds_bucket{method="enqueue",le="0.1"} 1
	// qpc_rpc_duration_seconds_bucket{method="enqueue",le="+Inf"} 1
	// qpc_rpc_duration_seconds_sum{method="enqueue"} 0.004
	// qpc_rpc_duration_seconds_count{method="enqueue"} 1
	// # HELP qpc_rpcs_total RPCs handled, by method and result.
	// # TYPE qpc_rpcs_total counter
	// qpc_rpcs_total{method="enqueue",result="ok"} 1
}
