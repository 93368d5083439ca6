package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// Check verifies the store file at path, which no process may have open
// for writing: bbolt's consistency check of pages and freelist, then the
// store's own invariants (every account has a mailbox whose record matches
// its messages; the expiry indexes hold exactly one entry per message,
// session, held envelope, kept post, seen id and status; the
// store-and-forward and channel totals are the sums of what is held and
// kept; every held id is in the seen-set as held, every kept post's id in
// the channel seen-set; the commit sequencer's groups match their commits;
// every record decodes; nothing belongs to a missing account). The file
// does not record the Options it was written with, so the bounds of the
// channel store and the commit sequencer are left to Store.CheckIntegrity. It returns every
// problem found, joined, wrapping ErrCorrupt for the store's invariants.
func Check(path string) error {
	db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, Timeout: DefaultLockTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("store: check %s: %w", path, ErrLocked)
		}
		return fmt.Errorf("store: check %s: %w", path, err)
	}
	defer db.Close()
	return errors.Join(checkDB(db, nil), checkWAL(path+WALSuffix))
}

// checkWAL checks the write-ahead log at path, if there is one: its
// header and every frame but a torn last one must decode (a torn last
// frame is what a crash leaves, and replay cuts it).
func checkWAL(path string) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		_, err = decodeWAL(raw)
	}
	if err != nil {
		return fmt.Errorf("store: check %s: %w", path, err)
	}
	return nil
}

// CheckIntegrity runs the checks of the package function Check on the
// open store (not named Check: a method Check() error of the router build
// would be kept by the linker for every interface with that method, such
// as rsc.io/qr's coding.Encoding, whatever calls it),
// in one read transaction, and also checks that the channel store is
// within Options.Channels and the commit sequencer within
// Options.MaxGroups and Options.MaxCommitsPerGroup. Open trims kept posts to the bounds on them,
// but not the seen-set: a store opened with a MaxSeen below the ids it
// already holds fails this check until enough of them expire.
func (s *Store) CheckIntegrity() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("store: check: %w", protocol.ErrStoreClosed)
	}
	if s.wal == nil {
		return checkDB(s.db, &s.opts)
	}
	// Every writer holds foldMu: bbolt's page check reads the freelist,
	// which a checkpoint committing meanwhile would change under it, and
	// no frame is half written.
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	return errors.Join(checkDB(s.db, &s.opts), checkWAL(s.wal.path))
}

// checkDB checks db; with opts, also the bounds of the channel store and
// the commit sequencer.
func checkDB(db *bolt.DB, opts *Options) error {
	var errs []error
	err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return nil // the pages are broken; the invariants would only add noise
		}
		if err := checkInvariants(tx, opts); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrCorrupt, err))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: check %s: %w", db.Path(), err)
	}
	return nil
}

// checkInvariants checks what the store keeps consistent across buckets:
// every account has a mailbox whose record matches its messages, the
// expiry indexes hold exactly one entry per message and per session,
// everything belongs to an existing account, and the store-and-forward
// buckets agree (checkMesh), as do the channel buckets (checkChannels)
// and the commit sequencer's (checkMLS), within opts' bounds if not nil.
func checkInvariants(tx *bolt.Tx, opts *Options) error {
	// A file of an older version lacks the buckets that came later, which
	// Open adds: name the first missing one rather than read a nil bucket.
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("no %s bucket (a file of an older version gets it when a node opens it)", name)
		}
	}
	accounts := tx.Bucket(bucketAccounts)
	wantExpiry := map[string]bool{}
	err := accounts.ForEach(func(k, v []byte) error {
		user := string(k)
		if _, err := decodeAccount(user, v); err != nil {
			return fmt.Errorf("account %q: %w", user, err)
		}
		if tx.Bucket(bucketMailboxes).Bucket(k) == nil || tx.Bucket(bucketMailboxMeta).Get(k) == nil {
			return fmt.Errorf("account %q has no mailbox", user)
		}
		if _, _, err := readDevices(tx, user); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Every queue: the bare user's and each device's ("user#device").
	err = tx.Bucket(bucketMailboxMeta).ForEach(func(k, raw []byte) error {
		owner := string(k)
		msgs := tx.Bucket(bucketMailboxes).Bucket(k)
		if msgs == nil {
			return fmt.Errorf("queue %q has a record and no messages bucket", owner)
		}
		meta, err := decodeQueueMeta(raw)
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
			wantExpiry[string(seqExpiryKey(m.Expires, seq, owner))] = true
			return nil
		})
		if err != nil {
			return err
		}
		if count != meta.count || size != meta.bytes || last > meta.lastSeq {
			return fmt.Errorf("mailbox %q: record says %+v, holds %d messages, %d bytes, last %d", owner, meta, count, size, last)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range [][]byte{bucketKeys, bucketLastResort, bucketMailboxMeta, bucketDevices} {
		err := tx.Bucket(name).ForEach(func(k, _ []byte) error {
			if accounts.Get([]byte(accountOf(string(k)))) == nil {
				return fmt.Errorf("%s holds %q, who has no account", name, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketKeyPackagesBySuite, bucketLastResortBySuite} {
		err := tx.Bucket(name).ForEach(func(k, _ []byte) error {
			if len(k) < 3 || binary.BigEndian.Uint16(k) == 0 || binary.BigEndian.Uint16(k) == node.SuiteClassic {
				return fmt.Errorf("%s holds the malformed key %x", name, k)
			}
			if accounts.Get([]byte(accountOf(string(k[2:])))) == nil {
				return fmt.Errorf("%s holds %q, who has no account", name, k[2:])
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketKeyPackages, bucketMailboxes, bucketUserSessions} {
		err := tx.Bucket(name).ForEachBucket(func(k []byte) error {
			if accounts.Get([]byte(accountOf(string(k)))) == nil {
				return fmt.Errorf("%s holds %q, who has no account", name, k)
			}
			if string(name) == string(bucketMailboxes) && tx.Bucket(bucketMailboxMeta).Get(k) == nil {
				return fmt.Errorf("queue %q has messages bucket and no record", k)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := checkIndex(tx, bucketMsgExpiry, "message", wantExpiry); err != nil {
		return err
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
		wantSess[string(idExpiryKey(s.Expires, h))] = true
		return nil
	})
	if err != nil {
		return err
	}
	if err := checkIndex(tx, bucketSessExpiry, "session", wantSess); err != nil {
		return err
	}
	err = tx.Bucket(bucketUserSessions).ForEachBucket(func(u []byte) error {
		return tx.Bucket(bucketUserSessions).Bucket(u).ForEach(func(h, binding []byte) error {
			raw := tx.Bucket(bucketSessions).Get(h)
			if raw == nil {
				return fmt.Errorf("usersessions of %q lists a missing session", u)
			}
			if s, err := decodeSession(raw); err != nil || !bytes.Equal([]byte(s.User), u) {
				return fmt.Errorf("usersessions of %q lists a session of another user", u)
			}
			if len(binding) != 0 && len(binding) != timeLen {
				return fmt.Errorf("usersessions of %q binds a session with %d bytes", u, len(binding))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if holds := tx.Bucket(bucketNameHolds); holds != nil { // a file from before holds has none
		err = holds.ForEach(func(u, v []byte) error {
			if _, err := decodeNameHold(v); err != nil {
				return fmt.Errorf("name hold of %q: %w", u, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := checkMesh(tx); err != nil {
		return err
	}
	if err := checkDenyLists(tx); err != nil {
		return err
	}
	if err := checkReports(tx); err != nil {
		return err
	}
	var quota *protocol.ChannelQuota
	if opts != nil {
		quota = &opts.Channels
	}
	if err := checkChannels(tx, quota); err != nil {
		return err
	}
	if err := checkMLS(tx, opts); err != nil {
		return err
	}
	return checkKT(tx)
}

// checkIndex checks that the index bucket name holds exactly the keys of
// want, one entry per record of kind.
func checkIndex(tx *bolt.Tx, name []byte, kind string, want map[string]bool) error {
	n := 0
	err := tx.Bucket(name).ForEach(func(k, _ []byte) error {
		n++
		if !want[string(k)] {
			return fmt.Errorf("stray %s entry %x in %s", kind, k, name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(want) {
		return fmt.Errorf("%d entries in %s for %d %s records", n, name, len(want), kind)
	}
	return nil
}
