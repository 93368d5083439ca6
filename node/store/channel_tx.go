package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// chanTx is the channel store's bookkeeping inside one write transaction.
// Like meshTx it reads the records it changes once and writes them back in
// flush, so a batch of posts writes each record once.
type chanTx struct {
	tx     *bolt.Tx
	quota  protocol.ChannelQuota
	totals chanTotals
	chans  map[protocol.ChannelID]*chanEntry
	// neighbours counts the seen ids of the posts each neighbour relayed;
	// local posts (From "") are not counted.
	neighbours map[string]*uint64
}

// chanEntry is a channel's record as the transaction changes it.
type chanEntry struct {
	chanMeta
	// indexed is the newest under which the channel is in chanrecency, 0
	// if it is not; syncRecency brings it to newest.
	indexed uint64
}

// postRef names a kept post.
type postRef struct {
	channel protocol.ChannelID
	seq     uint64
}

func openChanTx(tx *bolt.Tx, quota protocol.ChannelQuota) (*chanTx, error) {
	raw := tx.Bucket(bucketMeta).Get(keyChanTotals)
	if raw == nil {
		return nil, fmt.Errorf("%w: no channel totals", ErrCorrupt)
	}
	totals, err := decodeChanTotals(raw)
	if err != nil {
		return nil, fmt.Errorf("channel totals: %w", err)
	}
	return &chanTx{tx: tx, quota: quota, totals: totals, chans: map[protocol.ChannelID]*chanEntry{}, neighbours: map[string]*uint64{}}, nil
}

// flush writes the bookkeeping back. A channel that no longer keeps a post
// loses its record and its recency entry.
func (m *chanTx) flush() error {
	if err := m.syncRecency(); err != nil {
		return err
	}
	metas := m.tx.Bucket(bucketChanMeta)
	for id, c := range m.chans {
		var err error
		if c.count == 0 {
			err = metas.Delete(id[:])
		} else {
			err = metas.Put(id[:], encodeChanMeta(c.chanMeta))
		}
		if err != nil {
			return err
		}
	}
	nb := m.tx.Bucket(bucketChanNeighbours)
	for n, seen := range m.neighbours {
		var err error
		if *seen == 0 {
			err = nb.Delete([]byte(n))
		} else {
			err = nb.Put([]byte(n), encodeChanNeighbour(*seen))
		}
		if err != nil {
			return err
		}
	}
	return m.tx.Bucket(bucketMeta).Put(keyChanTotals, encodeChanTotals(m.totals))
}

// neighbour returns the count of seen ids of the posts neighbour relayed,
// zero for a new one; for "" (local posts) a scratch count never written.
func (m *chanTx) neighbour(neighbour string) (*uint64, error) {
	if neighbour == "" {
		return new(uint64), nil
	}
	return cachedRecord(m.neighbours, m.tx.Bucket(bucketChanNeighbours), "channel neighbour", neighbour, decodeChanNeighbour)
}

// relayedSeen is how many ids relayed posts may hold in the seen-set: all
// but a tenth of it, which only this node's users' posts may take, so that
// they can still post while neighbours flood.
func relayedSeen(quota protocol.ChannelQuota) uint64 {
	return uint64(quota.MaxSeen - quota.MaxSeen/10)
}

// syncRecency brings chanrecency up to date with the channels the
// transaction changed. It is left stale while posts are added, since only
// MaxChannels eviction and flush read it.
func (m *chanTx) syncRecency() error {
	idx := m.tx.Bucket(bucketChanRecency)
	for id, c := range m.chans {
		want := c.newest
		if c.count == 0 {
			want = 0
		}
		if c.indexed == want {
			continue
		}
		if c.indexed != 0 {
			if err := idx.Delete(recencyKey(c.indexed, id)); err != nil {
				return err
			}
		}
		if want != 0 {
			if err := idx.Put(recencyKey(want, id), nil); err != nil {
				return err
			}
		}
		c.indexed = want
	}
	return nil
}

// channel returns the bookkeeping of channel id, zero for one without kept
// posts.
func (m *chanTx) channel(id protocol.ChannelID) (*chanEntry, error) {
	if c := m.chans[id]; c != nil {
		return c, nil
	}
	c := new(chanEntry)
	if raw := m.tx.Bucket(bucketChanMeta).Get(id[:]); raw != nil {
		var err error
		if c.chanMeta, err = decodeChanMeta(raw); err != nil {
			return nil, fmt.Errorf("channel %x: %w", id, err)
		}
		c.indexed = c.newest
	}
	m.chans[id] = c
	return c, nil
}

// seen reports whether id is in the seen-set.
func (m *chanTx) seen(id protocol.PostID) (bool, error) {
	_, _, ok, err := lookupChanSeen(m.tx, id)
	return ok, err
}

// lookupChanSeen returns the expiry of id in the channel seen-set and the
// neighbour whose post put it there; ok is false if it is not there.
func lookupChanSeen(tx *bolt.Tx, id protocol.PostID) (expires time.Time, from string, ok bool, err error) {
	raw := tx.Bucket(bucketChanSeen).Get(id[:])
	if raw == nil {
		return expires, "", false, nil
	}
	if expires, from, err = decodeChanSeen(raw); err != nil {
		return expires, "", false, fmt.Errorf("seen post id %x: %w", id, err)
	}
	return expires, from, true, nil
}

// add keeps p, whose record is rec, as its channel's next post and trims
// the store to its quota, unless p's id was seen, p is too large to keep
// (rec is nil) or the seen-set is full: then the refusal says why and
// nothing changed. evicted counts the posts the trimming removed.
func (m *chanTx) add(p protocol.StoredPost, rec []byte) (seq uint64, evicted int, refusal, err error) {
	switch seen, err := m.seen(p.ID); {
	case err != nil:
		return 0, 0, nil, err
	case seen:
		return 0, 0, fmt.Errorf("post %x: %w", p.ID, protocol.ErrPostSeen), nil
	case rec == nil:
		return 0, 0, fmt.Errorf("%w: a post of %d bytes, it keeps at most %d", protocol.ErrChannelFull, len(p.Data), maxPostData(m.quota)), nil
	case m.totals.seen >= uint64(m.quota.MaxSeen):
		return 0, 0, fmt.Errorf("%w: it remembers %d of %d post ids", protocol.ErrChannelFull, m.totals.seen, m.quota.MaxSeen), nil
	case p.From != "" && m.totals.seen >= relayedSeen(m.quota):
		return 0, 0, fmt.Errorf("%w: it remembers %d post ids, the most it takes from neighbours is %d", protocol.ErrChannelFull, m.totals.seen, relayedSeen(m.quota)), nil
	}
	if len(p.From) > MaxDomainLen {
		return 0, 0, fmt.Errorf("%w: neighbour domain of %d bytes", protocol.ErrBadPost, len(p.From)), nil
	}
	nseen, err := m.neighbour(p.From)
	if err != nil {
		return 0, 0, nil, err
	}
	if p.From != "" && *nseen >= uint64(m.quota.NeighbourSeen) {
		return 0, 0, fmt.Errorf("%w: it remembers %d post ids from neighbour %s, its share is %d", protocol.ErrNeighbourShare, *nseen, p.From, m.quota.NeighbourSeen), nil
	}
	if err := m.tx.Bucket(bucketChanSeen).Put(p.ID[:], encodeChanSeen(p.Expires, p.From)); err != nil {
		return 0, 0, nil, err
	}
	*nseen++
	if err := m.tx.Bucket(bucketChanSeenExpiry).Put(idExpiryKey(p.Expires, p.ID), nil); err != nil {
		return 0, 0, nil, err
	}
	m.totals.seen++

	c, err := m.channel(p.Channel)
	if err != nil {
		return 0, 0, nil, err
	}
	posts, err := m.tx.Bucket(bucketChanPosts).CreateBucketIfNotExists(p.Channel[:])
	if err != nil {
		return 0, 0, nil, err
	}
	if c.count == 0 {
		// A channel without kept posts has no record, so its last seq
		// may be gone; no seq of any channel is above the number of
		// posts ever added, so continuing from there never reuses one
		// that a client may hold as its cursor.
		c.lastSeq = m.totals.added
		m.totals.channels++
	}
	m.totals.added++
	seq = c.lastSeq + 1
	size := uint64(len(p.Data))
	if err := posts.Put(seqKey(seq), rec); err != nil {
		return 0, 0, nil, err
	}
	if err := m.tx.Bucket(bucketChanExpiry).Put(postExpiryKey(p.Expires, p.Channel, seq), nil); err != nil {
		return 0, 0, nil, err
	}
	c.lastSeq = seq
	c.count++
	c.bytes += size
	c.newest = m.totals.added
	m.totals.posts++
	m.totals.bytes += size

	evicted, err = m.trim(&postRef{p.Channel, seq})
	return seq, evicted, nil, err
}

// maxPostData is the most Data a post may have: one that alone passes
// MaxBytes could only be kept by evicting itself, and bbolt bounds a
// value.
func maxPostData(quota protocol.ChannelQuota) int64 {
	return min(quota.MaxBytes, int64(bolt.MaxValueSize-postHeader))
}

// trim evicts posts until the store is within its quota, in the order of
// flood.ChannelStore.AddPosts: each channel to Retain posts (lowest seq
// first), the store to MaxBytes (earliest expiry first) and to MaxChannels
// (all posts of the channel whose last post came longest ago). With just,
// the post that was just added, only just's channel is trimmed to Retain,
// MaxBytes never evicts just and MaxChannels never its channel; without
// (at Open), every channel is trimmed and anything may go.
func (m *chanTx) trim(just *postRef) (evicted int, err error) {
	var over []protocol.ChannelID
	if just != nil {
		over = append(over, just.channel)
	} else if over, err = m.channelsOver(); err != nil {
		return 0, err
	}
	for _, id := range over {
		c, err := m.channel(id)
		if err != nil {
			return evicted, err
		}
		for c.count > uint64(m.quota.Retain) {
			posts := m.tx.Bucket(bucketChanPosts).Bucket(id[:])
			if posts == nil {
				return evicted, fmt.Errorf("%w: channel %x counts %d posts and has none", ErrCorrupt, id, c.count)
			}
			k, _ := posts.Cursor().First()
			seq, err := parseSeqKey(k)
			if err != nil {
				return evicted, fmt.Errorf("channel %x: %w", id, err)
			}
			if err := m.evictPost(postRef{id, seq}); err != nil {
				return evicted, err
			}
			evicted++
		}
	}
	for m.totals.bytes > uint64(m.quota.MaxBytes) {
		ref, err := m.earliest(just)
		if err != nil {
			return evicted, err
		}
		if err := m.evictPost(ref); err != nil {
			return evicted, err
		}
		evicted++
	}
	for m.totals.channels > uint64(m.quota.MaxChannels) {
		var keep *protocol.ChannelID
		if just != nil {
			keep = &just.channel
		}
		n, err := m.evictStalest(keep)
		if err != nil {
			return evicted, err
		}
		evicted += n
	}
	return evicted, nil
}

// channelsOver returns the channels that keep more than Retain posts.
func (m *chanTx) channelsOver() ([]protocol.ChannelID, error) {
	var over []protocol.ChannelID
	err := m.tx.Bucket(bucketChanMeta).ForEach(func(k, v []byte) error {
		id, err := channelIDKey(k)
		if err != nil {
			return err
		}
		c, err := decodeChanMeta(v)
		if err != nil {
			return fmt.Errorf("channel %x: %w", id, err)
		}
		if c.count > uint64(m.quota.Retain) {
			over = append(over, id)
		}
		return nil
	})
	return over, err
}

// earliest returns the kept post that expires first, other than skip.
func (m *chanTx) earliest(skip *postRef) (postRef, error) {
	c := m.tx.Bucket(bucketChanExpiry).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		_, id, seq, err := parsePostExpiryKey(k)
		if err != nil {
			return postRef{}, err
		}
		if ref := (postRef{id, seq}); skip == nil || ref != *skip {
			return ref, nil
		}
	}
	return postRef{}, fmt.Errorf("%w: channel totals count %d bytes and no post holds them", ErrCorrupt, m.totals.bytes)
}

// evictPost removes the kept post ref, which must be there; its id stays
// in the seen-set.
func (m *chanTx) evictPost(ref postRef) error {
	c, err := m.channel(ref.channel)
	if err != nil {
		return err
	}
	postsBucket := m.tx.Bucket(bucketChanPosts)
	posts := postsBucket.Bucket(ref.channel[:])
	var raw []byte
	if posts != nil {
		raw = posts.Get(seqKey(ref.seq))
	}
	if raw == nil {
		return fmt.Errorf("%w: post %d of channel %x is indexed but missing", ErrCorrupt, ref.seq, ref.channel)
	}
	p, err := decodePost(ref.channel, ref.seq, raw)
	if err != nil {
		return fmt.Errorf("post %d of channel %x: %w", ref.seq, ref.channel, err)
	}
	size := uint64(len(p.Data))
	if c.count == 0 || c.bytes < size || m.totals.posts == 0 || m.totals.bytes < size || m.totals.channels == 0 {
		return fmt.Errorf("%w: the records of channel %x count less than it keeps", ErrCorrupt, ref.channel)
	}
	if err := posts.Delete(seqKey(ref.seq)); err != nil {
		return err
	}
	if err := m.tx.Bucket(bucketChanExpiry).Delete(postExpiryKey(p.Expires, ref.channel, ref.seq)); err != nil {
		return err
	}
	c.count--
	c.bytes -= size
	m.totals.posts--
	m.totals.bytes -= size
	if c.count == 0 {
		// Only channels that keep posts have a bucket, so that
		// ChannelIDs need not look inside.
		m.totals.channels--
		return postsBucket.DeleteBucket(ref.channel[:])
	}
	return nil
}

// evictStalest removes every kept post of the channel whose last post
// came longest ago, other than keep, and returns how many.
func (m *chanTx) evictStalest(keep *protocol.ChannelID) (int, error) {
	if err := m.syncRecency(); err != nil {
		return 0, err
	}
	cur := m.tx.Bucket(bucketChanRecency).Cursor()
	var victim *protocol.ChannelID
	for k, _ := cur.First(); k != nil && victim == nil; k, _ = cur.Next() {
		_, id, err := parseRecencyKey(k)
		if err != nil {
			return 0, err
		}
		if keep == nil || id != *keep {
			victim = &id
		}
	}
	if victim == nil {
		return 0, fmt.Errorf("%w: channel totals count %d channels and the recency index lists fewer", ErrCorrupt, m.totals.channels)
	}
	return m.evictChannel(*victim)
}

// evictChannel removes every kept post of channel id.
func (m *chanTx) evictChannel(id protocol.ChannelID) (int, error) {
	posts := m.tx.Bucket(bucketChanPosts).Bucket(id[:])
	if posts == nil {
		return 0, fmt.Errorf("%w: channel %x has a recency entry and no posts", ErrCorrupt, id)
	}
	var refs []postRef
	if err := posts.ForEach(func(k, _ []byte) error {
		seq, err := parseSeqKey(k)
		refs = append(refs, postRef{id, seq})
		return err
	}); err != nil {
		return 0, fmt.Errorf("channel %x: %w", id, err)
	}
	for _, ref := range refs {
		if err := m.evictPost(ref); err != nil {
			return 0, err
		}
	}
	return len(refs), nil
}

// expireSeen removes the seen id of the seen expiry entry k.
func (m *chanTx) expireSeen(k []byte) error {
	_, id, err := parseIDExpiryKey(k)
	if err != nil {
		return err
	}
	_, from, ok, err := lookupChanSeen(m.tx, id)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("%w: seen expiry entry for missing post id %x", ErrCorrupt, id)
	case m.totals.seen <= m.totals.posts:
		return fmt.Errorf("%w: channel totals count fewer seen ids than kept posts", ErrCorrupt)
	}
	nseen, err := m.neighbour(from)
	if err != nil {
		return err
	}
	if from != "" {
		if *nseen == 0 {
			return fmt.Errorf("%w: neighbour %q counts fewer seen post ids than there are", ErrCorrupt, from)
		}
		*nseen--
	}
	m.totals.seen--
	if err := m.tx.Bucket(bucketChanSeen).Delete(id[:]); err != nil {
		return err
	}
	return m.tx.Bucket(bucketChanSeenExpiry).Delete(k)
}
