package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// OrderCommit accepts c.Commit as the commit of c.Epoch of c.Group, or
// refuses it, as node.CommitSequencer describes, in one transaction,
// committed and synced before it returns; bbolt runs one write
// transaction at a time, so of concurrent claims of one epoch exactly one
// is accepted. Every claim that is answered touches its group; one that
// fails (protocol.ErrBadCommitClaim) rolls back and changes nothing. A new
// group beyond Options.MaxGroups evicts the group touched longest ago, and
// a group keeps its last Options.MaxCommitsPerGroup commits. A claim that
// node.CheckCommitClaim refuses fails with its error.
func (s *Store) OrderCommit(c protocol.CommitClaim) (protocol.CommitOrder, error) {
	if err := node.CheckCommitClaim(c); err != nil {
		return protocol.CommitOrder{}, fmt.Errorf("store: order commit: %w", err)
	}
	var o protocol.CommitOrder
	err := s.update("order commit", func(tx *bolt.Tx) error {
		m, err := openMLSTx(tx, s.opts)
		if err != nil {
			return err
		}
		if o, err = m.order(c); err != nil {
			return err
		}
		return m.flush()
	})
	if err != nil {
		return protocol.CommitOrder{}, err
	}
	return o, nil
}

// mlsTx is the sequencer's bookkeeping inside one write transaction.
type mlsTx struct {
	tx          *bolt.Tx
	maxGroups   uint64
	maxCommits  uint64
	totals      mlsTotals
	groups      *bolt.Bucket
	commits     *bolt.Bucket
	recency     *bolt.Bucket
	totalsDirty bool
}

func openMLSTx(tx *bolt.Tx, opts Options) (*mlsTx, error) {
	raw := tx.Bucket(bucketMeta).Get(keyMLSTotals)
	if raw == nil {
		return nil, fmt.Errorf("%w: no group totals", ErrCorrupt)
	}
	totals, err := decodeMLSTotals(raw)
	if err != nil {
		return nil, fmt.Errorf("group totals: %w", err)
	}
	return &mlsTx{
		tx:         tx,
		maxGroups:  uint64(opts.MaxGroups),
		maxCommits: uint64(opts.MaxCommitsPerGroup),
		totals:     totals,
		groups:     tx.Bucket(bucketMLSGroups),
		commits:    tx.Bucket(bucketMLSCommits),
		recency:    tx.Bucket(bucketMLSRecency),
	}, nil
}

// flush writes the totals back if they changed.
func (m *mlsTx) flush() error {
	if !m.totalsDirty {
		return nil
	}
	return m.tx.Bucket(bucketMeta).Put(keyMLSTotals, encodeMLSTotals(m.totals))
}

// group returns the record of group; ok is false for a group without one.
func (m *mlsTx) group(group []byte) (g mlsGroup, ok bool, err error) {
	raw := m.groups.Get(group)
	if raw == nil {
		return g, false, nil
	}
	if g, err = decodeMLSGroup(raw); err != nil {
		return g, false, fmt.Errorf("group %x: %w", group, err)
	}
	return g, true, nil
}

// order is OrderCommit inside the transaction. It decides before it
// writes, so a refusal with an error leaves the transaction untouched.
func (m *mlsTx) order(c protocol.CommitClaim) (protocol.CommitOrder, error) {
	g, known, err := m.group(c.Group)
	if err != nil {
		return protocol.CommitOrder{}, err
	}
	var commits *bolt.Bucket
	if known {
		if commits = m.commits.Bucket(c.Group); commits == nil {
			return protocol.CommitOrder{}, fmt.Errorf("%w: group %x has no commits", ErrCorrupt, c.Group)
		}
	}
	var o protocol.CommitOrder
	accept := false
	switch {
	case !known:
		// Trust on first claim: nothing is known to check the key
		// against. The group's epochs are keyed from this one on.
		accept = true
		g = mlsGroup{keyed: true, keyedFrom: c.Epoch}
	case c.Epoch > g.next:
		return protocol.CommitOrder{}, fmt.Errorf("%w: epoch %d, the group's next is %d", protocol.ErrBadCommitClaim, c.Epoch, g.next)
	case c.Epoch == g.next && !g.keyed:
		// A group recorded before claims were proven: its next claim
		// registers the key, as a new group's first one does.
		accept = true
		g.keyed, g.keyedFrom = true, c.Epoch
	case c.Epoch == g.next:
		if !bytes.Equal(c.Key, g.key[:]) {
			return protocol.CommitOrder{}, fmt.Errorf("%w: epoch %d claimed with a key that is not the epoch's", protocol.ErrBadCommitClaim, c.Epoch)
		}
		accept = true
	default:
		raw := commits.Get(seqKey(c.Epoch))
		if raw == nil {
			return protocol.CommitOrder{}, fmt.Errorf("%w: epoch %d is older than the group's kept commits", protocol.ErrBadCommitClaim, c.Epoch)
		}
		key, kept, err := decodeCommitEntry(g.keyedEpoch(c.Epoch), raw)
		if err != nil {
			return protocol.CommitOrder{}, fmt.Errorf("group %x epoch %d: %w", c.Group, c.Epoch, err)
		}
		switch {
		case key != nil && !bytes.Equal(c.Key, key):
			return protocol.CommitOrder{}, fmt.Errorf("%w: epoch %d claimed with a key that is not the epoch's", protocol.ErrBadCommitClaim, c.Epoch)
		case bytes.Equal(kept, c.Commit):
			// A retry after a lost answer: the same claim, again.
			o = protocol.CommitOrder{Accepted: true, Next: g.next}
		case key == nil:
			// A bare commit from before the group was keyed proves no
			// claim, so it is handed to nobody.
			return protocol.CommitOrder{}, fmt.Errorf("%w: epoch %d was ordered before claims were proven", protocol.ErrBadCommitClaim, c.Epoch)
		default:
			o = protocol.CommitOrder{Next: g.next}
			cur := commits.Cursor()
			for k, v := cur.Seek(seqKey(c.Epoch)); k != nil && len(o.Missing) < protocol.MaxMissingCommits; k, v = cur.Next() {
				epoch, err := parseSeqKey(k)
				if err != nil {
					return protocol.CommitOrder{}, fmt.Errorf("group %x: %w", c.Group, err)
				}
				_, commit, err := decodeCommitEntry(g.keyedEpoch(epoch), v)
				if err != nil {
					return protocol.CommitOrder{}, fmt.Errorf("group %x epoch %d: %w", c.Group, epoch, err)
				}
				o.Missing = append(o.Missing, bytes.Clone(commit))
			}
		}
	}
	if err := m.touch(c.Group, &g, known); err != nil {
		return protocol.CommitOrder{}, err
	}
	if accept {
		if commits == nil {
			if commits, err = m.commits.CreateBucketIfNotExists(c.Group); err != nil {
				return protocol.CommitOrder{}, err
			}
		}
		// No kept commit is at or above next, so the epoch is free.
		if err := commits.Put(seqKey(c.Epoch), encodeCommitEntry(c.Key, c.Commit)); err != nil {
			return protocol.CommitOrder{}, err
		}
		g.next = c.Epoch + 1
		copy(g.key[:], c.NextKey)
		g.kept++
		if err := m.trimCommits(commits, &g); err != nil {
			return protocol.CommitOrder{}, err
		}
		o = protocol.CommitOrder{Accepted: true, Next: g.next}
	}
	return o, m.groups.Put(c.Group, encodeMLSGroup(g))
}

// touch makes group the one claimed last, counting it first if it is new
// (evicting the group claimed longest ago when that would pass MaxGroups).
func (m *mlsTx) touch(group []byte, g *mlsGroup, known bool) error {
	if !known {
		for m.totals.groups >= m.maxGroups {
			if err := m.evictOldest(); err != nil {
				return err
			}
		}
		m.totals.groups++
	} else if err := m.recency.Delete(mlsRecencyKey(g.touched, group)); err != nil {
		return err
	}
	m.totals.touches++
	m.totalsDirty = true
	g.touched = m.totals.touches
	return m.recency.Put(mlsRecencyKey(g.touched, group), nil)
}

// trimCommits drops the oldest commits of group g, whose bucket is
// commits, beyond maxCommits.
func (m *mlsTx) trimCommits(commits *bolt.Bucket, g *mlsGroup) error {
	c := commits.Cursor()
	for k, _ := c.First(); k != nil && g.kept > m.maxCommits; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
		g.kept--
	}
	return nil
}

// evictOldest removes the group touched longest ago with its commits.
func (m *mlsTx) evictOldest() error {
	k, _ := m.recency.Cursor().First()
	if k == nil {
		return fmt.Errorf("%w: group totals count %d groups, the recency index has none", ErrCorrupt, m.totals.groups)
	}
	_, group, err := parseMLSRecencyKey(k)
	if err != nil {
		return err
	}
	group = bytes.Clone(group) // k is invalid once its entry is deleted
	if err := m.recency.Delete(k); err != nil {
		return err
	}
	if err := m.groups.Delete(group); err != nil {
		return err
	}
	if err := m.commits.DeleteBucket(group); err != nil {
		return fmt.Errorf("group %x: %w", group, err)
	}
	m.totals.groups--
	m.totalsDirty = true
	return nil
}

// trimMLS brings the sequencer within opts, which may be lower than when
// the groups were claimed; Open calls it.
func trimMLS(tx *bolt.Tx, opts Options) error {
	m, err := openMLSTx(tx, opts)
	if err != nil {
		return err
	}
	for m.totals.groups > m.maxGroups {
		if err := m.evictOldest(); err != nil {
			return err
		}
	}
	type over struct {
		group []byte
		g     mlsGroup
	}
	var trim []over
	err = m.groups.ForEach(func(k, v []byte) error {
		g, err := decodeMLSGroup(v)
		if err != nil {
			return fmt.Errorf("group %x: %w", k, err)
		}
		if g.kept > m.maxCommits {
			trim = append(trim, over{bytes.Clone(k), g})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, t := range trim {
		commits := m.commits.Bucket(t.group)
		if commits == nil {
			return fmt.Errorf("%w: group %x has no commits", ErrCorrupt, t.group)
		}
		if err := m.trimCommits(commits, &t.g); err != nil {
			return err
		}
		if err := m.groups.Put(t.group, encodeMLSGroup(t.g)); err != nil {
			return err
		}
	}
	return m.flush()
}
