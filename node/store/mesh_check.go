package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// checkMesh checks the store-and-forward buckets: every queue record
// matches its envelopes, and only queues that hold some have a bucket; the
// origin and neighbour records and the mesh totals are the sums of what is held and of
// the seen-set; the three expiry indexes hold exactly one entry per held
// envelope, seen id and status; and an id is in the seen-set as held
// exactly when its envelope is held, with the envelope's expiry.
func checkMesh(tx *bolt.Tx) error {
	raw := tx.Bucket(bucketMeta).Get(keyMeshTotals)
	if raw == nil {
		return errors.New("no mesh totals")
	}
	totals, err := decodeMeshTotals(raw)
	if err != nil {
		return fmt.Errorf("mesh totals: %w", err)
	}
	held := tx.Bucket(bucketMeshHeld)
	queues := tx.Bucket(bucketMeshQueues)
	var sum meshTally
	origins := map[string]meshTally{}
	neighbours := map[string]neighbourTally{}
	heldIDs := map[protocol.MeshID]bool{}
	wantExpiry := map[string]bool{}
	err = queues.ForEach(func(k, v []byte) error {
		domain := string(k)
		q, err := decodeQueueMeta(v)
		if err != nil {
			return fmt.Errorf("queue of %q: %w", domain, err)
		}
		envs := held.Bucket(k)
		if (envs != nil) != (q.count > 0) {
			return fmt.Errorf("queue of %q counts %d envelopes; has a bucket: %t", domain, q.count, envs != nil)
		}
		if envs == nil {
			return nil
		}
		var count, size, last uint64
		err = envs.ForEach(func(k, v []byte) error {
			e, err := decodeHeldEntry(domain, k, v)
			if err != nil {
				return err
			}
			if heldIDs[e.ID] {
				return fmt.Errorf("envelope %x is held twice", e.ID)
			}
			heldIDs[e.ID] = true
			state, expires, from, ok, err := lookupSeen(tx, e.ID)
			if err != nil {
				return err
			}
			if !ok || state != protocol.SeenHeld || !expires.Equal(e.Expires) || from != e.From {
				return fmt.Errorf("held envelope %x from %q has seen entry %v, %v, from %q, %t", e.ID, e.From, state, expires, from, ok)
			}
			n := uint64(len(e.Data))
			count++
			size += n
			last = e.Seq
			o := origins[originKey(e)]
			o.envelopes++
			o.bytes += n
			origins[originKey(e)] = o
			if e.From != "" {
				nb := neighbours[e.From]
				nb.envelopes++
				nb.bytes += n
				neighbours[e.From] = nb
			}
			wantExpiry[string(seqExpiryKey(e.Expires, e.Seq, domain))] = true
			return nil
		})
		if err != nil {
			return err
		}
		if count != q.count || size != q.bytes || last > q.lastSeq {
			return fmt.Errorf("queue of %q: record says %+v, holds %d envelopes, %d bytes, last %d", domain, q, count, size, last)
		}
		sum.envelopes += count
		sum.bytes += size
		return nil
	})
	if err != nil {
		return err
	}
	err = held.ForEachBucket(func(k []byte) error {
		if queues.Get(k) == nil {
			return fmt.Errorf("envelopes for %q, which has no queue record", k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if sum != totals.meshTally {
		return fmt.Errorf("mesh totals say %d envelopes of %d bytes, the queues hold %d of %d",
			totals.envelopes, totals.bytes, sum.envelopes, sum.bytes)
	}
	if err := checkTallies(tx, bucketMeshOrigins, "origin", origins); err != nil {
		return err
	}

	if err := checkIndex(tx, bucketMeshExpiry, "held envelope", wantExpiry); err != nil {
		return err
	}
	if err := checkSeenSet(tx, totals.seen, heldIDs, neighbours); err != nil {
		return err
	}
	if err := checkNeighbours(tx, neighbours); err != nil {
		return err
	}
	wantStatus := map[string]bool{}
	err = tx.Bucket(bucketMeshStatus).ForEach(func(k, v []byte) error {
		id, err := meshIDKey(k)
		if err != nil {
			return err
		}
		st, err := decodeStatus(id, v)
		if err != nil {
			return fmt.Errorf("status of %x: %w", id, err)
		}
		wantStatus[string(idExpiryKey(st.Expires, id))] = true
		return nil
	})
	if err != nil {
		return err
	}
	return checkIndex(tx, bucketStatusExpiry, "status", wantStatus)
}

// checkNeighbours checks that the neighbour records are want, no more, no
// less.
func checkNeighbours(tx *bolt.Tx, want map[string]neighbourTally) error {
	n := 0
	err := tx.Bucket(bucketMeshNeighbours).ForEach(func(k, v []byte) error {
		n++
		t, err := decodeNeighbourTally(v)
		if err != nil {
			return fmt.Errorf("neighbour %q: %w", k, err)
		}
		if t != want[string(k)] {
			return fmt.Errorf("neighbour %q: record says %+v, holds %+v", k, t, want[string(k)])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(want) {
		return fmt.Errorf("%d neighbour records for %d neighbours", n, len(want))
	}
	return nil
}

// checkTallies checks that the tally records of bucket (origin records,
// as kind says) are want, no more, no less.
func checkTallies(tx *bolt.Tx, bucket []byte, kind string, want map[string]meshTally) error {
	n := 0
	err := tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		n++
		t, err := decodeTally(kind, v)
		if err != nil {
			return fmt.Errorf("%s %q: %w", kind, k, err)
		}
		if t != want[string(k)] {
			return fmt.Errorf("%s %q: record says %+v, holds %+v", kind, k, t, want[string(k)])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(want) {
		return fmt.Errorf("%d %s records for %d %ss", n, kind, len(want), kind)
	}
	return nil
}

// checkSeenSet checks the seen-set against its count in the totals, its
// expiry index and the ids of the held envelopes, and adds the ids of each
// neighbour to neighbours.
func checkSeenSet(tx *bolt.Tx, count uint64, heldIDs map[protocol.MeshID]bool, neighbours map[string]neighbourTally) error {
	want := map[string]bool{}
	var n, nHeld uint64
	err := tx.Bucket(bucketMeshSeen).ForEach(func(k, v []byte) error {
		id, err := meshIDKey(k)
		if err != nil {
			return err
		}
		state, expires, from, err := decodeSeen(v)
		if err != nil {
			return fmt.Errorf("seen id %x: %w", id, err)
		}
		n++
		if from != "" {
			t := neighbours[from]
			t.seen++
			neighbours[from] = t
		}
		if state == protocol.SeenHeld {
			nHeld++
		}
		want[string(idExpiryKey(expires, id))] = true
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case n != count:
		return fmt.Errorf("mesh totals count %d seen ids, the seen-set holds %d", count, n)
	case nHeld != uint64(len(heldIDs)):
		// Every held envelope's id is seen as held (checkMesh), so a
		// difference is an id seen as held without an envelope.
		return fmt.Errorf("%d ids are seen as held, %d envelopes are", nHeld, len(heldIDs))
	}
	return checkIndex(tx, bucketSeenExpiry, "seen id", want)
}

// meshIDKey checks that k is an envelope id.
func meshIDKey(k []byte) (protocol.MeshID, error) {
	var id protocol.MeshID
	if len(k) != len(id) {
		return id, fmt.Errorf("%w: envelope id key of %d bytes", ErrCorrupt, len(k))
	}
	copy(id[:], k)
	return id, nil
}
