package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
)

// ChangeRecord replaces user's OPAQUE record with record and removes every
// session of user but those in keep, in one transaction, so that no
// session made under the old password outlives the new one even across a
// crash. The account's creation time stays: sessions are bound to it, and
// the kept session goes on. It returns how many sessions it removed;
// protocol.ErrUnknownUser if there is no such user.
func (s *Store) ChangeRecord(user string, record []byte, keep ...node.TokenHash) (ended int, err error) {
	err = s.update("change record", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		acct, err := decodeAccount(user, tx.Bucket(bucketAccounts).Get([]byte(user)))
		if err != nil {
			return err
		}
		acct.Record = record
		if err := tx.Bucket(bucketAccounts).Put([]byte(user), encodeAccount(acct)); err != nil {
			return err
		}
		ended, err = endSessions(tx, user, keep)
		return err
	})
	return ended, err
}

// EndSessions removes every session of user but those in keep and returns
// how many it removed; protocol.ErrUnknownUser if there is no such user.
func (s *Store) EndSessions(user string, keep ...node.TokenHash) (ended int, err error) {
	err = s.update("end sessions", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		ended, err = endSessions(tx, user, keep)
		return err
	})
	return ended, err
}

// endSessions removes user's sessions but those in keep, through the
// usersessions index, and returns how many it removed.
func endSessions(tx *bolt.Tx, user string, keep []node.TokenHash) (int, error) {
	byUser := tx.Bucket(bucketUserSessions).Bucket([]byte(user))
	if byUser == nil {
		return 0, nil
	}
	var doomed []node.TokenHash
	err := byUser.ForEach(func(k, _ []byte) error {
		if len(k) != hashLen {
			return fmt.Errorf("%w: session index key of %d bytes", ErrCorrupt, len(k))
		}
		var h node.TokenHash
		copy(h[:], k)
		for _, kept := range keep {
			if h == kept {
				return nil
			}
		}
		doomed = append(doomed, h)
		return nil
	})
	if err != nil {
		return 0, err
	}
	// deleteSession drops the user's index bucket with its last entry.
	for _, h := range doomed {
		if err := deleteSession(tx, h); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}
