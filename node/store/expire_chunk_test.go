package store

import (
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

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

func TestExpireRemovesMoreSessionsThanOneChunk(t *testing.T) {
	s := openTest(t, testOptions())
	s.expireChunk = 2
	mustCreate(t, s, "alice")
	for i := range 5 {
		if err := s.PutSession(node.TokenHash{byte(i)}, node.Session{User: "alice", Expires: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Expire(t0); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.Session(node.TokenHash{byte(i)}); !errors.Is(err, protocol.ErrNoSession) {
			t.Errorf("session %d survived Expire: %v", i, err)
		}
	}
}
