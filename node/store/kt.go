package store

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
)

// Key transparency buckets (issue 23; the layout is in the package doc).
// Open adds them empty; the log itself starts when a store is opened with
// Options.KT set (Open then migrates the accounts that have keys).
var (
	// bucketKTLeaves: u64 index → entry (kt.Entry encoding).
	bucketKTLeaves = []byte("ktleaves")
	// bucketKTNodes: u8 level | u64 index → the 32-byte hash of that
	// perfect subtree.
	bucketKTNodes = []byte("ktnodes")
	// bucketKTAddrs: user → ktAddr.
	bucketKTAddrs = []byte("ktaddrs")
	// bucketKTMeta: keyKTHead → the latest signed head.
	bucketKTMeta = []byte("ktmeta")
	// bucketKTEvidence: u64 found millis | 8 bytes of the pair's hash →
	// evidence record.
	bucketKTEvidence = []byte("ktevidence")

	keyKTHead = []byte("head")
)

// Bounds of the log.
const (
	// MaxKTEntriesPerDay is the most entries one address gets per UTC day:
	// a client that republishes changed keys in a loop fills the log of a
	// router's flash otherwise.
	MaxKTEntriesPerDay = 32
	// MaxKTEvidence is the most pieces of evidence kept; the oldest goes.
	MaxKTEvidence = 64
)

// KTLog configures the key transparency log: the node's domain, which
// every entry's address ends in, and the key that signs its heads: the
// federation key with its certificate (Cert) when federation is on, else
// the node key (Cert nil). The zero KTLog keeps no log.
type KTLog struct {
	Domain string
	Key    ed25519.PrivateKey
	Cert   []byte
}

// on reports whether a log is kept.
func (l KTLog) on() bool { return l.Domain != "" }

// ktAddr is what the log keeps per address: its latest entry's index and
// the count of entries it got on day (days since the epoch, UTC).
type ktAddr struct {
	index uint64
	seq   uint64
	day   uint32
	count uint8
}

// encodeKTAddr: version | index(8) | seq(8) | day(4) | count(1).
func encodeKTAddr(a ktAddr) []byte {
	b := []byte{recordVersion}
	b = binary.BigEndian.AppendUint64(b, a.index)
	b = binary.BigEndian.AppendUint64(b, a.seq)
	b = binary.BigEndian.AppendUint32(b, a.day)
	return append(b, a.count)
}

func decodeKTAddr(b []byte) (ktAddr, error) {
	body, err := recordBody("kt address", b)
	if err != nil {
		return ktAddr{}, err
	}
	if len(body) != 21 {
		return ktAddr{}, fmt.Errorf("%w: kt address record of %d bytes, want 21", ErrCorrupt, len(body))
	}
	return ktAddr{
		index: binary.BigEndian.Uint64(body),
		seq:   binary.BigEndian.Uint64(body[8:]),
		day:   binary.BigEndian.Uint32(body[16:]),
		count: body[20],
	}, nil
}

func ktNodeKey(level uint8, index uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{level}, index)
}

// txNodes reads the tree's stored nodes in a transaction.
type txNodes struct{ b *bolt.Bucket }

func (n txNodes) Node(level uint8, index uint64) (kt.Hash, error) {
	var h kt.Hash
	v := n.b.Get(ktNodeKey(level, index))
	if len(v) != len(h) {
		return h, fmt.Errorf("%w: kt tree node (%d, %d) missing or of %d bytes", ErrCorrupt, level, index, len(v))
	}
	copy(h[:], v)
	return h, nil
}

// ktSize returns the log's size: its leaves.
func ktSize(tx *bolt.Tx) uint64 {
	c := tx.Bucket(bucketKTLeaves).Cursor()
	k, _ := c.Last()
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k) + 1
}

// ktKeysHash is the keys hash of what the directory publishes.
func ktKeysHash(k protocol.PublishedKeys) kt.Hash {
	return kt.KeysHash(k.IdentityKey, k.HPKEKey, k.Signature, k.AccountKey, k.DeviceList)
}

// ktEntryAt reads and parses the leaf at index.
func ktEntryAt(tx *bolt.Tx, index uint64) (kt.Entry, error) {
	raw := tx.Bucket(bucketKTLeaves).Get(binary.BigEndian.AppendUint64(nil, index))
	if raw == nil {
		return kt.Entry{}, fmt.Errorf("%w: kt leaf %d missing", ErrCorrupt, index)
	}
	e, err := kt.ParseEntry(raw)
	if err != nil {
		return kt.Entry{}, fmt.Errorf("%w: kt leaf %d: %w", ErrCorrupt, index, err)
	}
	return e, nil
}

// ktRecord appends user's entry for keys k (nil: the account is deleted)
// in tx, when the log is on and the entry differs from the address's
// latest, and signs the new head. bounded says whether the per-day bound
// holds (deletion and migration are not refused). It fails with
// protocol.ErrRateLimited when the address had MaxKTEntriesPerDay entries
// today, so that the caller's transaction, the directory change with it,
// rolls back.
func (s *Store) ktRecord(tx *bolt.Tx, user string, k *protocol.PublishedKeys, bounded bool) error {
	if !s.opts.KT.on() {
		return nil
	}
	now := s.opts.Now()
	e := kt.Entry{Kind: kt.KindRegister, Seq: 1, TimeMillis: now.UnixMilli(), Address: user + "@" + s.opts.KT.Domain}
	if k != nil {
		e.AccountKey, e.Keys = k.AccountKey, ktKeysHash(*k)
	} else {
		e.Kind = kt.KindDelete
	}
	day := uint32(now.UTC().Unix() / 86400)
	var a ktAddr
	addrs := tx.Bucket(bucketKTAddrs)
	if raw := addrs.Get([]byte(user)); raw != nil {
		var err error
		if a, err = decodeKTAddr(raw); err != nil {
			return fmt.Errorf("kt address %q: %w", user, err)
		}
		last, err := ktEntryAt(tx, a.index)
		if err != nil {
			return err
		}
		switch {
		case last.Kind == kt.KindDelete && k == nil:
			return nil
		case last.Kind != kt.KindDelete && k != nil && last.Keys == e.Keys && bytes.Equal(last.AccountKey, e.AccountKey):
			return nil // republished unchanged
		case last.Kind == kt.KindDelete || k == nil:
			// a new account of the name, or the deletion
		case len(last.AccountKey) > 0 && !bytes.Equal(last.AccountKey, e.AccountKey):
			e.Kind = kt.KindReset
		default:
			e.Kind = kt.KindUpdate
		}
		e.Seq = a.seq + 1
		if a.day != day {
			a.day, a.count = day, 0
		}
	} else if k == nil {
		return nil // never logged: nothing to delete
	} else {
		a.day = day
	}
	if bounded && a.count >= MaxKTEntriesPerDay {
		return fmt.Errorf("%w: %q changed its keys %d times today (at most %d)", protocol.ErrRateLimited, user, a.count, MaxKTEntriesPerDay)
	}
	index, err := ktAppend(tx, e)
	if err != nil {
		return err
	}
	a.index, a.seq = index, e.Seq
	if a.count < 255 {
		a.count++
	}
	if err := addrs.Put([]byte(user), encodeKTAddr(a)); err != nil {
		return err
	}
	return s.ktSign(tx, index+1, now)
}

// ktAppend adds e as the next leaf with the tree nodes it completes and
// returns its index.
func ktAppend(tx *bolt.Tx, e kt.Entry) (uint64, error) {
	raw := e.Marshal()
	if _, err := kt.ParseEntry(raw); err != nil {
		return 0, fmt.Errorf("%w: kt entry for %q: %w", protocol.ErrBadRequest, e.Address, err)
	}
	size := ktSize(tx)
	nodes := tx.Bucket(bucketKTNodes)
	done, err := kt.Append(txNodes{nodes}, size, kt.LeafHash(raw))
	if err != nil {
		return 0, err
	}
	for _, n := range done {
		if err := nodes.Put(ktNodeKey(n.Level, n.Index), append([]byte(nil), n.Hash[:]...)); err != nil {
			return 0, err
		}
	}
	return size, tx.Bucket(bucketKTLeaves).Put(binary.BigEndian.AppendUint64(nil, size), raw)
}

// ktSign signs the head of the log at size and keeps it as the latest.
func (s *Store) ktSign(tx *bolt.Tx, size uint64, now time.Time) error {
	sh, err := s.ktSignAt(tx, size, now)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketKTMeta).Put(keyKTHead, sh.Marshal())
}

func (s *Store) ktSignAt(tx *bolt.Tx, size uint64, now time.Time) (kt.SignedHead, error) {
	root, err := kt.Root(txNodes{tx.Bucket(bucketKTNodes)}, size)
	if err != nil {
		return kt.SignedHead{}, err
	}
	return kt.SignHead(kt.Head{Domain: s.opts.KT.Domain, Size: size, Root: root, TimeMillis: now.UnixMilli()}, s.opts.KT.Key, s.opts.KT.Cert)
}

// ktMigrate starts the log of a store that has none: one register entry
// per account with keys, in name order, and a head. A store whose log is
// started is left alone, and so is one opened without a log.
func (s *Store) ktMigrate(tx *bolt.Tx) error {
	if !s.opts.KT.on() {
		return nil
	}
	if head := tx.Bucket(bucketKTMeta).Get(keyKTHead); head != nil {
		return s.ktResign(tx, head)
	}
	var users []string
	err := tx.Bucket(bucketKeys).ForEach(func(k, _ []byte) error {
		if tx.Bucket(bucketAccounts).Get(k) != nil {
			users = append(users, string(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, u := range users {
		keys, err := decodeKeys(tx.Bucket(bucketKeys).Get([]byte(u)))
		if err != nil {
			return fmt.Errorf("keys of %q: %w", u, err)
		}
		if err := s.ktRecord(tx, u, &keys, false); err != nil {
			return err
		}
	}
	if ktSize(tx) == 0 {
		// An empty log has a head too, so that a started log is told
		// from one never started.
		return s.ktSign(tx, 0, s.opts.Now())
	}
	return nil
}

// ktResign signs the latest head again when the node signs with another
// key than the head's (federation turned on or off, a new certificate),
// so that what it gossips from now on is checked against the new signer.
// The size and root stay: the log is the same.
func (s *Store) ktResign(tx *bolt.Tx, raw []byte) error {
	sh, err := kt.ParseSignedHead(raw)
	if err != nil {
		return fmt.Errorf("%w: kt head: %w", ErrCorrupt, err)
	}
	pub, err := sh.PublicKey()
	if err == nil && pub.Equal(s.opts.KT.Key.Public()) && bytes.Equal(sh.Cert, s.opts.KT.Cert) {
		return nil
	}
	return s.ktSign(tx, sh.Size, s.opts.Now())
}

// KTHead returns the log's latest signed head (kt.SignedHead encoding),
// nil when the store keeps no log.
func (s *Store) KTHead() ([]byte, error) {
	var head []byte
	err := s.view("kt head", func(tx *bolt.Tx) error {
		head = bytes.Clone(tx.Bucket(bucketKTMeta).Get(keyKTHead))
		return nil
	})
	return head, err
}

// KTProof returns the proof that user's current keys are in the log: the
// entry, its inclusion proof in the latest head, the head, and the
// consistency proof from knownSize to it (none for 0 or the head's size).
// ErrNoKTLog when the store keeps no log, protocol.ErrNoSuchKeys when the
// address has no entry, protocol.ErrBadRequest for a knownSize beyond the
// head.
func (s *Store) KTProof(user string, knownSize uint64) (protocol.KeyProof, error) {
	var p protocol.KeyProof
	err := s.view("kt proof", func(tx *bolt.Tx) error {
		head := tx.Bucket(bucketKTMeta).Get(keyKTHead)
		if head == nil {
			return ErrNoKTLog
		}
		sh, err := kt.ParseSignedHead(head)
		if err != nil {
			return fmt.Errorf("%w: kt head: %w", ErrCorrupt, err)
		}
		raw := tx.Bucket(bucketKTAddrs).Get([]byte(user))
		if raw == nil {
			return fmt.Errorf("%w: %q has no kt entry", protocol.ErrNoSuchKeys, user)
		}
		a, err := decodeKTAddr(raw)
		if err != nil {
			return err
		}
		nodes := txNodes{tx.Bucket(bucketKTNodes)}
		inc, err := kt.InclusionProof(nodes, a.index, sh.Size)
		if err != nil {
			return fmt.Errorf("%w: kt inclusion of %d in %d: %w", ErrCorrupt, a.index, sh.Size, err)
		}
		cons, err := ktConsistency(nodes, knownSize, sh.Size)
		if err != nil {
			return err
		}
		p = protocol.KeyProof{
			Entry:       bytes.Clone(tx.Bucket(bucketKTLeaves).Get(binary.BigEndian.AppendUint64(nil, a.index))),
			Index:       a.index,
			Inclusion:   ktHashes(inc),
			Head:        bytes.Clone(head),
			Consistency: cons,
		}
		return nil
	})
	return p, err
}

// ktConsistency is the proof from first to second; none when first is 0
// or second.
func ktConsistency(nodes kt.Nodes, first, second uint64) ([][]byte, error) {
	if first > second {
		return nil, fmt.Errorf("%w: tree size %d is beyond %d", protocol.ErrBadRequest, first, second)
	}
	if first == 0 || first == second {
		return nil, nil
	}
	cons, err := kt.ConsistencyProof(nodes, first, second)
	if err != nil {
		return nil, fmt.Errorf("%w: kt consistency %d to %d: %w", ErrCorrupt, first, second, err)
	}
	return ktHashes(cons), nil
}

func ktHashes(hs []kt.Hash) [][]byte { return kt.MarshalProof(hs) }

// KTConsistency returns the consistency proof from tree size first to
// second and the signed head of second; second 0 means the latest head.
// A head of an older size is signed now: the root of a size never
// changes. protocol.ErrBadRequest for sizes beyond the log; ErrNoKTLog.
func (s *Store) KTConsistency(first, second uint64) (proof [][]byte, head []byte, err error) {
	err = s.view("kt consistency", func(tx *bolt.Tx) error {
		latest := tx.Bucket(bucketKTMeta).Get(keyKTHead)
		if latest == nil {
			return ErrNoKTLog
		}
		size := ktSize(tx)
		head = bytes.Clone(latest)
		if second != 0 && second != size {
			if second > size {
				return fmt.Errorf("%w: tree size %d is beyond the log's %d", protocol.ErrBadRequest, second, size)
			}
			sh, err := s.ktSignAt(tx, second, s.opts.Now())
			if err != nil {
				return err
			}
			head = sh.Marshal()
		} else {
			second = size
		}
		proof, err = ktConsistency(txNodes{tx.Bucket(bucketKTNodes)}, first, second)
		return err
	})
	return proof, head, err
}

// KTEntries returns up to count entries from index start on, and at most
// maxBytes bytes of them (at least one when there is one).
func (s *Store) KTEntries(start uint64, count int, maxBytes int) ([][]byte, error) {
	var out [][]byte
	err := s.view("kt entries", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketKTLeaves).Cursor()
		n := 0
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, start)); k != nil && len(out) < count; k, v = c.Next() {
			if len(out) > 0 && n+len(v) > maxBytes {
				break
			}
			n += len(v)
			out = append(out, bytes.Clone(v))
		}
		return nil
	})
	return out, err
}

// ErrNoKTLog means the store keeps no key transparency log (opened
// without Options.KT).
var ErrNoKTLog = errors.New("store keeps no key transparency log")
