package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func testSequenceNumbersAreConsecutiveFromOneAndNeverReused(t *testing.T, open Opener) {
	s := open(t, testConfig())
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

func testFetchHonoursAfterSeqAndLimit(t *testing.T, open Opener) {
	s := open(t, testConfig())
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

func testFetchLeavesOutExpiredMessages(t *testing.T, open Opener) {
	s := open(t, testConfig()) // now is t0
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

func testAck(t *testing.T, open Opener) {
	s := open(t, testConfig())
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

func testMailboxFullByCount(t *testing.T, open Opener) {
	opts := testConfig()
	opts.Limits = node.MailboxLimits{MaxMessages: 3, MaxBytes: 1 << 20}
	s := open(t, opts)
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

func testMailboxFullByBytes(t *testing.T, open Opener) {
	opts := testConfig()
	opts.Limits = node.MailboxLimits{MaxMessages: 100, MaxBytes: 100}
	s := open(t, opts)
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
	if rs := enqueue(t, s, msg("bob", strings.Repeat("e", 101), time.Hour)); !errors.Is(rs[0].Err, sentinel.PayloadTooLarge) {
		t.Errorf("a payload larger than a mailbox holds: %+v, want sentinel.PayloadTooLarge", rs[0])
	}
}

func testUnknownRecipientsFailOnlyTheirMessages(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "bob")
	rs := enqueue(t, s, msg("nobody", "x", time.Hour), msg("bob", "y", time.Hour), msg("", "z", time.Hour))
	if !errors.Is(rs[0].Err, protocol.ErrUnknownUser) || rs[1].Err != nil || rs[1].Seq != 1 || !errors.Is(rs[2].Err, protocol.ErrUnknownUser) {
		t.Errorf("receipts: %+v", rs)
	}
}

func testExpire(t *testing.T, open Opener) {
	s := open(t, testConfig())
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

func testTotalsSumEveryMailbox(t *testing.T, open Opener) {
	s := open(t, Config{})
	now := time.Now()
	for _, u := range []string{"a", "b"} {
		if err := s.CreateAccount(node.Account{User: u, Record: []byte("r"), Created: now}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := []protocol.NewMessage{
		{Recipient: "a", Payload: make([]byte, 10), Enqueued: now, Expires: now.Add(time.Hour)},
		{Recipient: "b", Payload: make([]byte, 20), Enqueued: now, Expires: now.Add(time.Hour)},
		{Recipient: "b", Payload: make([]byte, 30), Enqueued: now, Expires: now.Add(time.Hour)},
	}
	if _, err := s.Enqueue(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	m, b, accts, err := s.Totals()
	if err != nil || m != 3 || accts != 2 {
		t.Fatalf("Totals = %d messages, %d bytes, %d accounts, %v", m, b, accts, err)
	}
	_, b1, _ := s.Depth("a")
	_, b2, _ := s.Depth("b")
	if b != 60 || b != b1+b2 {
		t.Errorf("total bytes %d, mailboxes hold %d + %d, want 60", b, b1, b2)
	}
	if _, err := s.Ack("b", 2); err != nil {
		t.Fatal(err)
	}
	if m, _, _, _ := s.Totals(); m != 1 {
		t.Errorf("after ack: %d messages, want 1", m)
	}
}

func testEnqueueOfNothingReturnsNoReceipts(t *testing.T, open Opener) {
	s := open(t, testConfig())
	rs, err := s.Enqueue(context.Background(), nil)
	if err != nil || rs == nil || len(rs) != 0 {
		t.Errorf("Enqueue(nil) = %v, %v", rs, err)
	}
}

func testEnqueueDoesNotKeepTheCallersPayload(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "bob")
	payload := []byte("original")
	enqueue(t, s, protocol.NewMessage{Recipient: "bob", Payload: payload, Expires: t0.Add(time.Hour)})
	copy(payload, "CHANGED!")
	if got, _ := s.Fetch("bob", 0, 1); string(got[0].Payload) != "original" {
		t.Errorf("stored payload %q", got[0].Payload)
	}
}

// testTheNodeWideCapRefusesWithStoreFull fills the node-wide bound with
// two mailboxes each well under their own: the next message, even of one
// byte, is refused with ErrStoreFull and nothing stored is evicted;
// acknowledging, expiring and deleting an account make room again.
func testTheNodeWideCapRefusesWithStoreFull(t *testing.T, open Opener) {
	c := testConfig()
	c.Limits = node.MailboxLimits{MaxMessages: 1000, MaxBytes: 1000, TotalBytes: 1000}
	s := open(t, c)
	mustCreate(t, s, "a", "b", "c")
	payload := string(make([]byte, 100))
	totalBytes := func(want int64) {
		t.Helper()
		_, b, _, err := s.Totals()
		if err != nil || b != want {
			t.Errorf("Totals: %d bytes, %v; want %d", b, err, want)
		}
	}
	var stored int
	for i := range 30 {
		r := enqueue(t, s, msg([]string{"a", "b"}[i%2], payload, time.Hour))
		if r[0].Err != nil {
			if !errors.Is(r[0].Err, protocol.ErrStoreFull) {
				t.Fatalf("message %d: %v, want ErrStoreFull", i, r[0].Err)
			}
			break
		}
		stored++
	}
	if stored != 10 {
		t.Fatalf("stored %d messages of 100 bytes under a cap of 1000, want 10", stored)
	}
	if r := enqueue(t, s, msg("c", "x", time.Hour)); !errors.Is(r[0].Err, protocol.ErrStoreFull) {
		t.Fatalf("a 1-byte message into a full store: %+v", r)
	}
	totalBytes(1000)
	if n, _, _ := s.Depth("a"); n != 5 {
		t.Errorf("a holds %d messages after the refusals, want 5", n)
	}
	if n, err := s.Ack("a", 1); err != nil || n != 1 {
		t.Fatalf("Ack = %d, %v", n, err)
	}
	if r := enqueue(t, s, msg("c", payload, 2*time.Minute)); r[0].Err != nil {
		t.Fatalf("after an ack freed 100 bytes: %+v", r)
	}
	if _, err := s.Expire(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	totalBytes(0)
	if r := enqueue(t, s, msg("b", payload, 2*time.Hour)); r[0].Err != nil {
		t.Fatalf("after expiry: %+v", r)
	}
	if err := s.DeleteAccount("b", time.Time{}); err != nil {
		t.Fatal(err)
	}
	totalBytes(0)
	if r := enqueue(t, s, msg("a", payload, 2*time.Hour)); r[0].Err != nil {
		t.Fatalf("after a deletion: %+v", r)
	}
	totalBytes(100)
}

// testConcurrentEnqueuesGetUniqueConsecutiveSeqs has 16 producers enqueue
// calls of 1 to 3 messages to three mailboxes at once: every mailbox then
// holds consecutive seqs from 1, each the message its receipt named.
func testConcurrentEnqueuesGetUniqueConsecutiveSeqs(t *testing.T, open Opener) {
	producers, calls := 16, 100
	if testing.Short() {
		calls = 25
	}
	c := testConfig()
	c.Limits = node.MailboxLimits{MaxMessages: 1 << 20, MaxBytes: 1 << 30}
	s := open(t, c)
	users := []string{"u0", "u1", "u2"}
	mustCreate(t, s, users...)

	type got struct {
		user    string
		seq     uint64
		payload string
	}
	var mu sync.Mutex
	var all []got
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for c := range calls {
				var msgs []protocol.NewMessage
				for i := range 1 + c%3 {
					msgs = append(msgs, msg(users[(p+c+i)%len(users)], fmt.Sprintf("%d/%d/%d", p, c, i), time.Hour))
				}
				rs, err := s.Enqueue(context.Background(), msgs)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for i, r := range rs {
					if r.Err != nil {
						t.Errorf("receipt: %v", r.Err)
					}
					all = append(all, got{msgs[i].Recipient, r.Seq, string(msgs[i].Payload)})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	bySeq := map[string]map[uint64]string{}
	for _, g := range all {
		if bySeq[g.user] == nil {
			bySeq[g.user] = map[uint64]string{}
		}
		if prev, dup := bySeq[g.user][g.seq]; dup {
			t.Fatalf("%s seq %d given to %q and %q", g.user, g.seq, prev, g.payload)
		}
		bySeq[g.user][g.seq] = g.payload
	}
	for _, u := range users {
		n := uint64(len(bySeq[u]))
		msgs, err := s.Fetch(u, 0, int(n)+1)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(msgs)) != n {
			t.Fatalf("%s holds %d messages, receipts say %d", u, len(msgs), n)
		}
		for i, m := range msgs {
			if m.Seq != uint64(i+1) || string(m.Payload) != bySeq[u][m.Seq] {
				t.Fatalf("%s message %d: seq %d %q, receipt says %q", u, i, m.Seq, m.Payload, bySeq[u][m.Seq])
			}
		}
		if last, _ := s.LastSeq(u); last != n {
			t.Errorf("%s last seq %d, want %d", u, last, n)
		}
	}
}

// testEveryMethodFailsAfterClose calls every method of the store after
// Close: each fails with ErrStoreClosed, a second Close too.
func testEveryMethodFailsAfterClose(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	h := node.TokenHash{1}
	_, errEnqueue := s.Enqueue(context.Background(), []protocol.NewMessage{msg("alice", "x", time.Hour)})
	_, errEnqueueNone := s.Enqueue(context.Background(), nil)
	_, errAccount := s.Account("alice")
	_, errKeys := s.Keys("alice")
	_, _, errTake := s.TakeKeyPackage("alice", 1)
	_, _, errCount := s.KeyPackageCount("alice", 1)
	_, errFetch := s.Fetch("alice", 0, 1)
	_, errAck := s.Ack("alice", 1)
	_, _, errDepth := s.Depth("alice")
	_, errLast := s.LastSeq("alice")
	_, errExpire := s.Expire(t0)
	_, errSession := s.Session(h)
	_, errOrder := s.OrderCommit(Claim([]byte("g"), 0, Commit("alice", 0)))
	_, _, _, errTotals := s.Totals()
	for name, err := range map[string]error{
		"Close":           s.Close(),
		"Enqueue":         errEnqueue,
		"empty Enqueue":   errEnqueueNone,
		"CreateAccount":   s.CreateAccount(node.Account{User: "bob"}),
		"CheckName":       s.CheckName("bob", t0),
		"Account":         errAccount,
		"DeleteAccount":   s.DeleteAccount("alice", time.Time{}),
		"PutKeys":         s.PutKeys("alice", sampleKeys, node.Devices{}),
		"Keys":            errKeys,
		"AddKeyPackages":  s.AddKeyPackages("alice", 1, [][]byte{{1}}, nil),
		"TakeKeyPackage":  errTake,
		"KeyPackageCount": errCount,
		"Fetch":           errFetch,
		"Ack":             errAck,
		"Depth":           errDepth,
		"LastSeq":         errLast,
		"Expire":          errExpire,
		"PutSession":      s.PutSession(h, node.Session{User: "alice"}),
		"Session":         errSession,
		"DeleteSession":   s.DeleteSession(h),
		"OrderCommit":     errOrder,
		"Totals":          errTotals,
	} {
		if !isClosed(err) {
			t.Errorf("%s after Close: %v, want ErrStoreClosed", name, err)
		}
	}
}
