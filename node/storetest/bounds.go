package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func testAccountsBeyondMaxAccountsAreRefused(t *testing.T, open Opener) {
	opts := testConfig()
	opts.MaxAccounts = 2
	s := open(t, opts)
	mustCreate(t, s, "a", "b")
	err := s.CreateAccount(node.Account{User: "c", Record: []byte("r"), Created: t0})
	if !errors.Is(err, protocol.ErrAccountsFull) {
		t.Fatalf("a third account: %v, want ErrAccountsFull", err)
	}
	if _, err := s.Account("c"); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("the refused account exists: %v", err)
	}
	if err := s.DeleteAccount("a", time.Time{}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "c")
}

func testADeletedNameIsHeldUntilItsTimeAndExpireForgetsTheHold(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	until := t0.Add(7 * 24 * time.Hour)
	if err := s.DeleteAccount("alice", until); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{t0, until.Add(-time.Nanosecond)} {
		if err := s.CheckName("alice", at); !errors.Is(err, protocol.ErrUserExists) {
			t.Errorf("CheckName at %s: %v, want ErrUserExists", at, err)
		}
		err := s.CreateAccount(node.Account{User: "alice", Record: []byte("r"), Created: at})
		if !errors.Is(err, protocol.ErrUserExists) {
			t.Errorf("CreateAccount at %s: %v, want ErrUserExists", at, err)
		}
	}
	if err := s.CheckName("alice", until); err != nil {
		t.Errorf("CheckName when the hold ends: %v", err)
	}
	if _, err := s.Expire(until); err != nil {
		t.Fatal(err)
	}
	// Forgotten, the hold no longer refuses the name even at a time it
	// covered.
	if err := s.CheckName("alice", t0); err != nil {
		t.Errorf("CheckName at t0 after Expire forgot the hold: %v", err)
	}
	if err := s.CreateAccount(node.Account{User: "alice", Record: []byte("r2"), Created: until}); err != nil {
		t.Errorf("registering the name after its hold: %v", err)
	}
	if err := s.CheckName("alice", until); !errors.Is(err, protocol.ErrUserExists) {
		t.Errorf("CheckName of an account: %v, want ErrUserExists", err)
	}
}

func testASessionIsBoundToTheAccountItWasGrantedTo(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	h := node.TokenHash{1}
	if err := s.PutSession(h, node.Session{User: "alice", Expires: t0.Add(time.Hour), AccountCreated: t0}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(h)
	if err != nil || !got.AccountCreated.Equal(t0) {
		t.Fatalf("Session = %+v, %v; want bound to the account created at t0", got, err)
	}
	err = s.PutSession(node.TokenHash{2}, node.Session{User: "alice", Expires: t0.Add(time.Hour), AccountCreated: t0.Add(time.Nanosecond)})
	if !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("a session for another account of the name: %v, want ErrUnknownUser", err)
	}
	// A session stored before the binding existed reads as unbound.
	if err := s.PutSession(node.TokenHash{3}, node.Session{User: "alice", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(node.TokenHash{3}); err != nil || !got.AccountCreated.IsZero() {
		t.Errorf("an unbound session = %+v, %v", got, err)
	}
}
