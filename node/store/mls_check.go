package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// checkMLS checks the commit sequencer's buckets: every group record
// matches its commits (as many as it says, every epoch below next, the
// newest at next-1, none empty, each of an epoch the group was keyed from
// with the key it was claimed with), exactly the groups with a record have
// commits, the totals count the groups and no group was touched after the
// last claim, and the recency index holds exactly one entry per group.
// With opts it also checks the bounds that OrderCommit and Open keep.
func checkMLS(tx *bolt.Tx, opts *Options) error {
	raw := tx.Bucket(bucketMeta).Get(keyMLSTotals)
	if raw == nil {
		return errors.New("no group totals")
	}
	totals, err := decodeMLSTotals(raw)
	if err != nil {
		return fmt.Errorf("group totals: %w", err)
	}
	commitsBucket := tx.Bucket(bucketMLSCommits)
	groups := tx.Bucket(bucketMLSGroups)
	wantRecency := map[string]bool{}
	var n uint64
	err = groups.ForEach(func(k, v []byte) error {
		if err := groupIDKey(k); err != nil {
			return err
		}
		g, err := decodeMLSGroup(v)
		if err != nil {
			return fmt.Errorf("group %x: %w", k, err)
		}
		if g.touched > totals.touches {
			return fmt.Errorf("group %x was touched by claim %d of %d", k, g.touched, totals.touches)
		}
		commits := commitsBucket.Bucket(k)
		if commits == nil {
			return fmt.Errorf("group %x has a record but no commits", k)
		}
		var kept, last uint64
		err = commits.ForEach(func(ek, c []byte) error {
			epoch, err := parseSeqKey(ek)
			if err != nil {
				return err
			}
			if epoch >= g.next {
				return fmt.Errorf("group %x keeps a commit of %d bytes for epoch %d, next is %d", k, len(c), epoch, g.next)
			}
			if _, _, err := decodeCommitEntry(g.keyedEpoch(epoch), c); err != nil {
				return fmt.Errorf("group %x epoch %d: %w", k, epoch, err)
			}
			kept++
			last = epoch
			return nil
		})
		if err != nil {
			return err
		}
		if kept != g.kept || last != g.next-1 {
			return fmt.Errorf("group %x: record says %+v, keeps %d commits up to epoch %d", k, g, kept, last)
		}
		if opts != nil && kept > uint64(opts.MaxCommitsPerGroup) {
			return fmt.Errorf("group %x keeps %d commits, more than MaxCommitsPerGroup %d", k, kept, opts.MaxCommitsPerGroup)
		}
		wantRecency[string(mlsRecencyKey(g.touched, k))] = true
		n++
		return nil
	})
	if err != nil {
		return err
	}
	err = commitsBucket.ForEachBucket(func(k []byte) error {
		if groups.Get(k) == nil {
			return fmt.Errorf("commits of group %x, which has no record", k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != totals.groups {
		return fmt.Errorf("group totals count %d groups, %d have a record", totals.groups, n)
	}
	if opts != nil && n > uint64(opts.MaxGroups) {
		return fmt.Errorf("%d groups, more than MaxGroups %d", n, opts.MaxGroups)
	}
	return checkIndex(tx, bucketMLSRecency, "group", wantRecency)
}
