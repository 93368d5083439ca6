package client

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quicprochat/qpc/crypto/keystore"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/internal/atomicfile"
)

// A node, or a relay on the way, can enqueue the same sealed payload again
// in a new envelope: the sealed content is signed by the sender, not bound
// to the envelope, so nothing below the client can tell the copy from the
// original. The client therefore remembers the (sender, message id) pairs it
// has opened, and refuses messages whose signed time is too old for it to
// still remember them. Both bounds come from the same window, so the memory
// is bounded in time and, by MaxReplayEntries, in size.
//
// # Replay cache file
//
// <state dir>/<user>@<domain>.replay (mode 0600) is sealed with
// crypto/keystore under the account's OPAQUE export key, like the state:
// the ids and times of received messages say when the user was written
// to. Inside:
//
//	offset  size  field
//	0       1     version (replayCacheVersion = 1)
//	1       8     floor, Unix milliseconds, big-endian signed: messages
//	              signed at or before it are refused (see MaxReplayEntries)
//	9       4     entry count n, big-endian, at most MaxReplayEntries
//	13      24n   entries: 16-byte key | signed time, Unix ms, big-endian
//
// A key is the first 16 bytes of SHA-256("qpc/1 replay" | 0 |
// lowercased sender address | 0 | message id), so the file holds no
// addresses. Keys are unique; anything else is ErrBadReplayCache.

const (
	// ReplayWindow is how old a sealed message's signed time may be when
	// it is opened: an envelope may wait up to 30 days in the mesh
	// (mesh/envelope.MaxTTL) and then up to 30 days in the mailbox (the
	// node's default --max-message-ttl), so an honest message can arrive
	// 60 days after it was written. Older messages are refused, and ids
	// are remembered for this long after their signed time.
	ReplayWindow = 60 * 24 * time.Hour
	// MaxClockSkew is how far in the future a message's signed time may
	// be: senders' clocks are not synchronised (a laptop set to local time
	// as UTC is hours off), but a message dated further ahead would have
	// to be remembered for longer than the window.
	MaxClockSkew = 24 * time.Hour
	// MaxReplayEntries bounds the cache: anyone can send a client
	// messages, so the number of ids within the window is theirs to
	// choose. When it is full, the oldest eighth is forgotten and the
	// floor raised to their newest time, so that they stay refused (as
	// stale) rather than become replayable. 65,536 entries are 1.5 MiB.
	MaxReplayEntries = 1 << 16

	replayCacheVersion = 1
	replayHeader       = 1 + 8 + 4
	replayEntry        = 16 + 8
)

// ErrReplayed means a sealed message with the same sender and id was
// opened before: it is a copy, re-enqueued by a node or relay, and is
// dropped, not shown.
var ErrReplayed = errors.New("replayed message dropped: this sender's message was already received")

// ErrStaleMessage means a sealed message's signed time is outside the
// window in which this client remembers message ids (older than
// ReplayWindow, or more than MaxClockSkew ahead), so it cannot tell a
// replay from a first delivery and refuses it.
var ErrStaleMessage = errors.New("message refused: its signed time is outside the accepted window")

// ErrBadReplayCache means the replay cache file does not follow its
// layout. Deleting it lets messages received before be shown again.
var ErrBadReplayCache = errors.New("malformed replay cache")

// ErrReplayCacheTooOld and ErrReplayCacheUnsupported mean the replay cache
// file has a format version this build no longer reads, or a newer one.
var (
	ErrReplayCacheTooOld      = errors.New("replay cache format too old")
	ErrReplayCacheUnsupported = errors.New("replay cache format newer than this qpc")
)

type replayKey [16]byte

func makeReplayKey(sender string, id sealed.ID) replayKey {
	h := sha256.New()
	h.Write([]byte("qpc/1 replay\x00"))
	h.Write([]byte(strings.ToLower(sender)))
	h.Write([]byte{0})
	h.Write(id[:])
	var k replayKey
	copy(k[:], h.Sum(nil))
	return k
}

// ReplayCache remembers the sealed messages an account has opened, by
// sender and id, for ReplayWindow after their signed time. It is safe for
// concurrent use.
type ReplayCache struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	path  string
	key   []byte
	floor int64               // Unix ms
	ids   map[replayKey]int64 // signed time, Unix ms
	dirty bool
}

func replayPath(dir, user, domain string) string {
	return filepath.Join(dir, strings.ToLower(user+"@"+domain)+".replay")
}

// LoadReplayCache opens the replay cache of user@domain in dir with the
// account's export key; a missing file is an empty cache. Ids past the
// window are forgotten as the cache is used (Len, Check, Save).
func LoadReplayCache(dir, user, domain string, exportKey []byte) (*ReplayCache, error) {
	c := &ReplayCache{path: replayPath(dir, user, domain), key: exportKey, ids: map[replayKey]int64{}}
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replay cache: %w", err)
	}
	plain, err := keystore.Open(exportKey, data)
	if err != nil {
		return nil, fmt.Errorf("replay cache %s: %w", c.path, err)
	}
	c.floor, c.ids, err = decodeReplayCache(plain)
	if err != nil {
		return nil, fmt.Errorf("replay cache %s: %w (delete it to start afresh; messages still in the window may then show again)", c.path, err)
	}
	return c, nil
}

func (c *ReplayCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Len returns the number of remembered ids within the window.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune(c.now())
	return len(c.ids)
}

// Check refuses a message from sender with id signed at t if its time is
// outside the window (ErrStaleMessage) or it was seen before
// (ErrReplayed); otherwise it remembers the message, in memory until Save.
func (c *ReplayCache) Check(sender string, id sealed.ID, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	switch {
	case t.Before(now.Add(-ReplayWindow)):
		return fmt.Errorf("%w: written %s, more than %s ago", ErrStaleMessage, t.UTC().Format(time.RFC3339), ReplayWindow)
	case t.After(now.Add(MaxClockSkew)):
		return fmt.Errorf("%w: dated %s, more than %s ahead of this clock", ErrStaleMessage, t.UTC().Format(time.RFC3339), MaxClockSkew)
	case t.UnixMilli() <= c.floor:
		return fmt.Errorf("%w: written %s, before the oldest message this client still remembers (too many messages)",
			ErrStaleMessage, t.UTC().Format(time.RFC3339))
	}
	k := makeReplayKey(sender, id)
	if _, ok := c.ids[k]; ok {
		return fmt.Errorf("%w: id %s from %s", ErrReplayed, id, sender)
	}
	if len(c.ids) >= MaxReplayEntries {
		c.prune(now)
	}
	if len(c.ids) >= MaxReplayEntries {
		c.evictOldest()
		if t.UnixMilli() <= c.floor {
			return fmt.Errorf("%w: written %s, before the oldest message this client still remembers (too many messages)",
				ErrStaleMessage, t.UTC().Format(time.RFC3339))
		}
	}
	c.ids[k] = t.UnixMilli()
	c.dirty = true
	return nil
}

// prune forgets ids whose signed time is past the window: Check refuses
// those messages as stale anyway.
func (c *ReplayCache) prune(now time.Time) {
	limit := now.Add(-ReplayWindow).UnixMilli()
	for k, t := range c.ids {
		if t < limit {
			delete(c.ids, k)
			c.dirty = true
		}
	}
	if c.floor != 0 && c.floor < limit {
		c.floor, c.dirty = 0, true // the window refuses all it refused
	}
}

// evictOldest forgets the oldest eighth of the ids and raises the floor to
// the newest of them, so that they are refused rather than replayable.
func (c *ReplayCache) evictOldest() {
	times := make([]int64, 0, len(c.ids))
	for _, t := range c.ids {
		times = append(times, t)
	}
	slices.Sort(times)
	cut := times[len(times)/8]
	for k, t := range c.ids {
		if t <= cut {
			delete(c.ids, k)
		}
	}
	c.floor = max(c.floor, cut)
	c.dirty = true
}

// Save writes the cache, if it changed, sealed and atomically, so that a
// crash leaves the old file or the new one. Call it before acknowledging
// the messages Check accepted: once they are gone from the node, only the
// file stops their copies. A nil cache has nothing to save.
func (c *ReplayCache) Save() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	c.mergeFile()
	c.prune(c.now())
	for len(c.ids) > MaxReplayEntries {
		c.evictOldest()
	}
	sealedData, err := keystore.Seal(c.key, encodeReplayCache(c.floor, c.ids))
	if err != nil {
		return fmt.Errorf("replay cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if err := atomicfile.Write(c.path, sealedData, 0o600); err != nil {
		return fmt.Errorf("replay cache: %w", err)
	}
	c.dirty = false
	return nil
}

// mergeFile adds what another process (a qpc recv --follow next to a
// qpc recv) saved since this cache was loaded, so that neither overwrites
// the other's ids. A file that does not open is replaced: LoadReplayCache
// refused it when it was there before.
func (c *ReplayCache) mergeFile() {
	data, err := os.ReadFile(c.path)
	if err != nil {
		return
	}
	plain, err := keystore.Open(c.key, data)
	if err != nil {
		return
	}
	floor, ids, err := decodeReplayCache(plain)
	if err != nil {
		return
	}
	c.floor = max(c.floor, floor)
	for k, t := range ids {
		if _, ok := c.ids[k]; !ok {
			c.ids[k] = t
		}
	}
}

// encodeReplayCache lays out the cache as the package comment says, keys in
// order so that the same cache gives the same bytes.
func encodeReplayCache(floor int64, ids map[replayKey]int64) []byte {
	keys := make([]replayKey, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b replayKey) int { return strings.Compare(string(a[:]), string(b[:])) })
	b := make([]byte, 0, replayHeader+replayEntry*len(keys))
	b = append(b, replayCacheVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(floor))
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		b = append(b, k[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(ids[k]))
	}
	return b
}

// decodeReplayCache reads what encodeReplayCache writes, strictly.
func decodeReplayCache(b []byte) (floor int64, ids map[replayKey]int64, err error) {
	switch {
	case len(b) == 0:
		return 0, nil, fmt.Errorf("%w: empty", ErrBadReplayCache)
	case b[0] < replayCacheVersion:
		return 0, nil, fmt.Errorf("%w: version %d", ErrReplayCacheTooOld, b[0])
	case b[0] > replayCacheVersion:
		return 0, nil, fmt.Errorf("%w: version %d", ErrReplayCacheUnsupported, b[0])
	case len(b) < replayHeader:
		return 0, nil, fmt.Errorf("%w: header truncated (%d bytes)", ErrBadReplayCache, len(b))
	}
	floor = int64(binary.BigEndian.Uint64(b[1:9]))
	n := binary.BigEndian.Uint32(b[9:13])
	if n > MaxReplayEntries {
		return 0, nil, fmt.Errorf("%w: %d entries, limit %d", ErrBadReplayCache, n, MaxReplayEntries)
	}
	if len(b) != replayHeader+replayEntry*int(n) {
		return 0, nil, fmt.Errorf("%w: %d bytes for %d entries", ErrBadReplayCache, len(b), n)
	}
	ids = make(map[replayKey]int64, n)
	for e := b[replayHeader:]; len(e) > 0; e = e[replayEntry:] {
		var k replayKey
		copy(k[:], e[:16])
		if _, dup := ids[k]; dup {
			return 0, nil, fmt.Errorf("%w: duplicate entry", ErrBadReplayCache)
		}
		ids[k] = int64(binary.BigEndian.Uint64(e[16:24]))
	}
	return floor, ids, nil
}
