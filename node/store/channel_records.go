package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Records and index keys of the channel buckets; the layouts are in the
// package doc.

const (
	channelIDLen = len(protocol.ChannelID{})
	postIDLen    = len(protocol.PostID{})
	// postHeader is the fixed part of a post record: version | expires |
	// id.
	postHeader = 1 + timeLen + postIDLen
	// chanSeenLen is the length of the fixed part of a channel seen
	// record: version | expires.
	chanSeenLen = 1 + timeLen
	// postExpiryKeyLen is the length of a chanexpiry key: expires |
	// channel | seq.
	postExpiryKeyLen = timeLen + channelIDLen + seqLen
	// recencyKeyLen is the length of a chanrecency key: newest | channel.
	recencyKeyLen = 8 + channelIDLen
)

// encodePost: version | expires | id | data (rest). Channel and Seq are
// the record's place, not part of it. The buffer is new, so the data is
// copied.
func encodePost(p protocol.StoredPost) []byte {
	b := make([]byte, postHeader, postHeader+len(p.Data))
	b[0] = recordVersion
	putTime(b[1:], p.Expires)
	copy(b[1+timeLen:], p.ID[:])
	return append(b, p.Data...)
}

// decodePost decodes post seq of channel; Data aliases b, the rest does
// not.
func decodePost(channel protocol.ChannelID, seq uint64, b []byte) (protocol.StoredPost, error) {
	body, err := recordBody("post", b)
	if err != nil {
		return protocol.StoredPost{}, err
	}
	if len(body) < postHeader-1 {
		return protocol.StoredPost{}, truncated("post", postHeader-1, len(body))
	}
	p := protocol.StoredPost{Channel: channel, Seq: seq}
	if p.Expires, err = getTime(body); err != nil {
		return protocol.StoredPost{}, err
	}
	copy(p.ID[:], body[timeLen:])
	p.Data = body[postHeader-1:]
	return p, nil
}

// decodePostEntry decodes the entry k → v of channel's post bucket, as
// decodePost.
func decodePostEntry(channel protocol.ChannelID, k, v []byte) (protocol.StoredPost, error) {
	seq, err := parseSeqKey(k)
	if err != nil {
		return protocol.StoredPost{}, fmt.Errorf("channel %x: %w", channel, err)
	}
	p, err := decodePost(channel, seq, v)
	if err != nil {
		return protocol.StoredPost{}, fmt.Errorf("post %d of channel %x: %w", seq, channel, err)
	}
	return p, nil
}

// chanMeta is the bookkeeping of one channel with kept posts. A channel
// without kept posts has no record (see chanTx.channel for why seqs are
// still never reused).
type chanMeta struct {
	lastSeq uint64 // seq of the channel's last post; the next is lastSeq+1
	count   uint64 // posts kept
	bytes   uint64 // their Data bytes
	// newest is the store-wide number (chanTotals.added) of the
	// channel's last post: the channel with the lowest is the one
	// MaxChannels evicts.
	newest uint64
}

// encodeChanMeta: version | last seq | count | bytes | newest (see
// encodeCounters).
func encodeChanMeta(m chanMeta) []byte {
	return encodeCounters(m.lastSeq, m.count, m.bytes, m.newest)
}

func decodeChanMeta(b []byte) (chanMeta, error) {
	v, err := decodeCounters("channel", b, 4)
	if err != nil {
		return chanMeta{}, err
	}
	m := chanMeta{lastSeq: v[0], count: v[1], bytes: v[2], newest: v[3]}
	// Kept posts have distinct seqs up to lastSeq, and no seq is above
	// the number of posts ever added when it was given.
	if m.count > m.lastSeq || m.lastSeq > m.newest || m.bytes > math.MaxInt64 {
		return chanMeta{}, fmt.Errorf("%w: channel record holds %d posts of %d bytes after seq %d, newest %d",
			ErrCorrupt, m.count, m.bytes, m.lastSeq, m.newest)
	}
	return m, nil
}

// chanTotals is the whole channel store's bookkeeping, so that the bound
// checks and ChannelStats read one record.
type chanTotals struct {
	posts    uint64 // kept posts
	bytes    uint64 // their Data bytes
	channels uint64 // channels with kept posts
	seen     uint64 // ids in the seen-set
	// added counts the posts ever added: it numbers them for
	// MaxChannels, and no seq of any channel is above it.
	added uint64
}

// encodeChanTotals: version | posts | bytes | channels | seen ids | added
// (see encodeCounters).
func encodeChanTotals(t chanTotals) []byte {
	return encodeCounters(t.posts, t.bytes, t.channels, t.seen, t.added)
}

func decodeChanTotals(b []byte) (chanTotals, error) {
	v, err := decodeCounters("channel totals", b, 5)
	if err != nil {
		return chanTotals{}, err
	}
	t := chanTotals{posts: v[0], bytes: v[1], channels: v[2], seen: v[3], added: v[4]}
	// Every kept post's id is in the seen-set, and a channel is counted
	// only while it keeps a post.
	if t.bytes > math.MaxInt64 || t.channels > t.posts || t.posts > t.seen || t.posts > t.added {
		return chanTotals{}, fmt.Errorf("%w: channel totals of %d posts, %d bytes, %d channels, %d seen ids, %d added",
			ErrCorrupt, t.posts, t.bytes, t.channels, t.seen, t.added)
	}
	return t, nil
}

// chanSeenVersion is the version byte of the channel seen records this
// version writes. Version 1 records (before the per-neighbour share) end
// after the expiry; they are still read, as from no neighbour. Only this
// record changed, so it has its own version, apart from recordVersion.
const chanSeenVersion = 2

// encodeChanSeen: version (2) | expires | from (rest: the neighbour that
// relayed the post, empty for a local post).
func encodeChanSeen(expires time.Time, from string) []byte {
	b := make([]byte, chanSeenLen, chanSeenLen+len(from))
	b[0] = chanSeenVersion
	putTime(b[1:], expires)
	return append(b, from...)
}

// decodeChanSeen decodes a channel seen record of version 1 or 2.
func decodeChanSeen(b []byte) (expires time.Time, from string, err error) {
	if len(b) == 0 {
		return time.Time{}, "", fmt.Errorf("%w: empty channel seen record", ErrCorrupt)
	}
	switch v := b[0]; {
	case v < minRecordVersion:
		return time.Time{}, "", fmt.Errorf("%w: channel seen record version %d, oldest read is %d", ErrRecordTooOld, v, minRecordVersion)
	case v > chanSeenVersion:
		return time.Time{}, "", fmt.Errorf("%w: channel seen record version %d, newest known is %d", ErrRecordUnknown, v, chanSeenVersion)
	}
	switch {
	case len(b) < chanSeenLen:
		return time.Time{}, "", fmt.Errorf("%w: channel seen record of %d bytes, want %d", ErrCorrupt, len(b), chanSeenLen)
	case b[0] == 1 && len(b) != chanSeenLen:
		return time.Time{}, "", fmt.Errorf("%w: channel seen record of version 1 of %d bytes, want %d", ErrCorrupt, len(b), chanSeenLen)
	case len(b) > chanSeenLen+MaxDomainLen:
		return time.Time{}, "", fmt.Errorf("%w: channel seen record names a neighbour of %d bytes", ErrCorrupt, len(b)-chanSeenLen)
	}
	if expires, err = getTime(b[1:]); err != nil {
		return time.Time{}, "", err
	}
	return expires, string(b[chanSeenLen:]), nil
}

// encodeChanNeighbour: version | seen ids (see encodeCounters).
func encodeChanNeighbour(seen uint64) []byte { return encodeCounters(seen) }

func decodeChanNeighbour(b []byte) (uint64, error) {
	v, err := decodeCounters("channel neighbour", b, 1)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// postExpiryKey: expires | channel | seq, the key of a chanexpiry entry;
// the value is empty. Bytewise order is expiry order, which is also the
// order in which MaxBytes evicts.
func postExpiryKey(expires time.Time, channel protocol.ChannelID, seq uint64) []byte {
	k := make([]byte, timeLen, postExpiryKeyLen)
	putTime(k, expires)
	k = append(k, channel[:]...)
	return binary.BigEndian.AppendUint64(k, seq)
}

func parsePostExpiryKey(k []byte) (expires time.Time, channel protocol.ChannelID, seq uint64, err error) {
	if len(k) != postExpiryKeyLen {
		return time.Time{}, channel, 0, fmt.Errorf("%w: post expiry key of %d bytes", ErrCorrupt, len(k))
	}
	if expires, err = getTime(k); err != nil {
		return time.Time{}, channel, 0, err
	}
	copy(channel[:], k[timeLen:])
	return expires, channel, binary.BigEndian.Uint64(k[timeLen+channelIDLen:]), nil
}

// recencyKey: newest | channel, the key of a chanrecency entry; the value
// is empty. The first entry is the channel whose last post came longest
// ago.
func recencyKey(newest uint64, channel protocol.ChannelID) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, recencyKeyLen), newest)
	return append(k, channel[:]...)
}

func parseRecencyKey(k []byte) (newest uint64, channel protocol.ChannelID, err error) {
	if len(k) != recencyKeyLen {
		return 0, channel, fmt.Errorf("%w: channel recency key of %d bytes", ErrCorrupt, len(k))
	}
	copy(channel[:], k[8:])
	return binary.BigEndian.Uint64(k), channel, nil
}

// channelIDKey checks that k is a channel id.
func channelIDKey(k []byte) (protocol.ChannelID, error) {
	var id protocol.ChannelID
	if len(k) != len(id) {
		return id, fmt.Errorf("%w: channel id key of %d bytes", ErrCorrupt, len(k))
	}
	copy(id[:], k)
	return id, nil
}

// postIDKey checks that k is a post id.
func postIDKey(k []byte) (protocol.PostID, error) {
	var id protocol.PostID
	if len(k) != len(id) {
		return id, fmt.Errorf("%w: post id key of %d bytes", ErrCorrupt, len(k))
	}
	copy(id[:], k)
	return id, nil
}
