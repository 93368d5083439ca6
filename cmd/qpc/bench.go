//go:build !router

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/quicprochat/qpc/bench"
	"github.com/quicprochat/qpc/client"
)

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench", "--server HOST:PORT | --spawn-node [--receivers-on HOST:PORT] [--clients 16] [--messages 2000] [--size 256] [--json]", stderr)
	var f clientFlags
	f.bind(fs, stderr, false)
	pairs := fs.Int("clients", 16, "sender→receiver pairs, each on its own connections")
	messages := fs.Int("messages", 2000, "messages per sender")
	size := fs.Int("size", 256, "payload bytes per message (at least 8)")
	window := fs.Int("window", 32, "enqueues each sender keeps in flight")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	rpcOnly := fs.Bool("rpc", false, "carry messages with Cap'n Proto calls, not the message stream, to compare the two")
	deadline := fs.Duration("deadline", 10*time.Minute, "give up on the whole run after this long")
	spawn := fs.Bool("spawn-node", false, "start a `qpc node` of this binary on 127.0.0.1 with its data in a temporary directory, run against it, "+
		"and report its CPU per message, memory and group commits (Linux)")
	nodePID := fs.Int("node-pid", 0, "the process of the node under --server, if it runs on this machine: report its CPU per message and memory from /proc")
	metricsURL := fs.String("node-metrics", "", "the Prometheus URL (http://HOST:PORT/metrics) of the node under --server: report its group commits")
	receiversOn := fs.String("receivers-on", "", "put the receivers on this other node (`HOST:PORT`; trust it with --ca-cert or the known-nodes file), so that every message crosses a federation link")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		fmt.Fprintf(stderr, "qpc bench: %v\n", err)
		return exitUsage
	}
	if (f.server == "") == !*spawn {
		fmt.Fprintln(stderr, "qpc bench: give --server or --spawn-node")
		return exitUsage
	}
	if *spawn && (*receiversOn != "" || *nodePID != 0 || *metricsURL != "") {
		fmt.Fprintln(stderr, "qpc bench: --spawn-node measures its own node: no --receivers-on, --node-pid or --node-metrics")
		return exitUsage
	}
	if *pairs < 1 || *messages < 1 || *size < 8 || *window < 1 {
		fmt.Fprintln(stderr, "qpc bench: --clients, --messages and --window must be at least 1, --size at least 8")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *deadline)
	defer cancel()

	var idle bench.ProcSample
	if *spawn {
		n, cleanup, err := spawnNode(ctx, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "qpc bench: %v\n", err)
			return exitFailure
		}
		defer cleanup()
		f.server, f.pin, f.caCert = n.Addr, n.Fingerprint, ""
		*nodePID, *metricsURL = n.PID, n.Metrics
		idle = n.Idle
	}
	probe, err := f.dial(ctx, f.server)
	if err != nil {
		fmt.Fprintf(stderr, "qpc bench: %v\n", err)
		return exitFailure
	}
	h, err := probe.Health(ctx)
	probe.Close()
	if err != nil {
		fmt.Fprintf(stderr, "qpc bench: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "bench: %d pairs × %d messages of %d bytes against %s (%s, qpc %s %s)\n",
		*pairs, *messages, *size, f.server, h.Domain, h.Version, h.Platform)
	var dialReceiver func(context.Context) (*client.Client, error)
	receiverDomain := ""
	if *receiversOn != "" {
		rc, err := f.dial(ctx, *receiversOn)
		if err != nil {
			fmt.Fprintf(stderr, "qpc bench: %v\n", err)
			return exitFailure
		}
		rh, err := rc.Health(ctx)
		rc.Close()
		if err != nil {
			fmt.Fprintf(stderr, "qpc bench: %s: %v\n", *receiversOn, err)
			return exitFailure
		}
		receiverDomain = rh.Domain
		dialReceiver = func(ctx context.Context) (*client.Client, error) { return f.dial(ctx, *receiversOn) }
		fmt.Fprintf(stderr, "bench: receivers on %s (%s): every message is relayed over federation\n", *receiversOn, rh.Domain)
	}
	res, err := bench.Run(ctx, bench.Options{
		Dial:           func(ctx context.Context) (*client.Client, error) { return f.dial(ctx, f.server) },
		DialReceiver:   dialReceiver,
		ReceiverDomain: receiverDomain,
		Domain:         h.Domain,
		Pairs:          *pairs,
		Messages:       *messages,
		Size:           *size,
		Window:         *window,
		Progress:       progress(stderr),
		NodePID:        *nodePID,
		NodeIdle:       idle,
		NodeMetrics:    *metricsURL,
		RPCOnly:        *rpcOnly,
	})
	fmt.Fprintln(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "qpc bench: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(jsonResult(res)); err != nil {
			fmt.Fprintf(stderr, "qpc bench: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	printResult(stdout, res, *nodePID != 0, *metricsURL != "")
	return exitOK
}

// spawnNode starts a node of this binary for --spawn-node; cleanup stops it
// and removes its data.
func spawnNode(ctx context.Context, stderr io.Writer) (*bench.SpawnedNode, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "qpc-bench-node-")
	if err != nil {
		return nil, nil, err
	}
	n, err := bench.SpawnNode(ctx, self, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "bench: spawned node pid %d at %s, metrics %s\n", n.PID, n.Addr, n.Metrics)
	return n, func() { n.Stop(); os.RemoveAll(dir) }, nil
}

// progress prints, about every second, how far the run is and at what
// rate it goes now.
func progress(stderr io.Writer) func(done, total int) {
	last, at := 0, time.Now()
	return func(done, total int) {
		now := time.Now()
		rate := float64(done-last) / now.Sub(at).Seconds()
		last, at = done, now
		fmt.Fprintf(stderr, "\rbench: %d/%d delivered, %.0f msg/s   ", done, total, rate)
	}
}

// jsonResult is the --json form of a result: the field names scripts
// (bench/compare) read.
func jsonResult(r bench.Result) map[string]any {
	return map[string]any{
		"clients": r.Pairs, "messages_per_client": r.Messages, "size": r.Size, "path": r.Path,
		"delivered": r.Delivered, "elapsed_s": r.Elapsed.Seconds(), "msgs_per_s": r.Throughput,
		"p50_ms": ms(r.P50), "p90_ms": ms(r.P90), "p99_ms": ms(r.P99), "max_ms": ms(r.Max),
		"node_cpu_us_per_msg": float64(r.NodeCPUPerMsg.Nanoseconds()) / 1000,
		"rss_idle_mib":        mib(r.RSSIdle), "rss_peak_mib": mib(r.RSSPeak),
		"anon_idle_mib": mib(r.AnonIdle), "anon_peak_mib": mib(r.AnonPeak),
		"commits": r.Commits, "commits_per_s": r.CommitsPerSec, "msgs_per_commit": r.MsgsPerCommit,
		"receipt_p50_ms": ms(r.ReceiptP50), "commit_ms": ms(r.CommitMean), "commit_busy": r.CommitBusy,
	}
}

// printResult prints a result as a table, with the node's costs where the
// run could read them.
func printResult(w io.Writer, r bench.Result, proc, metrics bool) {
	fmt.Fprintf(w, "%-10s %10s %8s %10s %12s %9s %9s %9s %9s\n", "clients", "messages", "size", "elapsed", "msg/s", "p50", "p90", "p99", "max")
	fmt.Fprintf(w, "%-10d %10d %8d %10s %12.0f %9s %9s %9s %9s\n", r.Pairs, r.Delivered, r.Size,
		r.Elapsed.Round(time.Millisecond), r.Throughput, dur(r.P50), dur(r.P90), dur(r.P99), dur(r.Max))
	fmt.Fprintf(w, "messages carried by: %s\n", r.Path)
	fmt.Fprintf(w, "a sender's wait for its receipt (stored and synced): %s median\n", dur(r.ReceiptP50))
	if proc {
		fmt.Fprintf(w, "node: %.1f µs CPU/msg, RSS %.1f MiB idle, %.1f MiB peak (anonymous %.1f idle, %.1f peak)\n",
			float64(r.NodeCPUPerMsg.Nanoseconds())/1000, mib(r.RSSIdle), mib(r.RSSPeak), mib(r.AnonIdle), mib(r.AnonPeak))
	}
	if metrics {
		fmt.Fprintf(w, "node: %.0f commits, %.0f commits/s, %.1f messages per commit, %s per commit, committing %.0f%% of the run\n",
			r.Commits, r.CommitsPerSec, r.MsgsPerCommit, dur(r.CommitMean), 100*r.CommitBusy)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func dur(d time.Duration) string { return fmt.Sprintf("%.2fms", ms(d)) }
