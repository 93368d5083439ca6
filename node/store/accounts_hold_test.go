package store

import (
	"errors"
	"testing"
	"time"
)

func TestNameHoldRecordsRoundTripAndRefuseBadInput(t *testing.T) {
	until := time.Date(2026, 12, 13, 20, 0, 0, 123, time.UTC)
	got, err := decodeNameHold(encodeNameHold(until))
	if err != nil || !got.Equal(until) {
		t.Fatalf("round trip = %s, %v; want %s", got, err, until)
	}
	good := encodeNameHold(until)
	for name, b := range map[string][]byte{
		"empty":           nil,
		"truncated":       good[:len(good)-1],
		"a trailing byte": append(append([]byte(nil), good...), 0),
		"unknown version": append([]byte{recordVersion + 1}, good[1:]...),
		"bad nanoseconds": append(append([]byte(nil), good[:1+8]...), 0xff, 0xff, 0xff, 0xff),
	} {
		if _, err := decodeNameHold(b); err == nil {
			t.Errorf("%s: decoded", name)
		} else if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrRecordUnknown) {
			t.Errorf("%s: %v, want ErrCorrupt or ErrRecordUnknown", name, err)
		}
	}
}

func FuzzDecodeNameHold(f *testing.F) {
	f.Add(encodeNameHold(time.Date(2026, 12, 13, 20, 0, 0, 0, time.UTC)))
	f.Add(encodeNameHold(time.Unix(0, 0)))
	f.Fuzz(func(t *testing.T, b []byte) {
		until, err := decodeNameHold(b)
		if err != nil {
			return
		}
		again, err := decodeNameHold(encodeNameHold(until))
		if err != nil || !again.Equal(until) {
			t.Fatalf("%x decoded to %s, which round-trips to %s, %v", b, until, again, err)
		}
	})
}
