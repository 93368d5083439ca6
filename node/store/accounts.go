package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// CreateAccount adds a with an empty mailbox. It fails with
// protocol.ErrUserExists if a.User is taken or its name is held after a
// deletion until after a.Created, protocol.ErrAccountsFull when the store holds
// Options.MaxAccounts accounts, and ErrInvalidUser if the name is empty or
// longer than MaxUserLen. A name whose hold has ended can be taken again;
// its new mailbox starts at sequence number 1.
func (s *Store) CreateAccount(a node.Account) error {
	if err := checkUser(a.User); err != nil {
		return fmt.Errorf("store: create account: %w", err)
	}
	return s.update("create account", func(tx *bolt.Tx) error {
		return s.createAccount(tx, a)
	})
}

// createAccount creates a in tx: the name must be free at a.Created and
// the store below its cap of accounts.
func (s *Store) createAccount(tx *bolt.Tx, a node.Account) error {
	user := []byte(a.User)
	if err := nameFree(tx, a.User, a.Created); err != nil {
		return err
	}
	accounts := tx.Bucket(bucketAccounts)
	// Stats walks the bucket's pages: a few for a community node's
	// accounts, and registration is throttled.
	if n := accounts.Stats().KeyN; n >= s.opts.MaxAccounts {
		return fmt.Errorf("%w: %d accounts", protocol.ErrAccountsFull, n)
	}
	if err := accounts.Put(user, encodeAccount(a)); err != nil {
		return err
	}
	if _, err := tx.Bucket(bucketMailboxes).CreateBucket(user); err != nil {
		return err
	}
	return tx.Bucket(bucketMailboxMeta).Put(user, encodeQueueMeta(queueMeta{}))
}

// CheckName returns nil if user could be registered at now, else
// protocol.ErrUserExists: the name is taken, or held after a deletion.
func (s *Store) CheckName(user string, now time.Time) error {
	if err := checkUser(user); err != nil {
		return fmt.Errorf("store: check name: %w", err)
	}
	return s.view("check name", func(tx *bolt.Tx) error {
		return nameFree(tx, user, now)
	})
}

// nameFree returns nil if user is neither an account nor held at now.
func nameFree(tx *bolt.Tx, user string, now time.Time) error {
	u := []byte(user)
	if tx.Bucket(bucketAccounts).Get(u) != nil {
		return fmt.Errorf("%w: %q", protocol.ErrUserExists, user)
	}
	raw := tx.Bucket(bucketNameHolds).Get(u)
	if raw == nil {
		return nil
	}
	until, err := decodeNameHold(raw)
	if err != nil {
		return err
	}
	if until.After(now) {
		return fmt.Errorf("%w: %q was deleted recently and is held until %s",
			protocol.ErrUserExists, user, until.UTC().Format(time.DateOnly))
	}
	return nil
}

// Account returns the account of user, or protocol.ErrUnknownUser.
func (s *Store) Account(user string) (node.Account, error) {
	var a node.Account
	err := s.view("account", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		var err error
		a, err = decodeAccount(user, tx.Bucket(bucketAccounts).Get([]byte(user)))
		return err
	})
	return a, err
}

// DeleteAccount removes user and everything stored for them, in one
// transaction: account, keys, key packages, mailbox with its messages and
// their expiry entries, and sessions; and holds the name until holdUntil
// (not at all when it is zero). protocol.ErrUnknownUser if there is no such
// user.
func (s *Store) DeleteAccount(user string, holdUntil time.Time) error {
	var freed uint64
	err := s.update("delete account", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		u := []byte(user)
		freed = 0
		for _, q := range accountQueues(tx, user) {
			if raw := tx.Bucket(bucketMailboxMeta).Get(q); raw != nil {
				meta, err := decodeQueueMeta(raw)
				if err != nil {
					return err
				}
				freed += meta.bytes
			}
			if err := deleteMailbox(tx, string(q)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketMailboxMeta).Delete(q); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bucketAccounts, bucketKeys, bucketDevices} {
			if err := tx.Bucket(name).Delete(u); err != nil {
				return err
			}
		}
		if err := deleteKeyPackages(tx, user); err != nil {
			return err
		}
		if err := deleteDenyList(tx, user); err != nil {
			return err
		}
		if err := s.ktRecord(tx, user, nil, false); err != nil {
			return err
		}
		if !holdUntil.IsZero() {
			if err := tx.Bucket(bucketNameHolds).Put(u, encodeNameHold(holdUntil)); err != nil {
				return err
			}
		}
		return deleteUserSessions(tx, user)
	})
	if err == nil {
		s.mailBytes.Add(-int64(freed))
	}
	return err
}

// expireNameHolds removes the holds on deleted names that ended by now.
// Holds are few (deletions are bounded by throttled registrations), so it
// reads them all rather than keeping an expiry index.
// It looks in a read transaction first, so that a minute with nothing to
// remove costs no write (and no sync, which wears a router's flash).
func (s *Store) expireNameHolds(now time.Time) error {
	var ended [][]byte
	err := s.view("expire name holds", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketNameHolds).ForEach(func(k, v []byte) error {
			until, err := decodeNameHold(v)
			if err != nil {
				return err
			}
			if !until.After(now) {
				ended = append(ended, append([]byte(nil), k...))
			}
			return nil
		})
	})
	if err != nil || len(ended) == 0 {
		return err
	}
	return s.update("expire name holds", func(tx *bolt.Tx) error {
		holds := tx.Bucket(bucketNameHolds)
		for _, k := range ended {
			// A name registered and deleted again meanwhile has a new
			// hold: keep it.
			raw := holds.Get(k)
			if raw == nil {
				continue
			}
			until, err := decodeNameHold(raw)
			if err != nil {
				return err
			}
			if until.After(now) {
				continue
			}
			if err := holds.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// encodeNameHold: version | time(hold until).
func encodeNameHold(until time.Time) []byte {
	b := make([]byte, 1+timeLen)
	b[0] = recordVersion
	putTime(b[1:], until)
	return b
}

// decodeNameHold decodes what encodeNameHold wrote.
func decodeNameHold(b []byte) (time.Time, error) {
	body, err := recordBody("name hold", b)
	if err != nil {
		return time.Time{}, err
	}
	if len(body) != timeLen {
		return time.Time{}, fmt.Errorf("%w: name hold record of %d bytes, want %d", ErrCorrupt, len(body), timeLen)
	}
	return getTime(body)
}

// deleteSubBucket deletes the bucket named name in parent, if there is one.
func deleteSubBucket(parent *bolt.Bucket, name []byte) error {
	if parent.Bucket(name) == nil {
		return nil
	}
	return parent.DeleteBucket(name)
}
