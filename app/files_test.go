package app

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/files"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/protocol"
)

// roomyFiles lets a node hold files of tens of MB.
func roomyFiles(cfg config.Node) config.Node {
	cfg.FileMaxSize, cfg.FileUserQuota, cfg.FileStoreSize = 64<<20, 128<<20, 256<<20
	cfg.MetricsListen = "127.0.0.1:0"
	return cfg
}

func randomFile(t testing.TB, size int) (string, [32]byte) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "video.bin")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, sha256.Sum256(b)
}

func fileHash(t testing.TB, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// sendFile uploads path as from and downloads it as to, and returns the
// throughput of each leg in MB/s.
func sendFile(t *testing.T, from, to *running, fromUser, toUser, path string) (string, float64, float64) {
	t.Helper()
	ctx := ctxT(t)
	a := newAccount(t, from, fromUser)
	b := newAccount(t, to, toUser)
	size := float64(0)
	if fi, err := os.Stat(path); err == nil {
		size = float64(fi.Size())
	}
	start := time.Now()
	ref, err := files.Upload(ctx, a.Client, from.cfg.Domain, path, files.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	up := size / time.Since(start).Seconds() / 1e6
	// The reference travels in a message in the product; here its bytes.
	raw, err := files.MarshalReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := files.ParseReference(raw)
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "saved.bin")
	start = time.Now()
	if err := files.Download(ctx, b.Client, got, dest, files.Options{}); err != nil {
		t.Fatalf("download: %v", err)
	}
	down := size / time.Since(start).Seconds() / 1e6
	return dest, up, down
}

func TestAFileOf20MBCrossesOneNode(t *testing.T) {
	checkLeaks(t)
	n := start(t, roomyFiles(testConfig(t)))
	path, want := randomFile(t, 20<<20)
	dest, up, down := sendFile(t, n, n, "alice", "bob", path)
	if fileHash(t, dest) != want {
		t.Fatal("the downloaded file differs from the uploaded one")
	}
	t.Logf("20 MiB on one node: upload %.1f MB/s, download %.1f MB/s", up, down)
	m := scrapeMetrics(t, n)
	for _, name := range []string{"qpc_files_stored_bytes", "qpc_files_received_bytes_total", "qpc_files_sent_bytes_total"} {
		if line := grep(m, name+" "); line == "" || strings.HasSuffix(line, " 0") {
			t.Errorf("metric %s: %q", name, line)
		}
	}
}

func TestAFileOf20MBCrossesTwoFederatedNodesThroughTheRecipientsNode(t *testing.T) {
	checkLeaks(t)
	c := newCommunity(t)
	n1 := start(t, roomyFiles(c.federated("n1.example.mesh", ca.IssueOptions{})))
	n2 := start(t, roomyFiles(c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String())))
	waitLinks(t, n2, "n1.example.mesh")
	path, want := randomFile(t, 20<<20)
	dest, up, down := sendFile(t, n1, n2, "alice", "bob", path)
	if fileHash(t, dest) != want {
		t.Fatal("the downloaded file differs from the uploaded one")
	}
	t.Logf("20 MiB across two nodes: upload %.1f MB/s, download through the proxy %.1f MB/s", up, down)
	if st := n2.blobs.Store().Stats(); st.Blobs != 0 || st.BytesOut < 20<<20 {
		t.Errorf("the recipient's node should proxy, holding nothing: %+v", st)
	}
}

func TestAFileWhoseHomeCannotBeReachedSaysSo(t *testing.T) {
	checkLeaks(t)
	c := newCommunity(t)
	n1 := start(t, c.federated("n1.example.mesh", ca.IssueOptions{}))
	lone := start(t, testConfig(t))
	ctx := ctxT(t)
	var id [32]byte
	users := map[*running]*client.Account{}
	for _, tc := range []struct {
		name string
		n    *running
		home string
		want error
	}{
		{"a node with no federation", lone, "n1.example.mesh", protocol.ErrUnknownDomain},
		{"a home no peer serves", n1, "gone.example.mesh", protocol.ErrUnknownDomain},
		{"a blob never uploaded", n1, "", protocol.ErrNoSuchBlob},
		{"a home that is not a domain", n1, "not a domain!", protocol.ErrBadRequest},
	} {
		a := users[tc.n]
		if a == nil {
			a = newAccount(t, tc.n, "carol")
			users[tc.n] = a
		}
		if _, err := a.Client.BlobGet(ctx, tc.home, id, 0); !errors.Is(err, tc.want) {
			t.Errorf("%s: get: %v, want %v", tc.name, err, tc.want)
		}
		if _, err := a.Client.BlobStat(ctx, tc.home, id); !errors.Is(err, tc.want) {
			t.Errorf("%s: stat: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestFileQuotasRefuseClearlyAndLoseNothingStored(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig(t)
	cfg.FileMaxSize, cfg.FileUserQuota, cfg.FileStoreSize = 1<<20, 2<<20, 3<<20
	cfg.MetricsListen = "127.0.0.1:0"
	n := start(t, cfg)
	ctx := ctxT(t)
	alice, bob := newAccount(t, n, "alice"), newAccount(t, n, "bob")
	state := t.TempDir()
	up := func(c *running, who string, size int) (files.Reference, [32]byte, error) {
		acc := alice
		if who == "bob" {
			acc = bob
		}
		p, h := randomFile(t, size)
		ref, err := files.Upload(ctx, acc.Client, c.cfg.Domain, p, files.Options{StateDir: state})
		return ref, h, err
	}
	// Sealing adds 16 bytes a chunk: 900 KiB of plaintext fits in 1 MiB.
	kept, keptHash, err := up(n, "alice", 900<<10)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := up(n, "alice", 1100<<10); !errors.Is(err, protocol.ErrBlobTooLarge) {
		t.Errorf("per file: %v, want ErrBlobTooLarge", err)
	}
	if _, _, err := up(n, "alice", 900<<10); err != nil {
		t.Fatal(err)
	}
	if _, _, err := up(n, "alice", 900<<10); !errors.Is(err, protocol.ErrBlobQuota) {
		t.Errorf("per user: %v, want ErrBlobQuota", err)
	}
	if _, _, err := up(n, "bob", 900<<10); err != nil {
		t.Fatal(err)
	}
	if _, _, err := up(n, "bob", 900<<10); !errors.Is(err, protocol.ErrBlobStoreFull) {
		t.Errorf("per node: %v, want ErrBlobStoreFull", err)
	}
	dest := filepath.Join(t.TempDir(), "kept")
	if err := files.Download(ctx, bob.Client, kept, dest, files.Options{}); err != nil {
		t.Fatalf("the first file after the refusals: %v", err)
	}
	if fileHash(t, dest) != keptHash {
		t.Error("the first file changed")
	}
	m := scrapeMetrics(t, n)
	for _, name := range []string{"qpc_files_refused_too_large_total 1", "qpc_files_refused_user_quota_total 1", "qpc_files_refused_store_full_total 1"} {
		if !strings.Contains(m, name) {
			t.Errorf("metrics lack %q", name)
		}
	}
}

func TestADownloadFromAHomeNodeThatWentDownSaysSoAndResumesWhenItIsBack(t *testing.T) {
	checkLeaks(t)
	c := newCommunity(t)
	cfg1 := c.federated("n1.example.mesh", ca.IssueOptions{})
	cfg1.Listen = "127.0.0.1:0"
	n1 := start(t, cfg1)
	n2 := start(t, c.federated("n2.example.mesh", ca.IssueOptions{}, n1.Addr().String()))
	waitLinks(t, n2, "n1.example.mesh")
	ctx := ctxT(t)
	alice := newAccount(t, n1, "alice")
	bob := newAccount(t, n2, "bob")
	path, want := randomFile(t, 3<<20)
	ref, err := files.Upload(ctx, alice.Client, "n1.example.mesh", path, files.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	n1.wait(t)
	dest := filepath.Join(t.TempDir(), "saved.bin")
	err = files.Download(ctx, bob.Client, ref, dest, files.Options{})
	if !errors.Is(err, protocol.ErrPeerUnreachable) {
		t.Fatalf("with the home node down: %v, want ErrPeerUnreachable", err)
	}
	if _, serr := os.Stat(dest); !os.IsNotExist(serr) {
		t.Fatalf("a file appeared although the download failed: %v", serr)
	}
	// The home node comes back on the same address and store.
	cfg1.Listen = n1.Addr().String()
	n1 = start(t, cfg1)
	waitLinks(t, n2, "n1.example.mesh")
	if err := files.Download(ctx, bob.Client, ref, dest, files.Options{}); err != nil {
		t.Fatalf("with the home node back: %v", err)
	}
	if fileHash(t, dest) != want {
		t.Fatal("the file differs")
	}
}

func TestAFileCrossesAChainThroughANodeNotLinkedToEither(t *testing.T) {
	checkLeaks(t)
	m := newMesh(t, 3, chain(3), nil)
	alice := newAccount(t, m.n(1), "alice")
	carol := newAccount(t, m.n(3), "carol")
	ctx := ctxT(t)
	path, want := randomFile(t, 2<<20)
	ref, err := files.Upload(ctx, alice.Client, meshDomain(1), path, files.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// carol's node has no link to n1: it fetches through n2.
	dest := filepath.Join(t.TempDir(), "saved.bin")
	if err := files.Download(ctx, carol.Client, ref, dest, files.Options{}); err != nil {
		t.Fatal(err)
	}
	if fileHash(t, dest) != want {
		t.Fatal("the file differs")
	}
	for i := 2; i <= 3; i++ {
		if st := m.n(i).blobs.Store().Stats(); st.Blobs != 0 || st.BytesOut < 2<<20 {
			t.Errorf("%s should pass the file on without keeping it: %+v", meshDomain(i), st)
		}
	}
}
