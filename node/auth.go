package node

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/crypto/opaque"
)

// TokenLen is the length of a session token in bytes.
const TokenLen = 32

// opaqueIdentities returns the OPAQUE client and server identities of user:
// "user@domain" and "domain", so that a record registered on one node does
// not log in on another.
func (s *Service) opaqueIdentities(user string) (client, server []byte) {
	return []byte(user + "@" + s.id.Domain), []byte(s.id.Domain)
}

// RegisterStart answers an OPAQUE RegistrationRequest for a new account.
func (c *Conn) RegisterStart(user string, request []byte) ([]byte, error) {
	if err := ValidateUserName(user); err != nil {
		return nil, err
	}
	req, err := opaque.DecodeRegistrationRequest(c.svc.opaque.Suite(), request)
	if err != nil {
		return nil, errorf(ErrBadRequest, "registration request: %v", err)
	}
	if _, err := c.svc.store.Account(user); err == nil {
		return nil, ErrUserExists
	} else if !errors.Is(err, ErrUnknownUser) {
		return nil, err
	}
	resp, err := c.svc.opaque.CreateRegistrationResponse(req, []byte(user))
	if err != nil {
		return nil, errorf(ErrBadRequest, "registration request: %v", err)
	}
	return resp.Encode(), nil
}

// RegisterFinish stores the OPAQUE RegistrationRecord of a new account.
func (c *Conn) RegisterFinish(user string, record []byte) error {
	if err := ValidateUserName(user); err != nil {
		return err
	}
	if _, err := opaque.DecodeRegistrationRecord(c.svc.opaque.Suite(), record); err != nil {
		return errorf(ErrBadRequest, "registration record: %v", err)
	}
	err := c.svc.store.CreateAccount(Account{User: user, Record: record, Created: c.svc.now()})
	if err == nil {
		c.svc.log.Info("user registered", "user", user)
	}
	return err
}

// LoginStart answers OPAQUE KE1 with KE2. An unknown user gets a fake KE2
// and a login that fails at LoginFinish like a wrong password.
func (c *Conn) LoginStart(user string, ke1 []byte) ([]byte, error) {
	if err := ValidateUserName(user); err != nil {
		return nil, err
	}
	msg, err := opaque.DecodeKE1(c.svc.opaque.Suite(), ke1)
	if err != nil {
		return nil, errorf(ErrBadRequest, "KE1: %v", err)
	}
	var record *opaque.RegistrationRecord
	acct, err := c.svc.store.Account(user)
	switch {
	case err == nil:
		record, err = opaque.DecodeRegistrationRecord(c.svc.opaque.Suite(), acct.Record)
		if err != nil {
			return nil, fmt.Errorf("stored record of %s: %w", user, err)
		}
	case !errors.Is(err, ErrUnknownUser):
		return nil, err
	}
	clientID, serverID := c.svc.opaqueIdentities(user)
	ke2, state, err := c.svc.opaque.GenerateKE2(serverID, record, []byte(user), msg, clientID)
	if err != nil {
		return nil, errorf(ErrBadRequest, "KE1: %v", err)
	}
	c.mu.Lock()
	c.login = &pendingLogin{user: user, state: state}
	if record == nil {
		c.login.state = nil
	}
	c.mu.Unlock()
	return ke2.Encode(), nil
}

// LoginFinish checks OPAQUE KE3 for the login this connection started last.
// On success the connection is logged in and the new session returned with
// its token.
func (c *Conn) LoginFinish(ke3 []byte) (token []byte, s Session, err error) {
	c.mu.Lock()
	login := c.login
	c.login = nil
	c.mu.Unlock()
	if login == nil {
		return nil, Session{}, errorf(ErrBadRequest, "loginFinish without loginStart")
	}
	msg, err := opaque.DecodeKE3(c.svc.opaque.Suite(), ke3)
	if err != nil {
		return nil, Session{}, errorf(ErrBadRequest, "KE3: %v", err)
	}
	if login.state == nil {
		return nil, Session{}, ErrAuthFailed
	}
	if _, err := login.state.ServerFinish(msg); err != nil {
		c.svc.log.Info("login failed", "user", login.user)
		return nil, Session{}, ErrAuthFailed
	}
	token = make([]byte, TokenLen)
	rand.Read(token)
	h := TokenHash(sha256.Sum256(token))
	s = Session{User: login.user, Expires: c.svc.now().Add(c.svc.limits.SessionTTL)}
	if err := c.svc.store.PutSession(h, s); err != nil {
		return nil, Session{}, err
	}
	c.bind(h, s)
	c.svc.log.Debug("user logged in", "user", s.User)
	return token, s, nil
}

// ResumeSession binds the session of token to this connection.
func (c *Conn) ResumeSession(token []byte) (Session, error) {
	if len(token) != TokenLen {
		return Session{}, ErrInvalidToken
	}
	h := TokenHash(sha256.Sum256(token))
	s, err := c.svc.store.Session(h)
	if errors.Is(err, ErrNoSession) {
		return Session{}, ErrInvalidToken
	}
	if err != nil {
		return Session{}, err
	}
	if !c.svc.now().Before(s.Expires) {
		return Session{}, ErrSessionExpired
	}
	if _, err := c.svc.store.Account(s.User); errors.Is(err, ErrUnknownUser) {
		return Session{}, ErrInvalidToken
	}
	c.bind(h, s)
	return s, nil
}

func (c *Conn) bind(h TokenHash, s Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.session = &boundSession{hash: h, Session: s}
	c.boundOnce.Do(func() { close(c.bound) })
}

// DeleteAccount removes the logged-in user and everything of theirs, and
// logs the connection out.
func (c *Conn) DeleteAccount() error {
	user, err := c.user()
	if err != nil {
		return err
	}
	if err := c.svc.store.DeleteAccount(user); err != nil {
		return err
	}
	c.mu.Lock()
	c.session = nil
	subs := c.subs
	c.subs = map[*Subscription]struct{}{}
	c.mu.Unlock()
	for sub := range subs {
		sub.Cancel()
	}
	c.svc.log.Info("account deleted", "user", user)
	return nil
}
