package chat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quicprochat/qpc/client/chatdb"
)

// An edit can overtake its line too. It is kept (sealed, in the meta
// record earlyEditsKey) until the line comes, which then arrives edited;
// at most maxEarlyEdits of them, and at most maxEarlyEditBytes of text
// together, the oldest dropped first (a line whose edit was dropped shows
// its first text, and an edit sent again fixes it).
//
// Record layout: entries, oldest first, each
//
//	1      length a of the author's address (1-255)
//	a      the author's address, UTF-8
//	16     the line's message id
//	8      the author's time of the edit, Unix milliseconds (1 to 2^53)
//	2      length t of the text (1 to MaxText), big endian
//	t      the text, UTF-8
const (
	earlyEditsKey     = "early-edits"
	maxEarlyEdits     = 64
	maxEarlyEditBytes = 256 << 10
)

// ErrEarlyEdits means the record of edits waiting for their lines is
// malformed.
var ErrEarlyEdits = errors.New("malformed record of edits waiting for their lines")

type earlyEdit struct {
	Author string
	ID     chatdb.MsgID
	Time   time.Time
	Text   string
}

func marshalEarlyEdits(es []earlyEdit) []byte {
	var b []byte
	for _, e := range es {
		b = append(b, byte(len(e.Author)))
		b = append(b, e.Author...)
		b = append(b, e.ID[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixMilli()))
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Text)))
		b = append(b, e.Text...)
	}
	return b
}

func parseEarlyEdits(b []byte) ([]earlyEdit, error) {
	var es []earlyEdit
	for len(b) > 0 {
		bad := fmt.Errorf("%w: entry %d", ErrEarlyEdits, len(es))
		a := int(b[0])
		if a == 0 || len(b) < 1+a+16+8+2 || !utf8.Valid(b[1:1+a]) {
			return nil, bad
		}
		e := earlyEdit{Author: string(b[1 : 1+a])}
		b = b[1+a:]
		copy(e.ID[:], b)
		ms := binary.BigEndian.Uint64(b[16:24])
		t := int(binary.BigEndian.Uint16(b[24:26]))
		b = b[26:]
		if ms == 0 || ms > 1<<53 || len(b) < t {
			return nil, bad
		}
		e.Time, e.Text = time.UnixMilli(int64(ms)), string(b[:t])
		if checkText(e.Text) != nil {
			return nil, bad
		}
		b = b[t:]
		if len(es) == maxEarlyEdits {
			return nil, fmt.Errorf("%w: more than %d entries", ErrEarlyEdits, maxEarlyEdits)
		}
		es = append(es, e)
	}
	return es, nil
}

// loadEarlyEdits reads the record; a damaged one is started afresh (it
// only spares showing a first text that was edited before it came).
func (e *Engine) loadEarlyEdits(tx *chatdb.Tx) ([]earlyEdit, error) {
	v, err := tx.Meta(earlyEditsKey)
	if err != nil {
		return nil, err
	}
	es, err := parseEarlyEdits(v)
	if err != nil {
		e.log.Warn("early edits", "err", err)
		return nil, nil
	}
	return es, nil
}

func (e *Engine) storeEarlyEdits(tx *chatdb.Tx, es []earlyEdit) error {
	size := 0
	for _, ed := range es {
		size += len(ed.Text)
	}
	for len(es) > maxEarlyEdits || size > maxEarlyEditBytes {
		size -= len(es[0].Text)
		es = es[1:]
	}
	// Read again at the next line: a transaction that fails leaves the
	// record as it was.
	e.hasEarlyEdits = nil
	return tx.PutMeta(earlyEditsKey, marshalEarlyEdits(es))
}

// keepEarlyEdit keeps f, an edit from author of a line not here yet.
func (e *Engine) keepEarlyEdit(tx *chatdb.Tx, author string, f *changeFrame) error {
	if len(author) == 0 || len(author) > 255 {
		return nil
	}
	es, err := e.loadEarlyEdits(tx)
	if err != nil {
		return err
	}
	for i, old := range es {
		if old.Author == author && old.ID == f.Target {
			if f.Time.After(old.Time) {
				es[i].Time, es[i].Text = f.Time, f.Text
			}
			return e.storeEarlyEdits(tx, es)
		}
	}
	return e.storeEarlyEdits(tx, append(es, earlyEdit{Author: author, ID: f.Target, Time: f.Time, Text: f.Text}))
}

// applyEarlyEdit gives m, a line arriving now, the edit that overtook it,
// if one did, and forgets the edit.
func (e *Engine) applyEarlyEdit(tx *chatdb.Tx, m *chatdb.Message) error {
	if e.hasEarlyEdits == nil {
		// Whether there are any is read once: every line that arrives
		// asks, and there almost never are.
		es, err := e.loadEarlyEdits(tx)
		if err != nil {
			return err
		}
		some := len(es) > 0
		e.hasEarlyEdits = &some
	}
	if !*e.hasEarlyEdits {
		return nil
	}
	es, err := e.loadEarlyEdits(tx)
	if err != nil {
		return err
	}
	for i, ed := range es {
		if ed.Author == m.From && ed.ID == m.ID {
			if ed.Time.After(m.Edited) {
				m.Text, m.Edited = ed.Text, ed.Time
			}
			return e.storeEarlyEdits(tx, append(es[:i:i], es[i+1:]...))
		}
	}
	return nil
}

// dropEarlyEdit forgets the edit from author of line id that waits for
// it, if one does: the line was deleted.
func (e *Engine) dropEarlyEdit(tx *chatdb.Tx, author string, id chatdb.MsgID) error {
	es, err := e.loadEarlyEdits(tx)
	if err != nil || len(es) == 0 {
		return err
	}
	kept := slices.DeleteFunc(slices.Clone(es), func(ed earlyEdit) bool { return ed.Author == author && ed.ID == id })
	if len(kept) == len(es) {
		return nil
	}
	return e.storeEarlyEdits(tx, kept)
}

// Overtaken says what became of a line from author with id and text
// before it arrived, for a reader that shows a line before it files it
// (the one-shot qpc recv): deleted (a tombstone), or edited (the text to
// show instead); text as it is otherwise. Nothing is changed: filing the
// line does that.
func (e *Engine) Overtaken(author string, id chatdb.MsgID, text string) (string, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	author = strings.ToLower(author)
	var gone bool
	err := e.db.View(func(tx *chatdb.Tx) (err error) {
		if gone, err = e.tombstoned(tx, author, id); err != nil || gone {
			return err
		}
		es, err := e.loadEarlyEdits(tx)
		for _, ed := range es {
			if ed.Author == author && ed.ID == id {
				text = ed.Text
			}
		}
		return err
	})
	if gone {
		text = ""
	}
	return text, gone, err
}
