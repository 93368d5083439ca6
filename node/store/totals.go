package store

import (
	bolt "go.etcd.io/bbolt"
)

// Totals returns how many messages and payload bytes all mailboxes hold,
// and how many accounts there are. It reads every mailbox's meta record:
// cheap at a metrics scrape's pace on a community node, not for hot paths.
func (s *Store) Totals() (messages, bytes int64, accounts int, err error) {
	err = s.viewMail("totals", func(tx *bolt.Tx, ov map[string]*walQueue) error {
		accounts = tx.Bucket(bucketAccounts).Stats().KeyN
		// What the write-ahead log holds changes bbolt's records by
		// its queues' difference to their base.
		for _, q := range ov {
			messages += int64(q.meta.count) - int64(q.base.count)
			bytes += int64(q.meta.bytes) - int64(q.base.bytes)
		}
		return tx.Bucket(bucketMailboxMeta).ForEach(func(_, v []byte) error {
			meta, err := decodeQueueMeta(v)
			if err != nil {
				return err
			}
			messages += int64(meta.count)
			bytes += int64(meta.bytes)
			return nil
		})
	})
	return messages, bytes, accounts, err
}

// sumMailboxBytes returns the payload bytes all mailboxes hold, from their
// meta records.
func sumMailboxBytes(tx *bolt.Tx) (int64, error) {
	var total int64
	err := tx.Bucket(bucketMailboxMeta).ForEach(func(_, v []byte) error {
		meta, err := decodeQueueMeta(v)
		if err != nil {
			return err
		}
		total += int64(meta.bytes)
		return nil
	})
	return total, err
}

// MailboxBytes returns the payload bytes all mailboxes hold, as counted
// for the node-wide bound (Options.Limits.TotalBytes); cheap.
func (s *Store) MailboxBytes() int64 { return s.mailBytes.Load() }
