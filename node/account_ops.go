package node

import (
	"errors"
	"time"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/protocol"
)

// What a logged-in user does with their account besides deleting it
// (auth.go): change the password and log out, here or everywhere.
//
// A password change is an OPAQUE registration of the same identities over
// the account's record: the account key, devices, directory entry,
// messages and groups are the node's by name and stay. Only a connection
// that proved the current password itself (loginFinish on this very
// connection, within PasswordLoginWindow) may change it, so that a token
// copied off a disk, or a connection left logged in, cannot lock the
// person out of their account.

// PasswordLoginWindow is how long after loginFinish a connection may
// change the account's password (passwordStart and passwordFinish).
const PasswordLoginWindow = 10 * time.Minute

// AccountSessions are the changes to an account's sessions as a whole.
type AccountSessions interface {
	// ChangeRecord replaces user's OPAQUE record with record and removes
	// every session of user but those in keep, in one change, and returns
	// how many sessions it removed. The account's Created stays.
	// ErrUnknownUser if there is no such account.
	ChangeRecord(user string, record []byte, keep ...TokenHash) (ended int, err error)
	// EndSessions removes every session of user but those in keep and
	// returns how many it removed. ErrUnknownUser if there is no such
	// account.
	EndSessions(user string, keep ...TokenHash) (ended int, err error)
}

// PasswordStart answers an OPAQUE RegistrationRequest made with the new
// password of the account logged in on this connection, under the
// identities of RegisterStart.
func (c *Conn) PasswordStart(request []byte) ([]byte, error) {
	user, _, err := c.provenUser()
	if err != nil {
		return nil, err
	}
	req, err := opaque.DecodeRegistrationRequest(c.svc.opaque.Suite(), request)
	if err != nil {
		return nil, errorf(protocol.ErrBadRequest, "registration request: %v", err)
	}
	resp, err := c.svc.opaque.CreateRegistrationResponse(req, []byte(user))
	if err != nil {
		return nil, errorf(protocol.ErrBadRequest, "registration request: %v", err)
	}
	return resp.Encode(), nil
}

// PasswordFinish replaces the OPAQUE record of the account logged in on
// this connection with record and ends every other session of the
// account: their tokens stop working and the connections bound to them
// are logged out. This connection's session stays, but a further change
// needs a login with the new password first. It returns how many
// sessions ended.
func (c *Conn) PasswordFinish(record []byte) (int, error) {
	user, h, err := c.provenUser()
	if err != nil {
		return 0, err
	}
	if _, err := opaque.DecodeRegistrationRecord(c.svc.opaque.Suite(), record); err != nil {
		return 0, errorf(protocol.ErrBadRequest, "registration record: %v", err)
	}
	ended, err := c.svc.store.ChangeRecord(user, record, h)
	if err != nil {
		return 0, err
	}
	// One change per login: the next one proves the new password first,
	// so that a connection cannot rewrite the record (a synced write on a
	// router's flash) faster than logins are throttled.
	c.mu.Lock()
	c.proven = TokenHash{}
	c.mu.Unlock()
	conns := c.svc.logOutSessions(user, func(s TokenHash) bool { return s != h }, c)
	c.svc.log.Info("password changed", "user", user, "sessions_ended", ended, "connections_logged_out", conns)
	return ended, nil
}

// Logout ends the session of this connection, and with everywhere every
// session of its account, and returns how many sessions ended. Every
// connection bound to an ended session is logged out, this one too: it
// stays open and may log in again.
func (c *Conn) Logout(everywhere bool) (int, error) {
	user, h, err := c.sessionHash()
	if err != nil {
		return 0, err
	}
	var ended int
	match := func(s TokenHash) bool { return s == h }
	if everywhere {
		ended, err = c.svc.store.EndSessions(user)
		match = func(TokenHash) bool { return true }
	} else {
		// This session is in the store unless another logout ended it a
		// moment ago; it counts as the one ended either way.
		err = c.svc.store.DeleteSession(h)
		ended = 1
	}
	if errors.Is(err, protocol.ErrUnknownUser) {
		return 0, protocol.ErrInvalidToken // the account went meanwhile
	}
	if err != nil {
		return 0, err
	}
	conns := c.svc.logOutSessions(user, match, c)
	c.svc.log.Info("logged out", "user", user, "everywhere", everywhere, "sessions_ended", ended, "connections_logged_out", conns)
	return ended, nil
}

// sessionHash returns the logged-in user and the hash of the session's
// token, or why there is none (as user does).
func (c *Conn) sessionHash() (string, TokenHash, error) {
	user, err := c.user()
	if err != nil {
		return "", TokenHash{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session == nil || c.session.User != user {
		return "", TokenHash{}, protocol.ErrUnauthenticated // logged out meanwhile
	}
	return user, c.session.hash, nil
}

// provenUser is sessionHash for a connection whose session a loginFinish
// on this connection made within PasswordLoginWindow; any other session
// is ErrUnauthenticated, saying to log in with the password first.
func (c *Conn) provenUser() (string, TokenHash, error) {
	user, h, err := c.sessionHash()
	if err != nil {
		return "", TokenHash{}, err
	}
	c.mu.Lock()
	proven, at := c.proven, c.provenAt
	c.mu.Unlock()
	if proven != h || c.svc.now().Sub(at) > PasswordLoginWindow {
		return "", TokenHash{}, errorf(protocol.ErrUnauthenticated,
			"log in with the current password on this connection before changing it")
	}
	return user, h, nil
}

// markProven records that the session under h was made by a login with
// the password on this connection, now.
func (c *Conn) markProven(h TokenHash) {
	c.mu.Lock()
	c.proven, c.provenAt = h, c.svc.now()
	c.mu.Unlock()
}

// checkBound returns nil if the session s, stored under h, still stands:
// its account is the one it was granted to and the store still holds it.
// bind calls it after registering the connection as live, so that a
// session ended by a logout or a password change at the same time is
// either found gone here or finds the connection in logOutSessions.
func (s *Service) checkBound(h TokenHash, sess Session) error {
	if err := s.checkAccount(sess); err != nil {
		return err
	}
	if _, err := s.store.Session(h); errors.Is(err, protocol.ErrNoSession) {
		return protocol.ErrInvalidToken
	} else if err != nil {
		return err
	}
	return nil
}

// SessionEnded is closed when another connection ended the session of
// this one (a logout everywhere, a password change, a logout of the same
// token elsewhere). The connection is logged out by then; its owner should
// close the transport connection, saying why, so that the client notices
// at once instead of at its next call.
func (c *Conn) SessionEnded() <-chan struct{} { return c.ended }

// logOutSessions logs out every connection of user whose session's hash
// ended says was ended, and returns how many. The caller removed those
// sessions from the store first. Every connection but caller, the one
// that asked, is told by SessionEnded.
func (s *Service) logOutSessions(user string, ended func(TokenHash) bool, caller *Conn) int {
	s.liveMu.Lock()
	conns := make([]*Conn, 0, len(s.live[user]))
	for c := range s.live[user] {
		conns = append(conns, c)
	}
	s.liveMu.Unlock()
	n := 0
	for _, c := range conns {
		if c.logOut(user, ended) {
			n++
			if c != caller {
				c.endedOnce.Do(func() { close(c.ended) })
			}
		}
	}
	return n
}

// logOut ends c's session if it is one of user's that ended says was
// ended: the connection keeps going without a session (calls that need
// one fail with ErrUnauthenticated) and its subscriptions end. It reports
// whether it logged the connection out.
func (c *Conn) logOut(user string, ended func(TokenHash) bool) bool {
	c.mu.Lock()
	if c.session == nil || c.session.User != user || !ended(c.session.hash) {
		c.mu.Unlock()
		return false
	}
	c.session = nil
	c.proven = TokenHash{}
	subs := c.subs
	c.subs = map[*Subscription]struct{}{}
	c.mu.Unlock()
	for sub := range subs {
		sub.Cancel()
	}
	c.svc.unregister(user, c)
	return true
}
