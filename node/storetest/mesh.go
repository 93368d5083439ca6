package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// MeshQuota is the tests' small store-and-forward bounds.
var MeshQuota = protocol.MeshQuota{MaxBytes: 1000, DomainBytes: 600, OriginBytes: 500, MaxSeen: 20}

// MeshConfig is testConfig with MeshQuota.
func MeshConfig() Config {
	o := testConfig()
	o.Mesh = MeshQuota
	return o
}

// MeshID is the n-th test envelope id (never zero).
func MeshID(n int) protocol.MeshID {
	return protocol.MeshID{0: 0xee, 30: byte(n >> 8), 31: byte(n)}
}

// Envelope is envelope n for domain from origin with size bytes of data,
// held at t0 and expiring after ttl.
func Envelope(n int, domain, origin string, size int, ttl time.Duration) protocol.HeldEnvelope {
	return protocol.HeldEnvelope{
		ID:      MeshID(n),
		Domain:  domain,
		Origin:  origin,
		Expires: t0.Add(ttl),
		Held:    t0,
		Data:    bytes.Repeat([]byte{byte(n)}, size),
	}
}

// Hold holds envs and returns the refusals; a failure of the store is
// fatal.
func Hold(t *testing.T, s Store, envs ...protocol.HeldEnvelope) []error {
	t.Helper()
	refusals, err := s.Hold(context.Background(), envs)
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	if len(refusals) != len(envs) {
		t.Fatalf("Hold returned %d refusals for %d envelopes", len(refusals), len(envs))
	}
	return refusals
}

// MustHold holds envs, which must all be stored, and returns them with
// their seqs.
func MustHold(t *testing.T, s Store, envs ...protocol.HeldEnvelope) []protocol.HeldEnvelope {
	t.Helper()
	for i, err := range Hold(t, s, envs...) {
		if err != nil {
			t.Fatalf("Hold of envelope %d for %s: %v", i, envs[i].Domain, err)
		}
	}
	return envs
}

// SeqsOf returns the seqs of envs.
func SeqsOf(envs []protocol.HeldEnvelope) []uint64 {
	var seqs []uint64
	for _, e := range envs {
		seqs = append(seqs, e.Seq)
	}
	return seqs
}

// HeldSeqs returns the seqs held for domain.
func HeldSeqs(t *testing.T, s Store, domain string) []uint64 {
	t.Helper()
	return HeldAfter(t, s, domain, 0, 1<<20)
}

// SeenState returns id's seen state, 0 if it is not seen.
func SeenState(t *testing.T, s Store, id protocol.MeshID) protocol.SeenState {
	t.Helper()
	state, ok, err := s.Seen(id)
	if err != nil {
		t.Fatalf("Seen: %v", err)
	}
	if !ok {
		return 0
	}
	return state
}

// MeshStats returns MeshStats and checks that they agree with the store.
func MeshStats(t *testing.T, s Store) protocol.MeshStoreStats {
	t.Helper()
	st, err := s.MeshStats()
	if err != nil {
		t.Fatalf("MeshStats: %v", err)
	}
	if err := check(s); err != nil {
		t.Fatalf("Check: %v", err)
	}
	return st
}

func testHeldEnvelopesComeBackInOrderWithEveryField(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	a1 := Envelope(1, "a.example", "o.example", 10, time.Hour)
	a1.Sender, a1.Recipient, a1.At = "alice", "bob@a.example", "here.example"
	envs := MustHold(t, s, a1, Envelope(2, "b.example", "o.example", 20, time.Hour),
		Envelope(3, "a.example", "o.example", 0, time.Hour), Envelope(4, "a.example", "p.example", 5, 2*time.Hour))
	if got := SeqsOf(envs); !slices.Equal(got, []uint64{1, 1, 2, 3}) {
		t.Errorf("Hold set seqs %v, want [1 1 2 3] (a queue per domain)", got)
	}
	got, err := s.Held("a.example", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []protocol.HeldEnvelope{envs[0], envs[2], envs[3]}
	if len(got) != len(want) {
		t.Fatalf("Held returned %d envelopes, want %d", len(got), len(want))
	}
	for i := range want {
		want[i].At = "" // only for the status
		if !EqualHeld(got[i], want[i]) {
			t.Errorf("Held[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if after := HeldAfter(t, s, "a.example", 1, 1); !slices.Equal(after, []uint64{2}) {
		t.Errorf("Held after seq 1, limit 1: %v, want [2]", after)
	}
	if none := HeldAfter(t, s, "a.example", 0, 0); len(none) != 0 {
		t.Errorf("Held with limit 0: %v", none)
	}
	if none := HeldAfter(t, s, "nowhere.example", 0, 10); len(none) != 0 {
		t.Errorf("Held of a domain without queue: %v", none)
	}
	domains, err := s.HeldDomains()
	if err != nil || !slices.Equal(domains, []string{"a.example", "b.example"}) {
		t.Errorf("HeldDomains = %v, %v", domains, err)
	}
	sts, err := s.Statuses("alice", []protocol.MeshID{MeshID(1), MeshID(2)})
	if err != nil {
		t.Fatal(err)
	}
	wantSt := protocol.MessageStatus{ID: MeshID(1), State: protocol.MeshQueued, At: "here.example", Updated: t0, Recipient: "bob@a.example", Expires: t0.Add(time.Hour)}
	if !sameStatus(sts[0], wantSt) || sts[1].State != protocol.MeshUnknown {
		t.Errorf("statuses after Hold: %+v, want %+v and an unknown one (no sender)", sts, wantSt)
	}
}

// HeldAfter returns the seqs of Held(domain, after, limit).
func HeldAfter(t *testing.T, s Store, domain string, after uint64, limit int) []uint64 {
	t.Helper()
	envs, err := s.Held(domain, after, limit)
	if err != nil {
		t.Fatalf("Held(%s): %v", domain, err)
	}
	return SeqsOf(envs)
}

// sameStatus compares statuses, times by instant.
func sameStatus(a, b protocol.MessageStatus) bool {
	return a.Updated.Equal(b.Updated) && a.Expires.Equal(b.Expires) &&
		a.ID == b.ID && a.State == b.State && a.At == b.At && a.Recipient == b.Recipient && a.Reason == b.Reason
}

func testHoldStopsExactlyAtEachBound(t *testing.T, open Opener) {
	// MeshQuota: 1000 bytes in all, 600 per destination, 500 per origin,
	// 20 ids.
	for _, tc := range []struct {
		name     string
		fill     []protocol.HeldEnvelope // fits exactly
		refused  protocol.HeldEnvelope   // one byte too many
		message  string                  // in the refusal
		other    protocol.HeldEnvelope   // fits after fill, beside the bound
		freeWith time.Time               // ExpireMesh(freeWith) makes room for refused
	}{
		{
			name: "the whole store",
			fill: []protocol.HeldEnvelope{
				Envelope(1, "d1", "o1", 400, time.Hour), Envelope(2, "d2", "o2", 400, time.Hour),
				Envelope(3, "d3", "o3", 200, 2*time.Hour),
			},
			refused:  Envelope(4, "d4", "o4", 1, time.Hour),
			message:  "store-and-forward store is full: it holds 1000 of 1000 bytes, the envelope has 1",
			other:    Envelope(5, "d4", "o4", 0, time.Hour),
			freeWith: t0.Add(time.Hour),
		},
		{
			name: "one destination",
			fill: []protocol.HeldEnvelope{
				Envelope(1, "d1", "o1", 300, time.Hour), Envelope(2, "d1", "o2", 300, 2*time.Hour),
			},
			refused:  Envelope(3, "d1", "o3", 1, time.Hour),
			message:  "store-and-forward store is full: destination d1 holds 600 of 600 bytes, the envelope has 1",
			other:    Envelope(4, "d2", "o3", 1, time.Hour),
			freeWith: t0.Add(time.Hour),
		},
		{
			name: "one origin",
			fill: []protocol.HeldEnvelope{
				Envelope(1, "d1", "o1", 250, time.Hour), Envelope(2, "d2", "o1", 250, 2*time.Hour),
			},
			refused:  Envelope(3, "d3", "o1", 1, time.Hour),
			message:  "store-and-forward store is full: origin o1 holds 500 of 500 bytes, the envelope has 1",
			other:    Envelope(4, "d3", "o2", 1, time.Hour),
			freeWith: t0.Add(time.Hour),
		},
		{
			name:     "the seen ids",
			fill:     manyEnvelopes(1, 19, "d1", "o1"),
			refused:  Envelope(100, "d2", "o2", 1, time.Hour),
			message:  "store-and-forward store is full: it remembers 20 of 20 envelope ids",
			other:    Envelope(99, "d9", "o9", 1, 2*time.Hour),
			freeWith: t0.Add(time.Hour),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, MeshConfig())
			MustHold(t, s, tc.fill...)
			// Room beside the full bound is still there.
			MustHold(t, s, tc.other)
			before := MeshStats(t, s)
			err := Hold(t, s, tc.refused)[0]
			if !errors.Is(err, protocol.ErrMeshFull) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("Hold one byte past the bound: %v, want ErrMeshFull with %q", err, tc.message)
			}
			if SeenState(t, s, tc.refused.ID) != 0 {
				t.Error("a refused envelope's id entered the seen-set")
			}
			if after := MeshStats(t, s); after.Envelopes != before.Envelopes || after.Bytes != before.Bytes || after.Seen != before.Seen {
				t.Errorf("a refusal changed the totals: %+v, then %+v", before, after)
			}
			expired, err := s.ExpireMesh(tc.freeWith)
			if err != nil || len(expired) == 0 {
				t.Fatalf("ExpireMesh: %d envelopes, %v", len(expired), err)
			}
			MustHold(t, s, tc.refused)
			st := MeshStats(t, s)
			var sum int64
			for _, d := range st.Domains {
				sum += d.Bytes
			}
			if sum != st.Bytes {
				t.Errorf("the domains hold %d bytes, the totals say %d", sum, st.Bytes)
			}
		})
	}
}

// manyEnvelopes are n envelopes from first on, of one byte each, for
// domain from origin, that expire after an hour.
func manyEnvelopes(first, n int, domain, origin string) []protocol.HeldEnvelope {
	var envs []protocol.HeldEnvelope
	for i := range n {
		envs = append(envs, Envelope(first+i, domain, origin, 1, time.Hour))
	}
	return envs
}

func testHoldRefusesSeenIDs(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	MustHold(t, s, Envelope(1, "a", "o", 1, time.Hour), Envelope(2, "a", "o", 1, time.Hour))
	refusals := Hold(t, s, Envelope(1, "b", "o", 1, time.Hour), Envelope(3, "a", "o", 1, time.Hour), Envelope(3, "b", "o", 1, time.Hour))
	for i, want := range []protocol.SeenState{protocol.SeenHeld, 0, protocol.SeenHeld} {
		var seen *protocol.SeenError
		switch {
		case want == 0 && refusals[i] != nil:
			t.Errorf("envelope %d: %v, want it stored", i, refusals[i])
		case want != 0 && (!errors.As(refusals[i], &seen) || seen.State != want):
			t.Errorf("envelope %d: %v, want a SeenError with state %v", i, refusals[i], want)
		}
	}
	if got := HeldSeqs(t, s, "b"); len(got) != 0 {
		t.Errorf("duplicates were held for b: %v", got)
	}
	if err := s.Release("a", []uint64{2}, protocol.SeenForwarded); err != nil {
		t.Fatal(err)
	}
	var seen *protocol.SeenError
	if err := Hold(t, s, Envelope(2, "a", "o", 1, time.Hour))[0]; !errors.As(err, &seen) || seen.State != protocol.SeenForwarded {
		t.Errorf("Hold of a released id: %v, want a SeenError with state forwarded", err)
	}
	for id, want := range map[int]protocol.SeenState{1: protocol.SeenHeld, 2: protocol.SeenForwarded, 3: protocol.SeenHeld, 4: 0} {
		if got := SeenState(t, s, MeshID(id)); got != want {
			t.Errorf("Seen(%d) = %v, want %v", id, got, want)
		}
	}
}

func testHoldRefusesEnvelopesItCannotStore(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	long := strings.Repeat("x", sentinel.MaxDomainLen+1)
	noID := Envelope(1, "a", "o", 1, time.Hour)
	noID.ID = protocol.MeshID{}
	longSender := Envelope(5, "a", "o", 1, time.Hour)
	longSender.Sender = strings.Repeat("u", sentinel.MaxUserLen+1)
	refusals := Hold(t, s, noID, Envelope(2, "", "o", 1, time.Hour), Envelope(3, long, "o", 1, time.Hour),
		Envelope(4, "a", "", 1, time.Hour), longSender, Envelope(6, "a", "o", 1, time.Hour))
	for i, err := range refusals[:5] {
		if !errors.Is(err, protocol.ErrBadEnvelope) {
			t.Errorf("envelope %d: %v, want ErrBadEnvelope", i, err)
		}
	}
	if refusals[5] != nil {
		t.Errorf("a good envelope beside bad ones: %v", refusals[5])
	}
	if st := MeshStats(t, s); st.Envelopes != 1 || st.Seen != 1 {
		t.Errorf("stats after one good envelope: %+v", st)
	}
}

func testReleaseSetsTheSeenStateAndIgnoresUnknownSeqs(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	envs := MustHold(t, s, manyEnvelopes(1, 4, "a", "o")...)
	if err := s.Release("a", []uint64{2, 2, 9}, protocol.SeenDelivered); err != nil {
		t.Fatal(err)
	}
	if err := s.Release("b", []uint64{1}, protocol.SeenDelivered); err != nil {
		t.Fatal(err)
	}
	if err := s.Release("a", []uint64{3}, protocol.SeenDropped); err != nil {
		t.Fatal(err)
	}
	if got := HeldSeqs(t, s, "a"); !slices.Equal(got, []uint64{1, 4}) {
		t.Errorf("held after releasing 2 and 3: %v", got)
	}
	for i, want := range []protocol.SeenState{protocol.SeenHeld, protocol.SeenDelivered, protocol.SeenDropped, protocol.SeenHeld} {
		if got := SeenState(t, s, envs[i].ID); got != want {
			t.Errorf("seen state of seq %d: %v, want %v", envs[i].Seq, got, want)
		}
	}
	if st := MeshStats(t, s); st.Envelopes != 2 || st.Bytes != 2 || st.Seen != 4 {
		t.Errorf("stats after releasing 2 of 4: %+v", st)
	}
	for _, bad := range []protocol.SeenState{0, protocol.SeenHeld, protocol.SeenDropped + 1} {
		if err := s.Release("a", []uint64{1}, bad); !errors.Is(err, sentinel.InvalidState) {
			t.Errorf("Release with state %v: %v, want sentinel.InvalidState", bad, err)
		}
	}
}

func testMeshStatsDescribeEachQueue(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	if st := MeshStats(t, s); st.Envelopes != 0 || !st.Oldest.IsZero() || len(st.Domains) != 0 {
		t.Errorf("stats of an empty store: %+v", st)
	}
	late := Envelope(1, "b", "o", 10, time.Hour)
	late.Held = t0.Add(time.Minute)
	early := Envelope(2, "a", "o", 5, time.Hour)
	early.Held = t0.Add(-time.Minute)
	MustHold(t, s, late, early, Envelope(3, "b", "o", 1, time.Hour))
	st := MeshStats(t, s)
	want := []protocol.MeshDomainStats{{Domain: "a", Envelopes: 1, Bytes: 5}, {Domain: "b", Envelopes: 2, Bytes: 11}}
	if st.Envelopes != 3 || st.Bytes != 16 || st.Seen != 3 || !st.Oldest.Equal(early.Held) || !slices.Equal(st.Domains, want) {
		t.Errorf("stats: %+v, want 3 envelopes, 16 bytes, oldest %v, domains %v", st, early.Held, want)
	}
}

func testExpireMeshRemovesWhatExpiredAndNothingElse(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	var envs []protocol.HeldEnvelope
	for i := range 9 {
		e := Envelope(i+1, []string{"a", "b", "c"}[i%3], "o", 10, time.Duration(1+i%3)*time.Hour)
		e.Sender, e.Recipient = "alice", "bob@x"
		envs = append(envs, e)
	}
	MustHold(t, s, envs...)
	// One that expires in the first hour was forwarded: it is no longer
	// held, but its id stays seen until it expires.
	if err := s.Release("a", []uint64{1}, protocol.SeenForwarded); err != nil {
		t.Fatal(err)
	}
	expired, err := s.ExpireMesh(t0.Add(time.Hour - time.Nanosecond))
	if err != nil || len(expired) != 0 {
		t.Fatalf("ExpireMesh before anything expired: %v, %v", expired, err)
	}
	expired, err = s.ExpireMesh(t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, e := range expired {
		if e.Data != nil || e.Domain != "a" || e.Sender != "alice" {
			t.Errorf("expired envelope %+v, want domain a, sender, no data", e)
		}
		got = append(got, int(e.ID[31]))
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{4, 7}) {
		t.Errorf("ExpireMesh returned envelopes %v, want 4 and 7", got)
	}
	for n, want := range map[int]protocol.SeenState{1: 0, 4: 0, 7: 0, 2: protocol.SeenHeld, 3: protocol.SeenHeld} {
		if state := SeenState(t, s, MeshID(n)); state != want {
			t.Errorf("seen state of %d after the first hour: %v, want %v", n, state, want)
		}
	}
	if st := MeshStats(t, s); st.Envelopes != 6 || st.Bytes != 60 || st.Seen != 6 {
		t.Errorf("stats after the first hour: %+v", st)
	}
	// Statuses stay a day after their message expired.
	statusOf := func(n int) protocol.MeshState {
		sts, err := s.Statuses("alice", []protocol.MeshID{MeshID(n)})
		if err != nil {
			t.Fatal(err)
		}
		return sts[0].State
	}
	if _, err := s.ExpireMesh(t0.Add(25*time.Hour - time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	if statusOf(1) != protocol.MeshQueued || statusOf(4) != protocol.MeshQueued {
		t.Error("a status went before a day after its message expired")
	}
	if st := MeshStats(t, s); st.Envelopes != 0 || st.Seen != 0 || len(st.Domains) != 0 {
		t.Errorf("stats once every envelope expired: %+v", st)
	}
	if _, err := s.ExpireMesh(t0.Add(25 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if statusOf(1) != protocol.MeshUnknown || statusOf(4) != protocol.MeshUnknown || statusOf(2) != protocol.MeshQueued {
		t.Error("statuses a day after expiry: want the first hour's gone and the second's kept")
	}
}

func testSetStatusKeepsFinalStates(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name  string
		steps []protocol.MeshState
		want  protocol.MeshState
	}{
		{"forwarded replaces queued", []protocol.MeshState{protocol.MeshForwarded}, protocol.MeshForwarded},
		{"queued replaces forwarded", []protocol.MeshState{protocol.MeshForwarded, protocol.MeshQueued}, protocol.MeshQueued},
		{"delivered stays against forwarded", []protocol.MeshState{protocol.MeshDelivered, protocol.MeshForwarded}, protocol.MeshDelivered},
		{"dropped stays against queued", []protocol.MeshState{protocol.MeshDropped, protocol.MeshQueued}, protocol.MeshDropped},
		{"expired stays against dropped", []protocol.MeshState{protocol.MeshExpired, protocol.MeshDropped}, protocol.MeshExpired},
		{"delivered replaces expired", []protocol.MeshState{protocol.MeshExpired, protocol.MeshDelivered}, protocol.MeshDelivered},
		{"delivered stays against dropped", []protocol.MeshState{protocol.MeshDelivered, protocol.MeshDropped}, protocol.MeshDelivered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, MeshConfig())
			e := Envelope(1, "a", "o", 1, time.Hour)
			e.Sender = "alice"
			MustHold(t, s, e)
			for i, state := range tc.steps {
				if err := s.SetStatus(e.ID, state, "n"+string(rune('0'+i)), t0.Add(time.Duration(i+1)*time.Minute), nil); err != nil {
					t.Fatal(err)
				}
			}
			sts, err := s.Statuses("alice", []protocol.MeshID{e.ID})
			if err != nil || sts[0].State != tc.want {
				t.Errorf("state after %v: %+v, %v; want %v", tc.steps, sts, err, tc.want)
			}
		})
	}
}

func testSetStatusRecordsWhereWhenAndWhy(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	e := Envelope(1, "a", "o", 1, time.Hour)
	e.Sender, e.Recipient = "alice", "bob@a"
	MustHold(t, s, e)
	when := t0.Add(time.Minute)
	if err := s.SetStatus(e.ID, protocol.MeshDropped, "n3", when, errors.Join(errors.New("at n3"), protocol.ErrHopLimit)); err != nil {
		t.Fatal(err)
	}
	// An id without a status (not sent from here) is left alone.
	if err := s.SetStatus(MeshID(2), protocol.MeshDelivered, "n3", when, nil); err != nil {
		t.Fatal(err)
	}
	sts, err := s.Statuses("alice", []protocol.MeshID{e.ID, MeshID(2)})
	if err != nil {
		t.Fatal(err)
	}
	want := protocol.MessageStatus{ID: e.ID, State: protocol.MeshDropped, At: "n3", Updated: when, Recipient: "bob@a", Expires: e.Expires, Reason: protocol.ErrHopLimit}
	if !sameStatus(sts[0], want) || !errors.Is(sts[0].Reason, protocol.ErrHopLimit) {
		t.Errorf("status: %+v, want %+v", sts[0], want)
	}
	if sts[1] != (protocol.MessageStatus{ID: MeshID(2)}) {
		t.Errorf("status of an id SetStatus was told of but Hold never made: %+v", sts[1])
	}
	for _, bad := range []protocol.MeshState{protocol.MeshUnknown, protocol.MeshDropped + 1} {
		if err := s.SetStatus(e.ID, bad, "n3", when, nil); !errors.Is(err, sentinel.InvalidState) {
			t.Errorf("SetStatus(%v): %v, want sentinel.InvalidState", bad, err)
		}
	}
}

func testStatusesOfAnotherSenderAreUnknown(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	e := Envelope(1, "a", "o", 1, time.Hour)
	e.Sender = "alice"
	MustHold(t, s, e)
	sts, err := s.Statuses("mallory", []protocol.MeshID{e.ID})
	if err != nil {
		t.Fatal(err)
	}
	if sts[0] != (protocol.MessageStatus{ID: e.ID, State: protocol.MeshUnknown}) {
		t.Errorf("another user sees %+v", sts[0])
	}
}

func testHoldOfNothingAndAfterClose(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	if refusals, err := s.Hold(context.Background(), nil); err != nil || refusals == nil || len(refusals) != 0 {
		t.Errorf("Hold(nil) = %v, %v", refusals, err)
	}
	data := []byte("original")
	e := Envelope(1, "a", "o", 0, time.Hour)
	e.Data = data
	MustHold(t, s, e)
	copy(data, "CHANGED!")
	if got, _ := s.Held("a", 0, 1); string(got[0].Data) != "original" {
		t.Errorf("stored data %q", got[0].Data)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, envs := range [][]protocol.HeldEnvelope{nil, {Envelope(2, "a", "o", 1, time.Hour)}} {
		if _, err := s.Hold(context.Background(), envs); !errors.Is(err, protocol.ErrStoreClosed) {
			t.Errorf("Hold of %d after Close = %v, want ErrStoreClosed", len(envs), err)
		}
	}
	if err := s.Release("a", []uint64{1}, protocol.SeenForwarded); !errors.Is(err, protocol.ErrStoreClosed) {
		t.Errorf("Release after Close = %v, want ErrStoreClosed", err)
	}
}

// testHeldSeqsAreNeverReusedAfterRelease empties a queue: its next
// envelope still gets the next seq, and the emptied queue leaves
// HeldDomains.
func testHeldSeqsAreNeverReusedAfterRelease(t *testing.T, open Opener) {
	s := open(t, MeshConfig())
	MustHold(t, s, Envelope(1, "a", "o", 1, time.Hour), Envelope(2, "a", "o", 1, time.Hour), Envelope(3, "a", "o", 1, time.Hour))
	if err := s.Release("a", []uint64{1, 2, 3}, protocol.SeenForwarded); err != nil {
		t.Fatal(err)
	}
	if domains, _ := s.HeldDomains(); len(domains) != 0 {
		t.Errorf("HeldDomains after releasing everything: %v", domains)
	}
	envs := MustHold(t, s, Envelope(4, "a", "o", 1, time.Hour))
	if envs[0].Seq != 4 {
		t.Errorf("seq after releasing 1 to 3: %d, want 4", envs[0].Seq)
	}
	if err := s.Release("a", []uint64{4}, protocol.SeenDelivered); err != nil {
		t.Fatal(err)
	}
	envs = MustHold(t, s, Envelope(5, "a", "o", 1, time.Hour))
	if envs[0].Seq != 5 {
		t.Errorf("seq after releasing the queue again: %d, want 5", envs[0].Seq)
	}
	if got := HeldSeqs(t, s, "a"); !slices.Equal(got, []uint64{5}) {
		t.Errorf("held after all that: %v, want [5]", got)
	}
	if err := check(s); err != nil {
		t.Error(err)
	}
}
