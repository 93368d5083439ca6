package node

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/quicprochat/qpc/protocol"
)

// MaxDenyList is the most senders one account's deny list holds: enough
// for anyone's blocks, small enough that every list of a router's
// accounts fits in memory (docs/blocking.md).
const MaxDenyList = 256

// ErrDenyListFull means an account's deny list holds MaxDenyList senders
// already; on the wire it is a bad request, with this text.
var ErrDenyListFull = fmt.Errorf("%w: the deny list is full (%d senders)", protocol.ErrBadRequest, MaxDenyList)

// ErrNoDenyLists means the node keeps no deny lists (no DenyLists store).
var ErrNoDenyLists = fmt.Errorf("%w: this node keeps no deny lists", protocol.ErrBadRequest)

// DenyLists keeps each account's deny list: the senders ("user@domain",
// lowercase) whose messages the node does not put in the account's
// mailboxes, where it knows the sender (a user logged in here). node/store
// implements it.
type DenyLists interface {
	// SetDenied adds sender to user's list (denied) or removes it, and
	// returns once the change is durable. Adding a sender the list holds,
	// or removing one it does not, changes nothing. ErrDenyListFull when
	// the list holds MaxDenyList senders; protocol.ErrUnknownUser without
	// such an account.
	SetDenied(user, sender string, denied bool) error
	// DenyLists returns every account's list, by user, for the service
	// to keep in memory (it checks every enqueue against them).
	DenyLists() (map[string][]string, error)
}

// denyCache is every account's deny list in memory: the enqueue path
// checks each local message against it, which a store read per message
// would slow down for everyone.
type denyCache struct {
	// writeMu orders the changes (BlockSender); mu guards lists.
	writeMu sync.Mutex
	mu      sync.RWMutex
	lists   map[string]map[string]struct{} // by user, then sender
	// users is len(lists), read without the lock: while no account has a
	// list, as on most nodes, an enqueue takes no lock for it.
	users atomic.Int64
}

// loadDenyLists fills the cache from the store; without a store it stays
// empty and blockSender is refused.
func (s *Service) loadDenyLists() error {
	s.deny.lists = map[string]map[string]struct{}{}
	if s.denyStore == nil {
		return nil
	}
	all, err := s.denyStore.DenyLists()
	if err != nil {
		return fmt.Errorf("node: reading the deny lists: %w", err)
	}
	for user, senders := range all {
		set := make(map[string]struct{}, len(senders))
		for _, snd := range senders {
			set[snd] = struct{}{}
		}
		s.deny.lists[user] = set
	}
	s.deny.users.Store(int64(len(s.deny.lists)))
	return nil
}

// denied reports whether user's deny list holds sender (user@domain,
// lowercase).
func (s *Service) denied(user, sender string) bool {
	if s.deny.users.Load() == 0 {
		return false
	}
	s.deny.mu.RLock()
	defer s.deny.mu.RUnlock()
	_, ok := s.deny.lists[user][sender]
	return ok
}

// forgetDenyList drops a deleted account's list from memory (the store
// deleted it with the account), so that a later account of the same name
// starts with none.
func (s *Service) forgetDenyList(user string) {
	s.deny.mu.Lock()
	delete(s.deny.lists, user)
	s.deny.users.Store(int64(len(s.deny.lists)))
	s.deny.mu.Unlock()
}

// BlockSender adds address to the logged-in account's deny list (blocked)
// or removes it. address is "user@domain" (a bare name is of this node);
// the account's own address is refused, since its devices message each
// other.
func (c *Conn) BlockSender(address string, blocked bool) error {
	user, err := c.user()
	if err != nil {
		return err
	}
	s := c.svc
	if s.denyStore == nil {
		return ErrNoDenyLists
	}
	sender, err := s.senderAddress(address)
	if err != nil {
		return err
	}
	if sender == user+"@"+strings.ToLower(s.id.Domain) {
		return errorf(protocol.ErrBadRequest, "an account cannot block itself")
	}
	// Changes go to the store and the cache one at a time (writeMu), so
	// that two devices blocking at once leave both in the same state; the
	// enqueue path waits only for the cache's change, not the store's sync.
	s.deny.writeMu.Lock()
	defer s.deny.writeMu.Unlock()
	if err := s.denyStore.SetDenied(user, sender, blocked); err != nil {
		return err
	}
	s.deny.mu.Lock()
	defer s.deny.mu.Unlock()
	defer func() { s.deny.users.Store(int64(len(s.deny.lists))) }()
	set := s.deny.lists[user]
	if blocked {
		if set == nil {
			set = map[string]struct{}{}
			s.deny.lists[user] = set
		}
		set[sender] = struct{}{}
		return nil
	}
	delete(set, sender)
	if len(set) == 0 {
		delete(s.deny.lists, user)
	}
	return nil
}

// BlockedSenders returns the logged-in account's deny list, sorted.
func (c *Conn) BlockedSenders() ([]string, error) {
	user, err := c.user()
	if err != nil {
		return nil, err
	}
	s := c.svc
	if s.denyStore == nil {
		return nil, ErrNoDenyLists
	}
	s.deny.mu.RLock()
	defer s.deny.mu.RUnlock()
	out := make([]string, 0, len(s.deny.lists[user]))
	for snd := range s.deny.lists[user] {
		out = append(out, snd)
	}
	slices.Sort(out)
	return out, nil
}

// senderAddress reads a sender to deny: "user@domain" with a valid user
// and domain (any domain: the client decides which senders the node can
// refuse, docs/blocking.md), or a bare name of this node; lowercase.
func (s *Service) senderAddress(address string) (string, error) {
	if !strings.Contains(address, "@") {
		address += "@" + s.id.Domain
	}
	pa, err := protocol.ParseAddress(address)
	if err != nil {
		return "", fmt.Errorf("%w: %w", protocol.ErrBadRequest, err)
	}
	return pa.User + "@" + pa.Domain, nil
}
