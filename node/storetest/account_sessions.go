package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func testChangeRecordReplacesTheRecordAndEndsEverySessionButTheKeptOnes(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice", "bob")
	before, err := s.Account("alice")
	if err != nil {
		t.Fatal(err)
	}
	kept, other, bobs := node.TokenHash{1}, node.TokenHash{2}, node.TokenHash{3}
	for h, u := range map[node.TokenHash]string{kept: "alice", other: "alice", bobs: "bob"} {
		if err := s.PutSession(h, node.Session{User: u, Expires: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	ended, err := s.ChangeRecord("alice", []byte("new record"), kept)
	if err != nil || ended != 1 {
		t.Fatalf("ChangeRecord: %d, %v; want 1 session ended", ended, err)
	}
	after, err := s.Account("alice")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after.Record, []byte("new record")) {
		t.Errorf("record after the change: %q", after.Record)
	}
	if !after.Created.Equal(before.Created) {
		t.Errorf("Created moved from %v to %v: the kept session's binding would break", before.Created, after.Created)
	}
	if _, err := s.Session(other); !errors.Is(err, protocol.ErrNoSession) {
		t.Errorf("alice's other session: %v, want ErrNoSession", err)
	}
	for name, h := range map[string]node.TokenHash{"the kept session": kept, "bob's session": bobs} {
		if _, err := s.Session(h); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.ChangeRecord("nobody", []byte("r")); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("ChangeRecord of nobody: %v, want ErrUnknownUser", err)
	}
	// The account and its kept session still go with a deletion.
	if err := s.DeleteAccount("alice", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(kept); !errors.Is(err, protocol.ErrNoSession) {
		t.Errorf("the kept session after the account's deletion: %v", err)
	}
}

func testEndSessionsEndsOneAccountsSessionsOnly(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice", "bob")
	if ended, err := s.EndSessions("alice"); err != nil || ended != 0 {
		t.Errorf("EndSessions without sessions: %d, %v", ended, err)
	}
	for i := range 5 {
		if err := s.PutSession(node.TokenHash{byte(i)}, node.Session{User: "alice", Expires: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	bobs := node.TokenHash{9}
	if err := s.PutSession(bobs, node.Session{User: "bob", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ended, err := s.EndSessions("alice", node.TokenHash{4}); err != nil || ended != 4 {
		t.Errorf("EndSessions keeping one: %d, %v; want 4", ended, err)
	}
	if _, err := s.Session(node.TokenHash{4}); err != nil {
		t.Errorf("the kept session: %v", err)
	}
	if ended, err := s.EndSessions("alice"); err != nil || ended != 1 {
		t.Errorf("EndSessions of all: %d, %v; want 1", ended, err)
	}
	for i := range 5 {
		if _, err := s.Session(node.TokenHash{byte(i)}); !errors.Is(err, protocol.ErrNoSession) {
			t.Errorf("alice's session %d: %v", i, err)
		}
	}
	if _, err := s.Session(bobs); err != nil {
		t.Errorf("bob's session: %v", err)
	}
	// Expire finds nothing left of the ended sessions (the bbolt store's
	// Check, run at cleanup, looks at its indexes).
	if _, err := s.Expire(t0.Add(2 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndSessions("nobody"); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("EndSessions of nobody: %v, want ErrUnknownUser", err)
	}
}
