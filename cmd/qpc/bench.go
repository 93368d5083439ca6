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
	fs := newFlagSet("bench", "--server HOST:PORT [--receivers-on HOST:PORT] [--clients 16] [--messages 2000] [--size 256] [--json]", stderr)
	var f clientFlags
	f.bind(fs, stderr, false)
	pairs := fs.Int("clients", 16, "sender→receiver pairs, each on its own connections")
	messages := fs.Int("messages", 2000, "messages per sender")
	size := fs.Int("size", 256, "payload bytes per message (at least 8)")
	window := fs.Int("window", 32, "enqueues each sender keeps in flight")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	deadline := fs.Duration("deadline", 10*time.Minute, "give up on the whole run after this long")
	receiversOn := fs.String("receivers-on", "", "put the receivers on this other node (`HOST:PORT`; trust it with --ca-cert or the known-nodes file), so that every message crosses a federation link")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		fmt.Fprintf(stderr, "qpc bench: %v\n", err)
		return exitUsage
	}
	if f.server == "" {
		fmt.Fprintln(stderr, "qpc bench: --server is required")
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
		Progress: func(done, total int) {
			fmt.Fprintf(stderr, "\rbench: %d/%d delivered", done, total)
		},
	})
	fmt.Fprintln(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "qpc bench: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{
			"clients": res.Pairs, "messages_per_client": res.Messages, "size": res.Size,
			"delivered": res.Delivered, "elapsed_s": res.Elapsed.Seconds(), "msgs_per_s": res.Throughput,
			"p50_ms": ms(res.P50), "p90_ms": ms(res.P90), "p99_ms": ms(res.P99), "max_ms": ms(res.Max),
		})
		return exitOK
	}
	fmt.Fprintf(stdout, "%-10s %10s %8s %10s %12s %9s %9s %9s %9s\n", "clients", "messages", "size", "elapsed", "msg/s", "p50", "p90", "p99", "max")
	fmt.Fprintf(stdout, "%-10d %10d %8d %10s %12.0f %9s %9s %9s %9s\n", res.Pairs, res.Delivered, res.Size,
		res.Elapsed.Round(time.Millisecond), res.Throughput, dur(res.P50), dur(res.P90), dur(res.P99), dur(res.Max))
	return exitOK
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func dur(d time.Duration) string { return fmt.Sprintf("%.2fms", ms(d)) }
