package store

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// ktTestKey signs the test logs' heads (kind 1, a node key).
var ktTestKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

const ktTestDomain = "n1.mesh"

func ktOptions() Options {
	o := testOptions()
	o.KT = KTLog{Domain: ktTestDomain, Key: ktTestKey}
	return o
}

// keysN are keys that differ by n, so that each makes a new entry.
func keysN(n int) protocol.PublishedKeys {
	k := sampleKeys
	k.IdentityKey = binary.BigEndian.AppendUint64(bytes.Repeat([]byte{1}, 24), uint64(n))
	return k
}

func ktSizeOf(t testing.TB, s *Store) uint64 {
	t.Helper()
	raw, err := s.KTHead()
	if err != nil {
		t.Fatal(err)
	}
	if raw == nil {
		return 0
	}
	sh, err := kt.ParseSignedHead(raw)
	if err != nil {
		t.Fatal(err)
	}
	return sh.Size
}

// verifyProof checks p as a client would: the head's signature, the
// entry's address and keys, the inclusion proof, and the consistency from
// known (a head the client kept, nil for none).
func verifyProof(t testing.TB, p protocol.KeyProof, user string, k protocol.PublishedKeys, known *kt.SignedHead) kt.SignedHead {
	t.Helper()
	sh, err := kt.ParseSignedHead(p.Head)
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Verify(); err != nil {
		t.Fatalf("head: %v", err)
	}
	if !bytes.Equal(sh.Key, ktTestKey.Public().(ed25519.PublicKey)) {
		t.Errorf("head signed by %x", sh.Key)
	}
	e, err := kt.ParseEntry(p.Entry)
	if err != nil {
		t.Fatal(err)
	}
	if e.Address != user+"@"+ktTestDomain || e.Keys != ktKeysHash(k) || !bytes.Equal(e.AccountKey, k.AccountKey) {
		t.Errorf("entry %+v is not %s's keys", e, user)
	}
	if err := kt.VerifyInclusion(kt.LeafHash(p.Entry), p.Index, sh.Size, toHashes(p.Inclusion), sh.Root); err != nil {
		t.Errorf("inclusion of %d in %d: %v", p.Index, sh.Size, err)
	}
	if known != nil && known.Size != 0 && known.Size != sh.Size {
		if err := kt.VerifyConsistency(known.Size, sh.Size, known.Root, sh.Root, toHashes(p.Consistency)); err != nil {
			t.Errorf("consistency %d to %d: %v", known.Size, sh.Size, err)
		}
	}
	return sh
}

func toHashes(b [][]byte) []kt.Hash {
	out := make([]kt.Hash, len(b))
	for i := range b {
		copy(out[i][:], b[i])
	}
	return out
}

func TestKeysPublishedAreProvenInTheLogAndStayConsistent(t *testing.T) {
	s := openTest(t, ktOptions())
	mustCreate(t, s, "alice", "bob")
	if err := s.PutKeys("alice", keysN(1), node.Devices{}); err != nil {
		t.Fatal(err)
	}
	p, err := s.KTProof("alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	first := verifyProof(t, p, "alice", keysN(1), nil)
	for i := 2; i < 12; i++ {
		if err := s.PutKeys("bob", keysN(i), node.Devices{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutKeys("alice", sampleDeviceKeys, node.Devices{}); err != nil {
		t.Fatal(err)
	}
	p, err = s.KTProof("alice", first.Size)
	if err != nil {
		t.Fatal(err)
	}
	last := verifyProof(t, p, "alice", sampleDeviceKeys, &first)
	if last.Size != 12 || p.Index != 11 {
		t.Errorf("alice's second entry is %d of %d, want 11 of 12", p.Index, last.Size)
	}
	e, _ := kt.ParseEntry(p.Entry)
	if e.Kind != kt.KindUpdate || e.Seq != 2 {
		t.Errorf("alice's second entry is %v seq %d, want update seq 2", e.Kind, e.Seq)
	}
	// A proof of an old size and one from the future.
	proof, head, err := s.KTConsistency(3, 7)
	if err != nil {
		t.Fatal(err)
	}
	sh7, err := kt.ParseSignedHead(head)
	if err != nil || sh7.Size != 7 || sh7.Verify() != nil {
		t.Fatalf("head of size 7: %+v, %v", sh7, err)
	}
	_, head3, err := s.KTConsistency(0, 3)
	if err != nil {
		t.Fatal(err)
	}
	sh3, _ := kt.ParseSignedHead(head3)
	if err := kt.VerifyConsistency(3, 7, sh3.Root, sh7.Root, toHashes(proof)); err != nil {
		t.Errorf("consistency 3 to 7: %v", err)
	}
	if _, err := s.KTProof("alice", 13); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("knownSize beyond the log: %v, want ErrBadRequest", err)
	}
	if _, _, err := s.KTConsistency(1, 13); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("second beyond the log: %v, want ErrBadRequest", err)
	}
	if _, err := s.KTProof("carol", 0); !errors.Is(err, protocol.ErrNoSuchKeys) {
		t.Errorf("no entry: %v, want ErrNoSuchKeys", err)
	}
}

func TestRepublishingTheSameKeysAppendsNothing(t *testing.T) {
	s := openTest(t, ktOptions())
	mustCreate(t, s, "alice")
	for range 3 {
		if err := s.PutKeys("alice", sampleKeys, node.Devices{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := ktSizeOf(t, s); n != 1 {
		t.Errorf("log of %d entries after one key and two republishes, want 1", n)
	}
}

func TestAFailedDirectoryWriteAppendsNothing(t *testing.T) {
	s := openTest(t, ktOptions())
	mustCreate(t, s, "alice")
	if err := s.PutKeys("alice", keysN(1), node.Devices{}); err != nil {
		t.Fatal(err)
	}
	// The device list's primary is not current: putDevices refuses it
	// after nothing, the log's append comes after: both roll back.
	bad := node.Devices{Primary: "0001020304050607", Current: []string{"a0a1a2a3a4a5a6a7"}}
	if err := s.PutKeys("alice", keysN(2), bad); err == nil {
		t.Fatal("a bad device list was taken")
	}
	if err := s.PutKeys("nobody", keysN(3), node.Devices{}); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Fatalf("keys of nobody: %v", err)
	}
	if n := ktSizeOf(t, s); n != 1 {
		t.Errorf("log of %d entries after failed writes, want 1", n)
	}
	// The appended-then-refused case: the log writes first and the
	// transaction fails after it.
	err := s.update("test", func(tx *bolt.Tx) error {
		k := keysN(4)
		if err := s.ktRecord(tx, "alice", &k, true); err != nil {
			return err
		}
		return errors.New("the directory write failed")
	})
	if err == nil {
		t.Fatal("the failing transaction committed")
	}
	if n := ktSizeOf(t, s); n != 1 {
		t.Errorf("log of %d entries after a rolled-back append, want 1", n)
	}
	if k, _ := s.Keys("alice"); !bytes.Equal(k.IdentityKey, keysN(1).IdentityKey) {
		t.Error("alice's keys changed")
	}
}

func TestAnAddressGetsAtMost32EntriesADay(t *testing.T) {
	now := t0
	o := ktOptions()
	o.Now = func() time.Time { return now }
	s := openTest(t, o)
	mustCreate(t, s, "alice", "bob")
	for i := range MaxKTEntriesPerDay {
		if err := s.PutKeys("alice", keysN(i), node.Devices{}); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	err := s.PutKeys("alice", keysN(100), node.Devices{})
	if !errors.Is(err, protocol.ErrRateLimited) {
		t.Fatalf("change 33 of the day: %v, want ErrRateLimited", err)
	}
	if k, _ := s.Keys("alice"); !bytes.Equal(k.IdentityKey, keysN(MaxKTEntriesPerDay-1).IdentityKey) {
		t.Error("the refused change changed alice's keys")
	}
	if err := s.PutKeys("bob", keysN(0), node.Devices{}); err != nil {
		t.Errorf("bob's first keys: %v", err)
	}
	now = t0.Add(24 * time.Hour)
	if err := s.PutKeys("alice", keysN(100), node.Devices{}); err != nil {
		t.Errorf("a change the next day: %v", err)
	}
	if n := ktSizeOf(t, s); n != MaxKTEntriesPerDay+2 {
		t.Errorf("log of %d entries, want %d", n, MaxKTEntriesPerDay+2)
	}
}

func TestDeletionAndANewAccountOfTheNameAreLogged(t *testing.T) {
	s := openTest(t, ktOptions())
	mustCreate(t, s, "alice")
	if err := s.PutKeys("alice", sampleDeviceKeys, node.Devices{}); err != nil {
		t.Fatal(err)
	}
	reset := sampleDeviceKeys
	reset.AccountKey = bytes.Repeat([]byte{10}, 32)
	if err := s.PutKeys("alice", reset, node.Devices{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount("alice", time.Time{}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "alice")
	if err := s.PutKeys("alice", sampleKeys, node.Devices{}); err != nil {
		t.Fatal(err)
	}
	entries, err := s.KTEntries(0, 10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []kt.EntryKind
	for i, raw := range entries {
		e, err := kt.ParseEntry(raw)
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != uint64(i+1) {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
		kinds = append(kinds, e.Kind)
	}
	want := []kt.EntryKind{kt.KindRegister, kt.KindReset, kt.KindDelete, kt.KindRegister}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
}

func TestKTEntriesIsBoundedByCountAndBytes(t *testing.T) {
	s := openTest(t, ktOptions())
	for i := range 10 {
		u := fmt.Sprintf("u%d", i)
		mustCreate(t, s, u)
		if err := s.PutKeys(u, keysN(i), node.Devices{}); err != nil {
			t.Fatal(err)
		}
	}
	one, err := s.KTEntries(0, 1, 1<<20)
	if err != nil || len(one) != 1 {
		t.Fatal(one, err)
	}
	for _, c := range []struct {
		start        uint64
		count, bytes int
		want         int
	}{
		{0, 4, 1 << 20, 4},
		{8, 100, 1 << 20, 2},
		{10, 5, 1 << 20, 0},
		{0, 100, 1, 1}, // one entry even over the byte bound
		{0, 100, 2*len(one[0]) + 1, 2},
	} {
		got, err := s.KTEntries(c.start, c.count, c.bytes)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want {
			t.Errorf("KTEntries(%d, %d, %d) gave %d entries, want %d", c.start, c.count, c.bytes, len(got), c.want)
		}
	}
}

func TestAStoreWithoutALogGetsOneOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "carol", "alice", "bob")
	for i, u := range []string{"carol", "alice"} { // bob publishes nothing
		if err := s.PutKeys(u, keysN(i), node.Devices{}); err != nil {
			t.Fatal(err)
		}
	}
	if h, _ := s.KTHead(); h != nil {
		t.Fatal("a store without KT options has a head")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, ktOptions())
	s.Close()
	s, err = Open(path, ktOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkFile(t, path)
	}()
	if err := s.CheckIntegrity(); err != nil {
		t.Fatal(err)
	}
	if n := ktSizeOf(t, s); n != 2 {
		t.Errorf("migrated log has %d entries, want 2", n)
	}
	p, err := s.KTProof("carol", 0)
	if err != nil {
		t.Fatal(err)
	}
	verifyProof(t, p, "carol", keysN(0), nil)
	if p.Index != 1 { // alice comes first by name
		t.Errorf("carol's entry is %d, want 1", p.Index)
	}
}

func TestCheckFindsALogThatDisagreesWithTheDirectory(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func(tx *bolt.Tx) error
	}{
		{"keys changed behind the log", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketKeys).Put([]byte("alice"), encodeKeys(keysN(9)))
		}},
		{"a leaf rewritten", func(tx *bolt.Tx) error {
			e := kt.Entry{Kind: kt.KindRegister, Seq: 1, TimeMillis: 1, Address: "alice@" + ktTestDomain, Keys: ktKeysHash(keysN(1))}
			return tx.Bucket(bucketKTLeaves).Put(binary.BigEndian.AppendUint64(nil, 0), e.Marshal())
		}},
		{"a tree node rewritten", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketKTNodes).Put(ktNodeKey(1, 0), make([]byte, 32))
		}},
		{"the head removed, the leaves kept", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketKTMeta).Delete(keyKTHead)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			s, err := Open(path, ktOptions())
			if err != nil {
				t.Fatal(err)
			}
			mustCreate(t, s, "alice", "bob")
			for i, u := range []string{"alice", "bob"} {
				if err := s.PutKeys(u, keysN(i+1), node.Devices{}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.CheckIntegrity(); err != nil {
				t.Fatalf("before: %v", err)
			}
			if err := s.db.Update(c.tamper); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := Check(path); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Check: %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestKTProofBytes measures what the transparency proof adds to a
// resolveUser answer at 1,000 and 100,000 entries (the report),
// with the entries appended through the log's own append in one
// transaction (100,000 registrations would take 100,000 syncs).
func TestKTProofBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a log of 100,000 entries")
	}
	s := openTest(t, ktOptions())
	mustCreate(t, s, "alice")
	if err := s.PutKeys("alice", sampleDeviceKeys, node.Devices{}); err != nil {
		t.Fatal(err)
	}
	size := uint64(1)
	for _, target := range []uint64{1000, 100_000} {
		err := s.update("fill", func(tx *bolt.Tx) error {
			for ; size < target; size++ {
				// Deletions of accounts that never were: entries
				// of the same size as a registration's, which
				// Check accepts without directory keys.
				u := fmt.Sprintf("filler%d", size)
				e := kt.Entry{Kind: kt.KindDelete, Seq: 1, TimeMillis: t0.UnixMilli(), Address: u + "@" + ktTestDomain}
				if _, err := ktAppend(tx, e); err != nil {
					return err
				}
				if err := tx.Bucket(bucketKTAddrs).Put([]byte(u), encodeKTAddr(ktAddr{index: size, seq: 1})); err != nil {
					return err
				}
			}
			return s.ktSign(tx, size, t0)
		})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.KTProof("alice", target/2)
		if err != nil {
			t.Fatal(err)
		}
		verifyProof(t, p, "alice", sampleDeviceKeys, nil)
		first, err := s.KTProof("alice", 0)
		if err != nil {
			t.Fatal(err)
		}
		without, with := answerBytes(t, sampleDeviceKeys, nil), answerBytes(t, sampleDeviceKeys, &p)
		firstWith := answerBytes(t, sampleDeviceKeys, &first)
		t.Logf("log of %d entries: resolveUser answer %d bytes without the proof; +%d with inclusion (%d hashes) and head; +%d with consistency from %d too (%d hashes)",
			target, without, firstWith-without, len(first.Inclusion), with-without, target/2, len(p.Consistency))
		if len(p.Inclusion) > 17 || with <= without {
			t.Errorf("proof of %d hashes, answer %d bytes with, %d without", len(p.Inclusion), with, without)
		}
	}
}

// answerBytes is the size of a resolveUser answer carrying k and p.
func answerBytes(t testing.TB, k protocol.PublishedKeys, p *protocol.KeyProof) int {
	t.Helper()
	msg, seg := capnp.NewSingleSegmentMessage(nil)
	r, err := schemas.NewRootNodeService_resolveUser_Results(seg)
	if err != nil {
		t.Fatal(err)
	}
	k.Transparency = p
	if err := protocol.SetKeys(func() (schemas.NodeService_resolveUser_Results, error) { return r, nil }, k); err != nil {
		t.Fatal(err)
	}
	b, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// BenchmarkRegistrationWithKT measures a first publish (the registration
// that appends to the log and signs a head) against the same without a
// log, for the append cost per registration.
func BenchmarkRegistrationWithKT(b *testing.B) {
	for _, c := range []struct {
		name string
		opts Options
	}{{"no log", testOptions()}, {"log", ktOptions()}} {
		b.Run(c.name, func(b *testing.B) {
			o := c.opts
			o.MaxAccounts = 1 << 30
			s := openTest(b, o)
			for i := 0; b.Loop(); i++ {
				u := fmt.Sprintf("u%d", i)
				if err := s.CreateAccount(node.Account{User: u, Created: t0}); err != nil {
					b.Fatal(err)
				}
				if err := s.PutKeys(u, keysN(i), node.Devices{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestEvidenceIsKeptOnceNewestFirstAndBounded(t *testing.T) {
	s := openTest(t, ktOptions())
	ev := func(i int) protocol.KTEvidence {
		return protocol.KTEvidence{First: []byte(fmt.Sprintf("a%d", i)), Second: []byte(fmt.Sprintf("b%d", i)),
			Reason: "fork", Domain: "n2.mesh", Found: t0.Add(time.Duration(i) * time.Second), ReportedBy: ktTestDomain}
	}
	for i := range MaxKTEvidence + 5 {
		added, err := s.AddKTEvidence(ev(i))
		if err != nil || !added {
			t.Fatalf("evidence %d: %v, %v", i, added, err)
		}
	}
	swapped := ev(MaxKTEvidence)
	swapped.First, swapped.Second = swapped.Second, swapped.First
	if added, err := s.AddKTEvidence(swapped); err != nil || added {
		t.Errorf("the same two heads again: added %v, %v", added, err)
	}
	got, err := s.KTEvidence(1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxKTEvidence {
		t.Fatalf("%d pieces kept, want %d", len(got), MaxKTEvidence)
	}
	if want := ev(MaxKTEvidence + 4); string(got[0].First) != string(want.First) || !got[0].Found.Equal(want.Found) || got[0].ReportedBy != ktTestDomain {
		t.Errorf("newest is %+v, want %+v", got[0], want)
	}
	if last := got[len(got)-1]; string(last.First) != "a5" {
		t.Errorf("oldest kept is %s, want a5", last.First)
	}
}

func FuzzDecodeKTAddr(f *testing.F) {
	f.Add(encodeKTAddr(ktAddr{index: 7, seq: 3, day: 20000, count: 2}))
	f.Add(encodeKTAddr(ktAddr{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeKTAddr(b)
		if err != nil {
			return
		}
		if again, err := decodeKTAddr(encodeKTAddr(a)); err != nil || again != a {
			t.Fatalf("%x decoded to %+v, which round-trips to %+v, %v", b, a, again, err)
		}
	})
}

func FuzzDecodeKTEvidence(f *testing.F) {
	f.Add(encodeKTEvidence(sampleKTEvidence))
	f.Add(encodeKTEvidence(protocol.KTEvidence{Found: time.UnixMilli(0)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeKTEvidence(b)
		if err != nil {
			return
		}
		again, err := decodeKTEvidence(encodeKTEvidence(e))
		if err != nil || !bytes.Equal(again.First, e.First) || !bytes.Equal(again.Second, e.Second) || again.Reason != e.Reason ||
			again.Domain != e.Domain || again.ReportedBy != e.ReportedBy || !again.Found.Equal(e.Found) {
			t.Fatalf("%x decoded to %+v, which round-trips to %+v, %v", b, e, again, err)
		}
	})
}

// BenchmarkKTAppendInTransaction measures what the log adds to a
// registration's writes, the sync aside (one per registration, which it
// pays with or without the log): the account's records and keys, with
// the log also the entry, the tree nodes it completes, the root and the
// signature of the new head, on a log of 10,000 entries.
func BenchmarkKTAppendInTransaction(b *testing.B) {
	for _, c := range []struct {
		name string
		opts Options
	}{{"no log", testOptions()}, {"log", ktOptions()}} {
		b.Run(c.name, func(b *testing.B) {
			o := c.opts
			o.MaxAccounts = 1 << 30
			s := openTest(b, o)
			k := keysN(1)
			register := func(tx *bolt.Tx, from, to int) error {
				for i := from; i < to; i++ {
					u := []byte(fmt.Sprintf("u%d", i))
					if err := tx.Bucket(bucketAccounts).Put(u, encodeAccount(node.Account{User: string(u), Created: t0})); err != nil {
						return err
					}
					if _, err := tx.Bucket(bucketMailboxes).CreateBucket(u); err != nil {
						return err
					}
					if err := tx.Bucket(bucketMailboxMeta).Put(u, encodeQueueMeta(queueMeta{})); err != nil {
						return err
					}
					if err := s.ktRecord(tx, string(u), &k, true); err != nil {
						return err
					}
					if err := tx.Bucket(bucketKeys).Put(u, encodeKeys(k)); err != nil {
						return err
					}
				}
				return nil
			}
			if err := s.update("fill", func(tx *bolt.Tx) error { return register(tx, 0, 10_000) }); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			if err := s.update("bench", func(tx *bolt.Tx) error { return register(tx, 10_000, 10_000+b.N) }); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func TestAStoreOpenedWithAnotherSignerSignsItsHeadAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, ktOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "alice")
	if err := s.PutKeys("alice", keysN(1), node.Devices{}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.KTHead()
	s.Close()
	o := ktOptions()
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	o.KT.Key = other
	s, err = Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		s.Close()
		checkFile(t, path)
	}()
	after, _ := s.KTHead()
	a, _ := kt.ParseSignedHead(before)
	b, err := kt.ParseSignedHead(after)
	if err != nil || !b.Key.Equal(other.Public()) || b.Size != a.Size || b.Root != a.Root {
		t.Errorf("head after the new signer: %+v, %v; before %+v", b, err, a)
	}
}
