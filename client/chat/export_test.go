package chat

import (
	"context"
	"slices"
	"time"

	"github.com/quicprochat/qpc/client/chatdb"
)

// SetStatusForTest sets own line id of conv to st, as if the nodes had
// said no more of it (its envelopes still in the mesh, say), so that a
// test can watch a receipt move it on.
func (e *Engine) SetStatusForTest(conv chatdb.ConvID, id chatdb.MsgID, st chatdb.Status) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.db.Update(func(tx *chatdb.Tx) error {
		ms, err := tx.Messages(conv, 0)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ms, func(m chatdb.Message) bool { return m.ID == id })
		if i < 0 {
			return chatdb.ErrNotFound
		}
		ms[i].Status = st
		return tx.UpdateMessage(conv, &ms[i])
	})
}

// AppendForTest adds lines to conv's history in one transaction, as if
// they had arrived, for benchmarks of long histories.
func (e *Engine) AppendForTest(conv chatdb.ConvID, ms []chatdb.Message) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.db.Update(func(tx *chatdb.Tx) error {
		for i := range ms {
			if err := tx.AppendMessage(conv, &ms[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecordsForTest calls fn with every record of the chat database, opened
// (chatdb.Tx.EachRecord).
func (e *Engine) RecordsForTest(fn func(bucket string, record []byte) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.db.View(func(tx *chatdb.Tx) error {
		return tx.EachRecord(func(bucket string, _, record []byte) error { return fn(bucket, record) })
	})
}

// SendChangeForTest sends an edit (del false) or a delete of line target
// to conv's members as Edit and Delete do, but of any line, the account's
// own or not, and without applying it here: what a modified client
// could send.
func (e *Engine) SendChangeForTest(ctx context.Context, conv chatdb.ConvID, target chatdb.MsgID, del bool, text string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.conversation(conv)
	if err != nil {
		return err
	}
	return e.sendChange(ctx, &c, &changeFrame{Delete: del, Target: target, Time: e.now(), Text: text})
}

// ChangeBodyForTest is the sealed body and content type of an edit (del
// false) or a delete of line target.
func ChangeBodyForTest(target chatdb.MsgID, del bool, text string) ([]byte, uint16, error) {
	f := &changeFrame{Delete: del, Target: target, Time: time.Now(), Text: text}
	b, err := f.marshal()
	return b, f.contentType(), err
}
