package app

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/transport"
)

// A part that fails while the node runs ends Run with its error, after
// the whole shutdown: clients are cut off and the store is released.
func TestAMetricsEndpointThatFailsStopsTheNodeWithItsError(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig(t)
	cfg.MetricsListen = "127.0.0.1:0"
	n, err := NewNode(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	health(t, c)

	// The metrics listener breaks under the running node, as when its
	// socket is taken away; the node must not run on without its metrics.
	n.metricsLn.Close()
	select {
	case err = <-done:
	case <-time.After(2 * ShutdownGrace):
		t.Fatal("the node kept running after its metrics endpoint failed")
	}
	var pe *PartError
	if !errors.As(err, &pe) || pe.Part != partMetrics || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Run = %v, want a PartError of %q wrapping net.ErrClosed", err, partMetrics)
	}
	hctx, hcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer hcancel()
	if _, err := c.Health(hctx); err == nil {
		t.Error("the client's connection still works after the node stopped")
	}
	// The store was closed: the same data dir opens again at once.
	servedClients(t, start(t, cfg), 1)
}

// A NewNode that fails after it opened the store and the metrics listener
// releases both: the next try with the same data dir and metrics address
// starts.
func TestAFailedNewNodeReleasesWhatItAcquired(t *testing.T) {
	checkLeaks(t)
	busy := start(t, testConfig(t))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := l.Addr().String()
	l.Close()

	cfg := testConfig(t)
	cfg.MetricsListen = metricsAddr
	cfg.Listen = busy.Addr().String() // taken: the last step of NewNode fails
	_, err = NewNode(cfg, testLogger(t))
	var fe *config.FlagError
	if !errors.As(err, &fe) || fe.Flag != "listen" {
		t.Fatalf("err = %v, want a FlagError for --listen", err)
	}

	cfg.Listen = "127.0.0.1:0"
	n, err := NewNode(cfg, testLogger(t)) // fails with a locked store or a bound metrics port unless released
	if err != nil {
		t.Fatalf("NewNode after a failed one: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
