package chat

import (
	"slices"

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
