package chatdb

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// BlockList is the account's block list (issue 30): the accounts whose
// messages, invitations and channel posts this device drops. It is one
// record in the meta bucket, "app:blocklist" (sealed like every value),
// so that the addresses stay inside the sealed value:
//
//	uvarint count | the addresses (strings), sorted, lowercase | Updated (time)
type BlockList struct {
	// Blocked are the blocked accounts, user@domain, lowercase, sorted.
	Blocked []string
	// Updated is when the list last changed: on this device, or on the
	// device whose list this one took (the signed time of its message).
	// A list from another device older than Updated is not taken.
	Updated time.Time
}

// blockListMeta names the block list's meta record.
const blockListMeta = "blocklist"

// Has reports whether addr (compared lowercased) is blocked.
func (l BlockList) Has(addr string) bool {
	_, ok := slices.BinarySearch(l.Blocked, strings.ToLower(addr))
	return ok
}

// With returns l with addr added (blocked) or removed, still sorted.
func (l BlockList) With(addr string, blocked bool) BlockList {
	addr = strings.ToLower(addr)
	out := BlockList{Blocked: slices.Clone(l.Blocked), Updated: l.Updated}
	i, ok := slices.BinarySearch(out.Blocked, addr)
	switch {
	case blocked && !ok:
		out.Blocked = slices.Insert(out.Blocked, i, addr)
	case !blocked && ok:
		out.Blocked = slices.Delete(out.Blocked, i, i+1)
	}
	return out
}

// BlockList returns the account's block list; the zero BlockList when
// nothing was ever blocked.
func (tx *Tx) BlockList() (BlockList, error) {
	l, _, err := load(tx, bucketMeta, metaKey(blockListMeta), decodeBlockList)
	return l, err
}

// PutBlockList stores l, its addresses lowercased and sorted; ErrInvalid
// for an empty address.
func (tx *Tx) PutBlockList(l BlockList) error {
	norm := BlockList{Updated: l.Updated}
	for _, a := range l.Blocked {
		if a == "" {
			return fmt.Errorf("chatdb: put block list: %w: empty address", ErrInvalid)
		}
		norm.Blocked = append(norm.Blocked, strings.ToLower(a))
	}
	slices.Sort(norm.Blocked)
	norm.Blocked = slices.Compact(norm.Blocked)
	return tx.put(bucketMeta, metaKey(blockListMeta), encodeBlockList(&norm))
}

func encodeBlockList(l *BlockList) []byte {
	var e encoder
	e.uint(uint64(len(l.Blocked)))
	for _, a := range l.Blocked {
		e.string(a)
	}
	e.time(l.Updated)
	return e.b
}

// decodeBlockList decodes what encodeBlockList wrote, strictly: the
// addresses sorted without repeats, none empty.
func decodeBlockList(b []byte) (BlockList, error) {
	d := decoder{b: b}
	var l BlockList
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		a := d.string()
		if d.err == nil && (a == "" || a != strings.ToLower(a) || i > 0 && l.Blocked[i-1] >= a) {
			d.fail("block list: entry %d empty, not lowercase or out of order", i)
		}
		l.Blocked = append(l.Blocked, a)
	}
	l.Updated = d.time()
	if err := d.done(); err != nil {
		return BlockList{}, err
	}
	return l, nil
}
