package store

import (
	"bytes"
	"errors"
	"testing"
)

var (
	sampleMLSGroup  = mlsGroup{next: 9, kept: 3, touched: 12}
	sampleMLSTotals = mlsTotals{groups: 4, touches: 12}
)

func TestMLSRecordsRoundTrip(t *testing.T) {
	if g, err := decodeMLSGroup(encodeMLSGroup(sampleMLSGroup)); err != nil || g != sampleMLSGroup {
		t.Errorf("group: %+v, %v", g, err)
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
		{"an empty group id key", groupIDKey(nil)},
		{"a 256-byte group id key", groupIDKey(make([]byte, 256))},
	} {
		if !errors.Is(tc.err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", tc.name, tc.err)
		}
	}
}

func FuzzDecodeMLSGroup(f *testing.F) {
	f.Add(encodeMLSGroup(sampleMLSGroup))
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
