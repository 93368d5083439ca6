//go:build floor_c || floor_d || floor_e

package main

import (
	"os"

	bolt "go.etcd.io/bbolt"
)

func init() {
	extras = append(extras, func() {
		db, err := bolt.Open(os.TempDir()+"/floor.db", 0o600, nil)
		if err != nil {
			return
		}
		db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return b.Put([]byte("k"), []byte("v"))
		})
		db.Close()
	})
}
