package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// UserInfo is an account as the admin lists it.
type UserInfo struct {
	Name string
	// Reset says the admin reset the account and its owner has not
	// registered again yet.
	Reset bool
	// Devices is how many current devices its list names (1 for an
	// account without a list).
	Devices int
	// LastSession is when its newest session expires (zero: none):
	// the last login, plus the session TTL.
	LastSession time.Time
	// MailboxMessages and MailboxBytes is what waits for it, all its
	// devices' queues together.
	MailboxMessages, MailboxBytes int64
}

// Users lists the accounts in name order. It reads every account's
// records: for the admin, not for hot paths.
func (s *Store) Users() ([]UserInfo, error) {
	var out []UserInfo
	err := s.viewMail("users", func(tx *bolt.Tx, ov map[string]*walQueue) error {
		return tx.Bucket(bucketAccounts).ForEach(func(k, v []byte) error {
			user := string(k)
			acct, err := decodeAccount(user, v)
			if err != nil {
				return err
			}
			u := UserInfo{Name: user, Reset: len(acct.Record) == 0, Devices: 1}
			d, ok, err := readDevices(tx, user)
			if err != nil {
				return err
			}
			if ok && len(d.Current) > 0 {
				u.Devices = len(d.Current)
			}
			for _, q := range accountQueues(tx, user) {
				if w := ov[string(q)]; w != nil {
					u.MailboxMessages += int64(w.meta.count)
					u.MailboxBytes += int64(w.meta.bytes)
					continue
				}
				raw := tx.Bucket(bucketMailboxMeta).Get(q)
				if raw == nil {
					continue
				}
				meta, err := decodeQueueMeta(raw)
				if err != nil {
					return err
				}
				u.MailboxMessages += int64(meta.count)
				u.MailboxBytes += int64(meta.bytes)
			}
			if byUser := tx.Bucket(bucketUserSessions).Bucket(k); byUser != nil {
				err := byUser.ForEach(func(h, _ []byte) error {
					raw := tx.Bucket(bucketSessions).Get(h)
					if raw == nil {
						return nil
					}
					sess, err := decodeSession(raw)
					if err != nil {
						return err
					}
					if sess.Expires.After(u.LastSession) {
						u.LastSession = sess.Expires
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			out = append(out, u)
			return nil
		})
	})
	return out, err
}
