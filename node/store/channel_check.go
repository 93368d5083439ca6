package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// checkChannels checks the channel buckets: every channel record matches
// its posts, and exactly the channels with kept posts have a record and a
// bucket; the channel totals are the sums of what is kept and of the
// seen-set, and no seq is above the posts ever added; the expiry and
// recency indexes hold exactly one entry per kept post, seen id and
// channel; and every kept post's id is in the seen-set with the post's
// expiry. With quota it also checks the bounds that AddPosts and Open keep:
// posts per channel, bytes, channels and seen ids.
func checkChannels(tx *bolt.Tx, quota *protocol.ChannelQuota) error {
	raw := tx.Bucket(bucketMeta).Get(keyChanTotals)
	if raw == nil {
		return errors.New("no channel totals")
	}
	totals, err := decodeChanTotals(raw)
	if err != nil {
		return fmt.Errorf("channel totals: %w", err)
	}
	postsBucket := tx.Bucket(bucketChanPosts)
	metas := tx.Bucket(bucketChanMeta)
	var sum chanTotals
	keptIDs := map[protocol.PostID]bool{}
	wantExpiry := map[string]bool{}
	wantRecency := map[string]bool{}
	err = metas.ForEach(func(k, v []byte) error {
		id, err := channelIDKey(k)
		if err != nil {
			return err
		}
		c, err := decodeChanMeta(v)
		if err != nil {
			return fmt.Errorf("channel %x: %w", id, err)
		}
		posts := postsBucket.Bucket(k)
		if posts == nil || c.count == 0 {
			return fmt.Errorf("channel %x has a record of %d posts; has a bucket: %t", id, c.count, posts != nil)
		}
		if c.newest > totals.added {
			return fmt.Errorf("channel %x: its last post is number %d of %d ever added", id, c.newest, totals.added)
		}
		var count, size, last uint64
		err = posts.ForEach(func(k, v []byte) error {
			p, err := decodePostEntry(id, k, v)
			if err != nil {
				return err
			}
			if keptIDs[p.ID] {
				return fmt.Errorf("post %x is kept twice", p.ID)
			}
			keptIDs[p.ID] = true
			expires, _, ok, err := lookupChanSeen(tx, p.ID)
			if err != nil {
				return err
			}
			if !ok || !expires.Equal(p.Expires) {
				return fmt.Errorf("kept post %x expires %v; seen %t, until %v", p.ID, p.Expires, ok, expires)
			}
			count++
			size += uint64(len(p.Data))
			last = p.Seq
			wantExpiry[string(postExpiryKey(p.Expires, id, p.Seq))] = true
			return nil
		})
		if err != nil {
			return err
		}
		if count != c.count || size != c.bytes || last > c.lastSeq {
			return fmt.Errorf("channel %x: record says %+v, keeps %d posts, %d bytes, last %d", id, c, count, size, last)
		}
		if quota != nil && count > uint64(quota.Retain) {
			return fmt.Errorf("channel %x keeps %d posts, more than Retain %d", id, count, quota.Retain)
		}
		wantRecency[string(recencyKey(c.newest, id))] = true
		sum.posts += count
		sum.bytes += size
		sum.channels++
		return nil
	})
	if err != nil {
		return err
	}
	err = postsBucket.ForEachBucket(func(k []byte) error {
		if metas.Get(k) == nil {
			return fmt.Errorf("posts of channel %x, which has no record", k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if sum.posts != totals.posts || sum.bytes != totals.bytes || sum.channels != totals.channels {
		return fmt.Errorf("channel totals say %d posts of %d bytes in %d channels, the channels keep %d of %d in %d",
			totals.posts, totals.bytes, totals.channels, sum.posts, sum.bytes, sum.channels)
	}
	if quota != nil {
		switch {
		case totals.bytes > uint64(quota.MaxBytes):
			return fmt.Errorf("channels keep %d bytes, more than MaxBytes %d", totals.bytes, quota.MaxBytes)
		case totals.channels > uint64(quota.MaxChannels):
			return fmt.Errorf("%d channels keep posts, more than MaxChannels %d", totals.channels, quota.MaxChannels)
		case totals.seen > uint64(quota.MaxSeen):
			return fmt.Errorf("the channel seen-set holds %d ids, more than MaxSeen %d", totals.seen, quota.MaxSeen)
		}
	}
	if err := checkIndex(tx, bucketChanExpiry, "kept post", wantExpiry); err != nil {
		return err
	}
	if err := checkIndex(tx, bucketChanRecency, "channel", wantRecency); err != nil {
		return err
	}
	return checkChanSeenSet(tx, totals.seen)
}

// checkChanSeenSet checks the channel seen-set against its count in the
// totals, its expiry index and the per-neighbour counts.
func checkChanSeenSet(tx *bolt.Tx, count uint64) error {
	want := map[string]bool{}
	neighbours := map[string]uint64{}
	var n uint64
	err := tx.Bucket(bucketChanSeen).ForEach(func(k, v []byte) error {
		id, err := postIDKey(k)
		if err != nil {
			return err
		}
		expires, from, err := decodeChanSeen(v)
		if err != nil {
			return fmt.Errorf("seen post id %x: %w", id, err)
		}
		n++
		if from != "" {
			neighbours[from]++
		}
		want[string(idExpiryKey(expires, id))] = true
		return nil
	})
	if err != nil {
		return err
	}
	if n != count {
		return fmt.Errorf("channel totals count %d seen ids, the seen-set holds %d", count, n)
	}
	records := 0
	err = tx.Bucket(bucketChanNeighbours).ForEach(func(k, v []byte) error {
		records++
		got, err := decodeChanNeighbour(v)
		if err != nil {
			return fmt.Errorf("channel neighbour %q: %w", k, err)
		}
		if got != neighbours[string(k)] {
			return fmt.Errorf("channel neighbour %q: record says %d seen ids, the seen-set holds %d", k, got, neighbours[string(k)])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if records != len(neighbours) {
		return fmt.Errorf("%d channel neighbour records for %d neighbours with seen ids", records, len(neighbours))
	}
	return checkIndex(tx, bucketChanSeenExpiry, "seen post id", want)
}
