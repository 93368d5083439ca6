package memstore

import (
	"fmt"
	"slices"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// account is a user with everything stored for them.
//
// Queues and key packages are filed by owner, as node/store files them:
// "" is the bare user's (the account's only ones before it had a device
// list, then the legacy device's: the primary of its first list), a device
// id another device's.
type account struct {
	node.Account
	keys    *protocol.PublishedKeys
	devices node.Devices
	legacy  string
	pkgs    map[string]map[uint16]*keyPackages // by owner, then MLS cipher suite
	queues  map[string]*mailbox                // by owner; "" always there
}

// owner resolves a queue name ("user" or "user#device") to its account and
// owner key, checking that the device is current; the caller holds the
// mutex.
func (s *Store) owner(queue string) (*account, string, error) {
	user, device, err := protocol.ParseQueue(queue)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %q", protocol.ErrUnknownUser, queue)
	}
	a, err := s.account(user)
	if err != nil {
		return nil, "", err
	}
	if a.devices.Primary == "" {
		if device != "" {
			return nil, "", fmt.Errorf("%w: %q has published no device list", protocol.ErrDeviceRevoked, queue)
		}
		return a, "", nil
	}
	if device == "" {
		device = a.devices.Primary
	}
	if !a.devices.Has(device) {
		return nil, "", fmt.Errorf("%w: %s of %q", protocol.ErrDeviceRevoked, device, user)
	}
	if device == a.legacy {
		return a, "", nil
	}
	return a, device, nil
}

// accountBytes and accountCount sum a's queues, for the bounds that hold
// per account.
func (a *account) totals() (count int, bytes int64) {
	for _, q := range a.queues {
		count += len(q.msgs)
		bytes += q.bytes
	}
	return count, bytes
}

// keyPackages are a user's key packages of one suite.
type keyPackages struct {
	queue      [][]byte // oldest first
	lastResort []byte
}

// checkUser refuses names that node/store cannot key.
func checkUser(user string) error {
	if user == "" || len(user) > MaxUserLen {
		return fmt.Errorf("%w: %d bytes", ErrInvalidUser, len(user))
	}
	return nil
}

// account returns user's account or protocol.ErrUnknownUser.
func (s *Store) account(user string) (*account, error) {
	a := s.accounts[user]
	if a == nil {
		return nil, fmt.Errorf("%w: %q", protocol.ErrUnknownUser, user)
	}
	return a, nil
}

// nameFree refuses a name that is taken or held at now.
func (s *Store) nameFree(user string, now time.Time) error {
	if s.accounts[user] != nil {
		return fmt.Errorf("%w: %q", protocol.ErrUserExists, user)
	}
	if until, held := s.holds[user]; held && until.After(now) {
		return fmt.Errorf("%w: %q was deleted recently and is held until %s",
			protocol.ErrUserExists, user, until.UTC().Format(time.DateOnly))
	}
	return nil
}

// CreateAccount adds a with an empty mailbox, as node.Accounts says.
func (s *Store) CreateAccount(a node.Account) error {
	if err := checkUser(a.User); err != nil {
		return fmt.Errorf("memstore: create account: %w", err)
	}
	if err := s.lock("create account"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.nameFree(a.User, a.Created); err != nil {
		return err
	}
	if len(s.accounts) >= s.opts.MaxAccounts {
		return fmt.Errorf("%w: %d accounts", protocol.ErrAccountsFull, len(s.accounts))
	}
	a.Record = clone(a.Record)
	s.accounts[a.User] = &account{Account: a, pkgs: map[string]map[uint16]*keyPackages{}, queues: map[string]*mailbox{"": {}}}
	return nil
}

// CheckName returns nil if user could be registered at now.
func (s *Store) CheckName(user string, now time.Time) error {
	if err := checkUser(user); err != nil {
		return fmt.Errorf("memstore: check name: %w", err)
	}
	if err := s.lock("check name"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.nameFree(user, now)
}

// Account returns user's account.
func (s *Store) Account(user string) (node.Account, error) {
	if err := s.lock("account"); err != nil {
		return node.Account{}, err
	}
	defer s.mu.Unlock()
	a, err := s.account(user)
	if err != nil {
		return node.Account{}, err
	}
	out := a.Account
	out.Record = clone(out.Record)
	return out, nil
}

// DeleteAccount removes user with keys, key packages, mailbox and
// sessions, and holds the name until holdUntil (none if zero).
func (s *Store) DeleteAccount(user string, holdUntil time.Time) error {
	if err := s.lock("delete account"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	a, err := s.account(user)
	if err != nil {
		return err
	}
	_, bytes := a.totals()
	s.mailTotal -= bytes
	delete(s.accounts, user)
	for h, sess := range s.sessions {
		if sess.User == user {
			delete(s.sessions, h)
		}
	}
	if !holdUntil.IsZero() {
		s.holds[user] = holdUntil
	}
	return nil
}

// PutSession stores sess under h, replacing what h had.
func (s *Store) PutSession(h node.TokenHash, sess node.Session) error {
	if err := s.lock("put session"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	a, err := s.account(sess.User)
	if err != nil {
		return err
	}
	if !sess.AccountCreated.IsZero() && !a.Created.Equal(sess.AccountCreated) {
		return fmt.Errorf("%w: %q was registered again", protocol.ErrUnknownUser, sess.User)
	}
	s.sessions[h] = sess
	return nil
}

// Session returns the session under h, expired or not.
func (s *Store) Session(h node.TokenHash) (node.Session, error) {
	if err := s.lock("session"); err != nil {
		return node.Session{}, err
	}
	defer s.mu.Unlock()
	sess, ok := s.sessions[h]
	if !ok {
		return node.Session{}, fmt.Errorf("memstore: session: %w", protocol.ErrNoSession)
	}
	return sess, nil
}

// DeleteSession removes the session under h, if any.
func (s *Store) DeleteSession(h node.TokenHash) error {
	if err := s.lock("delete session"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.sessions, h)
	return nil
}

// PutKeys replaces user's published keys and devices; a device that was
// current and is not in d loses its queue's messages and key packages.
func (s *Store) PutKeys(user string, k protocol.PublishedKeys, d node.Devices) error {
	if err := s.lock("put keys"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	a, err := s.account(user)
	if err != nil {
		return err
	}
	if d.Primary != "" && !d.Has(d.Primary) {
		return fmt.Errorf("%w: primary device %s is not current", protocol.ErrBadRequest, d.Primary)
	}
	for _, dev := range a.devices.Current {
		if d.Has(dev) {
			continue
		}
		o := dev
		if dev == a.legacy {
			o = ""
		}
		if q := a.queues[o]; q != nil {
			s.removeMessages(q, func(protocol.Message) bool { return true })
			if o != "" {
				delete(a.queues, o)
			}
		}
		delete(a.pkgs, o)
	}
	if a.devices.Primary == "" && d.Primary != "" {
		a.legacy = d.Primary
	}
	a.devices = node.Devices{Primary: d.Primary, Current: slices.Clone(d.Current)}
	k = protocol.PublishedKeys{IdentityKey: clone(k.IdentityKey), HPKEKey: clone(k.HPKEKey),
		Signature: clone(k.Signature), Published: k.Published,
		AccountKey: clone(k.AccountKey), DeviceList: clone(k.DeviceList)} // Answer is never stored
	a.keys = &k
	return nil
}

// Keys returns user's published keys.
func (s *Store) Keys(user string) (protocol.PublishedKeys, error) {
	if err := s.lock("keys"); err != nil {
		return protocol.PublishedKeys{}, err
	}
	defer s.mu.Unlock()
	a, err := s.account(user)
	if err != nil {
		return protocol.PublishedKeys{}, err
	}
	if a.keys == nil {
		return protocol.PublishedKeys{}, fmt.Errorf("%w: %q", protocol.ErrNoKeys, user)
	}
	k := *a.keys
	k.IdentityKey, k.HPKEKey, k.Signature = clone(k.IdentityKey), clone(k.HPKEKey), clone(k.Signature)
	k.AccountKey, k.DeviceList = clone(k.AccountKey), clone(k.DeviceList)
	return k, nil
}

// Devices returns user's devices as last put.
func (s *Store) Devices(user string) (node.Devices, error) {
	if err := s.lock("devices"); err != nil {
		return node.Devices{}, err
	}
	defer s.mu.Unlock()
	a, err := s.account(user)
	if err != nil {
		return node.Devices{}, err
	}
	return node.Devices{Primary: a.devices.Primary, Current: slices.Clone(a.devices.Current)}, nil
}

// AddKeyPackages appends pkgs to queue's key packages of suite, all or
// none, and replaces the last-resort one when lastResort is not nil.
func (s *Store) AddKeyPackages(queue string, suite uint16, pkgs [][]byte, lastResort []byte) error {
	if suite == 0 {
		return fmt.Errorf("memstore: add key packages: %w", ErrBadSuite)
	}
	for i, p := range pkgs {
		if len(p) == 0 {
			return fmt.Errorf("memstore: add key packages: package %d: %w", i, ErrEmptyKeyPackage)
		}
	}
	if lastResort != nil && len(lastResort) == 0 {
		return fmt.Errorf("memstore: add key packages: last resort: %w", ErrEmptyKeyPackage)
	}
	if err := s.lock("add key packages"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	a, o, err := s.owner(queue)
	if err != nil {
		return err
	}
	if a.pkgs[o] == nil {
		a.pkgs[o] = map[uint16]*keyPackages{}
	}
	kp := a.pkgs[o][suite]
	if kp == nil {
		kp = &keyPackages{}
		a.pkgs[o][suite] = kp
	}
	if len(kp.queue)+len(pkgs) > s.opts.MaxKeyPackages {
		return fmt.Errorf("%w: %q holds %d of suite 0x%04x, adding %d, bound %d",
			protocol.ErrTooManyKeyPackages, queue, len(kp.queue), suite, len(pkgs), s.opts.MaxKeyPackages)
	}
	for _, p := range pkgs {
		kp.queue = append(kp.queue, clone(p))
	}
	if lastResort != nil {
		kp.lastResort = clone(lastResort)
	}
	return nil
}

// TakeKeyPackage removes and returns queue's oldest key package of suite,
// or returns the last-resort one, which stays.
func (s *Store) TakeKeyPackage(queue string, suite uint16) (pkg []byte, lastResort bool, err error) {
	if err := s.lock("take key package"); err != nil {
		return nil, false, err
	}
	defer s.mu.Unlock()
	a, o, err := s.owner(queue)
	if err != nil {
		return nil, false, err
	}
	kp := a.pkgs[o][suite]
	switch {
	case kp != nil && len(kp.queue) > 0:
		pkg, kp.queue = kp.queue[0], kp.queue[1:]
		return pkg, false, nil
	case kp != nil && kp.lastResort != nil:
		return clone(kp.lastResort), true, nil
	}
	return nil, false, fmt.Errorf("%w: %q, suite 0x%04x", protocol.ErrNoKeyPackage, queue, suite)
}

// KeyPackageCount returns how many key packages of suite queue's device
// holds, the last-resort one not counted, and whether there is one.
func (s *Store) KeyPackageCount(queue string, suite uint16) (count int, lastResort bool, err error) {
	if err := s.lock("key package count"); err != nil {
		return 0, false, err
	}
	defer s.mu.Unlock()
	a, o, err := s.owner(queue)
	if err != nil {
		return 0, false, err
	}
	if kp := a.pkgs[o][suite]; kp != nil {
		return len(kp.queue), kp.lastResort != nil, nil
	}
	return 0, false, nil
}

// Totals returns how many messages and payload bytes all mailboxes hold
// and how many accounts there are.
func (s *Store) Totals() (messages, bytes int64, accounts int, err error) {
	if err := s.lock("totals"); err != nil {
		return 0, 0, 0, err
	}
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		n, _ := a.totals()
		messages += int64(n)
	}
	return messages, s.mailTotal, len(s.accounts), nil
}
