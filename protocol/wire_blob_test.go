package protocol

import (
	"crypto/sha256"
	"errors"
	"testing"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

func sampleBlobStat() BlobStat {
	hs := [][BlobIDSize]byte{sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))}
	return BlobStat{ID: BlobID(hs), Size: 1000, Chunks: hs, Held: 1, ExpiresMillis: 1_800_000_000_000}
}

func TestABlobStatRoundTripsAndItsIDIsChecked(t *testing.T) {
	s := sampleBlobStat()
	w := newRoot(t, schemas.NewRootBlobStat)
	if err := BlobStatToWire(s, w); err != nil {
		t.Fatal(err)
	}
	got, err := BlobStatFromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != s.ID || got.Size != s.Size || got.Held != 1 || got.Complete() || got.Chunks[1] != s.Chunks[1] || got.ExpiresMillis != s.ExpiresMillis {
		t.Errorf("round trip: %+v", got)
	}
	bad := s
	bad.ID[0] ^= 1
	w = newRoot(t, schemas.NewRootBlobStat)
	BlobStatToWire(bad, w)
	if _, err := BlobStatFromWire(w); !errors.Is(err, ErrMalformedAnswer) {
		t.Errorf("an id the hashes do not make: %v, want ErrMalformedAnswer", err)
	}
	over := s
	over.Held = 3
	w = newRoot(t, schemas.NewRootBlobStat)
	BlobStatToWire(over, w)
	if _, err := BlobStatFromWire(w); !errors.Is(err, ErrMalformedAnswer) {
		t.Errorf("more chunks held than there are: %v, want ErrMalformedAnswer", err)
	}
}

func TestBlobShapesAreChecked(t *testing.T) {
	for _, c := range []struct {
		size   uint64
		chunks int
		ok     bool
	}{{0, 1, true}, {MaxBlobChunk, 1, true}, {MaxBlobChunk + 1, 1, false}, {1, 0, false}, {1, MaxBlobChunks + 1, false}} {
		if err := CheckBlobShape(c.size, c.chunks); (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrBadRequest)) {
			t.Errorf("%d bytes in %d chunks: %v", c.size, c.chunks, err)
		}
	}
}

func TestHealthCarriesTheFileStore(t *testing.T) {
	w := newRoot(t, schemas.NewRootHealth)
	h := Health{Files: FileStoreHealth{Bytes: 5 << 20, Limit: 64 << 20, Count: 3}}
	if err := HealthToWire(h, w); err != nil {
		t.Fatal(err)
	}
	got, err := HealthFromWire(w)
	if err != nil || got.Files != h.Files {
		t.Errorf("files %+v, %v", got.Files, err)
	}
}

func FuzzBlobStatFromWire(f *testing.F) {
	w := newRoot(f, schemas.NewRootBlobStat)
	if err := BlobStatToWire(sampleBlobStat(), w); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(w)}, func(t *testing.T, root capnp.Struct) {
		s, err := BlobStatFromWire(schemas.BlobStat(root))
		if err != nil {
			return
		}
		if BlobID(s.Chunks) != s.ID || s.Held > len(s.Chunks) {
			t.Errorf("an accepted stat breaks its rules: %+v", s)
		}
	})
}
