package store

import (
	"encoding/binary"
	"fmt"

	"github.com/quicprochat/qpc/node"
)

// Records and index keys of the commit sequencer's buckets; the layouts
// are in the package doc.

// mlsGroup is the sequencer's bookkeeping of one MLS group.
type mlsGroup struct {
	next uint64 // the epoch of the group's next commit
	kept uint64 // commits kept in the group's bucket
	// touched is the number (mlsTotals.touches) of the last claim for the
	// group: the group with the lowest is the one MaxGroups evicts.
	touched uint64
}

// encodeMLSGroup: version | next | kept | touched (see encodeCounters).
func encodeMLSGroup(g mlsGroup) []byte {
	return encodeCounters(g.next, g.kept, g.touched)
}

func decodeMLSGroup(b []byte) (mlsGroup, error) {
	v, err := decodeCounters("group", b, 3)
	if err != nil {
		return mlsGroup{}, err
	}
	g := mlsGroup{next: v[0], kept: v[1], touched: v[2]}
	// Kept commits have distinct epochs below next; the newest is
	// next-1, so a group keeps at least one; every group was claimed.
	if g.kept == 0 || g.kept > g.next || g.touched == 0 {
		return mlsGroup{}, fmt.Errorf("%w: group record keeps %d commits below epoch %d, touched %d",
			ErrCorrupt, g.kept, g.next, g.touched)
	}
	return g, nil
}

// mlsTotals is the whole sequencer's bookkeeping.
type mlsTotals struct {
	groups uint64 // groups with a record
	// touches counts the claims ever made: it numbers them for the
	// recency index, as a clock would but without jumping when a
	// router's clock is set at boot.
	touches uint64
}

// encodeMLSTotals: version | groups | touches (see encodeCounters).
func encodeMLSTotals(t mlsTotals) []byte {
	return encodeCounters(t.groups, t.touches)
}

func decodeMLSTotals(b []byte) (mlsTotals, error) {
	v, err := decodeCounters("group totals", b, 2)
	if err != nil {
		return mlsTotals{}, err
	}
	t := mlsTotals{groups: v[0], touches: v[1]}
	if t.groups > t.touches {
		return mlsTotals{}, fmt.Errorf("%w: group totals of %d groups after %d claims", ErrCorrupt, t.groups, t.touches)
	}
	return t, nil
}

// mlsRecencyKey: touched | group, the key of an mlsrecency entry; the
// value is empty. The first entry is the group claimed longest ago.
func mlsRecencyKey(touched uint64, group []byte) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(group)), touched)
	return append(k, group...)
}

func parseMLSRecencyKey(k []byte) (touched uint64, group []byte, err error) {
	if len(k) <= 8 || len(k) > 8+node.MaxGroupID {
		return 0, nil, fmt.Errorf("%w: group recency key of %d bytes", ErrCorrupt, len(k))
	}
	return binary.BigEndian.Uint64(k), k[8:], nil
}

// groupIDKey checks that k is a group id.
func groupIDKey(k []byte) error {
	if len(k) == 0 || len(k) > node.MaxGroupID {
		return fmt.Errorf("%w: group id key of %d bytes", ErrCorrupt, len(k))
	}
	return nil
}
