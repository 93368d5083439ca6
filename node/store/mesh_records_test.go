package store

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

var (
	sampleHeld = protocol.HeldEnvelope{
		ID:        protocol.MeshID{1, 2, 3},
		Domain:    "n2.example",
		Origin:    "n1.example",
		Expires:   t0.Add(7 * 24 * time.Hour),
		Held:      t0.Add(time.Nanosecond),
		Data:      []byte("signed envelope"),
		Sender:    "alice",
		Recipient: "bob@n2.example",
		From:      "n3.example",
		OriginID:  "abcdefghijklmnopqrstuvwxyz",
		Seq:       1,
	}
	sampleStatus = meshStatus{sender: "alice", MessageStatus: protocol.MessageStatus{
		ID:        sampleHeld.ID,
		State:     protocol.MeshDropped,
		At:        "n3.example",
		Updated:   t0.Add(time.Minute),
		Recipient: "bob@n2.example",
		Expires:   sampleHeld.Expires,
		Reason:    protocol.ErrHopLimit,
	}}
)

func TestMeshRecordsRoundTrip(t *testing.T) {
	e, err := decodeHeld("n2.example", 1, encodeHeld(sampleHeld))
	if err != nil || !equalHeld(e, sampleHeld) {
		t.Errorf("held: %+v, %v", e, err)
	}
	bare := protocol.HeldEnvelope{ID: protocol.MeshID{9}, Domain: "d", Seq: 5}
	if e, err := decodeHeld("d", 5, encodeHeld(bare)); err != nil || !equalHeld(e, bare) {
		t.Errorf("held without strings and data: %+v, %v", e, err)
	}
	state, expires, _, err := decodeSeen(encodeSeen(protocol.SeenDelivered, t0, ""))
	if err != nil || state != protocol.SeenDelivered || !expires.Equal(t0) {
		t.Errorf("seen: %v %v %v", state, expires, err)
	}
	st, err := decodeStatus(sampleHeld.ID, encodeStatus(sampleStatus))
	if err != nil || st.sender != "alice" || st.At != "n3.example" || st.State != protocol.MeshDropped ||
		!st.Updated.Equal(sampleStatus.Updated) || !st.Expires.Equal(sampleStatus.Expires) ||
		st.Recipient != sampleStatus.Recipient || st.Reason != protocol.ErrHopLimit || st.ID != sampleHeld.ID {
		t.Errorf("status: %+v, %v", st, err)
	}
	tally, err := decodeMeshTally(encodeMeshTally(meshTally{3, 300}))
	if err != nil || tally != (meshTally{3, 300}) {
		t.Errorf("origin: %+v, %v", tally, err)
	}
	totals, err := decodeMeshTotals(encodeMeshTotals(meshTotals{meshTally{3, 300}, 7}))
	if err != nil || totals != (meshTotals{meshTally{3, 300}, 7}) {
		t.Errorf("mesh totals: %+v, %v", totals, err)
	}
	exp, id, err := parseIDExpiryKey(idExpiryKey(t0, sampleHeld.ID))
	if err != nil || !exp.Equal(t0) || protocol.MeshID(id) != sampleHeld.ID {
		t.Errorf("envelope id expiry key: %v %x %v", exp, id, err)
	}
}

// equalHeld compares envelopes, times by instant.
func equalHeld(a, b protocol.HeldEnvelope) bool {
	return a.Expires.Equal(b.Expires) && a.Held.Equal(b.Held) && bytes.Equal(a.Data, b.Data) &&
		reflect.DeepEqual(
			[]any{a.ID, a.Domain, a.Origin, a.Sender, a.Recipient, a.From, a.OriginID, a.Seq},
			[]any{b.ID, b.Domain, b.Origin, b.Sender, b.Recipient, b.From, b.OriginID, b.Seq})
}

func TestStatusReasonsReadBackAsTheNodeErrors(t *testing.T) {
	for _, reason := range []error{
		nil, protocol.ErrExpired, protocol.ErrHopLimit, protocol.ErrUnknownUser, protocol.ErrBadEnvelope,
		protocol.ErrMeshFull, protocol.ErrMailboxFull, protocol.ErrUnknownDomain,
	} {
		st := sampleStatus
		st.Reason = reason
		if reason != nil {
			st.Reason = fmt.Errorf("at n3.example: %w", reason) // as the engine passes them
		}
		got, err := decodeStatus(st.ID, encodeStatus(st))
		if err != nil || got.Reason != reason {
			t.Errorf("reason %v read back as %v, %v", reason, got.Reason, err)
		}
	}
	st := sampleStatus
	st.Reason = errors.New("disk on fire")
	if got, err := decodeStatus(st.ID, encodeStatus(st)); err != nil || !errors.Is(got.Reason, ErrOtherReason) {
		t.Errorf("an error without a code read back as %v, %v; want ErrOtherReason", got.Reason, err)
	}
}

func TestMeshRecordFieldsOutOfRangeAreRejected(t *testing.T) {
	for _, state := range []protocol.SeenState{0, protocol.SeenDropped + 1} {
		if _, _, _, err := decodeSeen(encodeSeen(state, t0, "")); !errors.Is(err, ErrCorrupt) {
			t.Errorf("seen state %d: %v, want ErrCorrupt", state, err)
		}
	}
	for _, state := range []protocol.MeshState{protocol.MeshUnknown, protocol.MeshDropped + 1} {
		st := sampleStatus
		st.State = state
		if _, err := decodeStatus(st.ID, encodeStatus(st)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("status state %d: %v, want ErrCorrupt", state, err)
		}
	}
	rec := encodeStatus(sampleStatus)
	rec[2] = byte(len(statusReasons))
	if _, err := decodeStatus(sampleStatus.ID, rec); !errors.Is(err, ErrCorrupt) {
		t.Errorf("status reason code %d: %v, want ErrCorrupt", rec[2], err)
	}
	if _, err := decodeMeshTotals(encodeMeshTotals(meshTotals{meshTally{2, 10}, 1})); !errors.Is(err, ErrCorrupt) {
		t.Errorf("totals holding more envelopes than seen ids: %v, want ErrCorrupt", err)
	}
	if _, err := decodeMeshTally(encodeMeshTally(meshTally{1, 1 << 63})); !errors.Is(err, ErrCorrupt) {
		t.Errorf("origin with 2^63 bytes: %v, want ErrCorrupt", err)
	}
	if _, err := meshIDKey(make([]byte, 31)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("31-byte envelope id key: %v, want ErrCorrupt", err)
	}
}

func FuzzDecodeHeld(f *testing.F) {
	f.Add(encodeHeld(sampleHeld))
	f.Add(encodeHeld(protocol.HeldEnvelope{}))
	f.Add(encodeHeldV1(sampleHeld))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeHeld("d", 1, b)
		switch {
		case err != nil:
		case b[0] == heldVersion && !bytes.Equal(encodeHeld(e), b):
			t.Errorf("re-encoding differs")
		case b[0] == 1 && !bytes.Equal(encodeHeldV1(e), b):
			t.Errorf("re-encoding as version 1 differs")
		}
	})
}

func FuzzDecodeSeen(f *testing.F) {
	f.Add(encodeSeen(protocol.SeenHeld, t0, ""))
	f.Add(encodeSeen(protocol.SeenForwarded, t0, "n2.example"))
	f.Fuzz(func(t *testing.T, b []byte) {
		state, expires, from, err := decodeSeen(b)
		if err != nil {
			return
		}
		re := encodeSeen(state, expires, from)
		re[0] = b[0] // version 1 differs only there
		if !bytes.Equal(re, b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add(encodeStatus(sampleStatus))
	f.Add(encodeStatus(meshStatus{MessageStatus: protocol.MessageStatus{State: protocol.MeshQueued}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeStatus(protocol.MeshID{}, b)
		if err == nil && !bytes.Equal(encodeStatus(st), b) {
			t.Errorf("re-encoding differs")
		}
	})
}

func FuzzDecodeMeshCounters(f *testing.F) {
	f.Add(encodeMeshTally(meshTally{3, 300}))
	f.Add(encodeMeshTotals(meshTotals{meshTally{3, 300}, 7}))
	f.Add(encodeChanNeighbour(12))
	f.Fuzz(func(t *testing.T, b []byte) {
		if tally, err := decodeMeshTally(b); err == nil && !bytes.Equal(encodeMeshTally(tally), b) {
			t.Errorf("origin re-encoding differs")
		}
		if tally, err := decodeNeighbourTally(b); err == nil && !bytes.Equal(encodeNeighbourTally(tally), b) {
			t.Errorf("neighbour re-encoding differs")
		}
		if seen, err := decodeChanNeighbour(b); err == nil && !bytes.Equal(encodeChanNeighbour(seen), b) {
			t.Errorf("channel neighbour re-encoding differs")
		}
		if totals, err := decodeMeshTotals(b); err == nil && !bytes.Equal(encodeMeshTotals(totals), b) {
			t.Errorf("mesh totals re-encoding differs")
		}
	})
}

// encodeHeldV1 writes e as the held records of version 1 were written,
// before the neighbour and the origin's node id were kept.
func encodeHeldV1(e protocol.HeldEnvelope) []byte {
	b := make([]byte, heldHeader)
	b[0] = 1
	putTime(b[1:], e.Held)
	putTime(b[1+timeLen:], e.Expires)
	copy(b[1+2*timeLen:], e.ID[:])
	for _, f := range []string{e.Origin, e.Sender, e.Recipient} {
		b = appendField(b, []byte(f))
	}
	return append(b, e.Data...)
}

func TestHeldRecordsOfVersion1ReadWithoutNeighbourOrOriginID(t *testing.T) {
	e, err := decodeHeld("n2.example", 1, encodeHeldV1(sampleHeld))
	want := sampleHeld
	want.From, want.OriginID = "", ""
	if err != nil || !equalHeld(e, want) {
		t.Fatalf("version 1 held record: %+v, %v; want %+v", e, err, want)
	}
	if got := originKey(e); got != "n1.example" {
		t.Errorf("origin key of a version 1 record %q, want the domain alone", got)
	}
	if got := originKey(sampleHeld); got != "n1.example/abcdefghijklmnopqrstuvwxyz" {
		t.Errorf("origin key %q, want domain/node id", got)
	}
}
