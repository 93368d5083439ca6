package session_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/protocol"
)

func TestTwoPasswordChangesKeepTheStateAndTheOfflineKeyFollows(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	s := alice.register()
	fp := s.State().Fingerprint
	if err := s.KeepOfflineKey(); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	old := alice.pw
	for i, next := range [][]byte{[]byte("second password of alice"), []byte("third password of alice")} {
		if err := s.ChangePassword(ctx, next); err != nil {
			t.Fatalf("change %d: %v", i+1, err)
		}
		alice.pw = old
		if _, err := alice.login(); !errors.Is(err, client.ErrWrongPassword) {
			t.Errorf("change %d: the old password: %v, want ErrWrongPassword", i+1, err)
		}
		alice.pw = next
		s = alice.mustLogin()
		if s.State().Fingerprint != fp {
			t.Errorf("change %d: the account's keys changed: %s, was %s", i+1, s.State().Fingerprint, fp)
		}
		old = next
	}
	// The offline key opens with the newest password only.
	cur := alice.current()
	cur.Domain = domain
	if _, err := session.OpenOffline(alice.config(), cur); err != nil {
		t.Errorf("opening offline with the newest password: %v", err)
	}
	alice.pw = []byte("second password of alice")
	if _, err := session.OpenOffline(alice.config(), cur); !errors.Is(err, client.ErrWrongPassword) {
		t.Errorf("opening offline with an earlier password: %v, want ErrWrongPassword", err)
	}
	if err := s.ChangePassword(ctx, []byte("third password of alice")); !errors.Is(err, session.ErrPasswordUnchanged) {
		t.Errorf("changing to the same password: %v, want ErrPasswordUnchanged", err)
	}
}

func TestAChangeStoppedBeforeTheNodeTakesItLeavesTheOldPassword(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	s := alice.register()
	stop := errors.New("stopped before passwordFinish")
	var seen []byte
	_, err := s.Client().ChangePassword(ctxT(t), fastOPAQUE, domain, "alice", []byte("never taken"), func(k []byte) error {
		seen = k
		return stop
	})
	if !errors.Is(err, stop) || len(seen) == 0 {
		t.Fatalf("ChangePassword: %v (export key seen: %d bytes), want the callback's error", err, len(seen))
	}
	alice.mustLogin()
}

func TestLogoutEndsThisLoginAndTheOneTheStateKept(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	first := alice.register()
	firstToken := first.State().SessionToken
	other := alice.mustLogin() // another machine's session, as far as the node knows
	otherToken := other.State().SessionToken
	s := alice.mustLogin() // this machine: its state kept otherToken until now
	ctx := ctxT(t)
	ended, err := s.Logout(ctx, false)
	if err != nil || ended != 2 {
		t.Fatalf("Logout: %d, %v; want 2 (this login's and the one the state kept)", ended, err)
	}
	if len(s.State().SessionToken) != 0 {
		t.Error("the state keeps a token after the logout")
	}
	c, err := alice.config().Dial(ctx, n.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Resume(ctx, otherToken); !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("the kept token after the logout: %v, want ErrInvalidToken", err)
	}
	if _, err := c.Resume(ctx, firstToken); err != nil {
		t.Errorf("the registration's session, which logout did not name: %v", err)
	}
	if ended, err := alice.mustLogin().Logout(ctx, true); err != nil || ended != 2 {
		t.Errorf("Logout everywhere: %d, %v; want 2 (the registration's and its own)", ended, err)
	}
	if _, err := c.Fetch(ctx, 0, 1); err == nil {
		t.Error("a connection resumed on a session that logout everywhere ended still works")
	}
}

func TestDeleteAccountRemovesTheAccountHereOnlyAfterTheNode(t *testing.T) {
	n := startNode(t)
	alice := newPerson(t, n, "alice")
	s := alice.register()
	if err := s.KeepOfflineKey(); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	left, err := filepath.Glob(filepath.Join(alice.stateDir, "alice@*"))
	if err != nil || len(left) != 0 {
		t.Errorf("left on this machine: %v, %v", left, err)
	}
	if _, err := os.Stat(filepath.Join(alice.stateDir, "current")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the current account: %v", err)
	}
	if _, err := alice.login(); !errors.Is(err, client.ErrWrongPassword) {
		t.Errorf("logging in to the deleted account: %v", err)
	}
	// A deletion the node refuses removes nothing here.
	bob := newPerson(t, n, "bob")
	b := bob.register()
	if _, err := b.Logout(ctxT(t), false); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteAccount(ctxT(t)); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("deleting without a session: %v, want ErrUnauthenticated", err)
	}
	if !client.HasState(bob.stateDir, "bob", domain) {
		t.Error("bob's state went though the node deleted nothing")
	}
}
