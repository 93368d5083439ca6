package store

import (
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// PutKeys replaces user's published keys and devices in one transaction:
// a device that was current and is not in d loses its queue's messages and
// its key packages. protocol.ErrUnknownUser if there is no such account.
// With a key transparency log (Options.KT), keys that differ from the
// address's latest entry append one in the same transaction, and
// protocol.ErrRateLimited refuses, changing nothing, the change beyond
// MaxKTEntriesPerDay in a UTC day.
func (s *Store) PutKeys(user string, k protocol.PublishedKeys, d node.Devices) error {
	rec := encodeKeys(k)
	var freed uint64
	err := s.update("put keys", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		var err error
		if freed, err = putDevices(tx, user, d); err != nil {
			return err
		}
		if err := s.ktRecord(tx, user, &k, true); err != nil {
			return err
		}
		return tx.Bucket(bucketKeys).Put([]byte(user), rec)
	})
	if err == nil {
		s.mailBytes.Add(-int64(freed))
	}
	return err
}

// Keys returns user's published keys: protocol.ErrUnknownUser, or
// protocol.ErrNoKeys when the user has published none.
func (s *Store) Keys(user string) (protocol.PublishedKeys, error) {
	var k protocol.PublishedKeys
	err := s.view("keys", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		raw := tx.Bucket(bucketKeys).Get([]byte(user))
		if raw == nil {
			return fmt.Errorf("%w: %q", protocol.ErrNoKeys, user)
		}
		var err error
		k, err = decodeKeys(raw)
		return err
	})
	return k, err
}

// kpBuckets are where user's key packages of one MLS cipher suite live:
// suite 1 in the buckets that predate suites (so older files need no
// migration), any other suite under the key suite | user in the buckets
// that came with them. The suite prefix cannot collide with a user name,
// which is never empty and starts with a printable character.
type kpBuckets struct {
	packages, lastResort *bolt.Bucket
	key                  []byte
}

// user here is an owner key (queueOwner): a device's packages are filed
// under "user#device".
func keyPackageBuckets(tx *bolt.Tx, user string, suite uint16) kpBuckets {
	if suite == node.SuiteClassic {
		return kpBuckets{tx.Bucket(bucketKeyPackages), tx.Bucket(bucketLastResort), []byte(user)}
	}
	return kpBuckets{tx.Bucket(bucketKeyPackagesBySuite), tx.Bucket(bucketLastResortBySuite),
		append(binary.BigEndian.AppendUint16(nil, suite), user...)}
}

// deleteKeyPackages deletes every key package of user, of every suite
// and every device.
func deleteKeyPackages(tx *bolt.Tx, user string) error {
	owners := []string{user}
	for _, name := range [][]byte{bucketKeyPackages, bucketLastResort} {
		prefix := user + "#"
		c := tx.Bucket(name).Cursor()
		for k, _ := c.Seek([]byte(prefix)); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == prefix; k, _ = c.Next() {
			if !slices.Contains(owners, string(k)) {
				owners = append(owners, string(k))
			}
		}
	}
	for _, o := range owners {
		if err := deleteOwnerKeyPackages(tx, o); err != nil {
			return err
		}
	}
	// Other suites' packages of devices that have none of suite 1.
	return deleteBySuite(tx, func(owner string) bool { return accountOf(owner) == user })
}

// deleteBySuite deletes the key packages of every suite but 1, last-resort
// ones included, of the owners doomed says.
func deleteBySuite(tx *bolt.Tx, doomed func(owner string) bool) error {
	for _, name := range [][]byte{bucketKeyPackagesBySuite, bucketLastResortBySuite} {
		b := tx.Bucket(name)
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			// A key is the suite (2 bytes) and the owner.
			if len(k) > 2 && doomed(string(k[2:])) {
				keys = append(keys, append([]byte{}, k...))
			}
		}
		for _, k := range keys {
			var err error
			if b.Bucket(k) != nil {
				err = b.DeleteBucket(k)
			} else {
				err = b.Delete(k)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteOwnerKeyPackages deletes every key package filed under owner (a
// user, or one device of theirs), of every suite.
func deleteOwnerKeyPackages(tx *bolt.Tx, user string) error {
	if err := deleteSubBucket(tx.Bucket(bucketKeyPackages), []byte(user)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketLastResort).Delete([]byte(user)); err != nil {
		return err
	}
	return deleteBySuite(tx, func(owner string) bool { return owner == user })
}

// AddKeyPackages appends pkgs, of MLS cipher suite suite, to user's key
// packages of that suite and, when lastResort is not nil, replaces the
// user's last-resort package of the suite, in one transaction. It fails,
// adding nothing, with protocol.ErrTooManyKeyPackages when the user would hold
// more than Options.MaxKeyPackages of the suite (the last-resort package
// does not count), ErrEmptyKeyPackage when a package is empty,
// ErrBadSuite for suite 0, and protocol.ErrUnknownUser.
func (s *Store) AddKeyPackages(queue string, suite uint16, pkgs [][]byte, lastResort []byte) error {
	if suite == 0 {
		return fmt.Errorf("store: add key packages: %w", ErrBadSuite)
	}
	for i, p := range pkgs {
		if len(p) == 0 {
			return fmt.Errorf("store: add key packages: package %d: %w", i, ErrEmptyKeyPackage)
		}
	}
	if lastResort != nil && len(lastResort) == 0 {
		return fmt.Errorf("store: add key packages: last resort: %w", ErrEmptyKeyPackage)
	}
	return s.update("add key packages", func(tx *bolt.Tx) error {
		owner, _, err := queueOwner(tx, queue)
		if err != nil {
			return err
		}
		kb := keyPackageBuckets(tx, owner, suite)
		if len(pkgs) > 0 {
			b, err := kb.packages.CreateBucketIfNotExists(kb.key)
			if err != nil {
				return err
			}
			held := 0
			c := b.Cursor()
			for k, _ := c.First(); k != nil && held <= s.opts.MaxKeyPackages; k, _ = c.Next() {
				held++
			}
			if held+len(pkgs) > s.opts.MaxKeyPackages {
				return fmt.Errorf("%w: %q holds %d of suite 0x%04x, adding %d, bound %d",
					protocol.ErrTooManyKeyPackages, queue, held, suite, len(pkgs), s.opts.MaxKeyPackages)
			}
			for _, p := range pkgs {
				// NextSequence numbers packages in upload order, so the
				// first key is the oldest.
				id, err := b.NextSequence()
				if err != nil {
					return err
				}
				if err := b.Put(binary.BigEndian.AppendUint64(nil, id), p); err != nil {
					return err
				}
			}
		}
		if lastResort != nil {
			return kb.lastResort.Put(kb.key, lastResort)
		}
		return nil
	})
}

// TakeKeyPackage removes and returns the oldest of user's key packages of
// MLS cipher suite suite. When none is left it returns the suite's
// last-resort package, which stays, with lastResort true; when there is
// none either, protocol.ErrNoKeyPackage.
func (s *Store) TakeKeyPackage(queue string, suite uint16) (pkg []byte, lastResort bool, err error) {
	err = s.update("take key package", func(tx *bolt.Tx) error {
		owner, _, err := queueOwner(tx, queue)
		if err != nil {
			return err
		}
		kb := keyPackageBuckets(tx, owner, suite)
		if b := kb.packages.Bucket(kb.key); b != nil {
			c := b.Cursor()
			if k, v := c.First(); k != nil {
				pkg = append([]byte{}, v...)
				return c.Delete()
			}
		}
		if v := kb.lastResort.Get(kb.key); v != nil {
			pkg, lastResort = append([]byte{}, v...), true
			return nil
		}
		return fmt.Errorf("%w: %q, suite 0x%04x", protocol.ErrNoKeyPackage, queue, suite)
	})
	if err != nil {
		return nil, false, err
	}
	return pkg, lastResort, nil
}

// KeyPackageCount returns how many key packages of MLS cipher suite suite
// user holds, not counting the last-resort one, and whether user has a
// last-resort one of the suite; protocol.ErrUnknownUser if there is no such
// account.
func (s *Store) KeyPackageCount(queue string, suite uint16) (count int, lastResort bool, err error) {
	err = s.view("key package count", func(tx *bolt.Tx) error {
		owner, _, err := queueOwner(tx, queue)
		if err != nil {
			return err
		}
		kb := keyPackageBuckets(tx, owner, suite)
		count = 0
		if b := kb.packages.Bucket(kb.key); b != nil {
			count = b.Stats().KeyN
		}
		lastResort = kb.lastResort.Get(kb.key) != nil
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return count, lastResort, nil
}
