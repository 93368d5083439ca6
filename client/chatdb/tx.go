package chatdb

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Tx is a transaction of DB.Update or DB.View. Every method fails with a
// *CorruptError (ErrCorrupt) when a record it reads does not open or
// decode.
type Tx struct {
	tx *bolt.Tx
	s  *sealer
}

// bucket returns a bucket Open created.
func (tx *Tx) bucket(name []byte) *bolt.Bucket { return tx.tx.Bucket(name) }

// put seals record and stores it at key in bucket.
func (tx *Tx) put(bucket, key, record []byte) error {
	if err := tx.bucket(bucket).Put(key, tx.s.seal(bucket, key, record)); err != nil {
		return fmt.Errorf("chatdb: put %s record: %w", bucket, err)
	}
	return nil
}

func (tx *Tx) delete(bucket, key []byte) error {
	if err := tx.bucket(bucket).Delete(key); err != nil {
		return fmt.Errorf("chatdb: delete %s record: %w", bucket, err)
	}
	return nil
}

// load opens and decodes the record at key in bucket; ok is false when
// there is none.
func load[T any](tx *Tx, bucket, key []byte, decode func([]byte) (T, error)) (v T, ok bool, err error) {
	sealed := tx.bucket(bucket).Get(key)
	if sealed == nil {
		return v, false, nil
	}
	return decodeValue(tx, bucket, key, sealed, decode)
}

func decodeValue[T any](tx *Tx, bucket, key, sealed []byte, decode func([]byte) (T, error)) (v T, ok bool, err error) {
	record, err := tx.s.open(bucket, key, sealed)
	if err != nil {
		return v, false, err
	}
	if v, err = decode(record); err != nil {
		return v, false, corrupt(bucket, key, err)
	}
	return v, true, nil
}

// each opens and decodes, in key order, the records of bucket whose keys
// start with prefix, and calls fn with each and its key (valid only until
// fn returns).
func each[T any](tx *Tx, bucket, prefix []byte, decode func([]byte) (T, error), fn func(key []byte, v T) error) error {
	c := tx.bucket(bucket).Cursor()
	for k, sealed := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, sealed = c.Next() {
		v, _, err := decodeValue(tx, bucket, k, sealed, decode)
		if err != nil {
			return err
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// raw is the decoder of records that are the caller's bytes.
func raw(b []byte) ([]byte, error) { return b, nil }

// metaKey is the key of an application setting, apart from the database's
// own records in the meta bucket.
func metaKey(name string) []byte { return []byte("app:" + name) }

// Meta returns the setting name; nil, nil when it is unset (or set to no
// bytes).
func (tx *Tx) Meta(name string) ([]byte, error) {
	v, _, err := load(tx, bucketMeta, metaKey(name), raw)
	return v, err
}

// PutMeta sets the setting name to v. Names are stored in the clear: they
// must be chosen by the program, not hold user data.
func (tx *Tx) PutMeta(name string, v []byte) error {
	return tx.put(bucketMeta, metaKey(name), v)
}
