package store

import (
	"context"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func TestTotalsSumEveryMailbox(t *testing.T) {
	s := openTest(t, Options{})
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
