package chatdb

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Records keyed by the HMAC of their natural key (see the package doc):
// contacts, seen marks and KeyPackages.

func (tx *Tx) contactKey(addr string) []byte {
	return tx.s.indexKey(bucketContacts, []byte(strings.ToLower(addr)))
}

// Contact returns the contact addr (compared lowercased); ok is false
// when there is none.
func (tx *Tx) Contact(addr string) (Contact, bool, error) {
	return load(tx, bucketContacts, tx.contactKey(addr), decodeContact)
}

// PutContact stores c, replacing the contact with its address, which is
// stored lowercased. It fails with ErrInvalid if c has no address.
func (tx *Tx) PutContact(c *Contact) error {
	if c.Address == "" {
		return fmt.Errorf("chatdb: put contact: %w: no address", ErrInvalid)
	}
	lower := *c
	lower.Address = strings.ToLower(c.Address)
	return tx.put(bucketContacts, tx.contactKey(c.Address), encodeContact(&lower))
}

// Contacts returns every contact, in no particular order.
func (tx *Tx) Contacts() ([]Contact, error) {
	var all []Contact
	err := each(tx, bucketContacts, nil, decodeContact, func(_ []byte, c Contact) error {
		all = append(all, c)
		return nil
	})
	return all, err
}

// seenKey indexes a message id as seen from a sender in a conversation;
// from, the one part of variable length, comes last.
func (tx *Tx) seenKey(conv ConvID, from string, id MsgID) []byte {
	return tx.s.indexKey(bucketSeen, conv[:], id[:], []byte(strings.ToLower(from)))
}

// Seen reports whether MarkSeen marked message id from the sender from
// (compared lowercased) in conversation conv, and PruneSeen has not
// dropped the mark since.
func (tx *Tx) Seen(conv ConvID, from string, id MsgID) (bool, error) {
	_, ok, err := load(tx, bucketSeen, tx.seenKey(conv, from, id), decodeTime)
	return ok, err
}

// MarkSeen marks message id from the sender from in conversation conv as
// seen at the time at, which PruneSeen compares.
func (tx *Tx) MarkSeen(conv ConvID, from string, id MsgID, at time.Time) error {
	return tx.put(bucketSeen, tx.seenKey(conv, from, id), encodeTime(&at))
}

// errFound ends a scan that found what it looked for.
var errFound = errors.New("found")

// SeenBefore reports whether any seen mark was made before the time
// before, that is, whether PruneSeen would drop anything. It reads only.
func (tx *Tx) SeenBefore(before time.Time) (bool, error) {
	err := each(tx, bucketSeen, nil, decodeTime, func(_ []byte, at time.Time) error {
		if at.Before(before) {
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return true, nil
	}
	return false, err
}

// PruneSeen drops the seen marks made before the time before, and returns
// how many it dropped.
func (tx *Tx) PruneSeen(before time.Time) (int, error) {
	var old [][]byte
	err := each(tx, bucketSeen, nil, decodeTime, func(k []byte, at time.Time) error {
		if at.Before(before) {
			old = append(old, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range old {
		if err := tx.delete(bucketSeen, k); err != nil {
			return 0, err
		}
	}
	return len(old), nil
}

// PutKeyPackage stores the private bundle of the KeyPackage whose
// reference is ref, replacing one with the same ref.
func (tx *Tx) PutKeyPackage(ref []byte, bundle []byte) error {
	return tx.put(bucketKeyPackages, tx.s.indexKey(bucketKeyPackages, ref), encodeKeyPackage(&keyPackage{ref: ref, bundle: bundle}))
}

// KeyPackage returns the bundle of the KeyPackage ref; ok is false when
// there is none.
func (tx *Tx) KeyPackage(ref []byte) ([]byte, bool, error) {
	k, ok, err := load(tx, bucketKeyPackages, tx.s.indexKey(bucketKeyPackages, ref), decodeKeyPackage)
	return k.bundle, ok, err
}

// DeleteKeyPackage deletes the KeyPackage ref; it is not an error if there
// is none.
func (tx *Tx) DeleteKeyPackage(ref []byte) error {
	return tx.delete(bucketKeyPackages, tx.s.indexKey(bucketKeyPackages, ref))
}

// KeyPackageCount returns how many KeyPackages are stored, without
// opening them.
func (tx *Tx) KeyPackageCount() (int, error) {
	return tx.bucket(bucketKeyPackages).Stats().KeyN, nil
}

// KeyPackageRefs returns the refs of the stored KeyPackages, in no
// particular order.
func (tx *Tx) KeyPackageRefs() ([][]byte, error) {
	var refs [][]byte
	err := each(tx, bucketKeyPackages, nil, decodeKeyPackage, func(_ []byte, k keyPackage) error {
		refs = append(refs, k.ref)
		return nil
	})
	return refs, err
}
