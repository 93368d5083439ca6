package chatdb

import (
	"slices"
	"strings"
	"time"
)

// The encodings of the records; the layouts are in the package doc. Keys
// (Conversation.ID, Message.Seq, Outgoing.Seq) are not encoded: the
// callers set them from the record's key.

func encodeConversation(c *Conversation) []byte {
	var e encoder
	e.byte(byte(c.Kind))
	e.string(c.Name)
	e.string(c.Peer)
	e.bytes(c.GroupID)
	e.string(c.Home)
	e.uint(uint64(len(c.Members)))
	for _, m := range c.Members {
		e.string(m)
	}
	e.bool(c.Invited)
	e.string(c.InvitedBy)
	e.bool(c.Left)
	e.int(int64(c.Unread))
	senders := make([]string, 0, len(c.Senders))
	for s := range c.Senders {
		senders = append(senders, s)
	}
	slices.Sort(senders)
	e.uint(uint64(len(senders)))
	for _, s := range senders {
		e.string(s)
		e.uint(c.Senders[s])
	}
	e.uint(c.SentSeq)
	e.time(c.Created)
	e.time(c.Updated)
	return e.b
}

func decodeConversation(b []byte) (Conversation, error) {
	d := decoder{b: b}
	c := Conversation{
		Kind:    Kind(d.byte()),
		Name:    d.string(),
		Peer:    d.string(),
		GroupID: d.bytes(),
		Home:    d.string(),
	}
	if n := d.count(); n > 0 {
		c.Members = make([]string, n)
		for i := range c.Members {
			c.Members[i] = d.string()
		}
	}
	c.Invited = d.bool()
	c.InvitedBy = d.string()
	c.Left = d.bool()
	c.Unread = d.intN()
	if n := d.count(); n > 0 {
		c.Senders = make(map[string]uint64, n)
		prev := ""
		for i := range n {
			s := d.string()
			if i > 0 && strings.Compare(s, prev) <= 0 {
				d.fail("sender %q after %q", s, prev)
			}
			c.Senders[s] = d.uint()
			prev = s
		}
	}
	c.SentSeq = d.uint()
	c.Created = d.time()
	c.Updated = d.time()
	return c, d.done()
}

func encodeMessage(m *Message) []byte {
	var e encoder
	e.id(m.ID)
	e.string(m.From)
	e.time(m.Time)
	e.time(m.Received)
	e.string(m.Text)
	e.bool(m.System)
	e.byte(byte(m.Status))
	// Absent when unset, so that a record of before edits existed and one
	// never edited are the same bytes: one encoding per record.
	if !m.Edited.IsZero() || m.Deleted {
		e.time(m.Edited)
		e.bool(m.Deleted)
	}
	return e.b
}

func decodeMessage(b []byte) (Message, error) {
	d := decoder{b: b}
	m := Message{
		ID:       d.id(),
		From:     d.string(),
		Time:     d.time(),
		Received: d.time(),
		Text:     d.string(),
		System:   d.bool(),
		Status:   Status(d.byte()),
	}
	if d.err == nil && len(d.b) > 0 {
		m.Edited, m.Deleted = d.time(), d.bool()
		if m.Edited.IsZero() {
			m.Edited = time.Time{} // the zero time decodes in UTC: one value per record
		}
		if d.err == nil && m.Edited.IsZero() && !m.Deleted {
			d.fail("message: edit fields present but empty")
		}
		if d.err == nil && m.Deleted && m.Text != "" {
			d.fail("message: deleted but holds text")
		}
	}
	return m, d.done()
}

func encodeContact(c *Contact) []byte {
	var e encoder
	e.string(c.Address)
	e.bytes(c.IdentityKey)
	e.bool(c.Verified)
	e.bytes(c.VerifiedKey)
	e.bool(c.KeyChanged)
	e.time(c.Updated)
	// Absent when unset, so that a record of before they existed and one
	// without them are the same bytes: one encoding per record.
	if len(c.PreviousKey) > 0 || c.NoticeOnSend {
		e.bytes(c.PreviousKey)
		e.bool(c.NoticeOnSend)
	}
	return e.b
}

func decodeContact(b []byte) (Contact, error) {
	d := decoder{b: b}
	c := Contact{
		Address:     d.string(),
		IdentityKey: d.bytes(),
		Verified:    d.bool(),
		VerifiedKey: d.bytes(),
		KeyChanged:  d.bool(),
		Updated:     d.time(),
	}
	// Records written before key changes were kept for the next send end
	// here, as do records without one.
	if d.err == nil && len(d.b) > 0 {
		c.PreviousKey = d.bytes()
		c.NoticeOnSend = d.bool()
		if d.err == nil && len(c.PreviousKey) == 0 && !c.NoticeOnSend {
			d.fail("contact: key change fields present but empty")
		}
	}
	return c, d.done()
}

func encodeOutgoing(o *Outgoing) []byte {
	var e encoder
	e.id(o.Conv)
	e.id(o.MsgID)
	e.string(o.Text)
	e.uint(o.ChatSeq)
	e.string(o.Recipient)
	e.bytes(o.Payload)
	e.time(o.Created)
	e.int(int64(o.Attempts))
	// Absent when unset, so that a record of before they existed and one
	// without them are the same bytes: one encoding per record.
	if o.TTL != 0 || o.MaxHops != 0 {
		e.int(int64(o.TTL))
		e.byte(o.MaxHops)
	}
	return e.b
}

func decodeOutgoing(b []byte) (Outgoing, error) {
	d := decoder{b: b}
	o := Outgoing{
		Conv:      d.id(),
		MsgID:     d.id(),
		Text:      d.string(),
		ChatSeq:   d.uint(),
		Recipient: d.string(),
		Payload:   d.bytes(),
		Created:   d.time(),
		Attempts:  d.intN(),
	}
	if d.err == nil && len(d.b) > 0 {
		o.TTL, o.MaxHops = time.Duration(d.int()), d.byte()
		if d.err == nil && (o.TTL < 0 || o.TTL == 0 && o.MaxHops == 0) {
			d.fail("outgoing: ttl %d, max hops %d", o.TTL, o.MaxHops)
		}
	}
	return o, d.done()
}

// keyPackage is a stored KeyPackage: its ref is in the record because its
// key is only the ref's HMAC.
type keyPackage struct {
	ref, bundle []byte
}

func encodeKeyPackage(k *keyPackage) []byte {
	var e encoder
	e.bytes(k.ref)
	e.bytes(k.bundle)
	return e.b
}

func decodeKeyPackage(b []byte) (keyPackage, error) {
	d := decoder{b: b}
	k := keyPackage{ref: d.bytes(), bundle: d.bytes()}
	return k, d.done()
}

// encodeTime and decodeTime are a seen mark's record.
func encodeTime(t *time.Time) []byte {
	var e encoder
	e.time(*t)
	return e.b
}

func decodeTime(b []byte) (time.Time, error) {
	d := decoder{b: b}
	t := d.time()
	return t, d.done()
}

// encodeVersion and decodeVersion are the format version's record.
func encodeVersion(v *uint64) []byte {
	var e encoder
	e.uint(*v)
	return e.b
}

func decodeVersion(b []byte) (uint64, error) {
	d := decoder{b: b}
	v := d.uint()
	return v, d.done()
}
