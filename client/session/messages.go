package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

// SendOptions are the node's handling of one sealed message.
type SendOptions struct {
	// TTL is how long the node keeps it undelivered; 0 is the node's
	// default.
	TTL time.Duration
	// MaxHops bounds its federation hops if it goes into the mesh; 0 is
	// the node's default.
	MaxHops uint8
}

// Sent is where a sealed message went.
type Sent struct {
	// Recipient is the address it was sealed to, user@domain.
	Recipient string
	// Receipt is the node's: in the recipient's mailbox, or queued in the
	// mesh.
	Receipt client.Receipt
	// ContactErr, when set, says why the recipient's keys could not be
	// kept among the contacts; the message went all the same.
	ContactErr error
	// KeyChange, when set, is a change of the recipient's account key to
	// show with this send: seen now, or not yet shown at a send.
	KeyChange *chat.KeyChange
	// DeviceNotices are the devices the recipient added or removed since
	// they were last seen, one line each, told once.
	DeviceNotices []string
	// Envelopes is how many sealed envelopes the message made (one per
	// device of the recipient and per other device of the account), and
	// Bytes their size together.
	Envelopes, Bytes int
	// ID is the message's id, the same in the chat history.
	ID sealed.ID
	// Conv is the DM with the recipient in the chat history, the message
	// its line there, in the state it reached (Message.Status); MLS is
	// set when it went in the DM's group rather than sealed to each
	// device.
	Conv    chatdb.ConvID
	Message chatdb.Message
	MLS     bool
}

// SendText seals text to the user to ("user" or "user@domain") and hands
// it to the node, which has it once SendText returns without error. The
// recipient's account key is checked against the contacts of the chat
// database first (chat.Engine.ClearToSend), the one record of keys every
// surface shares: a key change comes back in Sent.KeyChange, and a
// contact verified under another key refuses the send with a
// *chat.KeyChangedError (with the change in Sent.KeyChange). The
// recipient's keys are kept among the account's contacts for later sends;
// why they could not be is in Sent.ContactErr, also when the enqueue
// failed.
func (s *Session) SendText(ctx context.Context, to, text string, o SendOptions) (Sent, error) {
	eng, err := s.OpenChat(nil)
	if err != nil {
		return Sent{}, fmt.Errorf("checking the key of %s among your contacts: %w", to, err)
	}
	defer eng.Close()
	sent, _, _, err := s.sendSealed(ctx, eng, to, text, o)
	return sent, err
}

// sendSealed is SendText on an open engine; it returns the envelopes to
// the recipients' devices and the node's receipts of them too.
func (s *Session) sendSealed(ctx context.Context, eng *chat.Engine, to, text string, o SendOptions) (Sent, []client.Outgoing, []client.Receipt, error) {
	sent, outs, err := s.seal(ctx, eng, to, text, o)
	if err != nil {
		return sent, nil, nil, err
	}
	// A failed enqueue still reports ContactErr: the keys were looked up.
	if len(outs) == 1 {
		r, err := s.c.Enqueue(ctx, outs[0])
		sent.Receipt = r
		return sent, outs, []client.Receipt{r}, err
	}
	rs, err := s.c.EnqueueBatch(ctx, outs)
	if err != nil {
		return sent, outs, nil, err
	}
	sent.Receipt = rs[0]
	for _, r := range rs {
		if r.Err != nil {
			return sent, outs, rs, r.Err
		}
	}
	return sent, outs, rs, nil
}

// seal seals text to every device of to and the account's other devices.
func (s *Session) seal(ctx context.Context, eng *chat.Engine, to, text string, o SendOptions) (Sent, []client.Outgoing, error) {
	change, err := eng.ClearToSend(ctx, to)
	if err != nil {
		var kc *chat.KeyChangedError
		if errors.As(err, &kc) {
			return Sent{Recipient: kc.Change.Address, KeyChange: kc.Change}, nil, err
		}
		return Sent{}, nil, err
	}
	// Every current device of the recipient gets the message, and every
	// other device of the account a sent copy, so that all of them show
	// the conversation. Both lists are looked up again, not taken from
	// what this session saw before: a device added or removed since then
	// gets, or stops getting, this message.
	s.acct.Forget(to)
	s.acct.Forget(s.acct.Address())
	outs, id, err := s.acct.SealAll(ctx, to, sealed.ContentText, []byte(text))
	if err != nil {
		return Sent{KeyChange: change}, nil, err
	}
	if len(outs) == 0 {
		// A message to oneself from the only device: SealAll leaves the
		// sending device out, so it goes to this device's own queue.
		self := protocol.Address{User: strings.ToLower(s.cur.User), Domain: strings.ToLower(s.cur.Domain)}
		if pa, err := protocol.ParseRecipient(to, s.cur.Domain); err != nil || pa.Account() != self {
			return Sent{KeyChange: change}, nil, fmt.Errorf("%s: %w", to, identity.ErrNoDevice)
		}
		if s.state.Migrated() {
			self.Device = s.acct.DeviceID().String()
		}
		out, selfID, err := s.acct.Seal(ctx, self.String(), sealed.ContentText, []byte(text))
		if err != nil {
			return Sent{KeyChange: change}, nil, err
		}
		outs, id = []client.Outgoing{out}, selfID
	}
	sent := Sent{Recipient: outs[0].Recipient, ContactErr: s.Remember(ctx, to), KeyChange: change, Envelopes: len(outs), ID: id}
	if p, err := s.acct.ResolvePeer(ctx, to); err == nil {
		// A notice only: the message goes whether or not it can be kept.
		sent.DeviceNotices, _ = eng.NoteDevices(p)
	}
	if pa, err := protocol.ParseRecipient(to, s.cur.Domain); err == nil {
		sent.Recipient = pa.Account().String()
	}
	for i := range outs {
		outs[i].TTL, outs[i].MaxHops = o.TTL, o.MaxHops
		sent.Bytes += len(outs[i].Payload)
	}
	return sent, outs, nil
}

// OpenReplayCache opens the account's replay cache, so that the
// account's Open drops copies of messages opened before.
func (s *Session) OpenReplayCache() error {
	rc, err := client.LoadReplayCache(s.cfg.StateDir, s.cur.User, s.cur.Domain, s.exportKey)
	if err != nil {
		return err
	}
	s.acct.Replay = rc
	return nil
}

// Inbox takes the messages of the mailbox as a one-shot reader meets
// them: one-to-one messages are opened and shown, with any change of
// their sender's account key as the chat database's contacts see it, and
// group messages (welcomes and group traffic) are filed in the chat
// history, so that they are not lost to a reader that cannot show them.
type Inbox struct {
	s *Session
	// openChat opens the chat engine when the first message comes.
	openChat func(ctx context.Context) (*chat.Engine, error)
	eng      *chat.Engine
	// Filed counts the group messages filed in the chat history.
	Filed int
	// Replayed counts the copies of messages shown before, dropped.
	Replayed int
	// Blocked counts the messages of blocked accounts, dropped unshown.
	Blocked int
	// Groups counts the new lines of each group (by its label, "#name")
	// filed in the chat history, for qpc recv --group.
	Groups map[string]int
}

// Incoming is a one-to-one message as an Inbox shows it.
type Incoming struct {
	client.Received
	// KeyChange is set on the first message that shows its sender's
	// account key is another than the contacts recorded.
	KeyChange *chat.KeyChange
	// DeviceNotices are the devices the sender added or removed since
	// the last message, one line each, told once.
	DeviceNotices []string
	// SentCopy is set when the message is a copy of what another device
	// of the account sent (to SentCopy.To): show it as outgoing.
	SentCopy *client.SentCopy
	// Synced is set when the message was a sync bundle from the device
	// that approved this one, now applied.
	Synced *SyncResult
	// System is set on a line of the DM with From about the DM itself
	// (it started, a key changed, a gap): no message, only this text.
	System string
	// FromHistory is set on a line of a DM's MLS group, read from the
	// chat history where the chat engine filed it: Seq is then 0.
	FromHistory bool
	// BlockList is set on the block list another device of the account
	// sent, now applied: nothing to show.
	BlockList bool
}

// Inbox returns an Inbox of the account; openChat opens (and connects)
// its chat engine, once, when the first message needs it.
func (s *Session) Inbox(openChat func(ctx context.Context) (*chat.Engine, error)) *Inbox {
	return &Inbox{s: s, openChat: openChat}
}

// engine opens the chat engine on first use.
func (in *Inbox) engine(ctx context.Context) (*chat.Engine, error) {
	if in.eng == nil {
		eng, err := in.openChat(ctx)
		if err != nil {
			return nil, err
		}
		in.eng = eng
	}
	return in.eng, nil
}

// Handle opens the one-to-one messages of msgs and gives them to show,
// and files the group messages; it returns the sequence number up to
// which all are handled, and why it stopped before the end. A message
// whose sender's key cannot be compared with the contacts (the chat
// database is open in another qpc) is not handled: it stays on the node.
func (in *Inbox) Handle(ctx context.Context, msgs []protocol.Message, show func(Incoming)) (uint64, error) {
	var handled uint64
	for _, m := range msgs {
		if r := in.s.acct.Open(ctx, m); r.ContentType != chat.ContentWelcome && r.ContentType != chat.ContentGroup && r.ContentType != chat.ContentReceipt && !chat.IsChange(r.ContentType) {
			if r.Replayed {
				// A copy of a message shown before: acknowledged so it
				// does not come back, never shown again.
				in.Replayed++
				handled = m.Seq
				continue
			}
			if r.ContentType == client.ContentDeviceSync && !r.Verified {
				r.Body = nil // may hold an account key: never shown
			}
			inc := Incoming{Received: r}
			if r.Verified {
				eng, err := in.engine(ctx)
				if err != nil {
					return handled, fmt.Errorf("message %d: checking the sender's key among your contacts: %w", m.Seq, err)
				}
				if blocked, err := eng.Blocked(r.From); err != nil {
					return handled, fmt.Errorf("message %d: reading the block list: %w", m.Seq, err)
				} else if blocked && !strings.EqualFold(r.From, in.s.acct.Address()) {
					// Dropped unshown (docs/blocking.md).
					in.Blocked++
					handled = m.Seq
					continue
				}
				if inc.KeyChange, err = eng.NoteContact(ctx, r.From); err != nil {
					return handled, fmt.Errorf("message %d: checking the sender's key among your contacts: %w", m.Seq, err)
				}
				if inc.DeviceNotices, err = eng.NoteDevices(r.Sender); err != nil {
					return handled, fmt.Errorf("message %d: checking the sender's devices: %w", m.Seq, err)
				}
				if err := in.own(ctx, &inc, eng); err != nil {
					return handled, fmt.Errorf("message %d: %w", m.Seq, err)
				}
				if inc.BlockList {
					handled = m.Seq
					continue
				}
				if gone, err := in.overtaken(eng, &inc); err != nil {
					return handled, fmt.Errorf("message %d: %w", m.Seq, err)
				} else if gone {
					// Deleted by its author before it came: filed (so
					// that it stays out), never shown.
					if err := in.file(inc); err != nil {
						return handled, fmt.Errorf("message %d: %w", m.Seq, err)
					}
					handled = m.Seq
					continue
				}
				if inc.SentCopy != nil && chat.IsChange(inc.SentCopy.ContentType) {
					// An edit or delete from another device of the
					// account: applied to the history, never shown.
					if err := eng.ApplySentCopy(*inc.SentCopy); err != nil {
						return handled, fmt.Errorf("message %d: %w", m.Seq, err)
					}
					handled = m.Seq
					continue
				}
			}
			show(inc)
			if err := in.file(inc); err != nil {
				return handled, fmt.Errorf("message %d: %w", m.Seq, err)
			}
			handled = m.Seq
			continue
		}
		eng, err := in.engine(ctx)
		if err != nil {
			return handled, fmt.Errorf("group message %d could not be filed: %w", m.Seq, err)
		}
		if eng.Handle(ctx, []protocol.Message{m}) != m.Seq {
			return handled, &filingError{fmt.Sprintf("group message %d could not be filed", m.Seq)}
		}
		in.Filed++
		handled = m.Seq
	}
	if in.eng != nil {
		if err := in.showNew(show); err != nil {
			return handled, err
		}
	}
	return handled, nil
}

// overtaken applies to inc, a text about to be shown, what its author's
// edit or delete that came first did to it (chat.Engine.Overtaken): the
// text shown is the edited one, and a deleted line is not shown (gone).
func (in *Inbox) overtaken(eng *chat.Engine, inc *Incoming) (gone bool, err error) {
	r := &inc.Received
	author, body := r.From, &r.Body
	switch {
	case inc.SentCopy != nil && inc.SentCopy.ContentType == sealed.ContentText:
		author, body = in.s.acct.Address(), &inc.SentCopy.Body
	case r.ContentType != sealed.ContentText:
		return false, nil
	}
	text, gone, err := eng.Overtaken(author, chatdb.MsgID(r.ID), string(*body))
	if err != nil || gone {
		return gone, err
	}
	*body = []byte(text)
	return false, nil
}

// file keeps a one-to-one message shown in the DM with its sender (a sent
// copy in the DM with its recipient), so that the REPL's history has it.
func (in *Inbox) file(inc Incoming) error {
	r := inc.Received
	if !r.Verified || in.eng == nil {
		return nil
	}
	switch {
	case inc.SentCopy != nil && inc.SentCopy.ContentType == sealed.ContentText:
		return in.eng.FileSentCopy(inc.SentCopy.To, chatdb.MsgID(r.ID), r.Time, string(inc.SentCopy.Body))
	case r.ContentType == sealed.ContentText && !strings.EqualFold(r.From, in.s.acct.Address()):
		return in.eng.FileSealedIn(r.From, chatdb.MsgID(r.ID), r.Time, string(r.Body))
	}
	return nil
}

// showNew shows the unread lines of the DMs, which came in their MLS
// groups (the chat engine filed them), and marks them read; the new lines
// of groups are counted in Groups.
func (in *Inbox) showNew(show func(Incoming)) error {
	convs, err := in.eng.Conversations()
	if err != nil {
		return err
	}
	for _, c := range convs {
		if c.Unread == 0 && !c.Invited {
			continue
		}
		if c.Kind == chatdb.KindGroup {
			if in.Groups == nil {
				in.Groups = map[string]int{}
			}
			in.Groups[chat.Label(c)] = max(c.Unread, 1)
			continue
		}
		if c.Kind != chatdb.KindDM {
			continue
		}
		lines, _, err := UnreadLines(in.eng, c)
		if err != nil {
			return err
		}
		for _, l := range lines {
			inc := Incoming{FromHistory: true, Received: client.Received{From: c.Peer, ID: sealed.ID(l.ID), Time: l.Time, Verified: true, ContentType: sealed.ContentText, Body: []byte(l.Text)}}
			if l.System {
				inc.System, inc.Body = l.Text, nil
			}
			show(inc)
		}
		if err := in.eng.MarkRead(c.ID); err != nil {
			return err
		}
	}
	return nil
}

// own reads what the account's other devices send it: a sent copy, shown
// as outgoing, and a sync bundle, applied. Either one from another account
// is shown as an ordinary message, marked.
func (in *Inbox) own(ctx context.Context, inc *Incoming, eng *chat.Engine) error {
	r := &inc.Received
	self := strings.EqualFold(r.From, in.s.acct.Address())
	switch r.ContentType {
	case client.ContentSentCopy:
		if !self {
			r.Verified, r.Problem = false, errors.New("a sent copy from another account")
			return nil
		}
		c, err := client.ParseSentCopy(r.Body)
		if err != nil {
			r.Verified, r.Problem = false, err
			return nil
		}
		inc.SentCopy = &c
	case client.ContentBlockList:
		if !self {
			r.Verified, r.Problem = false, errors.New("a block list from another account")
			return nil
		}
		if err := eng.TakeBlockList(r.From, r.Time, r.Body); err != nil {
			return err
		}
		inc.BlockList = true
	case client.ContentDeviceSync:
		res, err := in.s.applySync(*r, eng.ImportContacts)
		r.Body = nil // may hold the account key: never shown
		if err != nil {
			r.Verified, r.Problem = false, err
			return nil
		}
		inc.Synced = res
	}
	return nil
}

// Close closes the chat engine if Handle opened it.
func (in *Inbox) Close() {
	if in.eng != nil {
		in.eng.Close()
	}
}

// Release closes the chat engine if Handle opened it, until Handle needs
// it again: a reader that keeps running (qpc recv --follow) lets other
// qpc commands of the account (qpc send, qpc verify) open the chat
// database between the messages it handles.
func (in *Inbox) Release() {
	in.Close()
	in.eng = nil
}

// Receive empties the mailbox through in: it fetches, hands the messages
// to in, saves the replay cache (OpenReplayCache first) and acknowledges
// what in handled, until the mailbox is empty. It returns how many
// messages it fetched. A message in could not handle stays on the node,
// and Receive stops there.
func (s *Session) Receive(ctx context.Context, in *Inbox, show func(Incoming)) (int, error) {
	total := 0
	for {
		msgs, err := s.c.Fetch(ctx, 0, 500)
		if err != nil {
			return total, err
		}
		if len(msgs) == 0 {
			return total, nil
		}
		handled, ferr := in.Handle(ctx, msgs, show)
		// The ids go to disk before the messages leave the node, so
		// that a copy enqueued later is known for one.
		if err := s.acct.Replay.Save(); err != nil {
			return total, fmt.Errorf("%w (the messages stay on the node)", err)
		}
		// Shown or filed, so safe to delete from the node.
		if handled > 0 {
			if _, err := s.c.Ack(ctx, handled); err != nil {
				return total, err
			}
		}
		if ferr != nil {
			return total, fmt.Errorf("%w (it stays on the node)", ferr)
		}
		total += len(msgs)
	}
}

// filingError is an ErrNotFiled that says which message, in its own words.
type filingError struct{ text string }

func (e *filingError) Error() string { return e.text }
func (e *filingError) Unwrap() error { return ErrNotFiled }
