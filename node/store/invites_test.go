package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func TestInviteIsConsumedWithTheAccountItCreates(t *testing.T) {
	s := openTest(t, testOptions())
	h := node.HashInvite("abcde-fghij")
	if err := s.CreateInvite(h, node.Invite{UsesLeft: 2, Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i, user := range []string{"ann", "bob"} {
		if err := s.CreateAccountWithInvite(node.Account{User: user, Record: []byte("r"), Created: t0}, h); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	err := s.CreateAccountWithInvite(node.Account{User: "cy", Record: []byte("r"), Created: t0}, h)
	if !errors.Is(err, protocol.ErrInviteInvalid) {
		t.Fatalf("third use of a two-use invite: %v, want ErrInviteInvalid", err)
	}
	if _, err := s.Account("cy"); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Fatalf("the refused registration made an account: %v", err)
	}
	if invs, _ := s.Invites(t0); len(invs) != 0 {
		t.Fatalf("a used-up invite is still listed: %+v", invs)
	}
}

func TestInviteNotSpentByARefusedRegistration(t *testing.T) {
	s := openTest(t, testOptions())
	h := node.HashInvite("one-use")
	if err := s.CreateInvite(h, node.Invite{UsesLeft: 1, Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(node.Account{User: "ann", Record: []byte("r"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	err := s.CreateAccountWithInvite(node.Account{User: "ann", Record: []byte("r"), Created: t0}, h)
	if !errors.Is(err, protocol.ErrUserExists) {
		t.Fatalf("taken name: %v", err)
	}
	if _, err := s.Invite(h, t0); err != nil {
		t.Fatalf("the refusal spent the invite: %v", err)
	}
}

func TestInviteExpires(t *testing.T) {
	s := openTest(t, testOptions())
	h := node.HashInvite("soon")
	if err := s.CreateInvite(h, node.Invite{UsesLeft: 5, Created: t0, Expires: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invite(h, t0.Add(time.Minute)); !errors.Is(err, protocol.ErrInviteInvalid) {
		t.Fatalf("at its expiry: %v", err)
	}
	err := s.CreateAccountWithInvite(node.Account{User: "ann", Record: []byte("r"), Created: t0.Add(2 * time.Minute)}, h)
	if !errors.Is(err, protocol.ErrInviteInvalid) {
		t.Fatalf("registration after expiry: %v", err)
	}
}

func TestRevokeInviteByID(t *testing.T) {
	s := openTest(t, testOptions())
	h := node.HashInvite("revoke-me")
	if err := s.CreateInvite(h, node.Invite{UsesLeft: 1, Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeInvite("00000000"); !errors.Is(err, node.ErrNoInvite) {
		t.Fatalf("unknown id: %v", err)
	}
	if err := s.RevokeInvite(h.InviteID()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invite(h, t0); !errors.Is(err, protocol.ErrInviteInvalid) {
		t.Fatalf("revoked invite: %v", err)
	}
}

func TestResetAccountIsTakenBackWithItsInviteOnly(t *testing.T) {
	s := openTest(t, testOptions())
	if err := s.CreateAccount(node.Account{User: "ann", Record: []byte("old"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	var tok node.TokenHash
	tok[0] = 1
	if err := s.PutSession(tok, node.Session{User: "ann", Expires: t0.Add(time.Hour), AccountCreated: t0}); err != nil {
		t.Fatal(err)
	}
	h := node.HashInvite("reset-ann")
	later := t0.Add(time.Second)
	if err := s.ResetAccount("ann", h, node.Invite{UsesLeft: 1, Created: later, Expires: later.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Account("ann"); err != nil || len(a.Record) != 0 {
		t.Fatalf("after reset: %+v, %v; want the account without a record", a, err)
	}
	if _, err := s.Session(tok); !errors.Is(err, protocol.ErrNoSession) {
		t.Fatalf("the reset left a session: %v", err)
	}
	if err := s.CreateAccountWithInvite(node.Account{User: "eve", Record: []byte("x"), Created: later}, h); !errors.Is(err, protocol.ErrInviteInvalid) {
		t.Fatalf("another name with the reset's invite: %v", err)
	}
	if err := s.CreateAccountWithInvite(node.Account{User: "ann", Record: []byte("new"), Created: later}, h); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.Account("ann"); !bytes.Equal(a.Record, []byte("new")) {
		t.Fatalf("record after taking back: %q", a.Record)
	}
	if users, _ := s.Users(); len(users) != 1 || users[0].Reset {
		t.Fatalf("users: %+v", users)
	}
}

func TestCreateInviteIsBounded(t *testing.T) {
	s := openTest(t, testOptions())
	for i := range MaxInvites {
		if err := s.CreateInvite(node.HashInvite(fmt.Sprint(i)), node.Invite{UsesLeft: 1, Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateInvite(node.HashInvite("one too many"), node.Invite{UsesLeft: 1, Created: t0, Expires: t0.Add(time.Hour)}); !errors.Is(err, node.ErrTooManyInvites) {
		t.Fatalf("past the bound: %v", err)
	}
	// Expired ones make room.
	if err := s.CreateInvite(node.HashInvite("later"), node.Invite{UsesLeft: 1, Created: t0.Add(2 * time.Hour), Expires: t0.Add(3 * time.Hour)}); err != nil {
		t.Fatalf("after the others expired: %v", err)
	}
}

func TestAuditLogKeepsTheNewest(t *testing.T) {
	s := openTest(t, testOptions())
	const bound = 5
	for i := range 12 {
		if err := s.AppendAudit(protocol.AuditEntry{Time: int64(i), Action: "invite", Target: fmt.Sprint(i), Detail: "d"}, bound); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Audit(100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != bound {
		t.Fatalf("%d entries kept, want %d", len(got), bound)
	}
	for i, e := range got {
		if want := fmt.Sprint(11 - i); e.Target != want || e.Time != int64(11-i) {
			t.Fatalf("entry %d: %+v, want target %s (newest first)", i, e, want)
		}
	}
	if got, _ := s.Audit(2); len(got) != 2 || got[0].Target != "11" {
		t.Fatalf("limit 2: %+v", got)
	}
}

func TestAuditRecordRoundTripAndTruncation(t *testing.T) {
	e := protocol.AuditEntry{Time: 1765000000, Action: "user delete", Target: "ann", Detail: "held 168h"}
	b := encodeAudit(e)
	got, err := decodeAudit(b)
	if err != nil || got != e {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for n := range len(b) - len(e.Detail) {
		if _, err := decodeAudit(b[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v, want ErrCorrupt", n, err)
		}
	}
}

func TestInviteRecordRoundTripAndTruncation(t *testing.T) {
	inv := node.Invite{UsesLeft: 3, Created: t0, Expires: t0.Add(time.Hour), User: "ann"}
	b := encodeInvite(inv)
	got, err := decodeInvite(b)
	if err != nil || got.UsesLeft != 3 || !got.Created.Equal(t0) || !got.Expires.Equal(inv.Expires) || got.User != "ann" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for n := range inviteFixed {
		if _, err := decodeInvite(b[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v, want ErrCorrupt", n, err)
		}
	}
}

func FuzzDecodeInvite(f *testing.F) {
	f.Add(encodeInvite(node.Invite{UsesLeft: 1, Created: t0, Expires: t0.Add(time.Hour)}))
	f.Add(encodeInvite(node.Invite{UsesLeft: 7, Created: t0, Expires: t0, User: "ann"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := decodeInvite(b)
		if err != nil {
			return
		}
		again, err := decodeInvite(encodeInvite(inv))
		if err != nil || again.User != inv.User || again.UsesLeft != inv.UsesLeft || !again.Expires.Equal(inv.Expires) {
			t.Fatalf("re-encoding %+v: %+v, %v", inv, again, err)
		}
	})
}

func FuzzDecodeAudit(f *testing.F) {
	f.Add(encodeAudit(protocol.AuditEntry{Time: 1, Action: "drain", Detail: "on"}))
	f.Add(encodeAudit(protocol.AuditEntry{Time: 1765000000, Action: "user reset", Target: "ann", Detail: "x"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeAudit(b)
		if err != nil {
			return
		}
		if again, err := decodeAudit(encodeAudit(e)); err != nil || again != e {
			t.Fatalf("re-encoding %+v: %+v, %v", e, again, err)
		}
	})
}
