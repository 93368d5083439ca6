package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// What the node's admin does to accounts and clients (node/admin serves
// it on the admin socket).

// AccountResetter is the store's side of an admin's reset: it clears the
// account's OPAQUE record (no password logs in), ends its sessions, and
// makes an invite bound to the name that lets its owner register again
// (Invites.CreateAccountWithInvite), in one transaction.
type AccountResetter interface {
	ResetAccount(user string, code InviteHash, inv Invite) error
}

// ErrNoResetter means the service's store cannot reset accounts.
var ErrNoResetter = errors.New("node: the store cannot reset accounts")

// AdminDeleteUser deletes user as the user's own deleteAccount would: the
// name is held for Limits.NameHold, and every connection of the account
// ends.
func (s *Service) AdminDeleteUser(user string) error {
	if err := protocol.ValidateUserName(user); err != nil {
		return err
	}
	if err := s.store.DeleteAccount(user, s.now().Add(s.limits.NameHold)); err != nil {
		return err
	}
	n := s.revokeUser(user, nil)
	s.log.Info("account deleted by the admin", "user", user, "connections_ended", n)
	return nil
}

// AdminResetUser makes user register again: the account's password no
// longer logs in, its sessions and connections end, and the invite code
// returned (valid for ttl) lets its owner register the name again with a
// new password, whatever the registration policy. The keys it publishes
// then are a new account key, which the key transparency log records as
// a reset and contacts see as a key change.
func (s *Service) AdminResetUser(user, code string, ttl time.Duration) error {
	if err := protocol.ValidateUserName(user); err != nil {
		return err
	}
	r, ok := s.store.(AccountResetter)
	if !ok {
		return ErrNoResetter
	}
	now := s.now()
	inv := Invite{UsesLeft: 1, Created: now, Expires: now.Add(ttl), User: user}
	if err := r.ResetAccount(user, HashInvite(code), inv); err != nil {
		return fmt.Errorf("reset %s: %w", user, err)
	}
	n := s.revokeUser(user, nil)
	s.log.Info("account reset by the admin", "user", user, "connections_ended", n)
	return nil
}

// SetDraining turns draining on or off: while on, logins, resumed
// sessions and registrations are refused with ErrShuttingDown, so that an
// admin can take the node down for maintenance once its users are gone;
// sessions already bound and federation go on.
func (s *Service) SetDraining(on bool) {
	s.draining.Store(on)
	s.log.Info("draining", "on", on)
}

// Draining reports whether SetDraining turned draining on.
func (s *Service) Draining() bool { return s.draining.Load() }

// Online reports whether user has a connection bound to a session now.
func (s *Service) Online(user string) bool {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	return len(s.live[user]) > 0
}
