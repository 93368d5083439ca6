package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func testAccounts(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	a, err := s.Account("alice")
	if err != nil || a.User != "alice" || string(a.Record) != "record of alice" || !a.Created.Equal(t0) {
		t.Errorf("Account: %+v, %v", a, err)
	}
	if err := s.CreateAccount(node.Account{User: "alice"}); !errors.Is(err, protocol.ErrUserExists) {
		t.Errorf("second CreateAccount: %v, want ErrUserExists", err)
	}
	if _, err := s.Account("bob"); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("Account of nobody: %v, want ErrUnknownUser", err)
	}
	for _, name := range []string{"", strings.Repeat("x", sentinel.MaxUserLen+1)} {
		if err := s.CreateAccount(node.Account{User: name}); !errors.Is(err, sentinel.InvalidUser) {
			t.Errorf("CreateAccount(%d-byte name): %v, want sentinel.InvalidUser", len(name), err)
		}
		if _, err := s.Account(name); !errors.Is(err, protocol.ErrUnknownUser) {
			t.Errorf("Account(%d-byte name): %v, want ErrUnknownUser", len(name), err)
		}
	}
	if err := s.CreateAccount(node.Account{User: strings.Repeat("x", sentinel.MaxUserLen)}); err != nil {
		t.Errorf("CreateAccount with a name of sentinel.MaxUserLen bytes: %v", err)
	}
	if n, b, err := s.Depth("alice"); n != 0 || b != 0 || err != nil {
		t.Errorf("new account's mailbox: %d messages, %d bytes, %v", n, b, err)
	}
}

func testDeleteAccountRemovesEverythingOfTheUserOnly(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice", "bob")
	for _, u := range []string{"alice", "bob"} {
		if err := s.PutKeys(u, sampleKeys, node.Devices{}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddKeyPackages(u, 1, [][]byte{[]byte("kp")}, []byte("last")); err != nil {
			t.Fatal(err)
		}
		if err := s.AddKeyPackages(u, 0xF002, [][]byte{[]byte("kp-pq")}, []byte("last-pq")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Enqueue(context.Background(), []protocol.NewMessage{msg(u, "hi", time.Hour), msg(u, "ho", 2*time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	aliceSessions := []node.TokenHash{{1}, {2}}
	for _, h := range aliceSessions {
		if err := s.PutSession(h, node.Session{User: "alice", Expires: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	bobSession := node.TokenHash{3}
	if err := s.PutSession(bobSession, node.Session{User: "bob", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteAccount("alice", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount("alice", time.Time{}); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("second DeleteAccount: %v, want ErrUnknownUser", err)
	}
	if _, err := s.Account("alice"); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("Account after delete: %v", err)
	}
	if _, err := s.Keys("alice"); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("Keys after delete: %v", err)
	}
	if _, _, err := s.TakeKeyPackage("alice", 1); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("TakeKeyPackage after delete: %v", err)
	}
	if _, err := s.Fetch("alice", 0, 10); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("Fetch after delete: %v", err)
	}
	for _, h := range aliceSessions {
		if _, err := s.Session(h); !errors.Is(err, protocol.ErrNoSession) {
			t.Errorf("session after delete: %v", err)
		}
	}
	rs, err := s.Enqueue(context.Background(), []protocol.NewMessage{msg("alice", "late", time.Hour)})
	if err != nil || !errors.Is(rs[0].Err, protocol.ErrUnknownUser) {
		t.Errorf("Enqueue to a deleted user: %+v, %v", rs, err)
	}

	// Bob keeps everything.
	if _, err := s.Keys("bob"); err != nil {
		t.Errorf("bob's keys: %v", err)
	}
	if p, last, err := s.TakeKeyPackage("bob", 0xF002); string(p) != "kp-pq" || last || err != nil {
		t.Errorf("bob's post-quantum key package: %q %v %v", p, last, err)
	}
	if msgs, err := s.Fetch("bob", 0, 10); err != nil || len(msgs) != 2 {
		t.Errorf("bob's mailbox: %d messages, %v", len(msgs), err)
	}
	if _, err := s.Session(bobSession); err != nil {
		t.Errorf("bob's session: %v", err)
	}
	// Expire still finds bob's messages and nothing of alice's.
	if n, err := s.Expire(t0.Add(3 * time.Hour)); err != nil || n != 2 {
		t.Errorf("Expire after delete: %d, %v; want bob's 2", n, err)
	}

	// The name can be taken again, with a new, empty mailbox.
	mustCreate(t, s, "alice")
	if last, err := s.LastSeq("alice"); err != nil || last != 0 {
		t.Errorf("re-created account's last seq: %d, %v", last, err)
	}
	if _, err := s.Keys("alice"); !errors.Is(err, protocol.ErrNoKeys) {
		t.Errorf("re-created account's keys: %v, want ErrNoKeys", err)
	}
	for _, suite := range []uint16{1, 0xF002} {
		if _, _, err := s.TakeKeyPackage("alice", suite); !errors.Is(err, protocol.ErrNoKeyPackage) {
			t.Errorf("re-created account's key packages of suite 0x%04x: %v, want ErrNoKeyPackage", suite, err)
		}
	}
}
