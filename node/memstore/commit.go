package memstore

import (
	"bytes"
	"fmt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// groupState is the commit sequencer.
type groupState struct {
	groups map[string]*group
	// touches counts the claims that reached a known or new group; a
	// group's touched is the count of its last one, and the group
	// touched longest ago is evicted first.
	touches uint64
}

// group is what the sequencer keeps of one MLS group.
type group struct {
	next    uint64
	key     []byte // the key of epoch next
	commits map[uint64]keptCommit
	oldest  uint64 // the lowest epoch in commits
	touched uint64
}

// keptCommit is an accepted commit with the key of its epoch.
type keptCommit struct {
	key, commit []byte
}

// OrderCommit accepts or refuses c, as node.CommitSequencer says.
func (s *Store) OrderCommit(c protocol.CommitClaim) (protocol.CommitOrder, error) {
	if err := node.CheckCommitClaim(c); err != nil {
		return protocol.CommitOrder{}, fmt.Errorf("memstore: order commit: %w", err)
	}
	if err := s.lock("order commit"); err != nil {
		return protocol.CommitOrder{}, err
	}
	defer s.mu.Unlock()
	gs := &s.groups
	g := gs.groups[string(c.Group)]
	var o protocol.CommitOrder
	accept := false
	switch {
	case g == nil:
		for len(gs.groups) >= s.opts.MaxGroups {
			gs.evictStalest()
		}
		g = &group{commits: map[uint64]keptCommit{}, oldest: c.Epoch}
		gs.groups[string(c.Group)] = g
		accept = true
	case c.Epoch > g.next:
		return protocol.CommitOrder{}, fmt.Errorf("%w: epoch %d, the group's next is %d", protocol.ErrBadCommitClaim, c.Epoch, g.next)
	case c.Epoch == g.next:
		if !bytes.Equal(c.Key, g.key) {
			return protocol.CommitOrder{}, fmt.Errorf("%w: epoch %d claimed with a key that is not the epoch's", protocol.ErrBadCommitClaim, c.Epoch)
		}
		accept = true
	default:
		kept, ok := g.commits[c.Epoch]
		switch {
		case !ok:
			return protocol.CommitOrder{}, fmt.Errorf("%w: epoch %d is older than the group's kept commits", protocol.ErrBadCommitClaim, c.Epoch)
		case !bytes.Equal(c.Key, kept.key):
			return protocol.CommitOrder{}, fmt.Errorf("%w: epoch %d claimed with a key that is not the epoch's", protocol.ErrBadCommitClaim, c.Epoch)
		case bytes.Equal(kept.commit, c.Commit):
			o = protocol.CommitOrder{Accepted: true, Next: g.next}
		default:
			o = protocol.CommitOrder{Next: g.next}
			for e := c.Epoch; e < g.next && len(o.Missing) < protocol.MaxMissingCommits; e++ {
				o.Missing = append(o.Missing, clone(g.commits[e].commit))
			}
		}
	}
	gs.touches++
	g.touched = gs.touches
	if accept {
		g.commits[c.Epoch] = keptCommit{clone(c.Key), clone(c.Commit)}
		g.next, g.key = c.Epoch+1, clone(c.NextKey)
		for len(g.commits) > s.opts.MaxCommitsPerGroup {
			delete(g.commits, g.oldest)
			g.oldest++
		}
		o = protocol.CommitOrder{Accepted: true, Next: g.next}
	}
	return o, nil
}

// evictStalest forgets the group touched longest ago.
func (gs *groupState) evictStalest() {
	var stalest string
	var at uint64
	for id, g := range gs.groups {
		if at == 0 || g.touched < at {
			stalest, at = id, g.touched
		}
	}
	delete(gs.groups, stalest)
}
