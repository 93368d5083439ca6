package store

import (
	"encoding/binary"
	"fmt"

	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/protocol"
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
	// keyed is false for a group recorded before claims were proven
	// (the record's short form): its next claim registers its key.
	keyed bool
	// keyedFrom is the first epoch whose commit entry holds the key it
	// was claimed with; older kept commits are bare (version 1).
	keyedFrom uint64
	// key is the sequencer key of epoch next: the next claim must be
	// proven with it.
	key [commitclaim.KeySize]byte
}

// encodeMLSGroup: version | next | kept | touched | keyed from | key(32)
// (see encodeCounters). A group that is not keyed has the short form
// written before claims were proven, version | next | kept | touched: it
// is still read, and becomes keyed with its next accepted claim.
func encodeMLSGroup(g mlsGroup) []byte {
	if !g.keyed {
		return encodeCounters(g.next, g.kept, g.touched)
	}
	return append(encodeCounters(g.next, g.kept, g.touched, g.keyedFrom), g.key[:]...)
}

// mlsGroupShort and mlsGroupKeyed are the lengths of a group record's
// body without and with keys.
const (
	mlsGroupShort = 3 * 8
	mlsGroupKeyed = 4*8 + commitclaim.KeySize
)

func decodeMLSGroup(b []byte) (mlsGroup, error) {
	body, err := recordBody("group", b)
	if err != nil {
		return mlsGroup{}, err
	}
	var g mlsGroup
	switch len(body) {
	case mlsGroupShort:
	case mlsGroupKeyed:
		g.keyed = true
		g.keyedFrom = binary.BigEndian.Uint64(body[3*8:])
		copy(g.key[:], body[4*8:])
	default:
		return mlsGroup{}, fmt.Errorf("%w: group record of %d bytes, want %d or %d", ErrCorrupt, len(b), 1+mlsGroupShort, 1+mlsGroupKeyed)
	}
	g.next, g.kept, g.touched = binary.BigEndian.Uint64(body), binary.BigEndian.Uint64(body[8:]), binary.BigEndian.Uint64(body[16:])
	// Kept commits have distinct epochs below next; the newest is
	// next-1, so a group keeps at least one; every group was claimed.
	// A keyed group's newest commit was claimed with a key.
	if g.kept == 0 || g.kept > g.next || g.touched == 0 || g.keyed && g.keyedFrom >= g.next {
		return mlsGroup{}, fmt.Errorf("%w: group record keeps %d commits below epoch %d, touched %d, keyed from %d",
			ErrCorrupt, g.kept, g.next, g.touched, g.keyedFrom)
	}
	return g, nil
}

// keyedEpoch reports whether the commit entry of epoch holds its key.
func (g *mlsGroup) keyedEpoch(epoch uint64) bool { return g.keyed && epoch >= g.keyedFrom }

// encodeCommitEntry: key(32) | commit (rest, not empty), the value of a
// keyed epoch in a group's commits bucket; an epoch before the group was
// keyed holds the bare commit.
func encodeCommitEntry(key, commit []byte) []byte {
	return append(append(make([]byte, 0, len(key)+len(commit)), key...), commit...)
}

// decodeCommitEntry splits a commit entry of a keyed epoch (keyed), or
// returns a bare one with no key. The results alias v.
func decodeCommitEntry(keyed bool, v []byte) (key, commit []byte, err error) {
	if keyed {
		if len(v) <= commitclaim.KeySize {
			return nil, nil, fmt.Errorf("%w: commit entry of %d bytes, need a %d-byte key and a commit", ErrCorrupt, len(v), commitclaim.KeySize)
		}
		return v[:commitclaim.KeySize], v[commitclaim.KeySize:], nil
	}
	if len(v) == 0 {
		return nil, nil, fmt.Errorf("%w: empty commit", ErrCorrupt)
	}
	return nil, v, nil
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
	if len(k) <= 8 || len(k) > 8+protocol.MaxGroupID {
		return 0, nil, fmt.Errorf("%w: group recency key of %d bytes", ErrCorrupt, len(k))
	}
	return binary.BigEndian.Uint64(k), k[8:], nil
}

// groupIDKey checks that k is a group id.
func groupIDKey(k []byte) error {
	if len(k) == 0 || len(k) > protocol.MaxGroupID {
		return fmt.Errorf("%w: group id key of %d bytes", ErrCorrupt, len(k))
	}
	return nil
}
