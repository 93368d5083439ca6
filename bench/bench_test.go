package bench

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quicprochat/qpc/app"
	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/protocol"
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

func TestARunWithReceiversOnAnotherNodeCrossesTheFederationLink(t *testing.T) {
	authority, err := ca.New("bench CA", 3*365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, authority.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	startNode := func(domain string, peers ...string) *app.Node {
		certPEM, keyPEM, err := authority.Issue(ca.IssueOptions{Domain: domain})
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Listen, cfg.Domain, cfg.DataDir = "127.0.0.1:0", domain, t.TempDir()
		cfg.FederationCert = filepath.Join(cfg.DataDir, "f.crt")
		cfg.FederationKey = filepath.Join(cfg.DataDir, "f.key")
		cfg.FederationCA, cfg.Peers = caFile, peers
		os.WriteFile(cfg.FederationCert, certPEM, 0o600)
		os.WriteFile(cfg.FederationKey, keyPEM, 0o600)
		n, err := app.NewNode(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- n.Run(runCtx) }()
		t.Cleanup(func() { stop(); <-done })
		return n
	}
	n2 := startNode("n2.example.mesh")
	n1 := startNode("n1.example.mesh", n2.Addr().String())
	for deadline := time.Now().Add(30 * time.Second); ; {
		if l := n1.Federation().Links(); len(l) == 1 && l[0].State == protocol.LinkUp {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no link: %+v", n1.Federation().Links())
		}
		time.Sleep(10 * time.Millisecond)
	}
	dialer := func(n *app.Node) func(context.Context) (*client.Client, error) {
		return func(ctx context.Context) (*client.Client, error) {
			return client.Dial(ctx, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()}, nil)
		}
	}
	res, err := Run(ctx, Options{Dial: dialer(n1), Domain: "n1.example.mesh",
		DialReceiver: dialer(n2), ReceiverDomain: "n2.example.mesh",
		Pairs: 2, Messages: 200, Size: 256, Window: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 400 {
		t.Errorf("result %+v", res)
	}
	if l := n1.Federation().Links()[0]; l.RelayedOut != 400 {
		t.Errorf("n1 relayed %d messages to n2, want 400", l.RelayedOut)
	}
	t.Logf("%+v", res)
}

// BenchmarkNodeUnderLoad runs the bench against a node in this process (real
// QUIC on 127.0.0.1, bbolt in a temporary directory), so that
// -cpuprofile and -memprofile see the node and the client under the load
// `qpc bench` makes. One iteration is one run of 16 pairs.
func BenchmarkNodeUnderLoad(b *testing.B) {
	cfg := config.Default()
	cfg.Listen, cfg.Domain, cfg.DataDir = "127.0.0.1:0", "bench.example.mesh", b.TempDir()
	cfg.RegisterRate, cfg.RegisterRateNode = 1_000_000, 1_000_000
	n, err := app.NewNode(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { cancel(); <-done }()
	dial := func(ctx context.Context) (*client.Client, error) {
		return client.Dial(ctx, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()}, nil)
	}
	// The message stream, and the Cap'n Proto calls it replaced (which
	// clients of older nodes still use), side by side.
	for _, path := range []string{"stream", "rpc"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				res, err := Run(ctx, Options{Dial: dial, Domain: cfg.Domain, Pairs: 16, Messages: 1000, Size: 256, Window: 32, RPCOnly: path == "rpc"})
				if err != nil {
					b.Fatal(err)
				}
				if res.Path != path {
					b.Fatalf("the run used the %s path, want %s", res.Path, path)
				}
				b.ReportMetric(res.Throughput, "msg/s")
				b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
			}
		})
	}
}
