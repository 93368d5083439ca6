package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
)

// CreateAccount adds a with an empty mailbox. It fails with
// node.ErrUserExists if a.User is taken and ErrInvalidUser if the name is
// empty or longer than MaxUserLen. A name that was deleted can be taken
// again; its new mailbox starts at sequence number 1.
func (s *Store) CreateAccount(a node.Account) error {
	if err := checkUser(a.User); err != nil {
		return fmt.Errorf("store: create account: %w", err)
	}
	user := []byte(a.User)
	return s.update("create account", func(tx *bolt.Tx) error {
		accounts := tx.Bucket(bucketAccounts)
		if accounts.Get(user) != nil {
			return fmt.Errorf("%w: %q", node.ErrUserExists, a.User)
		}
		if err := accounts.Put(user, encodeAccount(a)); err != nil {
			return err
		}
		if _, err := tx.Bucket(bucketMailboxes).CreateBucket(user); err != nil {
			return err
		}
		return tx.Bucket(bucketMailboxMeta).Put(user, encodeQueueMeta(queueMeta{}))
	})
}

// Account returns the account of user, or node.ErrUnknownUser.
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
// their expiry entries, and sessions. node.ErrUnknownUser if there is no
// such user.
func (s *Store) DeleteAccount(user string) error {
	return s.update("delete account", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		u := []byte(user)
		for _, name := range [][]byte{bucketAccounts, bucketKeys, bucketLastResort, bucketMailboxMeta} {
			if err := tx.Bucket(name).Delete(u); err != nil {
				return err
			}
		}
		if err := deleteSubBucket(tx.Bucket(bucketKeyPackages), u); err != nil {
			return err
		}
		if err := deleteMailbox(tx, user); err != nil {
			return err
		}
		return deleteUserSessions(tx, user)
	})
}

// deleteSubBucket deletes the bucket named name in parent, if there is one.
func deleteSubBucket(parent *bolt.Bucket, name []byte) error {
	if parent.Bucket(name) == nil {
		return nil
	}
	return parent.DeleteBucket(name)
}
