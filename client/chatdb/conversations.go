package chatdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Conversation returns the conversation id; ok is false when there is
// none.
func (tx *Tx) Conversation(id ConvID) (Conversation, bool, error) {
	c, ok, err := load(tx, bucketConversations, id[:], decodeConversation)
	if ok {
		c.ID = id
	}
	return c, ok, err
}

// Conversations returns every conversation, in the order of their ids,
// which is random: callers sort them as they show them.
func (tx *Tx) Conversations() ([]Conversation, error) {
	var all []Conversation
	err := each(tx, bucketConversations, nil, decodeConversation, func(k []byte, c Conversation) error {
		if len(k) != len(c.ID) {
			return corrupt(bucketConversations, k, fmt.Errorf("key of %d bytes", len(k)))
		}
		c.ID = ConvID(k)
		all = append(all, c)
		return nil
	})
	return all, err
}

// PutConversation stores c, replacing the conversation with its ID.
func (tx *Tx) PutConversation(c *Conversation) error {
	return tx.put(bucketConversations, c.ID[:], encodeConversation(c))
}

// DeleteConversation deletes the conversation id with its history and
// group state; it is not an error if there is none. Its outbox entries
// stay (a commit that removes the account may still have to go out), and
// its seen marks go with PruneSeen.
func (tx *Tx) DeleteConversation(id ConvID) error {
	var keys [][]byte
	c := tx.bucket(bucketMessages).Cursor()
	for k, _ := c.Seek(id[:]); inConv(k, id); k, _ = c.Next() {
		keys = append(keys, slices.Clone(k))
	}
	for _, k := range keys {
		if err := tx.delete(bucketMessages, k); err != nil {
			return err
		}
	}
	if err := tx.delete(bucketGroupState, id[:]); err != nil {
		return err
	}
	return tx.delete(bucketConversations, id[:])
}

// messageKeyLen is the length of a message's key: ConvID | Seq.
const messageKeyLen = len(ConvID{}) + 8

func messageKey(id ConvID, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, messageKeyLen), id[:]...), seq)
}

// inConv reports whether k is the key of a message of conversation id.
func inConv(k []byte, id ConvID) bool {
	return len(k) == messageKeyLen && ConvID(k[:len(id)]) == id
}

func messageSeq(k []byte) uint64 { return binary.BigEndian.Uint64(k[len(ConvID{}):]) }

// lastMessage moves c to the last message of conversation id and returns
// its key and value, nil if the conversation has no history.
func lastMessage(c *bolt.Cursor, id ConvID) (k, v []byte) {
	end := messageKey(id, math.MaxUint64)
	switch k, v = c.Seek(end); {
	case k == nil:
		k, v = c.Last()
	case !bytes.Equal(k, end):
		k, v = c.Prev()
	}
	if !inConv(k, id) {
		return nil, nil
	}
	return k, v
}

// checkConversation fails with ErrNotFound if the conversation id does not
// exist.
func (tx *Tx) checkConversation(id ConvID) error {
	if tx.bucket(bucketConversations).Get(id[:]) == nil {
		return fmt.Errorf("chatdb: conversation %x: %w", id, ErrNotFound)
	}
	return nil
}

// AppendMessage adds m to the history of conversation id, setting m.Seq to
// the next place: 1, 2, ... It fails with ErrNotFound if the conversation
// does not exist.
func (tx *Tx) AppendMessage(id ConvID, m *Message) error {
	if err := tx.checkConversation(id); err != nil {
		return err
	}
	var seq uint64 = 1
	if k, _ := lastMessage(tx.bucket(bucketMessages).Cursor(), id); k != nil {
		if seq = messageSeq(k) + 1; seq == 0 {
			return fmt.Errorf("chatdb: conversation %x: history is full", id)
		}
	}
	if err := tx.put(bucketMessages, messageKey(id, seq), encodeMessage(m)); err != nil {
		return err
	}
	m.Seq = seq
	return nil
}

// UpdateMessage replaces message m.Seq of conversation id with m. It fails
// with ErrNotFound if there is no such message.
func (tx *Tx) UpdateMessage(id ConvID, m *Message) error {
	k := messageKey(id, m.Seq)
	if tx.bucket(bucketMessages).Get(k) == nil {
		return fmt.Errorf("chatdb: message %d of conversation %x: %w", m.Seq, id, ErrNotFound)
	}
	return tx.put(bucketMessages, k, encodeMessage(m))
}

// Messages returns the last `last` messages of conversation id in Seq
// order, or all of them when last <= 0. Only the messages returned are
// decrypted.
func (tx *Tx) Messages(id ConvID, last int) ([]Message, error) {
	var msgs []Message
	add := func(k, sealed []byte) error {
		m, _, err := decodeValue(tx, bucketMessages, k, sealed, decodeMessage)
		m.Seq = messageSeq(k)
		msgs = append(msgs, m)
		return err
	}
	c := tx.bucket(bucketMessages).Cursor()
	if last <= 0 {
		for k, v := c.Seek(id[:]); inConv(k, id); k, v = c.Next() {
			if err := add(k, v); err != nil {
				return nil, err
			}
		}
		return msgs, nil
	}
	for k, v := lastMessage(c, id); inConv(k, id) && len(msgs) < last; k, v = c.Prev() {
		if err := add(k, v); err != nil {
			return nil, err
		}
	}
	slices.Reverse(msgs)
	return msgs, nil
}

// GroupState returns the MLS group state of conversation id; nil, nil
// when it has none.
func (tx *Tx) GroupState(id ConvID) ([]byte, error) {
	state, _, err := load(tx, bucketGroupState, id[:], raw)
	return state, err
}

// PutGroupState stores the MLS group state of conversation id, which must
// exist (ErrNotFound otherwise).
func (tx *Tx) PutGroupState(id ConvID, state []byte) error {
	if err := tx.checkConversation(id); err != nil {
		return err
	}
	return tx.put(bucketGroupState, id[:], state)
}
