package memstore

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// chanState is the channel store.
type chanState struct {
	chans map[protocol.ChannelID]*channel
	seen  map[protocol.PostID]postSeen
	// neighbourSeen counts the seen ids each neighbour brought.
	neighbourSeen map[string]int
	// added counts every post ever kept: a new channel's seqs start
	// after it, and a channel's newest post is ranked by it, as in
	// node/store.
	added        uint64
	posts, bytes int64
}

// channel is a channel's kept posts, lowest Seq first.
type channel struct {
	posts   []protocol.StoredPost
	lastSeq uint64
	bytes   int64
	newest  uint64 // the added count of its newest post
}

type postSeen struct {
	expires time.Time
	from    string
}

// postRef names a kept post.
type postRef struct {
	channel protocol.ChannelID
	seq     uint64
}

func newChanState() chanState {
	return chanState{chans: map[protocol.ChannelID]*channel{}, seen: map[protocol.PostID]postSeen{}, neighbourSeen: map[string]int{}}
}

// AddPosts keeps posts and trims the store, as flood.ChannelStore says,
// and sets their Seqs.
func (s *Store) AddPosts(ctx context.Context, posts []protocol.StoredPost) (errs []error, evicted int, err error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if err := s.lock("add posts"); err != nil {
		return nil, 0, err
	}
	defer s.mu.Unlock()
	errs = make([]error, len(posts))
	for i, p := range posts {
		seq, n, refusal := s.channels.add(s.opts.Channels, p)
		if refusal != nil {
			errs[i] = fmt.Errorf("memstore: add post: %w", refusal)
			continue
		}
		posts[i].Seq = seq
		evicted += n
	}
	return errs, evicted, nil
}

// add keeps p, or refuses it, and trims; it returns p's seq and how many
// posts the trimming evicted.
func (c *chanState) add(q protocol.ChannelQuota, p protocol.StoredPost) (seq uint64, evicted int, refusal error) {
	n := len(c.seen)
	switch _, seen := c.seen[p.ID]; {
	case seen:
		return 0, 0, fmt.Errorf("post %x: %w", p.ID, protocol.ErrPostSeen)
	case int64(len(p.Data)) > q.MaxBytes:
		return 0, 0, fmt.Errorf("%w: a post of %d bytes, it keeps at most %d", protocol.ErrChannelFull, len(p.Data), q.MaxBytes)
	case n >= q.MaxSeen:
		return 0, 0, fmt.Errorf("%w: it remembers %d of %d post ids", protocol.ErrChannelFull, n, q.MaxSeen)
	case p.From != "" && n >= q.MaxSeen-q.MaxSeen/10:
		return 0, 0, fmt.Errorf("%w: it remembers %d post ids, the most it takes from neighbours is %d",
			protocol.ErrChannelFull, n, q.MaxSeen-q.MaxSeen/10)
	case len(p.From) > MaxDomainLen:
		return 0, 0, fmt.Errorf("%w: neighbour domain of %d bytes", protocol.ErrBadPost, len(p.From))
	case p.From != "" && c.neighbourSeen[p.From] >= q.NeighbourSeen:
		return 0, 0, fmt.Errorf("%w: it remembers %d post ids from neighbour %s, its share is %d",
			protocol.ErrNeighbourShare, c.neighbourSeen[p.From], p.From, q.NeighbourSeen)
	}
	c.seen[p.ID] = postSeen{p.Expires, p.From}
	if p.From != "" {
		c.neighbourSeen[p.From]++
	}
	ch := c.chans[p.Channel]
	if ch == nil {
		ch = &channel{lastSeq: c.added}
		c.chans[p.Channel] = ch
	}
	c.added++
	ch.lastSeq++
	p.Seq, p.Data = ch.lastSeq, clone(p.Data)
	ch.posts = append(ch.posts, p)
	ch.bytes += int64(len(p.Data))
	ch.newest = c.added
	c.posts++
	c.bytes += int64(len(p.Data))
	return p.Seq, c.trim(q, postRef{p.Channel, p.Seq}), nil
}

// trim evicts, for the post just kept: the oldest posts of its channel
// beyond Retain, then the posts that expire first (never it) beyond
// MaxBytes, then the channels whose newest post is oldest (never its)
// beyond MaxChannels.
func (c *chanState) trim(q protocol.ChannelQuota, just postRef) (evicted int) {
	for ch := c.chans[just.channel]; len(ch.posts) > q.Retain; evicted++ {
		c.evict(postRef{just.channel, ch.posts[0].Seq})
	}
	for c.bytes > q.MaxBytes {
		var victim *protocol.StoredPost
		for _, ch := range c.chans {
			for i := range ch.posts {
				p := &ch.posts[i]
				if (postRef{p.Channel, p.Seq}) == just {
					continue
				}
				if victim == nil || cmp.Or(p.Expires.Compare(victim.Expires),
					bytes.Compare(p.Channel[:], victim.Channel[:]), cmp.Compare(p.Seq, victim.Seq)) < 0 {
					victim = p
				}
			}
		}
		c.evict(postRef{victim.Channel, victim.Seq})
		evicted++
	}
	for len(c.chans) > q.MaxChannels {
		var stalest *protocol.ChannelID
		for id, ch := range c.chans {
			if id != just.channel && (stalest == nil || ch.newest < c.chans[*stalest].newest) {
				stalest = &id
			}
		}
		for _, p := range slices.Clone(c.chans[*stalest].posts) {
			c.evict(postRef{p.Channel, p.Seq})
			evicted++
		}
	}
	return evicted
}

// evict removes a kept post; its id stays in the seen-set.
func (c *chanState) evict(ref postRef) {
	ch := c.chans[ref.channel]
	i := slices.IndexFunc(ch.posts, func(p protocol.StoredPost) bool { return p.Seq == ref.seq })
	size := int64(len(ch.posts[i].Data))
	ch.posts = slices.Delete(ch.posts, i, i+1)
	ch.bytes -= size
	c.bytes -= size
	c.posts--
	if len(ch.posts) == 0 {
		delete(c.chans, ref.channel)
	}
}

// Posts returns up to limit kept posts of ch after afterSeq.
func (s *Store) Posts(ch protocol.ChannelID, afterSeq uint64, limit int) ([]protocol.StoredPost, error) {
	if err := s.lock("posts"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []protocol.StoredPost
	if c := s.channels.chans[ch]; c != nil {
		for _, p := range c.posts {
			if len(out) >= limit {
				break
			}
			if p.Seq > afterSeq {
				p.Data = clone(p.Data)
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// ChannelIDs returns the channels with kept posts, sorted.
func (s *Store) ChannelIDs() ([]protocol.ChannelID, error) {
	if err := s.lock("channel ids"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []protocol.ChannelID
	for id := range s.channels.chans {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b protocol.ChannelID) int { return bytes.Compare(a[:], b[:]) })
	return out, nil
}

// PostSeen reports whether id is in the seen-set.
func (s *Store) PostSeen(id protocol.PostID) (bool, error) {
	if err := s.lock("post seen"); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	_, ok := s.channels.seen[id]
	return ok, nil
}

// ExpireChannels removes the kept posts and seen ids that expired at now
// and returns how many posts it removed.
func (s *Store) ExpireChannels(now time.Time) (int, error) {
	if err := s.lock("expire channels"); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	c := &s.channels
	var due []postRef
	for id, ch := range c.chans {
		for _, p := range ch.posts {
			if !p.Expires.After(now) {
				due = append(due, postRef{id, p.Seq})
			}
		}
	}
	for _, ref := range due {
		c.evict(ref)
	}
	for id, e := range c.seen {
		if !e.expires.After(now) {
			delete(c.seen, id)
			if e.from != "" {
				if c.neighbourSeen[e.from]--; c.neighbourSeen[e.from] == 0 {
					delete(c.neighbourSeen, e.from)
				}
			}
		}
	}
	return len(due), nil
}

// ChannelStats describes the channel store.
func (s *Store) ChannelStats() (protocol.ChannelStoreStats, error) {
	if err := s.lock("channel stats"); err != nil {
		return protocol.ChannelStoreStats{}, err
	}
	defer s.mu.Unlock()
	c := &s.channels
	return protocol.ChannelStoreStats{Channels: len(c.chans), Posts: int(c.posts), Bytes: c.bytes,
		MaxBytes: s.opts.Channels.MaxBytes, Seen: len(c.seen)}, nil
}
