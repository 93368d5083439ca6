package bench

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/quicprochat/qpc/metrics"
)

// TestScrapeReadsANodesMetricsServer scrapes the node's own metrics
// server (package metrics) with the bench's bare HTTP client: the commit
// counters come through, and a wrong path or scheme is ErrMetrics.
func TestScrapeReadsANodesMetricsServer(t *testing.T) {
	reg := metrics.NewRegistry()
	h, err := reg.Histogram("qpc_store_commit_duration_seconds", "commits", []float64{0.001, 0.01})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := reg.Counter("qpc_store_committed_messages_total", "messages")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h.ObserveDuration(2 * time.Millisecond)
	}
	msgs.AddUint64(240)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- reg.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + ln.Addr().String()
	c, err := ScrapeCommits(ctx, base+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if c.Commits != 3 || c.Messages != 240 {
		t.Errorf("scraped %+v, want 3 commits of 240 messages", c)
	}
	if _, err := ScrapeCommits(ctx, base+"/nothing"); !errors.Is(err, ErrMetrics) {
		t.Errorf("a 404: %v, want ErrMetrics", err)
	}
	if _, err := ScrapeCommits(ctx, "https://"+ln.Addr().String()+"/metrics"); !errors.Is(err, ErrMetrics) {
		t.Errorf("https: %v, want ErrMetrics", err)
	}
}
