package metrics

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// exampleRegistry returns a Registry with every kind of metric the package
// offers, named as the node names them, each with a value, and label values
// that need escaping.
func exampleRegistry(t testing.TB) *Registry {
	t.Helper()
	r := NewRegistry()
	r.MustRegisterRuntime()
	r.MustRegisterBuildInfo("0.1.0-dev", "abc1234", "linux/mipsle")

	r.MustCounter("qpc_messages_stored_total", "Messages stored in mailboxes.").AddUint64(12)
	r.MustCounter("qpc_messages_expired_total", "Messages removed because their TTL passed.").Add(2.5)
	r.MustCounterFunc("qpc_store_commits_total", "Store transactions committed.", func() float64 { return 99 })

	rpcs := r.MustCounterVec("qpc_rpcs_total", "RPCs handled, by method and result.", "method", "result")
	rpcs.With("enqueue", "ok").Add(10)
	rpcs.With("enqueue", "mailbox_full").Inc()
	rpcs.With(`we"ird\method`+"\n", "ok").Inc()

	r.MustGauge("qpc_sessions", "Logged-in sessions.").Set(3)
	r.MustGauge("qpc_clock_skew_seconds", "Skew against the \"reference\" clock\\source.\nSecond line.").Set(math.NaN())
	r.MustGaugeFunc("qpc_connections", "Open client connections.", func() float64 { return 4 })
	r.MustGaugeFunc("qpc_mailbox_depth", "Messages waiting in all mailboxes.", func() float64 { return 1234 })
	peers := r.MustGaugeVec("qpc_federation_peers", "Federation peers by state.", "state")
	peers.With("up").Set(2)
	peers.With("down").Set(0)

	commit := r.MustHistogram("qpc_store_commit_duration_seconds", "Store commit latency.", LatencyBuckets())
	commit.ObserveDuration(3 * time.Millisecond)
	commit.ObserveDuration(40 * time.Millisecond)
	commit.Observe(math.Inf(1))
	lat := r.MustHistogramVec("qpc_rpc_duration_seconds", "RPC latency by method.", LatencyBuckets(), "method")
	lat.With("fetch").ObserveDuration(800 * time.Microsecond)
	lat.With("enqueue").ObserveDuration(12 * time.Millisecond)
	lat.With("enqueue").ObserveDuration(20 * time.Second)
	return r
}

// TestPromtoolAcceptsOutput runs Prometheus' own checker, which parses the
// exposition and lints it against the naming conventions, on a scrape of
// every kind of metric. CI installs promtool (Debian package prometheus).
func TestPromtoolAcceptsOutput(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool not found in CI: .ci/run must install the prometheus package: %v", err)
		}
		t.Skipf("promtool not found (apt-get install prometheus to run this check): %v", err)
	}
	text := scrape(t, exampleRegistry(t))
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\ninput:\n%s", err, out.String(), text)
	}
	// promtool exits 0 when it only has lint warnings on some versions, so
	// anything it says is a failure too.
	if s := strings.TrimSpace(out.String()); s != "" {
		t.Fatalf("promtool check metrics:\n%s\ninput:\n%s", s, text)
	}
}

// TestPromtoolRejectsBrokenOutput shows that the promtool check can fail:
// the same exposition with a label value's quote left unescaped is refused.
func TestPromtoolRejectsBrokenOutput(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool not found in CI: %v", err)
		}
		t.Skipf("promtool not found: %v", err)
	}
	text := scrape(t, exampleRegistry(t))
	broken := strings.Replace(text, `we\"ird`, `we"ird`, 1)
	if broken == text {
		t.Fatal("the example no longer has the escaped label value this test breaks")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(broken)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("promtool accepted an unescaped quote in a label value (err %v):\n%s", err, out)
	}
}
