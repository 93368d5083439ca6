package bench

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/quicprochat/qpc/app"
	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/transport"
)

func TestARunDeliversEveryMessageAndCleansUp(t *testing.T) {
	cfg := config.Default()
	cfg.Listen, cfg.Domain, cfg.DataDir = "127.0.0.1:0", "bench.example.mesh", t.TempDir()
	n, err := app.NewNode(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(runCtx) }()
	defer func() { stop(); <-done }()

	dial := func(ctx context.Context) (*client.Client, error) {
		return client.Dial(ctx, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()}, nil)
	}
	res, err := Run(ctx, Options{Dial: dial, Domain: cfg.Domain, Pairs: 3, Messages: 300, Size: 256, Window: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 900 || res.Throughput <= 0 || res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.Max {
		t.Errorf("result %+v", res)
	}
	t.Logf("%+v", res)
}

func TestBadOptionsAreRefused(t *testing.T) {
	for _, o := range []Options{{Pairs: 0, Messages: 1, Size: 8, Window: 1}, {Pairs: 1, Messages: 1, Size: 7, Window: 1}} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
