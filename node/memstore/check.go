package memstore

import (
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/protocol"
)

// ErrInconsistent means Check found a running tally that disagrees with
// what the store holds: a bug of this package.
var ErrInconsistent = errors.New("memstore: tallies disagree with the contents")

// CheckIntegrity recounts every tally the bounds are checked against (mailbox and
// node-wide bytes, held bytes per destination, origin and neighbour, the
// neighbours' shares of the seen-sets, the channel totals) from the
// contents and reports the first that disagrees, wrapping ErrInconsistent.
// storetest calls it where a test wants the books to agree, as it calls
// node/store's CheckIntegrity.
func (s *Store) CheckIntegrity() error {
	if err := s.lock("check"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInconsistent}, args...)...)
	}
	var mail int64
	for user, a := range s.accounts {
		if a.queues[""] == nil {
			return bad("account %q has no mailbox", user)
		}
		for o, q := range a.queues {
			var b int64
			var last uint64
			for _, m := range q.msgs {
				if m.Seq <= last || m.Seq > q.lastSeq {
					return bad("queue %q of %q: seq %d after %d, last %d", o, user, m.Seq, last, q.lastSeq)
				}
				last = m.Seq
				b += int64(len(m.Payload))
			}
			if b != q.bytes {
				return bad("queue %q of %q counts %d bytes, holds %d", o, user, q.bytes, b)
			}
			mail += b
		}
	}
	if mail != s.mailTotal {
		return bad("the node-wide count is %d bytes, the mailboxes hold %d", s.mailTotal, mail)
	}
	m := &s.mesh
	var held, envs int64
	origins, neighbours := map[string]int64{}, map[string]int64{}
	for domain, q := range m.queues {
		var b int64
		for _, e := range q.envs {
			b += int64(len(e.Data))
			origins[originKey(e)] += int64(len(e.Data))
			if e.From != "" {
				neighbours[e.From] += int64(len(e.Data))
			}
			if st, ok := m.seen[e.ID]; !ok || st.state != protocol.SeenHeld {
				return bad("held envelope %x of %s is %v in the seen-set", e.ID, domain, st.state)
			}
		}
		if b != q.bytes {
			return bad("queue of %s counts %d bytes, holds %d", domain, q.bytes, b)
		}
		held += b
		envs += int64(len(q.envs))
	}
	if held != m.bytes || envs != m.envelopes {
		return bad("the store counts %d envelopes of %d bytes, holds %d of %d", m.envelopes, m.bytes, envs, held)
	}
	if err := sameTallies("origin bytes", m.originBytes, origins); err != nil {
		return bad("%v", err)
	}
	if err := sameTallies("neighbour bytes", m.neighbourBytes, neighbours); err != nil {
		return bad("%v", err)
	}
	seenFrom := map[string]int{}
	for _, e := range m.seen {
		if e.from != "" {
			seenFrom[e.from]++
		}
	}
	if err := sameTallies("envelope ids per neighbour", m.neighbourSeen, seenFrom); err != nil {
		return bad("%v", err)
	}
	c := &s.channels
	var posts, postBytes int64
	postsFrom := map[string]int{}
	for _, e := range c.seen {
		if e.from != "" {
			postsFrom[e.from]++
		}
	}
	for id, ch := range c.chans {
		var b int64
		for _, p := range ch.posts {
			b += int64(len(p.Data))
			if _, ok := c.seen[p.ID]; !ok {
				return bad("kept post %x of channel %x is not in the seen-set", p.ID, id)
			}
		}
		if b != ch.bytes || len(ch.posts) == 0 {
			return bad("channel %x counts %d bytes, keeps %d in %d posts", id, ch.bytes, b, len(ch.posts))
		}
		posts += int64(len(ch.posts))
		postBytes += b
	}
	if posts != c.posts || postBytes != c.bytes {
		return bad("the channel store counts %d posts of %d bytes, keeps %d of %d", c.posts, c.bytes, posts, postBytes)
	}
	if err := sameTallies("post ids per neighbour", c.neighbourSeen, postsFrom); err != nil {
		return bad("%v", err)
	}
	for id, g := range s.groups.groups {
		if len(g.commits) == 0 || len(g.commits) > s.opts.MaxCommitsPerGroup {
			return bad("group %x keeps %d commits", id, len(g.commits))
		}
		for e := g.oldest; e < g.next; e++ {
			if _, ok := g.commits[e]; !ok {
				return bad("group %x lacks the commit of epoch %d (kept %d..%d)", id, e, g.oldest, g.next-1)
			}
		}
	}
	return nil
}

// sameTallies reports a key whose running tally differs from its recount;
// zero tallies may be absent.
func sameTallies[N int | int64](what string, running, recount map[string]N) error {
	for k, v := range running {
		if recount[k] != v {
			return fmt.Errorf("%s of %q: counted %d, recounted %d", what, k, v, recount[k])
		}
	}
	for k, v := range recount {
		if running[k] != v {
			return fmt.Errorf("%s of %q: counted %d, recounted %d", what, k, running[k], v)
		}
	}
	return nil
}
