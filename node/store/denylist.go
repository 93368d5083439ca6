package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
)

// bucketDenyLists holds the accounts' deny lists (issue 30): a bucket per
// user, named by the user, whose keys are the denied senders
// ("user@domain") and whose values are empty. Open adds it to files from
// before deny lists; DeleteAccount removes a user's list.
var bucketDenyLists = []byte("denylists")

// SetDenied adds sender to user's deny list or removes it, in one
// transaction: node.ErrDenyListFull when the list holds node.MaxDenyList
// senders, protocol.ErrUnknownUser without such an account.
func (s *Store) SetDenied(user, sender string, denied bool) error {
	if sender == "" || len(sender) > maxDeniedLen {
		return fmt.Errorf("%w: sender of %d bytes", ErrInvalidUser, len(sender))
	}
	return s.update("set denied", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		lists := tx.Bucket(bucketDenyLists)
		if !denied {
			list := lists.Bucket([]byte(user))
			if list == nil {
				return nil
			}
			if err := list.Delete([]byte(sender)); err != nil {
				return err
			}
			if k, _ := list.Cursor().First(); k == nil {
				return lists.DeleteBucket([]byte(user))
			}
			return nil
		}
		list, err := lists.CreateBucketIfNotExists([]byte(user))
		if err != nil {
			return err
		}
		if list.Get([]byte(sender)) != nil {
			return nil
		}
		if n := countKeys(list); n >= node.MaxDenyList {
			return node.ErrDenyListFull
		}
		return list.Put([]byte(sender), []byte{})
	})
}

// maxDeniedLen bounds a denied sender's key: an address is shorter.
const maxDeniedLen = 512

// countKeys counts b's keys; a deny list holds at most node.MaxDenyList.
func countKeys(b *bolt.Bucket) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// DenyLists returns every account's deny list, by user.
func (s *Store) DenyLists() (map[string][]string, error) {
	all := map[string][]string{}
	err := s.view("deny lists", func(tx *bolt.Tx) error {
		all = map[string][]string{}
		return tx.Bucket(bucketDenyLists).ForEachBucket(func(user []byte) error {
			list := tx.Bucket(bucketDenyLists).Bucket(user)
			return list.ForEach(func(k, _ []byte) error {
				all[string(user)] = append(all[string(user)], string(k))
				return nil
			})
		})
	})
	return all, err
}

// deleteDenyList removes user's deny list, with the account.
func deleteDenyList(tx *bolt.Tx, user string) error {
	lists := tx.Bucket(bucketDenyLists)
	if lists.Bucket([]byte(user)) == nil {
		return nil
	}
	return lists.DeleteBucket([]byte(user))
}

// checkDenyLists checks that every deny list belongs to an account and
// keeps its bound.
func checkDenyLists(tx *bolt.Tx) error {
	lists := tx.Bucket(bucketDenyLists)
	return lists.ForEachBucket(func(user []byte) error {
		if tx.Bucket(bucketAccounts).Get(user) == nil {
			return fmt.Errorf("deny list of %q, who has no account", user)
		}
		if n := countKeys(lists.Bucket(user)); n > node.MaxDenyList || n == 0 {
			return fmt.Errorf("deny list of %q holds %d senders (1 to %d)", user, n, node.MaxDenyList)
		}
		return nil
	})
}
