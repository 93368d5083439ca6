package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/keystore"
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
	// OldPassword returns the account's password from before a change
	// made on another device, to open what this machine keeps sealed
	// under it (account.go); nil gives ErrPasswordChangedElsewhere then.
	OldPassword func(prompt string) ([]byte, error)
	// Notices is told what a person should learn as it happens (new keys
	// made, a community CA trusted), one sentence at a time; nil drops
	// them.
	Notices func(text string)
	// OPAQUE is the OPAQUE configuration; the zero value is qpc's
	// default. It must be the same at every login.
	OPAQUE opaque.Config
	// DeviceName names this machine's device when it becomes one
	// (register, link, recover); empty means DefaultDeviceName.
	DeviceName string
	// Invite is the invite code Register gives the node (a node that
	// registers by invite wants one, docs/admin.md); empty gives none.
	Invite string
	// Alarms is told what key transparency found wrong (client.Alarm): a
	// foreign key or device in the account's own log entry, or evidence
	// of a lying log, on every device of the account as it connects. Nil
	// passes the alarm's text to Notices. Either way the alarm is also
	// kept in StateDir (client.RecordAlarm) for `qpc status`.
	Alarms func(client.Alarm)
	// PQOnly makes the chat engine publish post-quantum KeyPackages only
	// and refuse classic groups (chat.Options.PQOnly).
	PQOnly bool
}

// alarm tells Alarms, else Notices, of al.
func (cfg *Config) alarm(al client.Alarm) {
	if cfg.Alarms != nil {
		cfg.Alarms(al)
		return
	}
	cfg.notice("%s", al.Text())
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
	// reconnect (FollowOptions). pwMu guards it: a password change in the
	// REPL replaces it while the follower may log in with it.
	pwMu     sync.Mutex
	password []byte
	// prevToken is the session token the state held before this login
	// replaced it, which Logout ends too.
	prevToken []byte
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
// on a new connection, which makes its account key and this machine's
// device keys and publishes the device list of this one device
// (Config.DeviceName). RecoveryCode then returns the code to show once.
func Register(ctx context.Context, cfg Config, c *client.Client, user, domain string, pw []byte) (*Session, error) {
	if _, err := c.RegisterWithInvite(ctx, cfg.OPAQUE, domain, user, pw, cfg.Invite); err != nil {
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

// authed is a connection logged in to the account's node, before the
// state of the account on this machine is opened.
type authed struct {
	c      *client.Client
	health protocol.Health
	cur    client.Current
	sess   client.Session
	// exportKey is the key the account's data on this machine is sealed
	// under (client.DataKey): the login's export key unless the password
	// changed since this machine first sealed it.
	exportKey []byte
	// loginKey is the OPAQUE export key of this login.
	loginKey []byte
	pw       []byte
}

// authenticate dials the node of cur and logs the account in with pw, or
// with the password cfg asks for when pw is nil. The connection is the
// caller's to close.
func authenticate(ctx context.Context, cfg Config, cur client.Current, pw []byte) (*authed, error) {
	if cur.User == "" || cur.Server == "" {
		return nil, ErrNoAccount
	}
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
	dataKey, err := client.DataKey(cfg.StateDir, cur.User, cur.Domain, exportKey)
	if err != nil {
		return nil, err
	}
	ok = true
	return &authed{c: c, health: h, cur: cur, sess: sess, exportKey: dataKey, loginKey: exportKey, pw: pw}, nil
}

// login is Login; a registration gives the password it just set as pw, so
// that it is not asked for again, and only a registration makes and
// publishes keys: an account whose password someone types on a new
// machine already has keys that its devices read with.
func login(ctx context.Context, cfg Config, cur client.Current, pw []byte) (*Session, error) {
	registering := pw != nil
	au, err := authenticate(ctx, cfg, cur, pw)
	if err != nil {
		return nil, err
	}
	st, err := client.LoadState(cfg.StateDir, au.cur.User, au.cur.Domain, au.exportKey)
	switch {
	case err == nil:
	case errors.Is(err, keystore.ErrWrongKey):
		st, err = reopenAfterPasswordChange(cfg, au)
	case errors.Is(err, client.ErrNoState) && registering:
		st, err = newAccount(ctx, au, cfg.deviceName())
	case errors.Is(err, client.ErrNoState):
		err = &NotADeviceError{Address: au.cur.Address()}
	}
	if err != nil {
		au.c.Close()
		return nil, err
	}
	return open(ctx, cfg, au, st)
}

// open makes a Session of au and st, the account's state on this machine:
// it migrates a state of before devices, checks that this device is still
// one of the account's, binds the connection to its queue (UseDevice),
// and saves the state with the new session. It closes au's connection
// when it fails.
func open(ctx context.Context, cfg Config, au *authed, st *client.State) (*Session, error) {
	s, err := openSession(ctx, cfg, au, st)
	if err != nil {
		au.c.Close()
		return nil, err
	}
	return s, nil
}

func openSession(ctx context.Context, cfg Config, au *authed, st *client.State) (*Session, error) {
	keys, err := st.UserKeys()
	if err != nil {
		return nil, err
	}
	acctKey, err := st.AccountKey()
	if err != nil {
		return nil, err
	}
	list, err := st.OwnList()
	if err != nil {
		return nil, err
	}
	cur := au.cur
	st.Server, st.Fingerprint = cur.Server, cur.Fingerprint
	// The community CA comes from the pinned home node, once; keys of
	// other domains' users are checked against it from then on.
	recorded, err := st.TrustCommunityCA(au.health.FederationCA)
	if err != nil {
		return nil, err
	}
	if recorded {
		cfg.notice("trusting the community CA %s that %s hands out, to check the keys of users of other nodes.",
			client.CAFingerprints(st.CommunityCA), cur.Server)
	}
	prevToken := st.SessionToken
	st.SessionToken, st.SessionExpires = au.sess.Token, au.sess.Expires
	if st.KT == nil {
		st.KT = &client.KTBook{}
	}
	s := &Session{
		cfg: cfg,
		c:   au.c,
		acct: &client.Account{Client: au.c, Domain: cur.Domain, User: cur.User, Keys: keys, AccountKey: acctKey, List: list, Known: st.Contacts, KnownLists: st.ContactLists, CommunityCA: st.CommunityCA,
			KT: st.KT, Alarms: func(al client.Alarm) {
				// Kept for `qpc status`, which shows them without a login.
				if err := client.RecordAlarm(cfg.StateDir, cur.Address(), al, time.Now()); err != nil {
					cfg.notice("keeping an alarm: %v", err)
				}
				cfg.alarm(al)
			}},
		state:     st,
		exportKey: au.exportKey,
		cur:       cur,
		password:  au.pw,
		prevToken: prevToken,
	}
	// The heads this account holds meet the node's first: a log that
	// showed this account another history than it shows now is evidence
	// at the node, and an alarm here, even when the check of the
	// account's own entry below refuses the node's answer.
	s.acct.GossipOn(ctx, au.c)
	if !st.Migrated() {
		if err := s.migrate(ctx); err != nil {
			return nil, err
		}
	} else if err := s.refreshOwnList(ctx, au.c); err != nil {
		return nil, err
	}
	if err := s.useDevice(ctx, au.c); err != nil {
		return nil, err
	}
	if err := s.Save(); err != nil {
		return nil, err
	}
	if err := client.SaveCurrent(cfg.StateDir, cur); err != nil {
		return nil, err
	}
	return s, nil
}

// useDevice binds c's session to this device's queue and key packages.
// An account that has not migrated has one queue, which needs no binding.
func (s *Session) useDevice(ctx context.Context, c *client.Client) error {
	if !s.state.Migrated() {
		return nil
	}
	if err := c.UseDevice(ctx, s.acct.DeviceID().String()); err != nil {
		if errors.Is(err, protocol.ErrDeviceRevoked) {
			return &RevokedError{Address: s.cur.Address(), Device: s.acct.DeviceID()}
		}
		return err
	}
	return nil
}

// connected readies c, a new connection of a follower: it binds c to
// this device's queue and then, without holding the follower up (a
// conversation waits for the connection, not for these), hands the node
// the heads the account holds and checks the account's own key
// transparency entry (self-monitoring), whose findings are alarms.
//
// A device that the node says was removed is checked too, before the
// follower stops for good: whoever reset the account removed it, and the
// alarm of keys none of the account's devices made is what tells the
// person it was not their own doing.
func (s *Session) connected(ctx context.Context, c *client.Client) error {
	known := s.acct.List
	migrated := s.state.Migrated()
	if err := s.useDevice(ctx, c); err != nil {
		var revoked *RevokedError
		if errors.As(err, &revoked) {
			s.watchLog(ctx, c, known, migrated)
		}
		return err
	}
	go s.watchLog(ctx, c, known, migrated)
	return nil
}

// watchLog gossips the account's heads over c and, for an account with
// devices (migrated), checks its own entry against known, the device list
// this device holds. Only the alarms and a refusal by the log matter
// here: the follower's goroutine leaves the saved list to the Session's
// own (login, Devices), and a connection that ends meanwhile is the
// follower's to tell.
func (s *Session) watchLog(ctx context.Context, c *client.Client, known *identity.DeviceList, migrated bool) {
	s.acct.GossipOn(ctx, c)
	if !migrated {
		return
	}
	var refused *client.KeyRefusedError
	if _, _, err := s.acct.MonitorSelf(ctx, c, known); errors.As(err, &refused) {
		s.cfg.notice("%v", refused)
	}
}

// deviceName is the name of this machine's device: Config.DeviceName, else
// the host name cut to identity.MaxDeviceNameLen, else "first".
func (cfg *Config) deviceName() string {
	if cfg.DeviceName != "" {
		return cfg.DeviceName
	}
	return DefaultDeviceName()
}

// DefaultDeviceName is the host name, cut to identity.MaxDeviceNameLen
// bytes at a character boundary, or "first" if that is not a valid device
// name.
func DefaultDeviceName() string {
	h, err := os.Hostname()
	if err != nil {
		return "first"
	}
	for len(h) > identity.MaxDeviceNameLen {
		_, size := utf8.DecodeLastRuneInString(h)
		h = h[:len(h)-size]
	}
	if identity.CheckDeviceName(h) != nil {
		return "first"
	}
	return h
}

// newAccount makes the keys of a newly registered account: an account key,
// this machine's device keys and a device list of it alone, signed and
// published on the node of au. It returns the state that holds them.
func newAccount(ctx context.Context, au *authed, name string) (*client.State, error) {
	acct, err := identity.GenerateAccountKey()
	if err != nil {
		return nil, err
	}
	return newDeviceState(ctx, au, name, &acct, nil)
}

// newDeviceState makes this machine's device keys, adds the device, called
// name, to l (a new list when nil) under acct, publishes the list and
// returns the state of the new device, which holds acct.
func newDeviceState(ctx context.Context, au *authed, name string, acct *identity.AccountKey, l *identity.DeviceList) (*client.State, error) {
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		return nil, err
	}
	addr := au.cur.Address()
	if l == nil {
		l = &identity.DeviceList{Address: addr}
	}
	if _, err := l.Add(*acct, name, keys, time.Now()); err != nil {
		return nil, err
	}
	signed, err := l.Sign(*acct)
	if err != nil {
		return nil, err
	}
	a := &client.Account{Client: au.c, Domain: au.cur.Domain, User: au.cur.User, Keys: keys, AccountKey: acct}
	if err := a.PublishList(ctx, signed); err != nil {
		return nil, err
	}
	raw, err := keys.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &client.State{User: au.cur.User, Domain: au.cur.Domain, Keys: raw, DeviceName: name, AccountKeySeed: acct.Seed(), DeviceList: signed}, nil
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
			sess, _, err := c.Login(ctx, s.cfg.OPAQUE, s.cur.Domain, s.cur.User, s.currentPassword())
			return sess, err
		},
		// Every new connection reads this device's queue, resumed or
		// logged in again; a device removed meanwhile stops following.
		// Each also checks the account's own log entry and gossips.
		Ready: s.connected,
	}
}

// OpenChat opens the account's chat engine (groups and DMs of qpc repl),
// not yet connected: Connected gives it the connection. log gets the
// engine's warnings.
func (s *Session) OpenChat(log *slog.Logger) (*chat.Engine, error) {
	return chat.Open(chat.Options{Dir: s.cfg.StateDir, Account: s.acct, ExportKey: s.exportKey, PQOnly: s.cfg.PQOnly, Log: log})
}
