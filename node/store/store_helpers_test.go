package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"

	"github.com/quicprochat/qpc/node"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	goleak.VerifyTestMain(m)
}

// t0 is the tests' "now".
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// testOptions are small bounds and a fixed clock at t0.
func testOptions() Options {
	return Options{
		Limits:         node.MailboxLimits{MaxMessages: 50, MaxBytes: 4096},
		MaxKeyPackages: 5,
		Now:            func() time.Time { return t0 },
	}
}

// openTest opens a store in a new file in t.TempDir() and, in cleanup,
// closes it and checks the file's consistency.
func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, node.ErrStoreClosed) {
			t.Errorf("Close: %v", err)
		}
		checkFile(t, path)
	})
	return s
}

// checkFile opens the closed database at path read-only and runs bbolt's
// consistency check and checkInvariants on it.
func checkFile(t testing.TB, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Errorf("reopen %s for check: %v", path, err)
		return
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return checkInvariants(tx)
	})
	if err != nil {
		t.Errorf("store invariants: %v", err)
	}
}

// checkInvariants checks what the store keeps consistent across buckets:
// every account has a mailbox whose record matches its messages, the
// expiry indexes hold exactly one entry per message and per session, and
// everything belongs to an existing account.
func checkInvariants(tx *bolt.Tx) error {
	accounts := tx.Bucket(bucketAccounts)
	if accounts == nil {
		return errors.New("no accounts bucket")
	}
	wantExpiry := map[string]bool{}
	err := accounts.ForEach(func(k, v []byte) error {
		user := string(k)
		if _, err := decodeAccount(user, v); err != nil {
			return fmt.Errorf("account %q: %w", user, err)
		}
		msgs := tx.Bucket(bucketMailboxes).Bucket(k)
		raw := tx.Bucket(bucketMailboxMeta).Get(k)
		if msgs == nil || raw == nil {
			return fmt.Errorf("account %q has no mailbox", user)
		}
		meta, err := decodeMailboxMeta(raw)
		if err != nil {
			return err
		}
		var count, size, last uint64
		err = msgs.ForEach(func(k, v []byte) error {
			seq, err := parseSeqKey(k)
			if err != nil {
				return err
			}
			m, err := decodeMessage(seq, v)
			if err != nil {
				return err
			}
			count++
			size += uint64(len(m.Payload))
			last = seq
			wantExpiry[string(msgExpiryKey(m.Expires, seq, user))] = true
			return nil
		})
		if err != nil {
			return err
		}
		if count != meta.count || size != meta.bytes || last > meta.lastSeq {
			return fmt.Errorf("mailbox %q: record says %+v, holds %d messages, %d bytes, last %d", user, meta, count, size, last)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range [][]byte{bucketKeys, bucketLastResort, bucketMailboxMeta} {
		err := tx.Bucket(name).ForEach(func(k, _ []byte) error {
			if accounts.Get(k) == nil {
				return fmt.Errorf("%s holds %q, who has no account", name, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketKeyPackages, bucketMailboxes, bucketUserSessions} {
		err := tx.Bucket(name).ForEachBucket(func(k []byte) error {
			if accounts.Get(k) == nil {
				return fmt.Errorf("%s holds %q, who has no account", name, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	n := 0
	err = tx.Bucket(bucketMsgExpiry).ForEach(func(k, _ []byte) error {
		n++
		if !wantExpiry[string(k)] {
			return fmt.Errorf("stray message expiry entry %x", k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(wantExpiry) {
		return fmt.Errorf("%d message expiry entries for %d messages", n, len(wantExpiry))
	}
	wantSess := map[string]bool{}
	err = tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
		s, err := decodeSession(v)
		if err != nil {
			return err
		}
		if accounts.Get([]byte(s.User)) == nil {
			return fmt.Errorf("session of %q, who has no account", s.User)
		}
		if b := tx.Bucket(bucketUserSessions).Bucket([]byte(s.User)); b == nil || b.Get(k) == nil {
			return fmt.Errorf("session of %q missing from usersessions", s.User)
		}
		var h node.TokenHash
		copy(h[:], k)
		wantSess[string(sessionExpiryKey(s.Expires, h))] = true
		return nil
	})
	if err != nil {
		return err
	}
	n = 0
	err = tx.Bucket(bucketSessExpiry).ForEach(func(k, _ []byte) error {
		n++
		if !wantSess[string(k)] {
			return fmt.Errorf("stray session expiry entry %x", k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(wantSess) {
		return fmt.Errorf("%d session expiry entries for %d sessions", n, len(wantSess))
	}
	return tx.Bucket(bucketUserSessions).ForEachBucket(func(u []byte) error {
		return tx.Bucket(bucketUserSessions).Bucket(u).ForEach(func(h, _ []byte) error {
			raw := tx.Bucket(bucketSessions).Get(h)
			if raw == nil {
				return fmt.Errorf("usersessions of %q lists a missing session", u)
			}
			if s, err := decodeSession(raw); err != nil || !bytes.Equal([]byte(s.User), u) {
				return fmt.Errorf("usersessions of %q lists a session of another user", u)
			}
			return nil
		})
	})
}

// mustCreate creates accounts for users.
func mustCreate(t testing.TB, s *Store, users ...string) {
	t.Helper()
	for _, u := range users {
		if err := s.CreateAccount(node.Account{User: u, Record: []byte("record of " + u), Created: t0}); err != nil {
			t.Fatalf("CreateAccount(%q): %v", u, err)
		}
	}
}

// msg is a message to user enqueued at t0 that expires after ttl.
func msg(user string, payload string, ttl time.Duration) node.NewMessage {
	return node.NewMessage{Recipient: user, Payload: []byte(payload), Enqueued: t0, Expires: t0.Add(ttl)}
}
