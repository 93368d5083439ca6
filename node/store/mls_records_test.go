package store

import (
	"bytes"
	"errors"
	"testing"
)

var (
	sampleMLSGroup    = mlsGroup{next: 9, kept: 3, touched: 12, keyed: true, keyedFrom: 4, key: [32]byte{1, 2, 3, 31: 0xff}}
	sampleMLSGroupV1  = mlsGroup{next: 9, kept: 3, touched: 12}
	sampleMLSTotals   = mlsTotals{groups: 4, touches: 12}
	sampleCommitEntry = encodeCommitEntry(bytes.Repeat([]byte{7}, 32), []byte("commit"))
)

func TestMLSRecordsRoundTrip(t *testing.T) {
	if g, err := decodeMLSGroup(encodeMLSGroup(sampleMLSGroup)); err != nil || g != sampleMLSGroup {
		t.Errorf("group: %+v, %v", g, err)
	}
	if g, err := decodeMLSGroup(encodeMLSGroup(sampleMLSGroupV1)); err != nil || g != sampleMLSGroupV1 {
		t.Errorf("version 1 group: %+v, %v", g, err)
	}
	if raw := encodeMLSGroup(sampleMLSGroupV1); len(raw) != 1+mlsGroupShort {
		t.Errorf("a group that is not keyed is not written as version 1: %x", raw)
	}
	if key, c, err := decodeCommitEntry(true, sampleCommitEntry); err != nil || !bytes.Equal(key, bytes.Repeat([]byte{7}, 32)) || string(c) != "commit" {
		t.Errorf("keyed commit entry: %x %q %v", key, c, err)
	}
	if key, c, err := decodeCommitEntry(false, []byte("bare")); err != nil || key != nil || string(c) != "bare" {
		t.Errorf("bare commit entry: %x %q %v", key, c, err)
	}
	if tot, err := decodeMLSTotals(encodeMLSTotals(sampleMLSTotals)); err != nil || tot != sampleMLSTotals {
		t.Errorf("group totals: %+v, %v", tot, err)
	}
	if tot, err := decodeMLSTotals(encodeMLSTotals(mlsTotals{})); err != nil || tot != (mlsTotals{}) {
		t.Errorf("empty group totals: %+v, %v", tot, err)
	}
	group := bytes.Repeat([]byte{0xab}, 255)
	touched, g, err := parseMLSRecencyKey(mlsRecencyKey(77, group))
	if err != nil || touched != 77 || !bytes.Equal(g, group) {
		t.Errorf("recency key: %d %x %v", touched, g, err)
	}
}

func TestMLSRecencyKeysSortByTouchedFirst(t *testing.T) {
	if bytes.Compare(mlsRecencyKey(255, []byte{0xff, 0xff}), mlsRecencyKey(256, []byte{0})) >= 0 {
		t.Error("recency keys do not sort by touched first")
	}
}

func TestMLSRecordFieldsOutOfRangeAreRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"a group keeping no commit", func() error {
			_, err := decodeMLSGroup(encodeMLSGroup(mlsGroup{next: 1, touched: 1}))
			return err
		}()},
		{"a group keeping more commits than epochs below next", func() error {
			_, err := decodeMLSGroup(encodeMLSGroup(mlsGroup{next: 2, kept: 3, touched: 1}))
			return err
		}()},
		{"a group never touched", func() error {
			_, err := decodeMLSGroup(encodeMLSGroup(mlsGroup{next: 1, kept: 1}))
			return err
		}()},
		{"totals of more groups than claims", func() error {
			_, err := decodeMLSTotals(encodeMLSTotals(mlsTotals{groups: 2, touches: 1}))
			return err
		}()},
		{"a recency key without a group", func() error { _, _, err := parseMLSRecencyKey(make([]byte, 8)); return err }()},
		{"a recency key with a 256-byte group", func() error { _, _, err := parseMLSRecencyKey(make([]byte, 8+256)); return err }()},
		{"a keyed group keyed from its next epoch", func() error {
			_, err := decodeMLSGroup(encodeMLSGroup(mlsGroup{next: 2, kept: 1, touched: 1, keyed: true, keyedFrom: 2}))
			return err
		}()},
		{"a keyed group record cut short", func() error {
			raw := encodeMLSGroup(sampleMLSGroup)
			_, err := decodeMLSGroup(raw[:len(raw)-1])
			return err
		}()},
		{"a keyed commit entry that is only a key", func() error { _, _, err := decodeCommitEntry(true, make([]byte, 32)); return err }()},
		{"an empty bare commit entry", func() error { _, _, err := decodeCommitEntry(false, nil); return err }()},
		{"an empty group id key", groupIDKey(nil)},
		{"a 256-byte group id key", groupIDKey(make([]byte, 256))},
	} {
		if !errors.Is(tc.err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", tc.name, tc.err)
		}
	}
}

// TestAKeyedGroupRecordCutOrExtendedIsCorrupt checks the lengths between
// and beyond the two forms of a group record.
func TestAKeyedGroupRecordCutOrExtendedIsCorrupt(t *testing.T) {
	raw := encodeMLSGroup(sampleMLSGroup)
	for n := 1 + mlsGroupShort + 1; n < len(raw); n++ {
		if _, err := decodeMLSGroup(raw[:n]); !errors.Is(err, ErrCorrupt) {
			t.Errorf("keyed group record cut to %d of %d bytes: %v, want ErrCorrupt", n, len(raw), err)
		}
	}
	if _, err := decodeMLSGroup(append(raw, 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("keyed group record with a trailing byte: %v, want ErrCorrupt", err)
	}
}

func FuzzDecodeCommitEntry(f *testing.F) {
	f.Add(true, sampleCommitEntry)
	f.Add(false, []byte("bare commit"))
	f.Fuzz(func(t *testing.T, keyed bool, b []byte) {
		key, c, err := decodeCommitEntry(keyed, b)
		if err != nil {
			return
		}
		if keyed && !bytes.Equal(encodeCommitEntry(key, c), b) || !keyed && !bytes.Equal(c, b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeMLSGroup(f *testing.F) {
	f.Add(encodeMLSGroup(sampleMLSGroup))
	f.Add(encodeMLSGroup(sampleMLSGroupV1))
	f.Add(encodeMLSGroup(mlsGroup{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := decodeMLSGroup(b)
		if err == nil && !bytes.Equal(encodeMLSGroup(g), b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeMLSTotals(f *testing.F) {
	f.Add(encodeMLSTotals(sampleMLSTotals))
	f.Add(encodeMLSTotals(mlsTotals{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		tot, err := decodeMLSTotals(b)
		if err == nil && !bytes.Equal(encodeMLSTotals(tot), b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzParseMLSRecencyKey(f *testing.F) {
	f.Add(mlsRecencyKey(7, []byte("group")))
	f.Add(make([]byte, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		touched, group, err := parseMLSRecencyKey(b)
		if err == nil && !bytes.Equal(mlsRecencyKey(touched, group), b) {
			t.Errorf("re-encoding differs")
		}
	})
}
