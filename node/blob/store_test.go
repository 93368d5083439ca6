package blob

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// clock is a settable clock for TTL tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// chunks returns n random chunks of size bytes and their hashes.
func chunks(n, size int) ([][]byte, [][protocol.BlobIDSize]byte) {
	var cs [][]byte
	var hs [][protocol.BlobIDSize]byte
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		rand.Read(b)
		cs = append(cs, b)
		hs = append(hs, sha256.Sum256(b))
	}
	return cs, hs
}

func open(t *testing.T, dir string, lim Limits, c *clock) *Store {
	t.Helper()
	s, err := Open(dir, lim, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func upload(t *testing.T, s *Store, owner string, cs [][]byte, hs [][protocol.BlobIDSize]byte) [protocol.BlobIDSize]byte {
	t.Helper()
	c, err := s.Create(owner, uint64(len(cs)*len(cs[0])), hs, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range cs {
		if err := s.Put(owner, c.ID, i, b); err != nil {
			t.Fatal(err)
		}
	}
	return c.ID
}

func TestABlobSurvivesAReopenAndResumesWhereItStopped(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := open(t, dir, Limits{}, c)
	cs, hs := chunks(4, 1000)
	cr, err := s.Create("alice", 4000, hs, 0)
	if err != nil || len(cr.Missing) != 4 {
		t.Fatalf("create: %+v %v", cr, err)
	}
	for _, i := range []int{0, 2} {
		if err := s.Put("alice", cr.ID, i, cs[i]); err != nil {
			t.Fatal(err)
		}
	}
	// What a crash mid-put leaves: a temporary file.
	os.WriteFile(filepath.Join(s.blobDir(cr.ID), ".3.tmp123"), []byte("half"), 0o600)
	s = open(t, dir, Limits{}, c)
	again, err := s.Create("alice", 4000, hs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Missing) != 2 || again.Missing[0] != 1 || again.Missing[1] != 3 {
		t.Fatalf("missing after reopen %v, want [1 3]", again.Missing)
	}
	if _, err := os.Stat(filepath.Join(s.blobDir(cr.ID), ".3.tmp123")); !os.IsNotExist(err) {
		t.Errorf("the temporary file stayed: %v", err)
	}
	for _, i := range again.Missing {
		if err := s.Put("alice", cr.ID, i, cs[i]); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Stat(cr.ID)
	if err != nil || !st.Complete() || st.Size != 4000 {
		t.Fatalf("stat %+v %v", st, err)
	}
	for i := range cs {
		b, err := s.Get(cr.ID, i)
		if err != nil || !bytes.Equal(b, cs[i]) {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	if got := s.Stats(); got.Stored != 4000 || got.Reserved != 4000 || got.Blobs != 1 {
		t.Errorf("stats %+v", got)
	}
}

func TestQuotasRefuseByNameAndKeepWhatIsStored(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := open(t, t.TempDir(), Limits{MaxFile: 3000, PerUser: 5000, Total: 8000}, c)
	cs, hs := chunks(2, 1000)
	first := upload(t, s, "alice", cs, hs)

	_, big := chunks(4, 1000)
	if _, err := s.Create("alice", 4000, big, 0); !errors.Is(err, protocol.ErrBlobTooLarge) {
		t.Errorf("per file: %v, want ErrBlobTooLarge", err)
	}
	_, h3 := chunks(3, 1000)
	if _, err := s.Create("alice", 3000, h3, 0); err != nil {
		t.Fatal(err)
	}
	_, h1 := chunks(1, 1000)
	if _, err := s.Create("alice", 1000, h1, 0); !errors.Is(err, protocol.ErrBlobQuota) {
		t.Errorf("per user: %v, want ErrBlobQuota", err)
	}
	if _, err := s.Create("bob", 2000, hs[:1:1], 0); err != nil {
		// hs[:1] is another blob (one chunk): bob's first.
		t.Fatal(err)
	}
	_, hb := chunks(2, 1000)
	if _, err := s.Create("carol", 2000, hb, 0); !errors.Is(err, protocol.ErrBlobStoreFull) {
		t.Errorf("per node: %v, want ErrBlobStoreFull", err)
	}
	st := s.Stats()
	if st.RefusedFile != 1 || st.RefusedUser != 1 || st.RefusedNode != 1 {
		t.Errorf("refusals %+v", st)
	}
	for i := range cs {
		if b, err := s.Get(first, i); err != nil || !bytes.Equal(b, cs[i]) {
			t.Errorf("the stored blob lost chunk %d: %v", i, err)
		}
	}
}

func TestBlobsStayUntilTheirTTLAndGoAfter(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := open(t, dir, Limits{Total: 3000, MaxFile: 3000, PerUser: 3000}, c)
	cs, hs := chunks(2, 1000)
	id := upload(t, s, "alice", cs, hs)
	c.add(DefaultLimits().DefaultTTL - time.Second)
	_, more := chunks(2, 1000)
	if _, err := s.Create("bob", 2000, more, 0); !errors.Is(err, protocol.ErrBlobStoreFull) {
		t.Fatalf("a full node before the TTL: %v, want ErrBlobStoreFull (nothing evicted)", err)
	}
	if _, err := s.Get(id, 0); err != nil {
		t.Fatalf("before its TTL: %v", err)
	}
	c.add(2 * time.Second)
	if _, err := s.Get(id, 0); !errors.Is(err, protocol.ErrNoSuchBlob) {
		t.Fatalf("after its TTL: %v, want ErrNoSuchBlob", err)
	}
	if _, err := s.Create("bob", 2000, more, 0); err != nil {
		t.Fatalf("after the TTL the room is free again: %v", err)
	}
	if _, err := os.Stat(s.blobDir(id)); !os.IsNotExist(err) {
		t.Errorf("the expired blob's files stayed: %v", err)
	}
}

func TestPutsAreChecked(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := open(t, t.TempDir(), Limits{}, c)
	cs, hs := chunks(2, 1000)
	cr, err := s.Create("alice", 2000, hs, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		owner string
		index int
		data  []byte
		want  error
	}{
		"a chunk that does not hash right":   {"alice", 0, cs[1], protocol.ErrBadChunk},
		"a chunk from someone else":          {"bob", 0, cs[0], protocol.ErrBadRequest},
		"an index past the end":              {"alice", 2, cs[0], protocol.ErrBadRequest},
		"a chunk over the bound":             {"alice", 0, make([]byte, protocol.MaxBlobChunk+1), protocol.ErrPayloadTooLarge},
		"a chunk of a blob that is not held": {"alice", 0, cs[0], nil},
	} {
		id := cr.ID
		if c.want == nil {
			id[0] ^= 1
			c.want = protocol.ErrNoSuchBlob
		}
		if err := s.Put(c.owner, id, c.index, c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := s.Create("alice", 1<<30, hs, 0); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("a size the chunks cannot hold: %v", err)
	}
	if _, err := s.Create("alice", 2000, hs, 365*24*time.Hour); !errors.Is(err, protocol.ErrTTLTooLong) {
		t.Errorf("a TTL past the maximum: %v", err)
	}
}

func TestAMetaRecordRoundTripsAndRefusesEveryTruncation(t *testing.T) {
	_, hs := chunks(3, 10)
	m := Meta{Owner: "alice", Size: 30, Expires: time.UnixMilli(1_800_000_000_000), Hashes: hs}
	b, err := MarshalMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseMeta(b)
	if err != nil || got.Owner != m.Owner || got.Size != m.Size || !got.Expires.Equal(m.Expires) || len(got.Hashes) != 3 || got.Hashes[2] != hs[2] {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for i := range b {
		if _, err := ParseMeta(b[:i]); !errors.Is(err, ErrBadMeta) {
			t.Fatalf("cut at %d: %v", i, err)
		}
	}
	newer := append([]byte(nil), b...)
	newer[4] = 9
	if _, err := ParseMeta(newer); !errors.Is(err, ErrMetaVersion) {
		t.Errorf("version 9: %v, want ErrMetaVersion", err)
	}
}

func FuzzParseMeta(f *testing.F) {
	_, hs := chunks(2, 10)
	b, _ := MarshalMeta(Meta{Owner: "bob", Size: 20, Expires: time.UnixMilli(1), Hashes: hs})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMeta(b)
		if err != nil {
			if !errors.Is(err, ErrBadMeta) && !errors.Is(err, ErrMetaVersion) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out, err := MarshalMeta(m)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("parsed meta does not marshal to its input: %v", err)
		}
	})
}
