package node

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/protocol"
)

// TokenLen is the length of a session token in bytes.
const TokenLen = 32

// opaqueIdentities returns the OPAQUE client and server identities of user:
// "user@domain" and "domain", so that a record registered on one node does
// not log in on another.
func (s *Service) opaqueIdentities(user string) (client, server []byte) {
	return []byte(user + "@" + s.id.Domain), []byte(s.id.Domain)
}

// RegisterStart is RegisterStartWithInvite without an invite code.
func (c *Conn) RegisterStart(user string, request []byte) ([]byte, error) {
	return c.RegisterStartWithInvite(user, request, "")
}

// RegisterStartWithInvite answers an OPAQUE RegistrationRequest for a new
// account, under the node's registration policy (registration.go): a
// closed node refuses (ErrRegistrationClosed), an invite-only node wants
// a valid code (ErrInviteRequired, ErrInviteInvalid). Whether a name is
// free is visible to anyone under open registration, so the answer is
// throttled per source address (ErrRateLimited) instead; the throttle
// also bounds the guessing of invite codes.
func (c *Conn) RegisterStartWithInvite(user string, request []byte, invite string) ([]byte, error) {
	if err := protocol.ValidateUserName(user); err != nil {
		return nil, err
	}
	req, err := opaque.DecodeRegistrationRequest(c.svc.opaque.Suite(), request)
	if err != nil {
		return nil, errorf(protocol.ErrBadRequest, "registration request: %v", err)
	}
	if c.svc.draining.Load() {
		return nil, errorf(protocol.ErrShuttingDown, "the node is draining for maintenance")
	}
	now := c.svc.now()
	if invite == "" && c.svc.registration != protocol.RegistrationOpen {
		// Refused before the throttle: there is nothing to guess.
		if _, err := c.admitRegistration(user, "", now); err != nil {
			return nil, err
		}
	}
	if !c.svc.regSource.take(c.source, 1, now) {
		return nil, c.svc.refuseRegistration(RefusedRate, errorf(protocol.ErrRateLimited, "too many registrations from this address"))
	}
	pending, err := c.admitRegistration(user, invite, now)
	if err != nil {
		return nil, err
	}
	if pending == nil || !pending.bound {
		if err := c.svc.store.CheckName(user, now); err != nil {
			return nil, err
		}
	}
	resp, err := c.svc.opaque.CreateRegistrationResponse(req, []byte(user))
	if err != nil {
		return nil, errorf(protocol.ErrBadRequest, "registration request: %v", err)
	}
	c.mu.Lock()
	c.invite = pending
	c.mu.Unlock()
	return resp.Encode(), nil
}

// RegisterFinish stores the OPAQUE RegistrationRecord of a new account. It
// is throttled per source address and for the node as a whole, and the
// store refuses names that are taken or held (ErrUserExists) and accounts
// beyond its cap (ErrAccountsFull). The invite this connection's
// registerStart was let in with is consumed with the account's creation.
func (c *Conn) RegisterFinish(user string, record []byte) error {
	if err := protocol.ValidateUserName(user); err != nil {
		return err
	}
	if _, err := opaque.DecodeRegistrationRecord(c.svc.opaque.Suite(), record); err != nil {
		return errorf(protocol.ErrBadRequest, "registration record: %v", err)
	}
	c.mu.Lock()
	pending := c.invite
	c.mu.Unlock()
	if pending != nil && pending.user != user {
		pending = nil // registerStart was for another name
	}
	if pending == nil && c.svc.registration != protocol.RegistrationOpen {
		// registerFinish without the registerStart that checked the code.
		if _, err := c.admitRegistration(user, "", c.svc.now()); err != nil {
			return err
		}
	}
	now := c.svc.now()
	if !c.svc.regSource.take(c.source, 1, now) {
		return c.svc.refuseRegistration(RefusedRate, errorf(protocol.ErrRateLimited, "too many registrations from this address"))
	}
	if !c.svc.regNode.take(1, now) {
		c.svc.log.Warn("registration refused: node-wide registration rate reached", "user", user)
		return c.svc.refuseRegistration(RefusedRate, errorf(protocol.ErrRateLimited, "too many registrations on this node; try again later"))
	}
	a := Account{User: user, Record: record, Created: now}
	var err error
	if pending != nil {
		err = c.svc.invites.CreateAccountWithInvite(a, pending.hash)
	} else {
		err = c.svc.store.CreateAccount(a)
	}
	switch {
	case err == nil:
		c.mu.Lock()
		c.invite = nil
		c.mu.Unlock()
		c.svc.log.Info("user registered", "user", user, "invite", pending != nil)
		return nil
	case errors.Is(err, protocol.ErrAccountsFull):
		c.svc.log.Warn("registration refused: account limit reached", "user", user, "err", err)
		err = c.svc.refuseRegistration(RefusedAccounts, protocol.ErrAccountsFull) // the client needs no more than that
	case errors.Is(err, protocol.ErrInviteInvalid):
		err = c.svc.refuseRegistration(RefusedInviteInvalid, err)
	}
	// No account was made: the node's budget counts accounts, so that
	// refusals cannot spend it for everyone (the source's budget still
	// counts the call).
	c.svc.regNode.give(1, now)
	return err
}

// LoginStart answers OPAQUE KE1 with KE2. An unknown user gets a fake KE2
// and a login that fails at LoginFinish like a wrong password. Each start
// takes a token of the source address's budget and of the name's (see
// Limits.LoginUserBurst); the name's is given back when the login
// succeeds. Since a client can test a password guess on KE2 alone, the
// start is what must be throttled.
func (c *Conn) LoginStart(user string, ke1 []byte) ([]byte, error) {
	if err := protocol.ValidateUserName(user); err != nil {
		return nil, err
	}
	msg, err := opaque.DecodeKE1(c.svc.opaque.Suite(), ke1)
	if err != nil {
		return nil, errorf(protocol.ErrBadRequest, "KE1: %v", err)
	}
	if c.svc.draining.Load() {
		return nil, errorf(protocol.ErrShuttingDown, "the node is draining for maintenance")
	}
	now := c.svc.now()
	if !c.svc.loginSource.take(c.source, 1, now) {
		return nil, errorf(protocol.ErrRateLimited, "too many logins from this address")
	}
	if !c.svc.loginUser.take(user, 1, now) {
		c.svc.log.Info("login refused: the name's budget of attempts is spent", "user", user)
		return nil, errorf(protocol.ErrRateLimited, "too many failed logins for this name; try again later")
	}
	var record *opaque.RegistrationRecord
	var created time.Time
	acct, err := c.svc.store.Account(user)
	switch {
	case err == nil && len(acct.Record) == 0:
		// Reset by the admin: no password logs in until the owner
		// registers again, and the answer looks like any failed login.
	case err == nil:
		record, err = opaque.DecodeRegistrationRecord(c.svc.opaque.Suite(), acct.Record)
		if err != nil {
			return nil, fmt.Errorf("stored record of %s: %w", user, err)
		}
		created = acct.Created
	case !errors.Is(err, protocol.ErrUnknownUser):
		return nil, err
	}
	clientID, serverID := c.svc.opaqueIdentities(user)
	ke2, state, err := c.svc.opaque.GenerateKE2(serverID, record, []byte(user), msg, clientID)
	if err != nil {
		return nil, errorf(protocol.ErrBadRequest, "KE1: %v", err)
	}
	c.mu.Lock()
	c.login = &pendingLogin{user: user, state: state, created: created}
	if record == nil {
		c.login.state = nil
	}
	c.mu.Unlock()
	return ke2.Encode(), nil
}

// LoginFinish checks OPAQUE KE3 for the login this connection started last.
// On success the connection is logged in and the new session returned with
// its token. The session is bound to the account that answered LoginStart:
// if that account was deleted meanwhile, the login fails.
func (c *Conn) LoginFinish(ke3 []byte) (token []byte, s Session, err error) {
	c.mu.Lock()
	login := c.login
	c.login = nil
	c.mu.Unlock()
	if login == nil {
		return nil, Session{}, errorf(protocol.ErrBadRequest, "loginFinish without loginStart")
	}
	msg, err := opaque.DecodeKE3(c.svc.opaque.Suite(), ke3)
	if err != nil {
		return nil, Session{}, errorf(protocol.ErrBadRequest, "KE3: %v", err)
	}
	if login.state == nil {
		return nil, Session{}, protocol.ErrAuthFailed
	}
	if _, err := login.state.ServerFinish(msg); err != nil {
		c.svc.log.Info("login failed", "user", login.user)
		return nil, Session{}, protocol.ErrAuthFailed
	}
	now := c.svc.now()
	c.svc.loginUser.give(login.user, 1, now)
	c.mu.Lock()
	gone := c.gone
	c.mu.Unlock()
	if gone {
		return nil, Session{}, protocol.ErrInvalidToken
	}
	token = make([]byte, TokenLen)
	rand.Read(token)
	h := TokenHash(sha256.Sum256(token))
	s = Session{User: login.user, Expires: now.Add(c.svc.limits.SessionTTL), AccountCreated: login.created}
	if err := c.svc.store.PutSession(h, s); errors.Is(err, protocol.ErrUnknownUser) {
		return nil, Session{}, protocol.ErrAuthFailed // the account went while logging in
	} else if err != nil {
		return nil, Session{}, err
	}
	if err := c.bind(h, s); err != nil {
		return nil, Session{}, err
	}
	c.markProven(h)
	c.svc.log.Debug("user logged in", "user", s.User)
	return token, s, nil
}

// ResumeSession binds the session of token to this connection. A token
// whose account was deleted, also if the name was registered again since,
// is ErrInvalidToken.
func (c *Conn) ResumeSession(token []byte) (Session, error) {
	if len(token) != TokenLen {
		return Session{}, protocol.ErrInvalidToken
	}
	if c.svc.draining.Load() {
		return Session{}, errorf(protocol.ErrShuttingDown, "the node is draining for maintenance")
	}
	h := TokenHash(sha256.Sum256(token))
	s, err := c.svc.store.Session(h)
	if errors.Is(err, protocol.ErrNoSession) {
		return Session{}, protocol.ErrInvalidToken
	}
	if err != nil {
		return Session{}, err
	}
	if !c.svc.now().Before(s.Expires) {
		return Session{}, protocol.ErrSessionExpired
	}
	if err := c.bind(h, s); err != nil {
		return Session{}, err
	}
	return s, nil
}

// bind binds session s, stored under h, to the connection and registers
// the connection as live for s.User. It checks the account after
// registering: an account deleted before the registration is found gone
// here, and one deleted after it revokes the connection (revokeUser), so
// no connection stays bound to a deleted account.
func (c *Conn) bind(h TokenHash, s Session) error {
	c.mu.Lock()
	if c.gone || c.closed {
		c.mu.Unlock()
		return protocol.ErrInvalidToken
	}
	old := c.session
	c.session = &boundSession{hash: h, Session: s}
	c.device = "" // a new session names its device again
	c.mu.Unlock()
	if old != nil && old.User != s.User {
		c.svc.unregister(old.User, c)
	}
	c.svc.register(s.User, c)
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed { // Close ran meanwhile and found nothing to unregister yet
		c.svc.unregister(s.User, c)
		return protocol.ErrInvalidToken
	}
	if err := c.svc.checkBound(h, s); err != nil {
		c.mu.Lock()
		if c.session != nil && c.session.hash == h {
			c.session = nil
		}
		c.mu.Unlock()
		c.svc.unregister(s.User, c)
		return err
	}
	c.boundOnce.Do(func() { close(c.bound) })
	return nil
}

// checkAccount returns nil if s's account exists and is the one s was
// granted to, else ErrInvalidToken.
func (s *Service) checkAccount(sess Session) error {
	acct, err := s.store.Account(sess.User)
	if errors.Is(err, protocol.ErrUnknownUser) {
		return protocol.ErrInvalidToken
	}
	if err != nil {
		return err
	}
	if !sess.AccountCreated.IsZero() && !sess.AccountCreated.Equal(acct.Created) {
		return protocol.ErrInvalidToken
	}
	return nil
}

// DeleteAccount removes the logged-in user and everything of theirs, holds
// the name for Limits.NameHold, and ends every session of the account and
// every other connection bound to one, so that nothing of the old account
// acts on a later one of the same name. This connection is logged out.
func (c *Conn) DeleteAccount() error {
	user, err := c.user()
	if err != nil {
		return err
	}
	if err := c.svc.store.DeleteAccount(user, c.svc.now().Add(c.svc.limits.NameHold)); err != nil {
		return err
	}
	// This connection is only logged out: it must still carry the answer.
	c.mu.Lock()
	c.session = nil
	subs := c.subs
	c.subs = map[*Subscription]struct{}{}
	c.mu.Unlock()
	for sub := range subs {
		sub.Cancel()
	}
	n := c.svc.revokeUser(user, c)
	c.svc.log.Info("account deleted", "user", user, "other_connections_ended", n)
	return nil
}
