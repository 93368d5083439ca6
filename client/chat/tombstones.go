package chat

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/quicprochat/qpc/client/chatdb"
)

// A delete can overtake the line it deletes (two paths through the mesh,
// a device that was offline). It then leaves a tombstone: the line's
// author and id, kept in the chat database (sealed like every record, in
// the meta record tombstonesKey), so that the line is dropped when it
// comes. The newest maxTombstones are kept; a line that arrives after its
// tombstone was pushed out is shown (and a delete sent again wipes it).
//
// Record layout: entries, oldest first, each
//
//	1      length a of the author's address (1-255)
//	a      the author's address, UTF-8
//	16     the line's message id
const (
	tombstonesKey = "tombstones"
	maxTombstones = 1024
)

// ErrTombstones means the record of tombstones is malformed.
var ErrTombstones = errors.New("malformed record of deleted message ids")

type tombstone struct {
	Author string
	ID     chatdb.MsgID
}

func marshalTombstones(ts []tombstone) []byte {
	var b []byte
	for _, t := range ts {
		b = append(b, byte(len(t.Author)))
		b = append(b, t.Author...)
		b = append(b, t.ID[:]...)
	}
	return b
}

func parseTombstones(b []byte) ([]tombstone, error) {
	var ts []tombstone
	for len(b) > 0 {
		n := int(b[0])
		if n == 0 || len(b) < 1+n+16 || !utf8.Valid(b[1:1+n]) {
			return nil, fmt.Errorf("%w: entry %d", ErrTombstones, len(ts))
		}
		if len(ts) == maxTombstones {
			return nil, fmt.Errorf("%w: more than %d entries", ErrTombstones, maxTombstones)
		}
		t := tombstone{Author: string(b[1 : 1+n])}
		copy(t.ID[:], b[1+n:])
		ts = append(ts, t)
		b = b[1+n+16:]
	}
	return ts, nil
}

// loadTombstones reads the record; a damaged one is started afresh (it
// only spares showing lines deleted before they came).
func (e *Engine) loadTombstones(tx *chatdb.Tx) ([]tombstone, error) {
	v, err := tx.Meta(tombstonesKey)
	if err != nil {
		return nil, err
	}
	ts, err := parseTombstones(v)
	if err != nil {
		e.log.Warn("tombstones", "err", err)
		return nil, nil
	}
	return ts, nil
}

// addTombstone records that author deleted line id before it came.
func (e *Engine) addTombstone(tx *chatdb.Tx, author string, id chatdb.MsgID) error {
	if len(author) == 0 || len(author) > 255 {
		return nil // no address: no line of it can come
	}
	// An edit of the line that overtook it too goes with its text.
	if err := e.dropEarlyEdit(tx, author, id); err != nil {
		return err
	}
	ts, err := e.loadTombstones(tx)
	if err != nil {
		return err
	}
	t := tombstone{Author: author, ID: id}
	for _, old := range ts {
		if old == t {
			return nil
		}
	}
	ts = append(ts, t)
	if len(ts) > maxTombstones {
		ts = ts[len(ts)-maxTombstones:]
	}
	e.tombs = nil // read again at the next check
	return tx.PutMeta(tombstonesKey, marshalTombstones(ts))
}

// tombstoned reports whether author deleted line id before it came. The
// set is read once and kept until a tombstone is added: every line that
// arrives asks.
func (e *Engine) tombstoned(tx *chatdb.Tx, author string, id chatdb.MsgID) (bool, error) {
	if e.tombs == nil {
		ts, err := e.loadTombstones(tx)
		if err != nil {
			return false, err
		}
		e.tombs = make(map[tombstone]bool, len(ts))
		for _, t := range ts {
			e.tombs[t] = true
		}
	}
	return e.tombs[tombstone{Author: author, ID: id}], nil
}
