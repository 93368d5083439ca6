package main

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3/rpc"
	"github.com/quicprochat/qpc/crypto/opaque"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/files"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
	"github.com/quicprochat/qpc/transport"
)

// TestANodeHoldsAtMostItsAnswerBudgetForAClientThatFinishesLate has the
// stock capnp-go client, which sends each Finish 250 ms after the answer
// (not our early Finish), download chunks from a node process with eight
// calls in flight for a few seconds. Without a budget the node would hold
// the rate times a quarter second of chunk answers (25 to 40 MB on
// loopback); with transport.MaxUnfinishedChunkBytes it refuses chunk calls
// (rateLimited) past 4 MiB, so its peak RSS grows by little more. An
// honest client is served in full afterwards.
func TestANodeHoldsAtMostItsAnswerBudgetForAClientThatFinishesLate(t *testing.T) {
	t.Parallel()
	env := []string{"QPC_FILE_MAX_SIZE=64", "QPC_FILE_USER_QUOTA=128", "QPC_FILE_STORE_SIZE=256"}
	p := startNodeProcEnv(t, env, t.TempDir(), "127.0.0.1:0", qpcBin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fast := opaque.Config{KSF: opaque.Identity{}}
	connect := func(user string) (*client.Client, client.Session) {
		t.Helper()
		c, err := client.Dial(ctx, p.addr, transport.Trust{Pin: p.fp}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Register(ctx, fast, "node1.example.mesh", user, []byte(user)); err != nil {
			t.Fatal(err)
		}
		s, _, err := c.Login(ctx, fast, "node1.example.mesh", user, []byte(user))
		if err != nil {
			t.Fatal(err)
		}
		return c, s
	}
	data := make([]byte, 16<<20)
	rand.Read(data)
	src := filepath.Join(t.TempDir(), "film.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	alice, _ := connect("alice")
	ref, err := files.Upload(ctx, alice, "node1.example.mesh", src, files.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	alice.Close()
	mc, sess := connect("mallory")
	defer mc.Close()

	// The stock client: a bare capnp connection, resumed into mallory's
	// session.
	host, _, err := net.SplitHostPort(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := transport.ClientTLS(host, transport.Trust{Pin: p.fp})
	if err != nil {
		t.Fatal(err)
	}
	qc, err := transport.Dial(ctx, p.addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer qc.CloseWithError(transport.CodeNormal, "")
	stream, err := qc.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rc := rpc.NewConn(rpc.NewStreamTransport(stream), nil)
	defer rc.Close()
	node := schemas.NodeService(rc.Bootstrap(ctx))
	defer node.Release()
	fut, release := node.ResumeSession(ctx, func(p schemas.NodeService_resumeSession_Params) error {
		return p.SetToken(sess.Token)
	})
	if _, err := fut.Struct(); err != nil {
		t.Fatalf("resume: %v", err)
	}
	release()

	before := peakRSS(t, p.cmd.Process.Pid)
	var mu sync.Mutex
	var served, refused int
	var other error
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; time.Since(start) < 4*time.Second; i += 8 {
				fut, release := node.BlobGet(ctx, func(p schemas.NodeService_blobGet_Params) error {
					p.SetIndex(uint32(i % ref.Chunks()))
					return p.SetId(ref.ID[:])
				})
				_, err := fut.Struct()
				release()
				mu.Lock()
				switch err := protocol.FromException(err); {
				case err == nil:
					served++
				case errors.Is(err, protocol.ErrRateLimited):
					refused++
				case other == nil:
					other = err
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	growth := peakRSS(t, p.cmd.Process.Pid) - before
	t.Logf("stock client, Finish 250 ms late: %d chunks served (%.0f MB/s), %d refused; node peak RSS %d KiB before, +%d KiB",
		served, float64(served)*files.ChunkSize/elapsed/1e6, refused, before, growth)
	if other != nil {
		t.Fatalf("a chunk call failed otherwise than rateLimited: %v", other)
	}
	if served == 0 {
		t.Fatal("no chunk served")
	}
	// The budget, the chunks of calls running when it was passed (4 a
	// connection), the QUIC windows and the collector's headroom: the
	// bound of the 50 MB test plus the budget, counted three times, as
	// RSS also holds what the collector freed but has not returned yet
	// (GOGC lets the heap reach twice what is live; under load the
	// scavenger lags: +17,684 KiB was measured at load 20). What the
	// budget itself refuses, exactly, is app's
	// TestAClientThatLeavesChunkAnswersUnfinishedIsRefusedAtTheBudget.
	const bound = 3*transport.MaxUnfinishedChunkBytes>>10 + 8<<10 + 4*128 // KiB
	if growth > bound {
		t.Errorf("the node's peak RSS grew by %d KiB, more than %d", growth, bound)
	}

	bob, _ := connect("bob")
	defer bob.Close()
	dest := filepath.Join(t.TempDir(), "saved.bin")
	if err := files.Download(ctx, bob, ref, dest, files.Options{}); err != nil {
		t.Fatalf("an honest download after the hoarder: %v", err)
	}
}
