package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
)

// PutKeys replaces user's published keys. node.ErrUnknownUser if there is
// no such account.
func (s *Store) PutKeys(user string, k node.PublishedKeys) error {
	rec := encodeKeys(k)
	return s.update("put keys", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		return tx.Bucket(bucketKeys).Put([]byte(user), rec)
	})
}

// Keys returns user's published keys: node.ErrUnknownUser, or
// node.ErrNoKeys when the user has published none.
func (s *Store) Keys(user string) (node.PublishedKeys, error) {
	var k node.PublishedKeys
	err := s.view("keys", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		raw := tx.Bucket(bucketKeys).Get([]byte(user))
		if raw == nil {
			return fmt.Errorf("%w: %q", node.ErrNoKeys, user)
		}
		var err error
		k, err = decodeKeys(raw)
		return err
	})
	return k, err
}

// AddKeyPackages appends pkgs to user's key packages and, when lastResort
// is not nil, replaces the user's last-resort package, in one transaction.
// It fails, adding nothing, with node.ErrTooManyKeyPackages when the user
// would hold more than Options.MaxKeyPackages (the last-resort package does
// not count), ErrEmptyKeyPackage when a package is empty, and
// node.ErrUnknownUser.
func (s *Store) AddKeyPackages(user string, pkgs [][]byte, lastResort []byte) error {
	for i, p := range pkgs {
		if len(p) == 0 {
			return fmt.Errorf("store: add key packages: package %d: %w", i, ErrEmptyKeyPackage)
		}
	}
	if lastResort != nil && len(lastResort) == 0 {
		return fmt.Errorf("store: add key packages: last resort: %w", ErrEmptyKeyPackage)
	}
	return s.update("add key packages", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		u := []byte(user)
		if len(pkgs) > 0 {
			b, err := tx.Bucket(bucketKeyPackages).CreateBucketIfNotExists(u)
			if err != nil {
				return err
			}
			held := 0
			c := b.Cursor()
			for k, _ := c.First(); k != nil && held <= s.opts.MaxKeyPackages; k, _ = c.Next() {
				held++
			}
			if held+len(pkgs) > s.opts.MaxKeyPackages {
				return fmt.Errorf("%w: %q holds %d, adding %d, bound %d",
					node.ErrTooManyKeyPackages, user, held, len(pkgs), s.opts.MaxKeyPackages)
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
			return tx.Bucket(bucketLastResort).Put(u, lastResort)
		}
		return nil
	})
}

// TakeKeyPackage removes and returns the oldest of user's key packages.
// When none is left it returns the last-resort package, which stays, with
// lastResort true; when there is none either, node.ErrNoKeyPackage.
func (s *Store) TakeKeyPackage(user string) (pkg []byte, lastResort bool, err error) {
	err = s.update("take key package", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		u := []byte(user)
		if b := tx.Bucket(bucketKeyPackages).Bucket(u); b != nil {
			c := b.Cursor()
			if k, v := c.First(); k != nil {
				pkg = append([]byte{}, v...)
				return c.Delete()
			}
		}
		if v := tx.Bucket(bucketLastResort).Get(u); v != nil {
			pkg, lastResort = append([]byte{}, v...), true
			return nil
		}
		return fmt.Errorf("%w: %q", node.ErrNoKeyPackage, user)
	})
	if err != nil {
		return nil, false, err
	}
	return pkg, lastResort, nil
}

// KeyPackageCount returns how many key packages user holds, not counting
// the last-resort one, and whether user has a last-resort one;
// node.ErrUnknownUser if there is no such account.
func (s *Store) KeyPackageCount(user string) (count int, lastResort bool, err error) {
	err = s.view("key package count", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		u := []byte(user)
		count = 0
		if b := tx.Bucket(bucketKeyPackages).Bucket(u); b != nil {
			count = b.Stats().KeyN
		}
		lastResort = tx.Bucket(bucketLastResort).Get(u) != nil
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return count, lastResort, nil
}
