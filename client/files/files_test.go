package files

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeRandom(t *testing.T, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "photo.bin")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func TestUploadThenDownloadGivesTheSameBytes(t *testing.T) {
	for _, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 5*ChunkSize + 77} {
		path, want := writeRandom(t, size)
		n := newMemNode()
		var last Progress
		ref, err := Upload(context.Background(), n, "a.example", path, Options{StateDir: t.TempDir(), Progress: func(p Progress) { last = p }})
		if err != nil {
			t.Fatalf("size %d: upload: %v", size, err)
		}
		if last.Done != int64(size) || last.Total != int64(size) {
			t.Errorf("size %d: last progress %+v", size, last)
		}
		dest := filepath.Join(t.TempDir(), "out")
		if err := Download(context.Background(), n, ref, dest, Options{}); err != nil {
			t.Fatalf("size %d: download: %v", size, err)
		}
		got, err := os.ReadFile(dest)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: downloaded %d bytes (err %v), not the %d uploaded", size, len(got), err, len(want))
		}
		if _, err := os.Stat(dest + PartSuffix); !os.IsNotExist(err) {
			t.Errorf("size %d: the part file stayed: %v", size, err)
		}
	}
}

func TestTheMediaTypeComesFromTheContent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "noext")
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)
	os.WriteFile(p, png, 0o600)
	ref, err := Upload(context.Background(), newMemNode(), "a.example", p, Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if ref.MIME != "image/png" {
		t.Errorf("MIME %q, want image/png", ref.MIME)
	}
}

func TestAnInterruptedUploadResumesWithTheSameKeyAndSendsOnlyTheRest(t *testing.T) {
	path, want := writeRandom(t, 10*ChunkSize+5)
	state := t.TempDir()
	n := newMemNode()
	n.failAfter.Store(4)
	if _, err := Upload(context.Background(), n, "a.example", path, Options{StateDir: state, InFlight: 1}); !errors.Is(err, errCut) {
		t.Fatalf("first attempt: %v, want the cut", err)
	}
	before := n.puts.Load()
	n.failAfter.Store(0)
	ref, err := Upload(context.Background(), n, "a.example", path, Options{StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	if sent := n.puts.Load() - before; sent != 11-before {
		t.Errorf("the resumed upload sent %d chunks, want %d", sent, 11-before)
	}
	if len(n.blobs) != 1 {
		t.Errorf("the node holds %d blobs, want the one (same key, same chunks)", len(n.blobs))
	}
	dest := filepath.Join(t.TempDir(), "out")
	if err := Download(context.Background(), n, ref, dest, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, want) {
		t.Fatal("downloaded bytes differ")
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("upload state left behind: %d files", len(left))
	}
}

func TestAnInterruptedDownloadResumesAndFetchesOnlyTheRest(t *testing.T) {
	path, want := writeRandom(t, 40*ChunkSize)
	n := newMemNode()
	ref, err := Upload(context.Background(), n, "a.example", path, Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "out")
	n.failAfter.Store(n.puts.Load() + 20)
	if err := Download(context.Background(), n, ref, dest, Options{InFlight: 2}); !errors.Is(err, errCut) {
		t.Fatalf("first attempt: %v, want the cut", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatalf("dest exists after a failed download: %v", err)
	}
	n.failAfter.Store(0)
	before := n.gets.Load()
	if err := Download(context.Background(), n, ref, dest, Options{}); err != nil {
		t.Fatal(err)
	}
	// The failed attempt wrote and recorded the 20 chunks it fetched.
	if again := n.gets.Load() - before; again != 40-20 {
		t.Errorf("the resumed download fetched %d chunks, want the %d not fetched before", again, 40-20)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, want) {
		t.Fatal("downloaded bytes differ")
	}
}

func TestDownloadRefusesWhatWasAlteredCutOrLockedWithAnotherKey(t *testing.T) {
	path, _ := writeRandom(t, 3*ChunkSize+10)
	ctx := context.Background()
	n := newMemNode()
	ref, err := Upload(ctx, n, "a.example", path, Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a chunk changed on the node is tampered", func(t *testing.T) {
		n.tamper = func(i int, b []byte) []byte {
			if i == 2 {
				b[5] ^= 1
			}
			return b
		}
		defer func() { n.tamper = nil }()
		err := Download(ctx, n, ref, filepath.Join(t.TempDir(), "out"), Options{})
		if !errors.Is(err, ErrTampered) {
			t.Fatalf("got %v, want ErrTampered", err)
		}
	})
	t.Run("another key is the wrong key", func(t *testing.T) {
		bad := ref
		bad.Key[0] ^= 1
		err := Download(ctx, n, bad, filepath.Join(t.TempDir(), "out"), Options{})
		if !errors.Is(err, ErrWrongKey) {
			t.Fatalf("got %v, want ErrWrongKey", err)
		}
	})
	t.Run("a file without its last chunk is truncated", func(t *testing.T) {
		// The first three chunks, authentic, as a blob of their own: a
		// reference to it must not pass as the whole file.
		src := n.blobs[ref.ID]
		hashes := src.hashes[:3]
		cut, err := n.BlobCreate(ctx, 3*(ChunkSize+Overhead), hashes, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if err := n.BlobPut(ctx, cut.ID, i, src.chunks[i]); err != nil {
				t.Fatal(err)
			}
		}
		short := ref
		short.ID, short.Size = cut.ID, 3*ChunkSize
		err = Download(ctx, n, short, filepath.Join(t.TempDir(), "out"), Options{})
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("got %v, want ErrTruncated", err)
		}
	})
	t.Run("a reference whose chunk count is off is truncated", func(t *testing.T) {
		short := ref
		short.Size = 2 * ChunkSize
		err := Download(ctx, n, short, filepath.Join(t.TempDir(), "out"), Options{})
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("got %v, want ErrTruncated", err)
		}
	})
	t.Run("hashes that do not make the id are tampered", func(t *testing.T) {
		b := n.blobs[ref.ID]
		saved := b.hashes[1]
		b.hashes[1] = sha256.Sum256([]byte("other"))
		defer func() { b.hashes[1] = saved }()
		err := Download(ctx, n, ref, filepath.Join(t.TempDir(), "out"), Options{})
		if !errors.Is(err, ErrTampered) {
			t.Fatalf("got %v, want ErrTampered", err)
		}
	})
}

func TestChunksOpenOnlyWhereTheyWereSealed(t *testing.T) {
	key, _ := NewKey()
	s := SealChunk(nil, key, 3, false, []byte("hello"))
	if _, err := OpenChunk(nil, key, 4, 10, s); !errors.Is(err, ErrWrongKey) {
		t.Errorf("moved to another index: %v, want a refusal", err)
	}
	if _, err := OpenChunk(nil, key, 3, 4, s); !errors.Is(err, ErrTruncated) {
		t.Errorf("a middle chunk read as the last: %v, want ErrTruncated", err)
	}
	if p, err := OpenChunk(nil, key, 3, 10, s); err != nil || string(p) != "hello" {
		t.Errorf("in place: %q, %v", p, err)
	}
}

func TestAFileNotCompletelyUploadedIsIncomplete(t *testing.T) {
	path, _ := writeRandom(t, 6*ChunkSize)
	n := newMemNode()
	n.failAfter.Store(3)
	state := t.TempDir()
	if _, err := Upload(context.Background(), n, "a.example", path, Options{StateDir: state, InFlight: 1}); !errors.Is(err, errCut) {
		t.Fatalf("upload: %v, want the cut", err)
	}
	n.failAfter.Store(0)
	// The reference a sender would make: the blob's id is known before
	// the upload ends.
	var id [32]byte
	for k := range n.blobs {
		id = k
	}
	ref := Reference{Name: "x", Size: 6 * ChunkSize, ChunkSize: ChunkSize, ID: id, Home: "a.example"}
	err := Download(context.Background(), n, ref, filepath.Join(t.TempDir(), "out"), Options{})
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("got %v, want ErrIncomplete", err)
	}
}

func TestAChunkTheNodeDoesNotAnswerFailsTheTransferWithErrChunkTimeout(t *testing.T) {
	path, want := writeRandom(t, 12*ChunkSize)
	state := t.TempDir()
	n := newMemNode()
	n.hangAfter.Store(5)
	opts := Options{StateDir: state, ChunkTimeout: 50 * time.Millisecond}
	if _, err := Upload(context.Background(), n, "a.example", path, opts); !errors.Is(err, ErrChunkTimeout) {
		t.Fatalf("upload to a node that stopped answering: %v, want ErrChunkTimeout", err)
	}
	n.hangAfter.Store(0)
	ref, err := Upload(context.Background(), n, "a.example", path, opts)
	if err != nil {
		t.Fatalf("the upload resumed: %v", err)
	}

	dest := filepath.Join(t.TempDir(), "out")
	n.hangAfter.Store(n.puts.Load() + 5)
	if err := Download(context.Background(), n, ref, dest, opts); !errors.Is(err, ErrChunkTimeout) {
		t.Fatalf("download from a node that stopped answering: %v, want ErrChunkTimeout", err)
	}
	// The caller's own deadline is not the node's silence.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = Download(ctx, n, ref, dest, Options{ChunkTimeout: time.Hour})
	if errors.Is(err, ErrChunkTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("download cancelled by its caller: %v, want the caller's deadline", err)
	}
	n.hangAfter.Store(0)
	if err := Download(context.Background(), n, ref, dest, opts); err != nil {
		t.Fatalf("the download resumed: %v", err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, want) {
		t.Fatal("downloaded bytes differ")
	}
}
