// Package apptest runs a real qpc node (app.Node: QUIC on 127.0.0.1 port
// 0, bbolt in a test's temporary directory) for the tests of packages
// that talk to one, such as client/session and the REPL.
package apptest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/quicprochat/qpc/app"
	"github.com/quicprochat/qpc/config"
)

// Node is a node that runs until Stop or the end of the test.
type Node struct {
	Addr, Fingerprint string

	t       testing.TB
	cancel  context.CancelFunc
	done    chan error
	stopped bool
	err     error
}

// Run starts a node of domain with the default configuration. The test's
// cleanup stops it and fails the test if Run did not end cleanly.
func Run(t testing.TB, domain string) *Node {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Domain = domain
	cfg.DataDir = t.TempDir()
	n, err := app.NewNode(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &Node{Addr: n.Addr().String(), Fingerprint: n.Fingerprint(), t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { tn.done <- n.Run(ctx) }()
	t.Cleanup(func() {
		if err := tn.Stop(); err != nil {
			t.Errorf("node Run: %v", err)
		}
	})
	return tn
}

// Stop stops the node, if it runs, and returns how its Run ended.
func (n *Node) Stop() error {
	if n.stopped {
		return n.err
	}
	n.stopped = true
	n.cancel()
	select {
	case n.err = <-n.done:
	case <-time.After(2 * app.ShutdownGrace):
		n.t.Error("the node did not stop")
	}
	return n.err
}
