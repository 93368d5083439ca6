package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func testSessions(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice", "bob")
	h := node.TokenHash{1}
	if _, err := s.Session(h); !errors.Is(err, protocol.ErrNoSession) {
		t.Errorf("unknown session: %v, want ErrNoSession", err)
	}
	if err := s.PutSession(h, node.Session{User: "nobody", Expires: t0}); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("session of nobody: %v, want ErrUnknownUser", err)
	}
	if err := s.PutSession(h, node.Session{User: "alice", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(h)
	if err != nil || got.User != "alice" || !got.Expires.Equal(t0.Add(time.Hour)) {
		t.Errorf("Session: %+v, %v", got, err)
	}
	// Replacing moves the session to another user and expiry.
	if err := s.PutSession(h, node.Session{User: "bob", Expires: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(h); got.User != "bob" {
		t.Errorf("replaced session: %+v", got)
	}
	if err := s.DeleteAccount("alice", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(h); err != nil {
		t.Errorf("bob's session went with alice's account: %v", err)
	}
	if err := s.DeleteSession(h); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(h); err != nil {
		t.Errorf("deleting a missing session: %v", err)
	}
	if _, err := s.Session(h); !errors.Is(err, protocol.ErrNoSession) {
		t.Errorf("deleted session: %v", err)
	}
}

func testExpiredSessionsAreReturnedUntilExpireRemovesThem(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	early, late := node.TokenHash{1}, node.TokenHash{2}
	if err := s.PutSession(early, node.Session{User: "alice", Expires: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSession(late, node.Session{User: "alice", Expires: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(early); err != nil {
		t.Errorf("expired session before Expire: %v", err)
	}
	if _, err := s.Expire(t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(early); !errors.Is(err, protocol.ErrNoSession) {
		t.Errorf("session expiring at now after Expire(now): %v, want ErrNoSession", err)
	}
	if _, err := s.Session(late); err != nil {
		t.Errorf("session expiring after now: %v", err)
	}
}
