package chatdb

import (
	"fmt"
)

// EachMessage opens the messages of conversation id in Seq order and calls
// fn with each; an error from fn stops the scan and is returned. Only one
// message is decrypted at a time, so that a search of a long history
// holds one record in memory, not all of them.
func (tx *Tx) EachMessage(id ConvID, fn func(Message) error) error {
	c := tx.bucket(bucketMessages).Cursor()
	for k, v := c.Seek(id[:]); inConv(k, id); k, v = c.Next() {
		m, _, err := decodeValue(tx, bucketMessages, k, v, decodeMessage)
		if err != nil {
			return err
		}
		m.Seq = messageSeq(k)
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// MessageAt returns message seq of conversation id; ok is false when
// there is none.
func (tx *Tx) MessageAt(id ConvID, seq uint64) (Message, bool, error) {
	m, ok, err := load(tx, bucketMessages, messageKey(id, seq), decodeMessage)
	if ok {
		m.Seq = seq
	}
	return m, ok, err
}

// FindMessage returns the message of conversation id whose sender is from
// ("" for any sender) and whose id is msg, looking from the newest back
// (an edit or a delete is most often about a recent line); ok is false
// when there is none. System lines are never found: they have no sender's
// id.
func (tx *Tx) FindMessage(id ConvID, from string, msg MsgID) (Message, bool, error) {
	c := tx.bucket(bucketMessages).Cursor()
	for k, v := lastMessage(c, id); inConv(k, id); k, v = c.Prev() {
		m, _, err := decodeValue(tx, bucketMessages, k, v, decodeMessage)
		if err != nil {
			return Message{}, false, err
		}
		if m.ID == msg && (from == "" || m.From == from) && !m.System {
			m.Seq = messageSeq(k)
			return m, true, nil
		}
	}
	return Message{}, false, nil
}

// EachRecord opens every value of every bucket and calls fn with its
// bucket's name, its key and the record inside: what the file holds, as
// whoever has the export key reads it. It is for checks that something is
// gone from the file (a deleted message's text), and for audits.
func (tx *Tx) EachRecord(fn func(bucket string, key, record []byte) error) error {
	for _, b := range allBuckets {
		c := tx.bucket(b).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				continue // a nested bucket: there are none
			}
			record, err := tx.s.open(b, k, v)
			if err != nil {
				return corrupt(b, k, fmt.Errorf("opening: %w", err))
			}
			if err := fn(string(b), k, record); err != nil {
				return err
			}
		}
	}
	return nil
}
