package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/keystore"
)

// What a person does with their account as a whole (issue 27,
// docs/accounts.md): change its password, log out, delete it.
//
// What this machine keeps of the account is sealed under its data key
// (client.DataKey), which a password change keeps: ChangePassword seals
// the data key under the new password's export key before the node takes
// the new password. Another device of the account learns of the change
// when its session ends; its next login, with the new password, yields an
// export key that opens nothing there, and reopenAfterPasswordChange asks
// for the old password to open the offline key, which holds the data key.

// ErrPasswordChangedElsewhere means the password was right but what this
// machine keeps of the account is sealed under an earlier password, which
// was changed on another device, and this machine keeps no offline key
// (the REPL keeps one) to open it with the old password.
var ErrPasswordChangedElsewhere = errors.New("the account's password was changed on another device, and what this machine keeps of the account is sealed under the old one")

// ErrPasswordUnchanged means the new password is the current one.
var ErrPasswordUnchanged = errors.New("the new password is the current one")

// reopenAfterPasswordChange opens the state of au's account when the
// login's key does not: the password was changed on another device. It
// asks for the old password, opens the offline key with it, and keeps the
// data key under the new password's export key from then on, and the
// offline key under the new password.
func reopenAfterPasswordChange(cfg Config, au *authed) (*client.State, error) {
	cur := au.cur
	// Both refusals stay keystore.ErrWrongKey too, for callers that tell
	// a state the login does not open (a restored backup) by it.
	if !client.HasOfflineKey(cfg.StateDir, cur.User, cur.Domain) || cfg.OldPassword == nil {
		return nil, fmt.Errorf("%s: %w (%w); this machine cannot open it: remove it with `qpc account forget` "+
			"and make it a device again with `qpc device link`", cur.Address(), ErrPasswordChangedElsewhere, keystore.ErrWrongKey)
	}
	cfg.notice("the password of %s was changed on another device; what this machine keeps is still sealed under the old one.", cur.Address())
	old, err := cfg.OldPassword(fmt.Sprintf("Old password of %s, to open what this machine keeps: ", cur.Address()))
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", err, keystore.ErrWrongKey)
	}
	dataKey, err := client.OpenOfflineKey(cfg.StateDir, cur.User, cur.Domain, old)
	if err != nil {
		return nil, err
	}
	st, err := client.LoadState(cfg.StateDir, cur.User, cur.Domain, dataKey)
	if err != nil {
		return nil, err
	}
	if err := client.WrapDataKey(cfg.StateDir, cur.User, cur.Domain, dataKey, au.loginKey); err != nil {
		return nil, err
	}
	if err := replaceOfflineKey(cfg, cur, au.pw, dataKey); err != nil {
		return nil, err
	}
	au.exportKey = dataKey
	return st, nil
}

// replaceOfflineKey seals dataKey under pw in the offline key of cur, if
// this machine keeps one: client.SaveOfflineKey leaves a file that holds
// the key as it is, whatever password it is sealed under.
func replaceOfflineKey(cfg Config, cur client.Current, pw, dataKey []byte) error {
	if !client.HasOfflineKey(cfg.StateDir, cur.User, cur.Domain) {
		return nil
	}
	if err := client.RemoveOfflineKey(cfg.StateDir, cur.User, cur.Domain); err != nil {
		return err
	}
	return client.SaveOfflineKey(cfg.StateDir, cur.User, cur.Domain, pw, dataKey, cfg.offlineKDF())
}

// ChangePassword gives the account the password newPassword. The Session
// must have logged in with the current password within the last minutes
// (Login, not OpenOffline or a resumed session): the node takes a change
// only from such a connection. The account key, devices, messages and
// groups stay; every other session of the account ends, on every device,
// and those devices log in again with the new password. What this machine
// keeps stays sealed under its data key, now kept under the new password.
func (s *Session) ChangePassword(ctx context.Context, newPassword []byte) error {
	if string(newPassword) == string(s.currentPassword()) {
		return ErrPasswordUnchanged
	}
	return s.changePassword(ctx, s.c, newPassword)
}

// ChangePasswordOn is ChangePassword for a Session whose connection did
// not just log in, such as the REPL's, which a follower keeps: it dials a
// connection of its own and logs in there with oldPassword first, which
// also checks it. The Session's own connections then end with its other
// sessions, and log in again with the new password.
// Safe to call while the follower runs.
func (s *Session) ChangePasswordOn(ctx context.Context, oldPassword, newPassword []byte) error {
	if string(newPassword) == string(oldPassword) {
		return ErrPasswordUnchanged
	}
	c, err := s.cfg.Dial(ctx, s.cur.Server)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, _, err := c.Login(ctx, s.cfg.OPAQUE, s.cur.Domain, s.cur.User, oldPassword); err != nil {
		return err
	}
	if err := s.changePassword(ctx, c, newPassword); err != nil {
		return err
	}
	// The session of this connection is of no further use; an error here
	// leaves it to expire.
	c.Logout(ctx, false)
	return nil
}

// changePassword changes the password on c, which logged in with the
// current one, keeping the data key under the new password's export key.
func (s *Session) changePassword(ctx context.Context, c *client.Client, newPassword []byte) error {
	wrap := func(newExportKey []byte) error {
		return client.WrapDataKey(s.cfg.StateDir, s.cur.User, s.cur.Domain, s.exportKey, newExportKey)
	}
	if _, err := c.ChangePassword(ctx, s.cfg.OPAQUE, s.cur.Domain, s.cur.User, newPassword, wrap); err != nil {
		return err
	}
	s.pwMu.Lock()
	s.password = newPassword
	s.pwMu.Unlock()
	return replaceOfflineKey(s.cfg, s.cur, newPassword, s.exportKey)
}

// currentPassword returns the password the Session logs in with.
func (s *Session) currentPassword() []byte {
	s.pwMu.Lock()
	defer s.pwMu.Unlock()
	return s.password
}

// Logout ends this machine's session of the account on the node, and with
// everywhere every session of the account, and forgets the session token
// this machine keeps. It returns how many sessions the node ended. A
// Session made by Login holds the session of that login and the one the
// state kept from before; both end.
func (s *Session) Logout(ctx context.Context, everywhere bool) (int, error) {
	ended, err := s.c.Logout(ctx, everywhere)
	if err != nil {
		return 0, err
	}
	if !everywhere && len(s.prevToken) > 0 {
		// The session of an earlier login on this machine, if the node
		// still knows it: resumed on this (now logged-out) connection and
		// ended there.
		if _, err := s.c.Resume(ctx, s.prevToken); err == nil {
			n, err := s.c.Logout(ctx, false)
			if err != nil {
				return ended, err
			}
			ended += n
		}
	}
	s.prevToken = nil
	s.state.SessionToken, s.state.SessionExpires = nil, time.Time{}
	return ended, s.Save()
}

// DeleteAccount deletes the account on its node, with its keys, messages
// and sessions on every device, and then, once the node confirmed, what
// this machine keeps of it (client.ForgetAccount). The Session is of no
// further use.
func (s *Session) DeleteAccount(ctx context.Context) error {
	if err := s.c.DeleteAccount(ctx); err != nil {
		return err
	}
	if err := client.ForgetAccount(s.cfg.StateDir, s.cur.User, s.cur.Domain); err != nil {
		return fmt.Errorf("the node deleted %s, but removing it from this machine failed: %w", s.cur.Address(), err)
	}
	return nil
}

// ForgetLocal removes what this machine keeps of the account of cur and
// nothing on its node: for a machine whose data of the account cannot be
// opened any more (ErrPasswordChangedElsewhere).
func ForgetLocal(cfg Config, cur client.Current) error {
	if cur.User == "" || cur.Domain == "" {
		return ErrNoAccount
	}
	if !client.HasState(cfg.StateDir, cur.User, cur.Domain) {
		return fmt.Errorf("%s: %w", cur.Address(), os.ErrNotExist)
	}
	return client.ForgetAccount(cfg.StateDir, cur.User, cur.Domain)
}
