package chat

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// Edit and delete (issue 30). A person changes their own lines: an edit
// replaces a line's text, a delete wipes it. Either travels end to end
// encrypted the way the line went, referring to the line by its message
// id:
//
//   - in a conversation with an MLS group (a DM or a group), as an MLS
//     application message whose data is a typed frame, which every
//     device of every member gets, the author's other devices included;
//   - in a DM of sealed messages only (qpc send to a peer with no DM
//     group), sealed to each device of the peer with content type
//     ContentEdit or ContentDelete, and as a sent copy (client.SentCopy)
//     to the author's other devices.
//
// Typed frame (the application data of an MLS application message; a chat
// frame starts with its version, 1, never 0):
//
//	1      0
//	2      content type, big endian (ContentEdit or ContentDelete)
//	rest   the body of that content type
//
// Edit body (ContentEdit):
//
//	1      version (1)
//	16     the id of the message edited
//	8      the author's time of the edit, Unix milliseconds
//	rest   the new text, UTF-8, 1 to MaxText bytes
//
// Delete body (ContentDelete):
//
//	1      version (1)
//	16     the id of the message deleted
//	8      the author's time of the delete, Unix milliseconds
//
// A receiver applies one only to a line of the same conversation whose
// sender is the account the change comes from (any of its devices: the
// sealed sender, or the group's credential, names the account); a change
// of anyone else's line is refused and said so. Of several edits the one
// with the latest time wins, whatever order they arrive in. A delete
// overwrites the line's record with one that keeps the sender, the times
// and the id but no text (chatdb.Message.Deleted), on every device of
// both sides; a delete whose line has not arrived yet leaves a tombstone
// (the author and the id, bounded to maxTombstones), and the line, when
// it comes, is dropped; an edit whose line has not arrived yet is kept
// until it comes, and the line arrives edited (earlyedits.go).
const (
	// ContentEdit is the content type of an edit of one's own line.
	ContentEdit uint16 = 0x0104
	// ContentDelete is the content type of a delete of one's own line.
	ContentDelete uint16 = 0x0105
)

// typedFrameTag starts a typed frame in an MLS application message.
const typedFrameTag = 0

// changeHeader is the length of an edit's or a delete's body before the
// text.
const changeHeader = 1 + 16 + 8

// Errors of edits and deletes.
var (
	// ErrChangeFrame means an edit or delete from another client is
	// malformed.
	ErrChangeFrame = fmt.Errorf("%w: edit or delete", ErrFrame)
	// ErrNotOwnLine means the line to edit or delete is not the
	// account's own (or is a system line).
	ErrNotOwnLine = errors.New("only your own messages can be edited or deleted")
	// ErrNoLine means the conversation has no line of that number.
	ErrNoLine = errors.New("no such line")
	// ErrLineDeleted means the line was deleted: there is nothing to edit
	// or delete.
	ErrLineDeleted = errors.New("the message was deleted")
)

// IsChange reports whether a sealed content type is an edit or a delete:
// what the one-shot reader hands to the engine rather than shows.
func IsChange(contentType uint16) bool {
	return contentType == ContentEdit || contentType == ContentDelete
}

// changeFrame is an edit (Delete false) or a delete of line Target.
type changeFrame struct {
	Delete bool
	Target chatdb.MsgID
	Time   time.Time
	Text   string
}

func (f *changeFrame) contentType() uint16 {
	if f.Delete {
		return ContentDelete
	}
	return ContentEdit
}

// marshal encodes f's body.
func (f *changeFrame) marshal() ([]byte, error) {
	if f.Delete && f.Text != "" {
		return nil, fmt.Errorf("%w: a delete with text", ErrChangeFrame)
	}
	if !f.Delete {
		if err := checkText(f.Text); err != nil {
			return nil, err
		}
	}
	b := make([]byte, changeHeader, changeHeader+len(f.Text))
	b[0] = frameVersion
	copy(b[1:17], f.Target[:])
	binary.BigEndian.PutUint64(b[17:25], uint64(f.Time.UnixMilli()))
	return append(b, f.Text...), nil
}

// parseChangeFrame decodes the body of content type ctype.
func parseChangeFrame(ctype uint16, b []byte) (*changeFrame, error) {
	if !IsChange(ctype) {
		return nil, fmt.Errorf("%w: content type %#04x", ErrChangeFrame, ctype)
	}
	if len(b) < changeHeader || b[0] != frameVersion {
		return nil, fmt.Errorf("%w: header", ErrChangeFrame)
	}
	f := &changeFrame{Delete: ctype == ContentDelete}
	copy(f.Target[:], b[1:17])
	ms := binary.BigEndian.Uint64(b[17:25])
	if ms == 0 || ms > 1<<53 {
		return nil, fmt.Errorf("%w: time", ErrChangeFrame)
	}
	f.Time = time.UnixMilli(int64(ms))
	text := string(b[changeHeader:])
	switch {
	case f.Delete && text != "":
		return nil, fmt.Errorf("%w: a delete with text", ErrChangeFrame)
	case !f.Delete:
		if err := checkText(text); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrChangeFrame, err)
		}
		f.Text = text
	}
	return f, nil
}

// marshalTyped wraps body of content type ctype as a typed frame.
func marshalTyped(ctype uint16, body []byte) []byte {
	b := make([]byte, 0, 3+len(body))
	b = append(b, typedFrameTag)
	b = binary.BigEndian.AppendUint16(b, ctype)
	return append(b, body...)
}

// parseTyped splits a typed frame; ok is false when data is not one (a
// chat frame).
func parseTyped(data []byte) (ctype uint16, body []byte, ok bool, err error) {
	if len(data) == 0 || data[0] != typedFrameTag {
		return 0, nil, false, nil
	}
	if len(data) < 3 {
		return 0, nil, true, fmt.Errorf("%w: typed frame of %d bytes", ErrFrame, len(data))
	}
	return binary.BigEndian.Uint16(data[1:3]), data[3:], true, nil
}

// Edit replaces the text of the account's own line seq (its number in
// the conversation's history, as the REPL shows it) of conv with text, on
// every device of every member, and returns the line as it is now. A line
// still waiting in the outbox is changed there; a line that left needs
// the node (ErrOffline).
func (e *Engine) Edit(ctx context.Context, conv chatdb.ConvID, seq uint64, text string) (chatdb.Message, error) {
	if err := checkText(text); err != nil {
		return chatdb.Message{}, err
	}
	return e.change(ctx, conv, seq, false, text)
}

// Delete wipes the account's own line seq of conv from the history of
// every device of every member: the record keeps who wrote it and when,
// not the text. It returns the line as it is now.
func (e *Engine) Delete(ctx context.Context, conv chatdb.ConvID, seq uint64) (chatdb.Message, error) {
	return e.change(ctx, conv, seq, true, "")
}

// change is Edit (del false) and Delete.
func (e *Engine) change(ctx context.Context, conv chatdb.ConvID, seq uint64, del bool, text string) (chatdb.Message, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.conversation(conv)
	if err != nil {
		return chatdb.Message{}, err
	}
	m, err := e.ownLine(c, seq)
	if err != nil {
		return m, err
	}
	f := &changeFrame{Delete: del, Target: m.ID, Time: e.now(), Text: text}
	if !f.Time.After(m.Edited) {
		// A clock that went back would lose this edit to the last one.
		f.Time = m.Edited.Add(time.Millisecond)
	}
	queued, err := e.changeQueued(c, m, f)
	if err != nil || queued {
		if err != nil {
			return m, err
		}
		return e.lineAt(c.ID, seq)
	}
	if c.Kind != chatdb.KindNote {
		if c.Left {
			return m, fmt.Errorf("%s: %w", Label(c), ErrLeft)
		}
		if !e.online {
			return m, ErrOffline
		}
		if err := e.sendChange(ctx, &c, f); err != nil {
			return m, err
		}
	}
	if err := e.db.Update(func(tx *chatdb.Tx) error { return e.applyChange(tx, &c, e.self, f) }); err != nil {
		return m, err
	}
	return e.lineAt(c.ID, seq)
}

// ownLine returns line seq of c when it is the account's own and not
// deleted.
func (e *Engine) ownLine(c chatdb.Conversation, seq uint64) (chatdb.Message, error) {
	m, err := e.lineAt(c.ID, seq)
	switch {
	case err != nil:
		return m, err
	case m.System || m.From != e.self:
		return m, fmt.Errorf("line %d of %s: %w", seq, Label(c), ErrNotOwnLine)
	case m.Deleted:
		return m, fmt.Errorf("line %d of %s: %w", seq, Label(c), ErrLineDeleted)
	}
	return m, nil
}

// lineAt returns line seq of conv.
func (e *Engine) lineAt(conv chatdb.ConvID, seq uint64) (chatdb.Message, error) {
	var m chatdb.Message
	err := e.db.View(func(tx *chatdb.Tx) error {
		var ok bool
		var err error
		m, ok, err = tx.MessageAt(conv, seq)
		if err == nil && !ok {
			err = fmt.Errorf("line %d: %w", seq, ErrNoLine)
		}
		return err
	})
	return m, err
}

// changeQueued applies f to line m of c when m has not left yet: its
// outbox entry takes the new text, or goes with the delete, and nobody
// else ever sees what it said before. e.mu is held.
func (e *Engine) changeQueued(c chatdb.Conversation, m chatdb.Message, f *changeFrame) (bool, error) {
	queued := false
	err := e.db.Update(func(tx *chatdb.Tx) error {
		box, err := tx.Outbox()
		if err != nil {
			return err
		}
		for _, o := range box {
			if o.Conv != c.ID || o.MsgID != m.ID || o.Payload != nil {
				continue
			}
			queued = true
			if f.Delete {
				err = tx.DeleteOutgoing(o.Seq)
			} else {
				o.Text = f.Text
				err = tx.PutOutgoing(&o)
			}
			if err != nil {
				return err
			}
		}
		if !queued {
			return nil
		}
		return e.applyChange(tx, &c, e.self, f)
	})
	return queued, err
}

// sendChange sends f to everyone who has c's line: the group's members'
// devices, or the DM peer's devices sealed and the account's other
// devices as sent copies. The outbox is flushed first, so that a change
// never overtakes a line sent before it. e.mu is held.
func (e *Engine) sendChange(ctx context.Context, c *chatdb.Conversation, f *changeFrame) error {
	if _, err := e.flush(ctx); err != nil {
		return fmt.Errorf("sending what waits in the outbox first: %w", err)
	}
	body, err := f.marshal()
	if err != nil {
		return err
	}
	var outs []client.Outgoing
	if c.GroupID != nil {
		outs, err = e.sealGroupData(ctx, c, marshalTyped(f.contentType(), body))
	} else {
		outs, _, err = e.acct.SealAllAs(ctx, c.Peer, sealed.NewID(), f.contentType(), body)
	}
	if err != nil {
		return err
	}
	if len(outs) == 0 {
		return nil // a group of this device alone
	}
	rs, err := e.acct.Client.EnqueueBatch(ctx, outs)
	if err != nil {
		return err
	}
	for i, r := range rs {
		if r.Err != nil {
			e.status("the change was not delivered to %s: %v", outs[i].Recipient, r.Err)
		}
	}
	return nil
}

// sealGroupData encrypts data as an MLS application message of c's group
// and seals it to every other leaf's device. e.mu is held.
func (e *Engine) sealGroupData(ctx context.Context, c *chatdb.Conversation, data []byte) ([]client.Outgoing, error) {
	var msg []byte
	var ts []target
	// The ratchet moves as the message is encrypted: the group state is
	// saved before the message leaves.
	if err := e.db.Update(func(tx *chatdb.Tx) error {
		g, err := e.loadGroup(tx, c)
		if err != nil {
			return err
		}
		if msg, err = g.Encrypt(data, nil); err != nil {
			return err
		}
		ts = e.leafTargets(members(g), g.OwnLeaf())
		return e.saveGroup(tx, c, g)
	}); err != nil {
		return nil, err
	}
	body := (&groupFrame{GroupID: c.GroupID, Message: msg}).marshal()
	entries, err := e.sealTargets(ctx, c, ts, ContentGroup, sealed.NewID(), body)
	if err != nil {
		return nil, err
	}
	outs := make([]client.Outgoing, len(entries))
	for i, en := range entries {
		outs[i] = client.Outgoing{Recipient: en.Recipient, Payload: en.Payload}
	}
	return outs, nil
}

// applyChange applies f from the account author to the line it names in
// c. A line of someone else is left alone and said so; a delete of a line
// not here yet leaves a tombstone.
func (e *Engine) applyChange(tx *chatdb.Tx, c *chatdb.Conversation, author string, f *changeFrame) error {
	what := "an edit"
	if f.Delete {
		what = "a delete"
	}
	m, ok, err := tx.FindMessage(c.ID, "", f.Target)
	if err != nil {
		return err
	}
	if !ok {
		if f.Delete {
			return e.addTombstone(tx, author, f.Target)
		}
		return e.keepEarlyEdit(tx, author, f) // earlyedits.go
	}
	if m.From != author {
		e.status("%s from %s of a message by %s in %s was refused: only its author can change it", what, author, m.From, Label(*c))
		return nil
	}
	switch {
	case m.Deleted:
		return nil
	case f.Delete:
		m.Text, m.Deleted, m.Edited = "", true, time.Time{}
	case !f.Time.After(m.Edited):
		return nil // a later edit is applied already
	default:
		m.Text, m.Edited = f.Text, f.Time
	}
	if err := tx.UpdateMessage(c.ID, &m); err != nil {
		return err
	}
	mm := m
	e.emit(Event{Conv: c.ID, Label: Label(*c), Message: &mm, Unread: c.Unread, Changed: true})
	return nil
}

// groupChange applies a typed frame of c's group from sender.
func (e *Engine) groupChange(tx *chatdb.Tx, c *chatdb.Conversation, sender string, ctype uint16, body []byte) error {
	f, err := parseChangeFrame(ctype, body)
	if err != nil {
		e.status("a message from %s in %s was dropped: %v", sender, Label(*c), err)
		return nil
	}
	return e.applyChange(tx, c, sender, f)
}

// handleSealedChange applies an edit or delete sealed to this device by
// from, for a line of the DM with from.
func (e *Engine) handleSealedChange(from string, o *sealed.Opened) error {
	f, err := parseChangeFrame(o.ContentType, o.Body)
	if err != nil {
		e.status("a message from %s was dropped: %v", from, err)
		return nil
	}
	if from == e.self {
		return nil // the account's own devices get sent copies
	}
	return e.changeInDM(from, from, f)
}

// changeInDM applies f from author in the DM with peer, made if there is
// none (a delete that overtook the DM's first line leaves its tombstone).
func (e *Engine) changeInDM(peer, author string, f *changeFrame) error {
	return e.db.Update(func(tx *chatdb.Tx) error {
		c, ok, err := e.dmConversation(tx, peer)
		if err != nil {
			return err
		}
		if !ok {
			if f.Delete {
				return e.addTombstone(tx, author, f.Target)
			}
			return e.keepEarlyEdit(tx, author, f)
		}
		return e.applyChange(tx, &c, author, f)
	})
}

// ApplySentCopy applies what another device of the account sent sealed to
// sc.To that the one-shot reader does not show (an edit or a delete), in
// the DM with sc.To. Only sent copies from the account's own devices may
// come here; the reader checked the copy's signature.
func (e *Engine) ApplySentCopy(sc client.SentCopy) error {
	if !IsChange(sc.ContentType) {
		return fmt.Errorf("%w: content type %#04x", ErrChangeFrame, sc.ContentType)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sentCopyChange(sc)
}

// sentCopyChange is ApplySentCopy with e.mu held.
func (e *Engine) sentCopyChange(sc client.SentCopy) error {
	f, err := parseChangeFrame(sc.ContentType, sc.Body)
	if err != nil {
		e.status("a change from your other device was dropped: %v", err)
		return nil
	}
	to, err := e.normalize(sc.To)
	if err != nil || to == e.self {
		e.status("a change from your other device was dropped: recipient %q", sc.To)
		return nil
	}
	return e.changeInDM(to, e.self, f)
}

// typedDropReason is why a typed frame was dropped: err, or its content type
// unknown here.
func typedDropReason(err error, ctype uint16) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: unknown content type %#04x in a group", ErrFrame, ctype)
}
