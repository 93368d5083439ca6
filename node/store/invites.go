package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// MaxInvites is the most invites the store keeps; used up and expired
// ones are dropped when a new one is made.
const MaxInvites = 1000

// inviteFixed is the size of an invite record before its user name:
// version | uses left (4) | created | expires.
const inviteFixed = 1 + 4 + 2*timeLen

// encodeInvite: version | uses left | created | expires | bound user name
// (rest; empty for an invite anyone may use).
func encodeInvite(inv node.Invite) []byte {
	b := make([]byte, inviteFixed, inviteFixed+len(inv.User))
	b[0] = recordVersion
	binary.BigEndian.PutUint32(b[1:], uint32(inv.UsesLeft))
	putTime(b[5:], inv.Created)
	putTime(b[5+timeLen:], inv.Expires)
	return append(b, inv.User...)
}

// decodeInvite decodes an invite record; the result does not alias b.
func decodeInvite(b []byte) (node.Invite, error) {
	body, err := recordBody("invite", b)
	if err != nil {
		return node.Invite{}, err
	}
	if len(body) < inviteFixed-1 {
		return node.Invite{}, truncated("invite", inviteFixed-1, len(body))
	}
	created, err := getTime(body[4:])
	if err != nil {
		return node.Invite{}, err
	}
	expires, err := getTime(body[4+timeLen:])
	if err != nil {
		return node.Invite{}, err
	}
	user := body[4+2*timeLen:]
	if len(user) > MaxUserLen {
		return node.Invite{}, fmt.Errorf("%w: invite bound to a name of %d bytes", ErrCorrupt, len(user))
	}
	return node.Invite{
		UsesLeft: int(binary.BigEndian.Uint32(body)),
		Created:  created,
		Expires:  expires,
		User:     string(user),
	}, nil
}

// inviteAt returns the invite of h, or protocol.ErrInviteInvalid when it is
// missing, used up or expired at now.
func inviteAt(tx *bolt.Tx, h node.InviteHash, now time.Time) (node.Invite, error) {
	raw := tx.Bucket(bucketInvites).Get(h[:])
	if raw == nil {
		return node.Invite{}, protocol.ErrInviteInvalid
	}
	inv, err := decodeInvite(raw)
	if err != nil {
		return node.Invite{}, err
	}
	if inv.UsesLeft <= 0 || !now.Before(inv.Expires) {
		return node.Invite{}, protocol.ErrInviteInvalid
	}
	return inv, nil
}

// Invite implements node.Invites.
func (s *Store) Invite(h node.InviteHash, now time.Time) (node.Invite, error) {
	var inv node.Invite
	err := s.view("invite", func(tx *bolt.Tx) (err error) {
		inv, err = inviteAt(tx, h, now)
		return err
	})
	return inv, err
}

// CreateInvite keeps invite inv under the hash of its code. Used up and
// expired invites are dropped first; beyond MaxInvites it fails with
// node.ErrTooManyInvites.
func (s *Store) CreateInvite(h node.InviteHash, inv node.Invite) error {
	return s.update("create invite", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInvites)
		live, err := dropDeadInvites(b, inv.Created)
		if err != nil {
			return err
		}
		if live >= MaxInvites {
			return node.ErrTooManyInvites
		}
		return b.Put(h[:], encodeInvite(inv))
	})
}

// dropDeadInvites deletes the invites used up or expired at now, and
// returns how many are left (counted here: a write transaction's bucket
// statistics do not see its deletes).
func dropDeadInvites(b *bolt.Bucket, now time.Time) (live int, err error) {
	var dead [][]byte
	err = b.ForEach(func(k, v []byte) error {
		inv, err := decodeInvite(v)
		if err != nil {
			return err
		}
		if inv.UsesLeft <= 0 || !now.Before(inv.Expires) {
			dead = append(dead, bytes.Clone(k))
		} else {
			live++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return live, nil
}

// InviteInfo is an invite as the admin lists it.
type InviteInfo struct {
	Hash node.InviteHash
	node.Invite
}

// Invites returns the invites valid at now, oldest first.
func (s *Store) Invites(now time.Time) ([]InviteInfo, error) {
	var out []InviteInfo
	err := s.view("invites", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInvites).ForEach(func(k, v []byte) error {
			inv, err := decodeInvite(v)
			if err != nil {
				return err
			}
			if inv.UsesLeft <= 0 || !now.Before(inv.Expires) || len(k) != len(node.InviteHash{}) {
				return nil
			}
			out = append(out, InviteInfo{Hash: node.InviteHash(k), Invite: inv})
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

// RevokeInvite deletes the invites whose id (node.InviteHash.InviteID) is
// id, and fails with node.ErrNoInvite when there is none.
func (s *Store) RevokeInvite(id string) error {
	return s.update("revoke invite", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInvites)
		var match [][]byte
		err := b.ForEach(func(k, _ []byte) error {
			if len(k) == len(node.InviteHash{}) && node.InviteHash(k).InviteID() == id {
				match = append(match, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(match) == 0 {
			return fmt.Errorf("%w: %q", node.ErrNoInvite, id)
		}
		for _, k := range match {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateAccountWithInvite implements node.Invites.
func (s *Store) CreateAccountWithInvite(a node.Account, h node.InviteHash) error {
	if err := checkUser(a.User); err != nil {
		return fmt.Errorf("store: create account: %w", err)
	}
	return s.update("create account with invite", func(tx *bolt.Tx) error {
		inv, err := inviteAt(tx, h, a.Created)
		if err != nil {
			return err
		}
		switch {
		case inv.User == "":
			if err := s.createAccount(tx, a); err != nil {
				return err
			}
		case inv.User != a.User:
			return fmt.Errorf("%w: this invite is for another name", protocol.ErrInviteInvalid)
		default:
			if err := retakeAccount(tx, a); err != nil {
				return err
			}
		}
		inv.UsesLeft--
		b := tx.Bucket(bucketInvites)
		if inv.UsesLeft <= 0 {
			return b.Delete(h[:])
		}
		return b.Put(h[:], encodeInvite(inv))
	})
}

// retakeAccount gives the account of a.User, reset by the admin, its new
// OPAQUE record; an account that was not reset (it has a record) or is
// gone is protocol.ErrInviteInvalid.
func retakeAccount(tx *bolt.Tx, a node.Account) error {
	raw := tx.Bucket(bucketAccounts).Get([]byte(a.User))
	if raw == nil {
		return fmt.Errorf("%w: the account it was made for is gone", protocol.ErrInviteInvalid)
	}
	old, err := decodeAccount(a.User, raw)
	if err != nil {
		return err
	}
	if len(old.Record) != 0 {
		return fmt.Errorf("%w: the account was registered again already", protocol.ErrInviteInvalid)
	}
	return tx.Bucket(bucketAccounts).Put([]byte(a.User), encodeAccount(a))
}

// ResetAccount implements node.AccountResetter: user's OPAQUE record is
// cleared, so no password logs in, with Created moved to inv.Created, so
// no session of before counts; its sessions are deleted; and inv, bound to
// user, is kept under h. The keys stay published until the owner
// registers again and publishes new ones, which the key transparency log
// records as a reset.
func (s *Store) ResetAccount(user string, h node.InviteHash, inv node.Invite) error {
	if err := checkUser(user); err != nil {
		return fmt.Errorf("store: reset account: %w", err)
	}
	inv.User = user
	return s.update("reset account", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		a := node.Account{User: user, Created: inv.Created}
		if err := tx.Bucket(bucketAccounts).Put([]byte(user), encodeAccount(a)); err != nil {
			return err
		}
		if err := deleteUserSessions(tx, user); err != nil {
			return err
		}
		b := tx.Bucket(bucketInvites)
		if _, err := dropDeadInvites(b, inv.Created); err != nil {
			return err
		}
		// An earlier reset's invite for the name would let a second
		// code in: only the newest counts.
		var old [][]byte
		err := b.ForEach(func(k, v []byte) error {
			o, err := decodeInvite(v)
			if err != nil {
				return err
			}
			if o.User == user {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return b.Put(h[:], encodeInvite(inv))
	})
}

var (
	_ node.Invites         = (*Store)(nil)
	_ node.AccountResetter = (*Store)(nil)
)
