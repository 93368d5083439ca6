package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/protocol"
)

// Config says how a Session reaches its node and its person.
type Config struct {
	// StateDir is where the account's sealed state, replay cache and chat
	// database live (client.DefaultStateDir for qpc).
	StateDir string
	// Dial connects to the node at server, checking its certificate as
	// the person chose (pin, CA, trust on first use) and within the time
	// they allow. Every connection of the Session is made by it.
	Dial func(ctx context.Context, server string) (*client.Client, error)
	// Password returns the account's password; prompt names the account
	// ("Password for bob@example: "). typed reports that a person typed
	// it, which may take longer than a node waits for a login, so the
	// Session dials again before it logs in.
	Password func(prompt string) (pw []byte, typed bool, err error)
	// Notices is told what a person should learn as it happens (new keys
	// made, a community CA trusted), one sentence at a time; nil drops
	// them.
	Notices func(text string)
	// OPAQUE is the OPAQUE configuration; the zero value is qpc's
	// default. It must be the same at every login.
	OPAQUE opaque.Config
	// PQOnly makes the chat engine publish post-quantum KeyPackages only
	// and refuse classic groups (chat.Options.PQOnly).
	PQOnly bool
}

func (cfg *Config) notice(format string, args ...any) {
	if cfg.Notices != nil {
		cfg.Notices(fmt.Sprintf(format, args...))
	}
}

// Session is an account logged in on its node, with its state opened.
// Its methods are for one goroutine at a time, except where they say.
type Session struct {
	cfg       Config
	c         *client.Client
	acct      *client.Account
	state     *client.State
	exportKey []byte
	cur       client.Current
	// password logs in again when the node refuses the session after a
	// reconnect (FollowOptions).
	password []byte
}

// Client returns the connection the Session logged in on.
func (s *Session) Client() *client.Client { return s.c }

// Account returns the logged-in account: keys, contacts, the community
// CA. Its Client is the Session's connection until a follower points it
// at a newer one.
func (s *Session) Account() *client.Account { return s.acct }

// State returns the account's opened state, as changed since it was
// loaded; Save writes it.
func (s *Session) State() *client.State { return s.state }

// Current returns the account and its node: address, server, certificate
// fingerprint.
func (s *Session) Current() client.Current { return s.cur }

// Close hangs up the Session's connection.
func (s *Session) Close() error { return s.c.Close() }

// Save seals the state, as changed, under the account's export key and
// writes it to the state directory.
func (s *Session) Save() error {
	return client.SaveState(s.cfg.StateDir, s.exportKey, s.state)
}

// Login connects to the node of cur, logs the account in and opens its
// saved state. A login never makes or publishes keys: on a machine that
// holds no state of the account it fails with a *NotADeviceError (which is
// ErrNotADevice and client.ErrNoState) that says how to make this machine
// a device of the account, and the keys the account published stay as
// they are, so its devices keep reading what is sealed to them. A wrong
// password is client.ErrWrongPassword. The new session's token is saved
// with the state, and cur becomes the current account.
func Login(ctx context.Context, cfg Config, cur client.Current) (*Session, error) {
	return login(ctx, cfg, cur, nil)
}

// Register creates the account user on the node of c, whose domain is
// domain, with password pw, makes it the current account and logs it in
// on a new connection, which makes and publishes its keys.
func Register(ctx context.Context, cfg Config, c *client.Client, user, domain string, pw []byte) (*Session, error) {
	if _, err := c.Register(ctx, cfg.OPAQUE, domain, user, pw); err != nil {
		return nil, err
	}
	cur := client.Current{User: user, Domain: domain, Server: c.Addr(), Fingerprint: c.Fingerprint()}
	if err := client.SaveCurrent(cfg.StateDir, cur); err != nil {
		return nil, err
	}
	s, err := login(ctx, cfg, cur, pw)
	if err != nil {
		return nil, fmt.Errorf("registered, but logging in failed: %w", err)
	}
	return s, nil
}

// login is Login; a registration gives the password it just set as pw, so
// that it is not asked for again, and only a registration makes and
// publishes keys: an account whose password someone types on a new
// machine already has keys that its devices read with.
func login(ctx context.Context, cfg Config, cur client.Current, pw []byte) (*Session, error) {
	if cur.User == "" || cur.Server == "" {
		return nil, ErrNoAccount
	}
	registering := pw != nil
	c, err := cfg.Dial(ctx, cur.Server)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	h, err := c.Health(ctx)
	if err != nil {
		return nil, err
	}
	cur.Domain, cur.Fingerprint = h.Domain, c.Fingerprint()
	if pw == nil {
		var typed bool
		if pw, typed, err = cfg.Password(fmt.Sprintf("Password for %s: ", cur.Address())); err != nil {
			return nil, err
		}
		if typed {
			// The node closes a connection that has not logged in within
			// its --login-timeout; a person typing may take longer.
			c.Close()
			if c, err = cfg.Dial(ctx, cur.Server); err != nil {
				return nil, err
			}
		}
	}
	sess, exportKey, err := c.Login(ctx, cfg.OPAQUE, cur.Domain, cur.User, pw)
	if err != nil {
		return nil, err
	}
	st, err := client.LoadState(cfg.StateDir, cur.User, cur.Domain, exportKey)
	switch {
	case err == nil:
	case errors.Is(err, client.ErrNoState) && registering:
		if st, err = newKeys(ctx, c, cur); err != nil {
			return nil, err
		}
	case errors.Is(err, client.ErrNoState):
		return nil, &NotADeviceError{Address: cur.Address()}
	default:
		return nil, err
	}
	keys, err := identity.UnmarshalUserKeys(st.Keys)
	if err != nil {
		return nil, fmt.Errorf("saved keys: %w", err)
	}
	st.Server, st.Fingerprint = cur.Server, cur.Fingerprint
	// The community CA comes from the pinned home node, once; keys of
	// other domains' users are checked against it from then on.
	recorded, err := st.TrustCommunityCA(h.FederationCA)
	if err != nil {
		return nil, err
	}
	if recorded {
		cfg.notice("trusting the community CA %s that %s hands out, to check the keys of users of other nodes.",
			client.CAFingerprints(st.CommunityCA), cur.Server)
	}
	st.SessionToken, st.SessionExpires = sess.Token, sess.Expires
	if err := client.SaveState(cfg.StateDir, exportKey, st); err != nil {
		return nil, err
	}
	if err := client.SaveCurrent(cfg.StateDir, cur); err != nil {
		return nil, err
	}
	ok = true
	return &Session{
		cfg:       cfg,
		c:         c,
		acct:      &client.Account{Client: c, Domain: cur.Domain, User: cur.User, Keys: keys, Known: st.Contacts, KnownLists: st.ContactLists, CommunityCA: st.CommunityCA},
		state:     st,
		exportKey: exportKey,
		cur:       cur,
		password:  pw,
	}, nil
}

// newKeys makes the keys of a newly registered account and publishes them
// on the node of c; it returns the state that holds them.
func newKeys(ctx context.Context, c *client.Client, cur client.Current) (*client.State, error) {
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		return nil, err
	}
	raw, err := keys.MarshalBinary()
	if err != nil {
		return nil, err
	}
	a := &client.Account{Client: c, Domain: cur.Domain, User: cur.User, Keys: keys}
	if err := a.Publish(ctx); err != nil {
		return nil, err
	}
	return &client.State{User: cur.User, Domain: cur.Domain, Keys: raw}, nil
}

// Remember keeps addr's keys, as the account resolves them now, among its
// contacts, so that a later send can seal to addr while its node is not
// reachable (the message then waits in the mesh).
func (s *Session) Remember(ctx context.Context, addr string) error {
	pa, err := protocol.ParseRecipient(addr, s.cur.Domain)
	if err != nil {
		return err
	}
	addr = pa.String()
	p, err := s.acct.ResolvePeer(ctx, addr)
	if err != nil {
		return err
	}
	b := p.Bundle
	if old, ok := s.state.Contacts[addr]; ok && old.IdentityKey.Equal(b.IdentityKey) && bytes.Equal(old.HPKEKey, b.HPKEKey) &&
		bytes.Equal(s.state.ContactLists[addr], p.SignedList) {
		return nil
	}
	if s.state.Contacts == nil {
		s.state.Contacts = map[string]identity.PublicBundle{}
	}
	s.state.Contacts[addr] = b
	if p.SignedList != nil {
		if s.state.ContactLists == nil {
			s.state.ContactLists = map[string][]byte{}
		}
		s.state.ContactLists[addr] = p.SignedList
	}
	return s.Save()
}

// FollowOptions are the options of client.Follow that keep the account
// connected to server: first, when not nil, is the connection to use
// first (the one the Session logged in on); later ones are dialed, resume
// the session, and log in again with the password when the node refuses
// it. The caller sets Handler and the callbacks it wants.
func (s *Session) FollowOptions(server string, first *client.Client) client.FollowOptions {
	return client.FollowOptions{
		Dial: func(ctx context.Context) (*client.Client, error) {
			if c := first; c != nil {
				first = nil
				return c, nil
			}
			return s.cfg.Dial(ctx, server)
		},
		Token: s.state.SessionToken,
		Login: func(ctx context.Context, c *client.Client) (client.Session, error) {
			sess, _, err := c.Login(ctx, s.cfg.OPAQUE, s.cur.Domain, s.cur.User, s.password)
			return sess, err
		},
	}
}

// OpenChat opens the account's chat engine (groups and DMs of qpc repl),
// not yet connected: Connected gives it the connection. log gets the
// engine's warnings.
func (s *Session) OpenChat(log *slog.Logger) (*chat.Engine, error) {
	return chat.Open(chat.Options{Dir: s.cfg.StateDir, Account: s.acct, ExportKey: s.exportKey, PQOnly: s.cfg.PQOnly, Log: log})
}
