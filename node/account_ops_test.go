package node_test

import (
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// changePassword runs the client's half of a password change of user on
// c to newPW: an OPAQUE registration under the account's identities.
func changePassword(c *node.Conn, user string, newPW []byte) (int, error) {
	oc, err := opaque.NewClient(fastClient)
	if err != nil {
		return 0, err
	}
	req, err := oc.CreateRegistrationRequest(newPW)
	if err != nil {
		return 0, err
	}
	respBytes, err := c.PasswordStart(req.Encode())
	if err != nil {
		return 0, err
	}
	resp, err := opaque.DecodeRegistrationResponse(oc.Suite(), respBytes)
	if err != nil {
		return 0, err
	}
	rec, _, err := oc.FinalizeRegistrationRequest(resp, []byte(domain), []byte(user+"@"+domain))
	if err != nil {
		return 0, err
	}
	return c.PasswordFinish(rec.Encode())
}

// loginWith logs user in on c with pw and returns the token.
func loginWith(c *node.Conn, user string, pw []byte) ([]byte, error) {
	ke3, err := loginStart(c, user, pw)
	if err != nil {
		return nil, err
	}
	tok, _, err := c.LoginFinish(ke3)
	return tok, err
}

func TestAPasswordChangeKeepsTheMailboxAndEndsEveryOtherSession(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	alice := loggedIn(t, f, "alice")
	bob := loggedIn(t, f, "bob")
	send(t, bob, "alice", "waiting")
	// A second device: its own login, so its own token and connection.
	other := f.conn(t, "192.0.2.99:1")
	otherTok, err := login(other, "alice")
	must(t, err)
	resumed := f.conn(t, "192.0.2.98:1")
	if _, err := resumed.ResumeSession(otherTok); err != nil {
		t.Fatal(err)
	}
	sub, err := other.Subscribe(nopListener{}, 0)
	must(t, err)
	bobsSub, err := bob.Subscribe(nopListener{}, 0)
	must(t, err)

	newPW := []byte("a new password of alice")
	ended, err := changePassword(alice, "alice", newPW)
	if err != nil {
		t.Fatalf("password change: %v", err)
	}
	if ended != 1 {
		t.Errorf("%d sessions ended, want 1 (the other device's)", ended)
	}
	if _, err := changePassword(alice, "alice", []byte("yet another")); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("a second change without a login in between: %v, want ErrUnauthenticated", err)
	}
	for name, c := range map[string]*node.Conn{"the other device": other, "a connection that resumed its token": resumed} {
		if _, err := c.Fetch(0, 10); !errors.Is(err, protocol.ErrUnauthenticated) {
			t.Errorf("%s after the change: %v, want ErrUnauthenticated", name, err)
		}
		if closed(c.Revoked()) {
			t.Errorf("%s was revoked as if the account were deleted", name)
		}
		if !closed(c.SessionEnded()) {
			t.Errorf("%s was not told that its session ended", name)
		}
	}
	if closed(alice.SessionEnded()) {
		t.Error("the connection that changed the password was told its session ended")
	}
	select {
	case <-sub.Done():
	case <-time.After(5 * time.Second):
		t.Error("the other device's subscription goes on")
	}
	if closed(bobsSub.Done()) {
		t.Error("bob's subscription ended with alice's password")
	}
	if _, err := f.conn(t, "192.0.2.97:1").ResumeSession(otherTok); !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("the other device's token after the change: %v, want ErrInvalidToken", err)
	}
	// This connection goes on, and the message waits in the mailbox.
	msgs, err := alice.Fetch(0, 10)
	if err != nil || len(msgs) != 1 || string(msgs[0].Payload) != "waiting" {
		t.Fatalf("alice's mailbox after the change: %v, %v", msgs, err)
	}
	c := f.conn(t, "192.0.2.96:1")
	if _, err := loginStart(c, "alice", password("alice")); !errors.Is(err, errWrongPassword) {
		t.Errorf("the old password: %v, want it refused", err)
	}
	if _, err := loginWith(c, "alice", newPW); err != nil {
		t.Errorf("the new password: %v", err)
	}
	if _, err := loginWith(other, "alice", newPW); err != nil {
		t.Errorf("the other device logging in again: %v", err)
	}
}

func TestOnlyAConnectionThatLoggedInWithThePasswordMayChangeIt(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	alice := loggedIn(t, f, "alice")
	tok, err := login(alice, "alice")
	must(t, err)
	resumed := f.conn(t, "192.0.2.50:1")
	if _, err := resumed.ResumeSession(tok); err != nil {
		t.Fatal(err)
	}
	if _, err := changePassword(resumed, "alice", []byte("stolen token's password")); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("a resumed session changing the password: %v, want ErrUnauthenticated", err)
	}
	if _, err := changePassword(f.conn(t, "192.0.2.51:1"), "alice", []byte("x")); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("a connection without a session: %v, want ErrUnauthenticated", err)
	}
	f.clock.add(node.PasswordLoginWindow + time.Second)
	if _, err := changePassword(alice, "alice", []byte("too late")); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("a change long after the login: %v, want ErrUnauthenticated", err)
	}
	if _, err := loginWith(f.conn(t, "192.0.2.52:1"), "alice", password("alice")); err != nil {
		t.Errorf("the password changed after all: %v", err)
	}
	if _, err := alice.PasswordFinish([]byte("not a record")); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("garbage from an unproven connection: %v", err)
	}
	if _, err := login(alice, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.PasswordFinish([]byte("not a record")); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("a record that does not decode: %v, want ErrBadRequest", err)
	}
	if _, err := alice.PasswordStart([]byte{1, 2}); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("a request that does not decode: %v, want ErrBadRequest", err)
	}
}

func TestLogoutEndsThisSessionOrEveryOneAndNoOtherAccounts(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	alice := loggedIn(t, f, "alice")
	bob := loggedIn(t, f, "bob")
	second := f.conn(t, "192.0.2.60:1")
	secondTok, err := login(second, "alice")
	must(t, err)
	third := f.conn(t, "192.0.2.61:1")
	_, err = login(third, "alice")
	must(t, err)

	ended, err := second.Logout(false)
	if err != nil || ended != 1 {
		t.Fatalf("logout: %d, %v; want 1", ended, err)
	}
	if _, err := second.Fetch(0, 1); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("after logout: %v, want ErrUnauthenticated", err)
	}
	if _, err := f.conn(t, "192.0.2.62:1").ResumeSession(secondTok); !errors.Is(err, protocol.ErrInvalidToken) {
		t.Errorf("the token after logout: %v, want ErrInvalidToken", err)
	}
	for name, c := range map[string]*node.Conn{"alice's first session": alice, "her third": third} {
		if _, err := c.Fetch(0, 1); err != nil {
			t.Errorf("%s after another's logout: %v", name, err)
		}
	}
	if _, err := second.Logout(false); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("a second logout: %v, want ErrUnauthenticated", err)
	}
	// A logged-out connection may log in again.
	if _, err := login(second, "alice"); err != nil {
		t.Fatalf("logging in again: %v", err)
	}

	ended, err = third.Logout(true)
	if err != nil || ended != 3 {
		t.Fatalf("logout everywhere: %d, %v; want 3 (first, second again, third)", ended, err)
	}
	for name, c := range map[string]*node.Conn{"alice's first": alice, "second": second, "third": third} {
		if _, err := c.Fetch(0, 1); !errors.Is(err, protocol.ErrUnauthenticated) {
			t.Errorf("%s after logout everywhere: %v, want ErrUnauthenticated", name, err)
		}
		if want := c != third; closed(c.SessionEnded()) != want {
			t.Errorf("%s: told its session ended: %v, want %v", name, !want, want)
		}
	}
	if _, err := bob.Fetch(0, 1); err != nil {
		t.Errorf("bob after alice logged out everywhere: %v", err)
	}
	if ended, err := bob.Logout(true); err != nil || ended != 1 {
		t.Errorf("bob's logout everywhere: %d, %v; want 1", ended, err)
	}
}

func TestAResumeThatRacesALogoutEverywhereNeverOutlivesIt(t *testing.T) {
	f := newFixture(t, node.Limits{}, memstore.Options{})
	alice := loggedIn(t, f, "alice")
	for i := range 50 {
		tok, err := login(alice, "alice")
		must(t, err)
		c := f.svc.NewConn("192.0.2.70:1")
		done := make(chan error, 1)
		go func() {
			_, err := c.ResumeSession(tok)
			done <- err
		}()
		if _, err := alice.Logout(true); err != nil {
			t.Fatal(err)
		}
		resumeErr := <-done
		if _, err := c.Fetch(0, 1); err == nil {
			t.Fatalf("round %d: a connection resumed (%v) while its session ended stays logged in", i, resumeErr)
		}
		c.Close()
	}
}
