package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// PutSession stores s under h, replacing a session already there. The user
// must have an account (protocol.ErrUnknownUser), so that DeleteAccount can
// remove every session of theirs; when sess.AccountCreated is set, it must
// be that account's creation time (else protocol.ErrUnknownUser too: the
// account the session was granted to is gone). The binding is kept in the
// usersessions index, whose values were empty before.
func (s *Store) PutSession(h node.TokenHash, sess node.Session) error {
	return s.update("put session", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, sess.User); err != nil {
			return err
		}
		var binding []byte
		if !sess.AccountCreated.IsZero() {
			acct, err := decodeAccount(sess.User, tx.Bucket(bucketAccounts).Get([]byte(sess.User)))
			if err != nil {
				return err
			}
			if !acct.Created.Equal(sess.AccountCreated) {
				return fmt.Errorf("%w: %q was registered again", protocol.ErrUnknownUser, sess.User)
			}
			binding = make([]byte, timeLen)
			putTime(binding, sess.AccountCreated)
		}
		if err := deleteSession(tx, h); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSessions).Put(h[:], encodeSession(sess)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSessExpiry).Put(idExpiryKey(sess.Expires, h), nil); err != nil {
			return err
		}
		byUser, err := tx.Bucket(bucketUserSessions).CreateBucketIfNotExists([]byte(sess.User))
		if err != nil {
			return err
		}
		return byUser.Put(h[:], binding)
	})
}

// Session returns the session stored under h, or protocol.ErrNoSession. An
// expired session is returned as stored until Expire removes it; the caller
// checks Expires. AccountCreated is read from the usersessions index (zero
// for a session stored before sessions were bound to accounts).
func (s *Store) Session(h node.TokenHash) (node.Session, error) {
	var sess node.Session
	err := s.view("session", func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketSessions).Get(h[:])
		if raw == nil {
			return protocol.ErrNoSession
		}
		var err error
		if sess, err = decodeSession(raw); err != nil {
			return err
		}
		byUser := tx.Bucket(bucketUserSessions).Bucket([]byte(sess.User))
		if byUser == nil {
			return fmt.Errorf("%w: session of %q missing from its index", ErrCorrupt, sess.User)
		}
		switch binding := byUser.Get(h[:]); len(binding) {
		case 0:
		case timeLen:
			sess.AccountCreated, err = getTime(binding)
		default:
			err = fmt.Errorf("%w: session binding of %d bytes", ErrCorrupt, len(binding))
		}
		return err
	})
	return sess, err
}

// DeleteSession removes the session under h, if any.
func (s *Store) DeleteSession(h node.TokenHash) error {
	return s.update("delete session", func(tx *bolt.Tx) error {
		return deleteSession(tx, h)
	})
}

// deleteSession removes the session under h and its index entries, if
// there is one.
func deleteSession(tx *bolt.Tx, h node.TokenHash) error {
	sessions := tx.Bucket(bucketSessions)
	raw := sessions.Get(h[:])
	if raw == nil {
		return nil
	}
	old, err := decodeSession(raw)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketSessExpiry).Delete(idExpiryKey(old.Expires, h)); err != nil {
		return err
	}
	if byUser := tx.Bucket(bucketUserSessions).Bucket([]byte(old.User)); byUser != nil {
		if err := byUser.Delete(h[:]); err != nil {
			return err
		}
		if k, _ := byUser.Cursor().First(); k == nil {
			if err := tx.Bucket(bucketUserSessions).DeleteBucket([]byte(old.User)); err != nil {
				return err
			}
		}
	}
	return sessions.Delete(h[:])
}

// deleteUserSessions removes every session of user.
func deleteUserSessions(tx *bolt.Tx, user string) error {
	byUser := tx.Bucket(bucketUserSessions).Bucket([]byte(user))
	if byUser == nil {
		return nil
	}
	var hashes []node.TokenHash
	err := byUser.ForEach(func(k, _ []byte) error {
		var h node.TokenHash
		if len(k) != hashLen {
			return fmt.Errorf("%w: session index key of %d bytes", ErrCorrupt, len(k))
		}
		copy(h[:], k)
		hashes = append(hashes, h)
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range hashes {
		if err := deleteSession(tx, h); err != nil {
			return err
		}
	}
	return deleteSubBucket(tx.Bucket(bucketUserSessions), []byte(user))
}

// expireSessions removes up to expireChunk sessions whose Expires is not
// after now, in one transaction, and reports whether there may be more.
func (s *Store) expireSessions(now time.Time) (more bool, err error) {
	err = s.update("expire sessions", func(tx *bolt.Tx) error {
		more = false
		var doomed []node.TokenHash
		c := tx.Bucket(bucketSessExpiry).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			expires, h, err := parseIDExpiryKey(k)
			if err != nil {
				return err
			}
			if expires.After(now) {
				break
			}
			if len(doomed) == s.expireChunk {
				more = true
				break
			}
			doomed = append(doomed, h)
		}
		for _, h := range doomed {
			if tx.Bucket(bucketSessions).Get(h[:]) == nil {
				return fmt.Errorf("%w: expiry entry for missing session", ErrCorrupt)
			}
			if err := deleteSession(tx, h); err != nil {
				return err
			}
		}
		return nil
	})
	return more, err
}
