package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// enqueue enqueues msgs and fails the test on a store error.
func enqueue(t testing.TB, s *Store, msgs ...protocol.NewMessage) []protocol.Receipt {
	t.Helper()
	rs, err := s.Enqueue(context.Background(), msgs)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if len(rs) != len(msgs) {
		t.Fatalf("Enqueue returned %d receipts for %d messages", len(rs), len(msgs))
	}
	return rs
}

func seqs(msgs []protocol.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, m.Seq)
	}
	return b.String()
}

func TestSequenceNumbersAreConsecutiveFromOneAndNeverReused(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "bob", "carol")
	rs := enqueue(t, s, msg("bob", "1", time.Hour), msg("carol", "c1", time.Hour), msg("bob", "2", time.Minute), msg("bob", "3", time.Hour))
	for i, want := range []uint64{1, 1, 2, 3} {
		if rs[i].Err != nil || rs[i].Seq != want {
			t.Errorf("receipt %d: %+v, want seq %d", i, rs[i], want)
		}
	}
	if n, err := s.Ack("bob", 3); err != nil || n != 3 {
		t.Fatalf("Ack: %d, %v", n, err)
	}
	if rs := enqueue(t, s, msg("bob", "4", time.Hour)); rs[0].Seq != 4 {
		t.Errorf("after acking everything: seq %d, want 4", rs[0].Seq)
	}
	enqueue(t, s, msg("bob", "5", time.Minute))
	if n, err := s.Expire(t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("Expire: %d, %v", n, err)
	}
	if rs := enqueue(t, s, msg("bob", "6", time.Hour)); rs[0].Seq != 6 {
		t.Errorf("after expiring the last message: seq %d, want 6", rs[0].Seq)
	}
	if last, err := s.LastSeq("bob"); err != nil || last != 6 {
		t.Errorf("LastSeq: %d, %v", last, err)
	}
	if last, err := s.LastSeq("carol"); err != nil || last != 1 {
		t.Errorf("carol's LastSeq: %d, %v", last, err)
	}
	if _, err := s.LastSeq("nobody"); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("LastSeq of nobody: %v", err)
	}
}

func TestFetchHonoursAfterSeqAndLimit(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "bob")
	for i := 1; i <= 5; i++ {
		enqueue(t, s, msg("bob", fmt.Sprint("m", i), time.Hour))
	}
	for _, tc := range []struct {
		after uint64
		limit int
		want  string
	}{
		{0, 10, "1 2 3 4 5"},
		{0, 2, "1 2"},
		{2, 2, "3 4"},
		{4, 10, "5"},
		{5, 10, ""},
		{^uint64(0), 10, ""},
		{0, 0, ""},
		{0, -1, ""},
	} {
		got, err := s.Fetch("bob", tc.after, tc.limit)
		if err != nil || seqs(got) != tc.want {
			t.Errorf("Fetch(after %d, limit %d) = [%s], %v; want [%s]", tc.after, tc.limit, seqs(got), err, tc.want)
		}
	}
	got, _ := s.Fetch("bob", 2, 1)
	if len(got) != 1 || string(got[0].Payload) != "m3" || !got[0].Enqueued.Equal(t0) || !got[0].Expires.Equal(t0.Add(time.Hour)) {
		t.Errorf("message 3: %+v", got)
	}
	if _, err := s.Fetch("nobody", 0, 1); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("Fetch of nobody: %v", err)
	}
}

func TestFetchLeavesOutExpiredMessages(t *testing.T) {
	s := openTest(t, testOptions()) // now is t0
	mustCreate(t, s, "bob")
	enqueue(t, s, msg("bob", "expired", -time.Second), msg("bob", "expires now", 0), msg("bob", "live", time.Second))
	got, err := s.Fetch("bob", 0, 10)
	if err != nil || seqs(got) != "3" {
		t.Errorf("Fetch = [%s], %v; want only the live message 3", seqs(got), err)
	}
	// The limit counts what is returned, not what is skipped.
	enqueue(t, s, msg("bob", "live too", time.Second))
	if got, _ := s.Fetch("bob", 0, 2); seqs(got) != "3 4" {
		t.Errorf("Fetch limit 2 = [%s], want [3 4]", seqs(got))
	}
	if n, _, _ := s.Depth("bob"); n != 4 {
		t.Errorf("Depth counts %d, want 4 until Expire runs", n)
	}
}

func TestAck(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "bob")
	for i := range 5 {
		enqueue(t, s, msg("bob", strings.Repeat("x", 10*(i+1)), time.Hour)) // 10..50 bytes
	}
	for _, tc := range []struct {
		upto      uint64
		removed   int
		remaining string
		bytes     int64
	}{
		{0, 0, "1 2 3 4 5", 150},
		{2, 2, "3 4 5", 120},
		{2, 0, "3 4 5", 120},
		{4, 2, "5", 50},
		{100, 1, "", 0},
	} {
		n, err := s.Ack("bob", tc.upto)
		if err != nil || n != tc.removed {
			t.Errorf("Ack(%d) = %d, %v; want %d", tc.upto, n, err, tc.removed)
		}
		got, _ := s.Fetch("bob", 0, 10)
		count, bytes, _ := s.Depth("bob")
		if seqs(got) != tc.remaining || count != len(got) || bytes != tc.bytes {
			t.Errorf("after Ack(%d): [%s], depth %d/%d; want [%s], %d bytes", tc.upto, seqs(got), count, bytes, tc.remaining, tc.bytes)
		}
	}
	if _, err := s.Ack("nobody", 1); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("Ack of nobody: %v", err)
	}
}

func TestMailboxFullByCount(t *testing.T) {
	opts := testOptions()
	opts.Limits = node.MailboxLimits{MaxMessages: 3, MaxBytes: 1 << 20}
	s := openTest(t, opts)
	mustCreate(t, s, "bob", "carol")
	rs := enqueue(t, s, msg("bob", "1", time.Hour), msg("bob", "2", time.Hour), msg("carol", "c", time.Hour),
		msg("bob", "3", time.Hour), msg("bob", "4", time.Hour))
	for i, want := range []uint64{1, 2, 1, 3} {
		if rs[i].Err != nil || rs[i].Seq != want {
			t.Errorf("receipt %d: %+v, want seq %d", i, rs[i], want)
		}
	}
	if !errors.Is(rs[4].Err, protocol.ErrMailboxFull) || rs[4].Seq != 0 {
		t.Errorf("fourth message to bob: %+v, want ErrMailboxFull", rs[4])
	}
	// Full stays full until an ack, and a refusal uses no seq.
	if rs := enqueue(t, s, msg("bob", "5", time.Hour)); !errors.Is(rs[0].Err, protocol.ErrMailboxFull) {
		t.Errorf("still full: %+v", rs[0])
	}
	s.Ack("bob", 1)
	if rs := enqueue(t, s, msg("bob", "6", time.Hour)); rs[0].Err != nil || rs[0].Seq != 4 {
		t.Errorf("after an ack: %+v, want seq 4", rs[0])
	}
}

func TestMailboxFullByBytes(t *testing.T) {
	opts := testOptions()
	opts.Limits = node.MailboxLimits{MaxMessages: 100, MaxBytes: 100}
	s := openTest(t, opts)
	mustCreate(t, s, "bob")
	rs := enqueue(t, s,
		msg("bob", strings.Repeat("a", 60), time.Hour),
		msg("bob", strings.Repeat("b", 41), time.Hour), // 101 > 100
		msg("bob", strings.Repeat("c", 40), time.Hour), // exactly 100
		msg("bob", "", time.Hour),                      // empty payloads still count
		msg("bob", "d", time.Hour),
	)
	if rs[0].Err != nil || !errors.Is(rs[1].Err, protocol.ErrMailboxFull) || rs[2].Err != nil || rs[2].Seq != 2 ||
		rs[3].Err != nil || rs[3].Seq != 3 || !errors.Is(rs[4].Err, protocol.ErrMailboxFull) {
		t.Errorf("receipts: %+v", rs)
	}
	if n, b, _ := s.Depth("bob"); n != 3 || b != 100 {
		t.Errorf("Depth = %d, %d; want 3, 100", n, b)
	}
	s.Ack("bob", 3)
	if rs := enqueue(t, s, msg("bob", strings.Repeat("e", 101), time.Hour)); !errors.Is(rs[0].Err, ErrPayloadTooLarge) {
		t.Errorf("a payload larger than a mailbox holds: %+v, want ErrPayloadTooLarge", rs[0])
	}
}

func TestUnknownRecipientsFailOnlyTheirMessages(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "bob")
	rs := enqueue(t, s, msg("nobody", "x", time.Hour), msg("bob", "y", time.Hour), msg("", "z", time.Hour))
	if !errors.Is(rs[0].Err, protocol.ErrUnknownUser) || rs[1].Err != nil || rs[1].Seq != 1 || !errors.Is(rs[2].Err, protocol.ErrUnknownUser) {
		t.Errorf("receipts: %+v", rs)
	}
}

func TestExpire(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "bob", "carol")
	enqueue(t, s,
		msg("bob", "b1", time.Minute), msg("bob", "b2", time.Hour), msg("bob", "b3", time.Minute),
		msg("carol", "c1", time.Minute), msg("carol", "c2", 2*time.Hour))
	if n, err := s.Expire(t0.Add(time.Minute - 1)); err != nil || n != 0 {
		t.Errorf("Expire before anything expired: %d, %v", n, err)
	}
	if n, err := s.Expire(t0.Add(time.Minute)); err != nil || n != 3 {
		t.Errorf("Expire at the first expiry: %d, %v; want 3", n, err)
	}
	if got, _ := s.Fetch("bob", 0, 10); seqs(got) != "2" {
		t.Errorf("bob after Expire: [%s]", seqs(got))
	}
	if n, b, _ := s.Depth("bob"); n != 1 || b != 2 {
		t.Errorf("bob's depth after Expire: %d, %d", n, b)
	}
	if n, err := s.Expire(t0.Add(time.Minute)); err != nil || n != 0 {
		t.Errorf("second Expire: %d, %v", n, err)
	}
	// Acked messages leave the expiry index too.
	s.Ack("bob", 2)
	if n, err := s.Expire(t0.Add(3 * time.Hour)); err != nil || n != 1 {
		t.Errorf("Expire after ack: %d, %v; want carol's 1", n, err)
	}
}

func TestExpireRemovesMoreMessagesThanOneChunk(t *testing.T) {
	s := openTest(t, testOptions())
	s.expireChunk = 3
	mustCreate(t, s, "bob", "carol")
	var msgs []protocol.NewMessage
	for i := range 10 {
		msgs = append(msgs, msg([]string{"bob", "carol"}[i%2], "x", time.Duration(i)*time.Second))
	}
	enqueue(t, s, msgs...)
	if n, err := s.Expire(t0.Add(7 * time.Second)); err != nil || n != 8 {
		t.Errorf("Expire = %d, %v; want 8", n, err)
	}
	if n, _, _ := s.Depth("bob"); n != 1 {
		t.Errorf("bob holds %d, want 1", n)
	}
}
