package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// checkMailBytes fails the test unless the store's running count of
// mailbox bytes is the sum of the mailboxes' records.
func checkMailBytes(t *testing.T, s *Store) {
	t.Helper()
	// Totals sums the queue records, with what the write-ahead log
	// holds.
	_, sum, _, err := s.Totals()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.MailboxBytes(); got != sum {
		t.Errorf("running count of mailbox bytes %d, mailboxes hold %d", got, sum)
	}
}

func TestTheNodeWideCapRefusesWithStoreFullAndKeepsWhatIsStored(t *testing.T) {
	opts := testOptions()
	opts.Limits = node.MailboxLimits{MaxMessages: 1000, MaxBytes: 1000, TotalBytes: 1000}
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "a", "b", "c")
	ctx := context.Background()
	payload := string(make([]byte, 100))
	// Four mailboxes' worth of room for one node: a and b fill it between
	// them, each well under its own bound.
	var stored int
	for i := range 30 {
		rcpt := []string{"a", "b"}[i%2]
		r, err := s.Enqueue(ctx, []protocol.NewMessage{msg(rcpt, payload, time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
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
	// One batch: what fits is stored, the rest refused, nothing evicted.
	r, err := s.Enqueue(ctx, []protocol.NewMessage{msg("c", "x", time.Hour)})
	if err != nil || !errors.Is(r[0].Err, protocol.ErrStoreFull) {
		t.Fatalf("a 1-byte message into a full store: %v, %v", r, err)
	}
	checkMailBytes(t, s)
	got := 0
	for _, u := range []string{"a", "b"} {
		msgs, err := s.Fetch(u, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if len(m.Payload) != 100 {
				t.Errorf("%s's message %d has %d bytes", u, m.Seq, len(m.Payload))
			}
		}
		got += len(msgs)
	}
	if got != stored {
		t.Errorf("fetched %d messages, %d were stored", got, stored)
	}

	// Acknowledging, expiring and deleting an account make room.
	if n, err := s.Ack("a", 1); err != nil || n != 1 {
		t.Fatalf("Ack = %d, %v", n, err)
	}
	checkMailBytes(t, s)
	if r, err := s.Enqueue(ctx, []protocol.NewMessage{msg("c", payload, 2*time.Minute)}); err != nil || r[0].Err != nil {
		t.Fatalf("after an ack freed 100 bytes: %v, %v", r, err)
	}
	if _, err := s.Expire(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	checkMailBytes(t, s)
	if s.MailboxBytes() != 0 {
		t.Errorf("after everything expired, %d bytes counted", s.MailboxBytes())
	}
	if r, err := s.Enqueue(ctx, []protocol.NewMessage{msg("b", payload, 2*time.Hour)}); err != nil || r[0].Err != nil {
		t.Fatalf("after expiry: %v, %v", r, err)
	}
	if err := s.DeleteAccount("b", time.Time{}); err != nil {
		t.Fatal(err)
	}
	checkMailBytes(t, s)
	if r, err := s.Enqueue(ctx, []protocol.NewMessage{msg("a", payload, 2*time.Hour)}); err != nil || r[0].Err != nil {
		t.Fatalf("after a deletion: %v, %v", r, err)
	}

	// The count is the file's after a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMailBytes(t, s)
	if s.MailboxBytes() != 100 {
		t.Errorf("after reopening, %d bytes counted, want 100", s.MailboxBytes())
	}
}
