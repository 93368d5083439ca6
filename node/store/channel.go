package store

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// AddPosts adds posts to their channels in one transaction, committed and
// synced before it returns, sets the Seq of each one kept and returns
// how many kept posts the bounds of Options.Channels evicted. Each post is
// checked on its own, in order, and a refusal fills its place in errs,
// which is as long as posts (nil for those kept):
//   - its id is in the seen-set, also from earlier in posts or from a
//     concurrent call in the same group commit: an error wrapping
//     protocol.ErrPostSeen;
//   - the seen-set holds Channels.MaxSeen ids, or the post alone has more
//     Data than Channels.MaxBytes: an error wrapping protocol.ErrChannelFull.
//
// A kept post's id is in the seen-set until its Expires, which may already
// have passed (ExpireChannels then removes it). After each post the store
// is trimmed as flood.ChannelStore describes; the post just added and its
// channel are never what MaxBytes and MaxChannels evict. A channel's seqs
// increase by one while it keeps posts; a channel that keeps none (new, or
// emptied by expiry or eviction) continues above every seq the store ever
// gave, so a client's cursor never skips a post.
//
// AddPosts goes through the group committer with Enqueue and Hold, and
// treats its context as Hold does: the error return is for failures of
// the store itself (I/O, closed, ctx done before the call's transaction
// began), and then nothing changed.
func (s *Store) AddPosts(ctx context.Context, posts []protocol.StoredPost) (errs []error, evicted int, err error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if len(posts) == 0 {
		return []error{}, 0, s.checkOpen("add posts")
	}
	req := &commitReq{
		op:    "add posts",
		ctx:   ctx,
		posts: posts,
		recs:  make([][]byte, len(posts)),
		done:  make(chan commitResult, 1),
	}
	limit := maxPostData(s.opts.Channels)
	for i, p := range posts {
		if int64(len(p.Data)) <= limit {
			req.recs[i] = encodePost(p) // copies Data, outside the commit
		}
	}
	if err := s.submit(req); err != nil {
		return nil, 0, err
	}
	res := <-req.done
	if res.err != nil {
		return nil, 0, res.err
	}
	for i, seq := range res.seqs {
		if seq != 0 {
			posts[i].Seq = seq
		}
	}
	return res.refusals, res.evicted, nil
}

// addPosts adds an AddPosts call's posts.
func (w *commitTx) addPosts(req *commitReq) (*commitResult, error) {
	if err := w.openChans(); err != nil {
		return nil, err
	}
	res := &commitResult{refusals: make([]error, len(req.posts)), seqs: make([]uint64, len(req.posts))}
	for i, p := range req.posts {
		seq, evicted, refusal, err := w.chans.add(p, req.recs[i])
		if err != nil {
			return nil, err
		}
		if refusal != nil {
			res.refusals[i] = fmt.Errorf("store: add post: %w", refusal)
		}
		res.seqs[i] = seq
		res.evicted += evicted
	}
	return res, nil
}

// Posts returns up to limit kept posts of channel with Seq above afterSeq,
// in order; none for a limit of 0 or less. Expired posts not yet removed
// by ExpireChannels are returned too.
func (s *Store) Posts(channel protocol.ChannelID, afterSeq uint64, limit int) ([]protocol.StoredPost, error) {
	var out []protocol.StoredPost
	err := s.view("posts", func(tx *bolt.Tx) error {
		out = nil
		posts := tx.Bucket(bucketChanPosts).Bucket(channel[:])
		if posts == nil || limit <= 0 || afterSeq == ^uint64(0) {
			return nil
		}
		c := posts.Cursor()
		for k, v := c.Seek(seqKey(afterSeq + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			p, err := decodePostEntry(channel, k, v)
			if err != nil {
				return err
			}
			p.Data = append([]byte{}, p.Data...)
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ChannelIDs returns the channels with kept posts, in bytewise order.
func (s *Store) ChannelIDs() ([]protocol.ChannelID, error) {
	var out []protocol.ChannelID
	err := s.view("channel ids", func(tx *bolt.Tx) error {
		out = nil
		return tx.Bucket(bucketChanPosts).ForEachBucket(func(k []byte) error {
			id, err := channelIDKey(k)
			out = append(out, id)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PostSeen reports whether id is in the channel seen-set.
func (s *Store) PostSeen(id protocol.PostID) (bool, error) {
	var ok bool
	err := s.view("post seen", func(tx *bolt.Tx) error {
		var err error
		_, _, ok, err = lookupChanSeen(tx, id)
		return err
	})
	return ok, err
}

// ChannelStats describes the channel store from its totals.
func (s *Store) ChannelStats() (protocol.ChannelStoreStats, error) {
	var st protocol.ChannelStoreStats
	err := s.view("channel stats", func(tx *bolt.Tx) error {
		totals, err := decodeChanTotals(tx.Bucket(bucketMeta).Get(keyChanTotals))
		if err != nil {
			return fmt.Errorf("channel totals: %w", err)
		}
		st = protocol.ChannelStoreStats{
			Channels: int(totals.channels),
			Posts:    int(totals.posts),
			Bytes:    int64(totals.bytes),
			Seen:     int(totals.seen),
		}
		return nil
	})
	if err != nil {
		return protocol.ChannelStoreStats{}, err
	}
	st.MaxBytes = s.opts.Channels.MaxBytes
	return st, nil
}

// ExpireChannels removes the kept posts and the seen ids whose Expires is
// not after now, and returns how many kept posts it removed. It walks the
// expiry indexes and commits every expireChunk removals; after a failure
// part way the posts of the chunks already committed are counted in the
// returned number.
func (s *Store) ExpireChannels(now time.Time) (int, error) {
	removed := 0
	for {
		n, more, err := s.expireChannelsChunk(now)
		removed += n
		if err != nil || !more {
			return removed, err
		}
	}
}

// expireChannelsChunk removes up to expireChunk entries in one
// transaction, kept posts before seen ids, and reports whether there may
// be more. Seen ids go only in a transaction that removed every expired
// post, so that no kept post loses its seen id.
func (s *Store) expireChannelsChunk(now time.Time) (removed int, more bool, err error) {
	err = s.update("expire channels", func(tx *bolt.Tx) error {
		removed, more = 0, false
		m, err := openChanTx(tx, s.opts.Channels)
		if err != nil {
			return err
		}
		var keys [][]byte
		if keys, more, err = dueKeys(tx.Bucket(bucketChanExpiry), now, s.expireChunk); err != nil {
			return err
		}
		for _, k := range keys {
			_, id, seq, err := parsePostExpiryKey(k)
			if err != nil {
				return err
			}
			if err := m.evictPost(postRef{id, seq}); err != nil {
				return err
			}
			removed++
		}
		if !more {
			if keys, more, err = dueKeys(tx.Bucket(bucketChanSeenExpiry), now, s.expireChunk-len(keys)); err != nil {
				return err
			}
			for _, k := range keys {
				if err := m.expireSeen(k); err != nil {
					return err
				}
			}
		}
		return m.flush()
	})
	if err != nil {
		return 0, false, err
	}
	return removed, more, nil
}

// trimChannels evicts kept posts until the store is within quota, which
// may be lower than when they were added; Open calls it.
func trimChannels(tx *bolt.Tx, quota protocol.ChannelQuota) error {
	m, err := openChanTx(tx, quota)
	if err != nil {
		return err
	}
	evicted, err := m.trim(nil)
	if err != nil || evicted == 0 {
		return err
	}
	return m.flush()
}
