package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/kt"
)

// checkKT checks the key transparency log against itself and the
// directory: the leaves are numbered 0..size-1 and parse; every stored
// tree node is the recomputation over them, and every node a full tree
// of that size has is there; the head's size and root are the log's and
// its signature verifies; each address's record points at its latest
// entry, whose keys hash is what the directory publishes (a delete entry
// for an address with no keys); every account with keys has one. A store
// that keeps no log (no head) must have no leaves.
func checkKT(tx *bolt.Tx) error {
	n := 0
	err := tx.Bucket(bucketKTEvidence).ForEach(func(k, v []byte) error {
		n++
		if len(k) != 16 {
			return fmt.Errorf("kt evidence key %x malformed", k)
		}
		if _, err := decodeKTEvidence(v); err != nil {
			return fmt.Errorf("kt evidence %x: %w", k, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n > MaxKTEvidence {
		return fmt.Errorf("%d pieces of kt evidence kept, at most %d", n, MaxKTEvidence)
	}
	leaves := tx.Bucket(bucketKTLeaves)
	headRaw := tx.Bucket(bucketKTMeta).Get(keyKTHead)
	if headRaw == nil {
		if k, _ := leaves.Cursor().First(); k != nil {
			return fmt.Errorf("the kt log has leaves and no head")
		}
		return nil
	}
	mem := kt.NewMemory()
	latest := map[string]uint64{}
	err = leaves.ForEach(func(k, v []byte) error {
		if len(k) != 8 || binary.BigEndian.Uint64(k) != mem.Size() {
			return fmt.Errorf("kt leaf key %x out of order at size %d", k, mem.Size())
		}
		e, err := kt.ParseEntry(v)
		if err != nil {
			return fmt.Errorf("kt leaf %d: %w", mem.Size(), err)
		}
		user, _, _ := bytes.Cut([]byte(e.Address), []byte("@"))
		latest[string(user)] = mem.Size()
		_, err = mem.Append(kt.LeafHash(v))
		return err
	})
	if err != nil {
		return err
	}
	size := mem.Size()
	stored := 0
	err = tx.Bucket(bucketKTNodes).ForEach(func(k, v []byte) error {
		if len(k) != 9 {
			return fmt.Errorf("kt tree node key %x malformed", k)
		}
		level, index := k[0], binary.BigEndian.Uint64(k[1:])
		want, err := mem.Node(level, index)
		if err != nil {
			return fmt.Errorf("kt tree node (%d, %d) is beyond the log of %d leaves", level, index, size)
		}
		if !bytes.Equal(v, want[:]) {
			return fmt.Errorf("kt tree node (%d, %d) is not the hash of its leaves", level, index)
		}
		stored++
		return nil
	})
	if err != nil {
		return err
	}
	// A log of size n has, per level l, n>>l perfect subtrees.
	want := 0
	for l := 0; l < 64 && size>>l > 0; l++ {
		want += int(size >> l)
	}
	if stored != want {
		return fmt.Errorf("kt log of %d leaves has %d tree nodes, want %d", size, stored, want)
	}
	sh, err := kt.ParseSignedHead(headRaw)
	if err != nil {
		return fmt.Errorf("kt head: %w", err)
	}
	if err := sh.Verify(); err != nil {
		return fmt.Errorf("kt head: %w", err)
	}
	if sh.Size != size || sh.Root != mem.Root() {
		return fmt.Errorf("kt head says size %d root %s, the leaves make size %d root %s", sh.Size, sh.Root, size, mem.Root())
	}
	addrs := tx.Bucket(bucketKTAddrs)
	err = addrs.ForEach(func(k, v []byte) error {
		a, err := decodeKTAddr(v)
		if err != nil {
			return fmt.Errorf("kt address %q: %w", k, err)
		}
		if idx, ok := latest[string(k)]; !ok || idx != a.index {
			return fmt.Errorf("kt address %q points at entry %d, its latest is %d", k, a.index, idx)
		}
		e, err := ktEntryAt(tx, a.index)
		if err != nil {
			return err
		}
		if e.Seq != a.seq {
			return fmt.Errorf("kt address %q has seq %d, its entry %d", k, a.seq, e.Seq)
		}
		raw := tx.Bucket(bucketKeys).Get(k)
		if raw == nil || tx.Bucket(bucketAccounts).Get(k) == nil {
			if e.Kind != kt.KindDelete {
				return fmt.Errorf("kt entry %d says %q has keys; the directory has none", a.index, k)
			}
			return nil
		}
		keys, err := decodeKeys(raw)
		if err != nil {
			return fmt.Errorf("keys of %q: %w", k, err)
		}
		if e.Kind == kt.KindDelete || e.Keys != ktKeysHash(keys) || !bytes.Equal(e.AccountKey, keys.AccountKey) {
			return fmt.Errorf("kt entry %d of %q does not match the keys the directory publishes", a.index, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for u := range latest {
		if addrs.Get([]byte(u)) == nil {
			return fmt.Errorf("kt log has entries of %q and no address record", u)
		}
	}
	return tx.Bucket(bucketKeys).ForEach(func(k, _ []byte) error {
		if tx.Bucket(bucketAccounts).Get(k) != nil && addrs.Get(k) == nil {
			return fmt.Errorf("%q publishes keys that the kt log has no entry for", k)
		}
		return nil
	})
}
