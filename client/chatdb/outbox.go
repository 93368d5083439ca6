package chatdb

import (
	"encoding/binary"
	"fmt"
)

func outboxKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// PutOutgoing adds o to the end of the outbox when o.Seq is 0, setting
// o.Seq to the next number (never one used before, also after deletes),
// and otherwise replaces entry o.Seq, which must exist (ErrNotFound).
func (tx *Tx) PutOutgoing(o *Outgoing) error {
	b := tx.bucket(bucketOutbox)
	seq := o.Seq
	if seq == 0 {
		var err error
		if seq, err = b.NextSequence(); err != nil {
			return fmt.Errorf("chatdb: put outgoing: %w", err)
		}
	} else if b.Get(outboxKey(seq)) == nil {
		return fmt.Errorf("chatdb: outgoing %d: %w", seq, ErrNotFound)
	}
	if err := tx.put(bucketOutbox, outboxKey(seq), encodeOutgoing(o)); err != nil {
		return err
	}
	o.Seq = seq
	return nil
}

// Outbox returns the outbox in Seq order.
func (tx *Tx) Outbox() ([]Outgoing, error) {
	var all []Outgoing
	err := each(tx, bucketOutbox, nil, decodeOutgoing, func(k []byte, o Outgoing) error {
		if len(k) != 8 {
			return corrupt(bucketOutbox, k, fmt.Errorf("key of %d bytes", len(k)))
		}
		o.Seq = binary.BigEndian.Uint64(k)
		all = append(all, o)
		return nil
	})
	return all, err
}

// DeleteOutgoing deletes entry seq from the outbox; it is not an error if
// there is none.
func (tx *Tx) DeleteOutgoing(seq uint64) error {
	return tx.delete(bucketOutbox, outboxKey(seq))
}
