package chat

import (
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
)

// One conversation per peer. `qpc send --to` seals a message to each of
// the peer's devices (crypto/sealed) when the account has no MLS DM with
// the peer yet, and uses the DM's group once there is one; the REPL always
// uses the group, starting it when needed. Whichever way a line came or
// went, it is filed in the one DM conversation with the peer (dmConversation
// finds it by the peer's address), so the REPL and qpc recv show one
// history. These are the entry points of the one-shot commands, which
// open sealed messages themselves (client/session's Inbox).

// UsableDM returns the DM with peer when it has an MLS group the account
// can send in now.
func (e *Engine) UsableDM(peer string) (chatdb.Conversation, bool) {
	p, err := e.normalize(peer)
	if err != nil {
		return chatdb.Conversation{}, false
	}
	c, err := e.Find("@" + p)
	if err != nil || c.Kind != chatdb.KindDM || c.GroupID == nil || c.Left || c.Invited {
		return chatdb.Conversation{}, false
	}
	return c, true
}

// FileSealedIn files a sealed message from peer that a one-shot reader
// has shown already: in the DM with peer, once per message id, not
// counted as unread.
func (e *Engine) FileSealedIn(peer string, id chatdb.MsgID, t time.Time, text string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, err := e.normalize(peer)
	if err != nil {
		return err
	}
	return e.fileInDM(p, &chatdb.Message{ID: id, From: p, Time: t, Text: text}, true)
}

// FileSentCopy files what another device of the account sealed to peer
// (a sent copy) as the account's own line in the DM with peer.
func (e *Engine) FileSentCopy(peer string, id chatdb.MsgID, t time.Time, text string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, err := e.normalize(peer)
	if err != nil {
		return err
	}
	return e.fileInDM(p, &chatdb.Message{ID: id, From: e.self, Time: t, Text: text, Status: chatdb.StatusSent}, true)
}

// FileSealedOut files a message the account sealed to peer itself (qpc
// send without a DM group) as its own line in the DM with peer, in the
// state the node's receipts rs of the envelopes outs say, and returns the
// DM and the line.
func (e *Engine) FileSealedOut(peer string, id chatdb.MsgID, t time.Time, text string, outs []client.Outgoing, rs []client.Receipt) (chatdb.ConvID, chatdb.Message, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, err := e.normalize(peer)
	if err != nil {
		return chatdb.ConvID{}, chatdb.Message{}, err
	}
	m := chatdb.Message{ID: id, From: e.self, Time: t, Text: text, Status: chatdb.StatusQueued}
	var conv chatdb.ConvID
	err = e.db.Update(func(tx *chatdb.Tx) error {
		c, ok, err := e.dmConversation(tx, p)
		if err != nil {
			return err
		}
		if !ok {
			c = e.newConversation(chatdb.KindDM, p, p)
			if err := tx.PutConversation(&c); err != nil {
				return err
			}
		}
		conv = c.ID
		if err := e.addLine(tx, &c, &m); err != nil {
			return err
		}
		o := chatdb.Outgoing{Conv: c.ID, MsgID: id}
		if err := e.advance(tx, c, []chatdb.MsgID{id}, chatdb.StatusSent); err != nil {
			return err
		}
		return e.settle(tx, &o, outs, rs)
	})
	if err != nil {
		return conv, m, err
	}
	m, err = e.lookupMessage(conv, id)
	return conv, m, err
}
