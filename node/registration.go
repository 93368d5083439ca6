package node

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Registration policy (docs/admin.md): who may register on the node.
// Under "invite", registerStart needs a code the admin made (`qpc admin
// invite`); one use of it is consumed at registerFinish, in the same
// transaction that creates the account, so a registration that is never
// finished costs the code nothing and two that race for its last use
// cannot both have it. "closed" refuses everyone. An invite bound to a
// name (made by `qpc admin user reset`) lets that name's owner register
// again whatever the policy.

// InviteHash is the SHA-256 of an invite code in its canonical form
// (CanonicalInvite): what the node keeps instead of the code.
type InviteHash [32]byte

// Invite is an invite as the node keeps it.
type Invite struct {
	// UsesLeft is how many registrations it still allows.
	UsesLeft int
	// Created and Expires bound its life.
	Created, Expires time.Time
	// User, if set, is the only name it registers: the account of that
	// name reset by the admin, which the registration takes back.
	User string
}

// Invites keeps the admin's invite codes (node/store); the service reads
// and consumes them.
type Invites interface {
	// Invite returns the invite of h: ErrInviteInvalid if there is none,
	// it is used up or it expired by now.
	Invite(h InviteHash, now time.Time) (Invite, error)
	// CreateAccountWithInvite creates a, or gives the reset account of
	// a.User its new record when the invite is bound to that name, and
	// consumes one use of the invite h, in one transaction. It fails with
	// ErrInviteInvalid when the invite is gone, used up or expired by
	// a.Created or bound to another name, and as CreateAccount does.
	CreateAccountWithInvite(a Account, h InviteHash) error
}

// ErrNoInvite means no invite the node keeps has the id given (revoked,
// used up, expired or never made).
var ErrNoInvite = fmt.Errorf("%w: no invite with that id", protocol.ErrBadRequest)

// ErrTooManyInvites means the node keeps as many invites as it may; used
// up and expired ones make room, or revoke some.
var ErrTooManyInvites = fmt.Errorf("%w: too many invites; revoke some", protocol.ErrBadRequest)

// Reasons a registration was refused, as Config.OnRegistrationRefused and
// the metric qpc_registrations_refused_total name them.
const (
	RefusedInviteRequired = "invite_required"
	RefusedInviteInvalid  = "invite_invalid"
	RefusedClosed         = "closed"
	RefusedRate           = "rate"
	RefusedAccounts       = "accounts"
)

// MaxInviteLen bounds the invite code a client may send.
const MaxInviteLen = 64

// CanonicalInvite returns code as the node hashes it: lowercase, without
// the dashes and spaces a person types or copies with it.
func CanonicalInvite(code string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(code) {
		if r == '-' || r == ' ' || r == '\t' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NewInviteCode returns a fresh invite code: 100 random bits as 20
// lowercase base32 characters in groups of five, easy to read out.
func NewInviteCode() string {
	t := strings.ToLower(rand.Text()[:20])
	return t[:5] + "-" + t[5:10] + "-" + t[10:15] + "-" + t[15:]
}

// HashInvite returns the hash the node keeps of code.
func HashInvite(code string) InviteHash {
	return InviteHash(sha256.Sum256([]byte(CanonicalInvite(code))))
}

// InviteID is the short handle of an invite that the admin lists and
// revokes by: the first 8 hex digits of its hash, which tell nothing of
// the code.
func (h InviteHash) InviteID() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 8)
	for i := range 4 {
		b[2*i], b[2*i+1] = hex[h[i]>>4], hex[h[i]&0x0f]
	}
	return string(b)
}

// pendingInvite is the invite a connection's registerStart was let in with,
// consumed at its registerFinish.
type pendingInvite struct {
	user string
	hash InviteHash
	// bound says the invite is for this name only: a reset account,
	// which the registration takes back rather than creates.
	bound bool
}

// refuseRegistration counts a refused registration and returns err.
func (s *Service) refuseRegistration(reason string, err error) error {
	if s.onRegRefused != nil {
		s.onRegRefused(reason)
	}
	return err
}

// Registration returns the node's registration policy.
func (s *Service) Registration() string { return s.registration }

// admitRegistration checks registerStart's invite under the policy, after
// the rate limit took its token (so that guessing codes is throttled), and
// returns the invite to consume at registerFinish (nil: none needed).
func (c *Conn) admitRegistration(user, code string, now time.Time) (*pendingInvite, error) {
	s := c.svc
	if code == "" {
		switch s.registration {
		case protocol.RegistrationClosed:
			return nil, s.refuseRegistration(RefusedClosed, protocol.ErrRegistrationClosed)
		case protocol.RegistrationInvite:
			return nil, s.refuseRegistration(RefusedInviteRequired, protocol.ErrInviteRequired)
		}
		return nil, nil
	}
	if s.registration == protocol.RegistrationOpen && s.invites == nil {
		return nil, nil // an open node without invites ignores a code
	}
	if len(code) > MaxInviteLen || s.invites == nil {
		return nil, s.refuseRegistration(RefusedInviteInvalid, protocol.ErrInviteInvalid)
	}
	h := HashInvite(code)
	inv, err := s.invites.Invite(h, now)
	if errors.Is(err, protocol.ErrInviteInvalid) {
		if s.registration == protocol.RegistrationOpen {
			return nil, nil // a stale code does not stop an open registration
		}
		return nil, s.refuseRegistration(RefusedInviteInvalid, err)
	}
	if err != nil {
		return nil, err
	}
	if inv.User != "" && inv.User != user {
		return nil, s.refuseRegistration(RefusedInviteInvalid,
			errorf(protocol.ErrInviteInvalid, "this invite is for another name"))
	}
	if inv.User == "" {
		switch s.registration {
		case protocol.RegistrationOpen:
			return nil, nil // not needed: keep the use for someone else
		case protocol.RegistrationClosed:
			// A closed node takes back reset accounts only.
			return nil, s.refuseRegistration(RefusedClosed, protocol.ErrRegistrationClosed)
		}
	}
	return &pendingInvite{user: user, hash: h, bound: inv.User != ""}, nil
}
