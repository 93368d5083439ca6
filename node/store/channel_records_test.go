package store

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node/storetest"
	"github.com/quicprochat/qpc/protocol"
)

var (
	samplePost = protocol.StoredPost{
		ID:      protocol.PostID{1, 2, 3},
		Channel: protocol.ChannelID{4, 5, 6},
		Expires: t0.Add(7*24*time.Hour + time.Nanosecond),
		Data:    []byte("flooded post"),
		Seq:     9,
	}
	sampleChanMeta   = chanMeta{lastSeq: 9, count: 3, bytes: 300, newest: 12}
	sampleChanTotals = chanTotals{posts: 3, bytes: 300, channels: 1, seen: 5, added: 12}
)

func TestChannelRecordsRoundTrip(t *testing.T) {
	p, err := decodePost(samplePost.Channel, samplePost.Seq, encodePost(samplePost))
	if err != nil || !storetest.EqualPost(p, samplePost) {
		t.Errorf("post: %+v, %v", p, err)
	}
	bare := protocol.StoredPost{Seq: 1}
	if p, err := decodePost(protocol.ChannelID{}, 1, encodePost(bare)); err != nil || !storetest.EqualPost(p, bare) {
		t.Errorf("post without id and data: %+v, %v", p, err)
	}
	if m, err := decodeChanMeta(encodeChanMeta(sampleChanMeta)); err != nil || m != sampleChanMeta {
		t.Errorf("channel: %+v, %v", m, err)
	}
	if tot, err := decodeChanTotals(encodeChanTotals(sampleChanTotals)); err != nil || tot != sampleChanTotals {
		t.Errorf("channel totals: %+v, %v", tot, err)
	}
	if exp, from, err := decodeChanSeen(encodeChanSeen(t0, "n2.example")); err != nil || !exp.Equal(t0) || from != "n2.example" {
		t.Errorf("channel seen: %v, %q, %v", exp, from, err)
	}
	if exp, from, err := decodeChanSeen(encodeChanSeen(t0, "")); err != nil || !exp.Equal(t0) || from != "" {
		t.Errorf("channel seen of a local post: %v, %q, %v", exp, from, err)
	}
	// Version 1, before the neighbour was kept: read as a local post's.
	v1 := encodeChanSeen(t0, "")
	v1[0] = 1
	if exp, from, err := decodeChanSeen(v1); err != nil || !exp.Equal(t0) || from != "" {
		t.Errorf("channel seen of version 1: %v, %q, %v", exp, from, err)
	}
	if _, _, err := decodeChanSeen(append(v1, 'x')); !errors.Is(err, ErrCorrupt) {
		t.Errorf("channel seen of version 1 with a neighbour: %v, want ErrCorrupt", err)
	}
	exp, ch, seq, err := parsePostExpiryKey(postExpiryKey(t0, samplePost.Channel, 42))
	if err != nil || !exp.Equal(t0) || ch != samplePost.Channel || seq != 42 {
		t.Errorf("post expiry key: %v %x %d %v", exp, ch, seq, err)
	}
	newest, ch, err := parseRecencyKey(recencyKey(77, samplePost.Channel))
	if err != nil || newest != 77 || ch != samplePost.Channel {
		t.Errorf("recency key: %d %x %v", newest, ch, err)
	}
}

func TestPostExpiryKeysSortByExpiryThenChannelThenSeq(t *testing.T) {
	keys := [][]byte{
		postExpiryKey(t0.Add(-time.Hour), protocol.ChannelID{9}, 9),
		postExpiryKey(t0, protocol.ChannelID{1}, 2),
		postExpiryKey(t0, protocol.ChannelID{1}, 256),
		postExpiryKey(t0, protocol.ChannelID{2}, 1),
		postExpiryKey(t0.Add(time.Nanosecond), protocol.ChannelID{}, 0),
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Errorf("post expiry key %d does not sort after key %d", i, i-1)
		}
	}
	if bytes.Compare(recencyKey(255, protocol.ChannelID{9}), recencyKey(256, protocol.ChannelID{})) >= 0 {
		t.Error("recency keys do not sort by newest first")
	}
}

func TestChannelRecordFieldsOutOfRangeAreRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"a channel keeping more posts than it ever had", func() error {
			_, err := decodeChanMeta(encodeChanMeta(chanMeta{lastSeq: 1, count: 2, newest: 2}))
			return err
		}()},
		{"a channel whose last seq is above its newest post's number", func() error {
			_, err := decodeChanMeta(encodeChanMeta(chanMeta{lastSeq: 3, count: 1, newest: 2}))
			return err
		}()},
		{"a channel of 2^63 bytes", func() error {
			_, err := decodeChanMeta(encodeChanMeta(chanMeta{lastSeq: 1, count: 1, bytes: 1 << 63, newest: 1}))
			return err
		}()},
		{"totals of more channels than posts", func() error {
			_, err := decodeChanTotals(encodeChanTotals(chanTotals{posts: 1, channels: 2, seen: 2, added: 2}))
			return err
		}()},
		{"totals of more posts than seen ids", func() error {
			_, err := decodeChanTotals(encodeChanTotals(chanTotals{posts: 2, channels: 1, seen: 1, added: 2}))
			return err
		}()},
		{"totals of more posts than were ever added", func() error {
			_, err := decodeChanTotals(encodeChanTotals(chanTotals{posts: 2, channels: 1, seen: 2, added: 1}))
			return err
		}()},
		{"totals of 2^63 bytes", func() error {
			_, err := decodeChanTotals(encodeChanTotals(chanTotals{posts: 1, bytes: 1 << 63, channels: 1, seen: 1, added: 1}))
			return err
		}()},
		{"a post expiry key a byte short", func() error {
			_, _, _, err := parsePostExpiryKey(make([]byte, postExpiryKeyLen-1))
			return err
		}()},
		{"a recency key a byte long", func() error {
			_, _, err := parseRecencyKey(make([]byte, recencyKeyLen+1))
			return err
		}()},
		{"a 31-byte channel id key", func() error { _, err := channelIDKey(make([]byte, 31)); return err }()},
		{"a 33-byte post id key", func() error { _, err := postIDKey(make([]byte, 33)); return err }()},
		{"a post whose expiry has nanoseconds past a second", func() error {
			rec := encodePost(samplePost)
			copy(rec[1+8:], []byte{0xff, 0xff, 0xff, 0xff})
			_, err := decodePost(samplePost.Channel, 1, rec)
			return err
		}()},
	} {
		if !errors.Is(tc.err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", tc.name, tc.err)
		}
	}
}

func FuzzDecodePost(f *testing.F) {
	f.Add(encodePost(samplePost))
	f.Add(encodePost(protocol.StoredPost{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePost(protocol.ChannelID{}, 1, b)
		if err == nil && !bytes.Equal(encodePost(p), b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeChanMeta(f *testing.F) {
	f.Add(encodeChanMeta(sampleChanMeta))
	f.Add(encodeChanMeta(chanMeta{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeChanMeta(b)
		if err == nil && !bytes.Equal(encodeChanMeta(m), b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeChanTotals(f *testing.F) {
	f.Add(encodeChanTotals(sampleChanTotals))
	f.Add(encodeChanTotals(chanTotals{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		tot, err := decodeChanTotals(b)
		if err == nil && !bytes.Equal(encodeChanTotals(tot), b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeChanSeen(f *testing.F) {
	f.Add(encodeChanSeen(t0, ""))
	f.Add(encodeChanSeen(t0, "n2.example"))
	f.Add(encodeChanSeen(time.Time{}, ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		exp, from, err := decodeChanSeen(b)
		if err != nil {
			return
		}
		re := encodeChanSeen(exp, from)
		re[0] = b[0] // version 1 differs only there
		if !bytes.Equal(re, b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzChannelIndexKeys(f *testing.F) {
	f.Add(postExpiryKey(t0, samplePost.Channel, 3))
	f.Add(recencyKey(7, samplePost.Channel))
	f.Fuzz(func(t *testing.T, b []byte) {
		if exp, ch, seq, err := parsePostExpiryKey(b); err == nil && !bytes.Equal(postExpiryKey(exp, ch, seq), b) {
			t.Errorf("post expiry key re-encoding differs")
		}
		if newest, ch, err := parseRecencyKey(b); err == nil && !bytes.Equal(recencyKey(newest, ch), b) {
			t.Errorf("recency key re-encoding differs")
		}
	})
}
