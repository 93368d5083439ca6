package session

// This file makes and keeps an account's devices (issue 22): the migration
// of a state of before devices, linking a new machine (Link on it, Approve
// on a device that holds the account key), removing a device, and
// recovering the account with its recovery code or resetting it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

// migrate turns a state of before devices into the first device of its
// account: its identity key becomes the account key and the identity key of
// the device (identity.NewLegacyDeviceList), so contacts, who know the
// account by that key, see no change. The list is published. When the node
// publishes other keys for the account (another machine's login replaced
// them, issue 22's bug) the state is left as it is, with a notice: this
// machine's keys are no longer the account's.
func (s *Session) migrate(ctx context.Context) error {
	addr := s.acct.Address()
	k, err := s.c.ResolveUser(ctx, s.cur.User)
	switch {
	case errors.Is(err, protocol.ErrUnknownUser):
		// Nothing published yet: the migration publishes.
	case err != nil:
		return fmt.Errorf("migrating to devices: %w", err)
	case len(k.DeviceList) > 0:
		// Published already, by a copy of this state elsewhere: this
		// machine is that device if the list says so.
		p, err := client.PeerOf(addr, k)
		if err != nil {
			return fmt.Errorf("migrating to devices: %w", err)
		}
		d, ok := p.Device(s.acct.DeviceID())
		if !ok || !bytes.Equal(p.AccountKey, s.acct.Keys.IdentityPublic()) {
			return fmt.Errorf("%w (the account has a device list without this machine)", ErrNotMigrated)
		}
		acct, err := identity.AccountKeyFromSeed(s.acct.Keys.Identity.Seed())
		if err != nil {
			return err
		}
		s.acct.AccountKey, s.acct.List = &acct, p.List
		s.state.AccountKeySeed, s.state.DeviceList, s.state.DeviceName = acct.Seed(), p.SignedList, d.Name
		return nil
	case !bytes.Equal(k.IdentityKey, s.acct.Keys.IdentityPublic()):
		s.cfg.notice("%v; this machine reads only what was sealed to its old keys", ErrNotMigrated)
		return nil
	}
	name := s.cfg.deviceName()
	acct, l, err := identity.NewLegacyDeviceList(addr, name, s.acct.Keys, time.Now())
	if err != nil {
		return err
	}
	signed, err := l.Sign(acct)
	if err != nil {
		return err
	}
	s.acct.AccountKey = &acct
	if err := s.acct.PublishList(ctx, signed); err != nil {
		return fmt.Errorf("migrating to devices: %w", err)
	}
	s.state.AccountKeySeed, s.state.DeviceList, s.state.DeviceName = acct.Seed(), signed, name
	s.cfg.notice("your account now has devices: its key is the account key (contacts see no change) and this machine is its first device %q", name)
	return nil
}

// refreshOwnList takes the account's device list as the node publishes it
// now over c, verified and checked against the node's key transparency
// log, in place of the saved one, and checks that this device is still
// current in it. A key or device in it that this device did not know is
// an alarm (client.Account.MonitorSelf) before anything else. A list
// under another account key (the account was reset elsewhere) or one that
// revoked this device is a *RevokedError; a list older than the saved one
// is client.ErrListRollback; keys the node's log does not back, a
// *client.KeyRefusedError. When the node cannot answer, the saved list
// stays.
func (s *Session) refreshOwnList(ctx context.Context, c *client.Client) error {
	p, _, err := s.acct.MonitorSelf(ctx, c, s.acct.List)
	if err != nil {
		var refused *client.KeyRefusedError
		if errors.Is(err, protocol.ErrUnknownUser) || errors.As(err, &refused) || errors.Is(err, identity.ErrBadSignature) || errors.Is(err, identity.ErrMalformedKeys) ||
			errors.Is(err, client.ErrPrimaryMismatch) {
			return fmt.Errorf("your own published keys: %w", err)
		}
		return nil
	}
	saved := s.acct.List
	if p.List == nil || saved == nil || !bytes.Equal(p.AccountKey, saved.AccountKey) {
		return &RevokedError{Address: s.cur.Address(), Device: s.acct.DeviceID()}
	}
	if p.List.Seq < saved.Seq {
		return fmt.Errorf("your own device list: %w (seq %d, saved %d)", client.ErrListRollback, p.List.Seq, saved.Seq)
	}
	if _, ok := p.Device(s.acct.DeviceID()); !ok {
		return &RevokedError{Address: s.cur.Address(), Device: s.acct.DeviceID()}
	}
	s.acct.List, s.state.DeviceList = p.List, p.SignedList
	return nil
}

// Devices returns the account's device list as the node publishes it now
// (verified), or as last saved when the node cannot answer.
func (s *Session) Devices(ctx context.Context) (*identity.DeviceList, error) {
	if !s.state.Migrated() {
		return nil, ErrNotMigrated
	}
	if err := s.refreshOwnList(ctx, nil); err != nil {
		return nil, err
	}
	if err := s.Save(); err != nil {
		return nil, err
	}
	return s.acct.List, nil
}

// HoldsAccountKey reports whether this device holds the account key.
func (s *Session) HoldsAccountKey() bool { return s.acct.AccountKey != nil }

// RecoveryCode returns the account's recovery code on a device that holds
// the account key (identity.RecoveryCode), "" elsewhere.
func (s *Session) RecoveryCode() string {
	if s.acct.AccountKey == nil {
		return ""
	}
	return identity.RecoveryCode(*s.acct.AccountKey)
}

// changeList verifies the saved list again (so that a change that fails
// leaves the account's List as it was), lets change edit it, signs and
// publishes it, and saves it.
func (s *Session) changeList(ctx context.Context, change func(l *identity.DeviceList) error) error {
	if s.acct.AccountKey == nil {
		return ErrNoAccountKey
	}
	if err := s.refreshOwnList(ctx, nil); err != nil {
		return err
	}
	l, err := identity.VerifyDeviceList(s.state.DeviceList, s.acct.Address())
	if err != nil {
		return err
	}
	if err := change(l); err != nil {
		return err
	}
	signed, err := l.Sign(*s.acct.AccountKey)
	if err != nil {
		return err
	}
	if err := s.acct.PublishList(ctx, signed); err != nil {
		return err
	}
	s.state.DeviceList = signed
	return s.Save()
}

// RemoveDevice revokes the current device called name and publishes the
// list: the node refuses the device from then on, and contacts stop
// sealing to it. It refuses the last current device (ErrLastDevice) and,
// unless force, this device (ErrThisDevice). It needs the account key
// (ErrNoAccountKey).
func (s *Session) RemoveDevice(ctx context.Context, name string, force bool) (identity.Device, error) {
	var gone identity.Device
	err := s.changeList(ctx, func(l *identity.DeviceList) error {
		d, ok := l.FindName(name)
		if !ok {
			return fmt.Errorf("%w: no current device is called %q", identity.ErrNoDevice, name)
		}
		if len(l.Current()) == 1 {
			return fmt.Errorf("cannot remove %q: %w", name, ErrLastDevice)
		}
		if d.ID == s.acct.DeviceID() && !force {
			return fmt.Errorf("cannot remove %q: %w", name, ErrThisDevice)
		}
		gone = d
		if p, _ := l.Primary(); p.ID == d.ID && d.ID != s.acct.DeviceID() {
			// The primary's keys are what clients from before devices
			// seal to, signed by the primary itself: only this device can
			// sign them for the new list, so it becomes the primary.
			firstDevice(l, s.acct.DeviceID())
		}
		return l.Revoke(d.ID, time.Now())
	})
	return gone, err
}

// firstDevice moves the entry of device id to the front of l, which makes
// it the primary device once the ones before it are revoked.
func firstDevice(l *identity.DeviceList, id identity.DeviceID) {
	for i, d := range l.Devices {
		if d.ID == id {
			copy(l.Devices[1:i+1], l.Devices[:i])
			l.Devices[0] = d
			return
		}
	}
}

// Approved is a device Approve added.
type Approved struct {
	// Device is the new device as the list has it.
	Device identity.Device
	// BundleSize is the size of the sync bundle sealed to it, and
	// Contacts and Channels what it holds.
	BundleSize         int
	Contacts, Channels int
}

// ApproveOptions are the choices of Approve.
type ApproveOptions struct {
	// WithAccountKey hands the new device the account key too.
	WithAccountKey bool
	// Contacts are what the chat database holds for the sync bundle
	// (chat.Engine.SyncContents); nil sends none.
	Contacts []client.SyncContact
}

// Approve finds the pending link request made with code (the link code the
// new machine shows), adds the device it asks for to the account's list,
// publishes the list and seals the sync bundle (contacts, verification
// marks, channels) to the new device. A code that does not parse is
// identity.ErrBadLinkCode; one that matches no pending request (mistyped,
// expired) ErrNoLinkRequest. It needs the account key (ErrNoAccountKey).
// It talks on Account().Client, which a follower replaces after a
// reconnect, not on the connection the Session logged in on.
func (s *Session) Approve(ctx context.Context, code string, o ApproveOptions) (Approved, error) {
	lc, err := identity.ParseLinkCode(code)
	if err != nil {
		return Approved{}, err
	}
	if s.acct.AccountKey == nil {
		return Approved{}, ErrNoAccountKey
	}
	reqs, err := s.acct.Client.LinkRequests(ctx)
	if err != nil {
		return Approved{}, err
	}
	var req *identity.LinkRequest
	for _, r := range reqs {
		if lc.Check(r.Request, r.Tag) != nil {
			continue
		}
		if req, err = identity.UnmarshalLinkRequest(r.Request); err != nil {
			return Approved{}, fmt.Errorf("the link request that matches the code: %w", err)
		}
		break
	}
	if req == nil {
		return Approved{}, ErrNoLinkRequest
	}
	if !strings.EqualFold(req.Address, s.acct.Address()) {
		return Approved{}, fmt.Errorf("the link request is for %q, not %s: %w", req.Address, s.acct.Address(), identity.ErrBadAddress)
	}
	var a Approved
	err = s.changeList(ctx, func(l *identity.DeviceList) error {
		a.Device, err = l.AddKeys(*s.acct.AccountKey, req.Name, req.IdentityKey, req.HPKEKey, time.Now())
		return err
	})
	if err != nil {
		return Approved{}, err
	}
	b := client.SyncBundle{Contacts: o.Contacts, Channels: s.state.Channels}
	if len(b.Channels) > client.MaxSyncChannels {
		b.Channels = b.Channels[:client.MaxSyncChannels]
	}
	if o.WithAccountKey {
		b.AccountKeySeed = s.acct.AccountKey.Seed()
	}
	raw, err := b.MarshalBinary()
	if err != nil {
		return a, fmt.Errorf("device %q added, but its contacts could not be sent: %w", a.Device.Name, err)
	}
	a.BundleSize, a.Contacts, a.Channels = len(raw), len(b.Contacts), len(b.Channels)
	to := protocol.Address{User: strings.ToLower(s.cur.User), Domain: strings.ToLower(s.cur.Domain), Device: a.Device.ID.String()}
	out, _, err := s.acct.Seal(ctx, to.String(), client.ContentDeviceSync, raw)
	if err == nil {
		_, err = s.acct.Client.Enqueue(ctx, out)
	}
	if err != nil {
		return a, fmt.Errorf("device %q added, but its contacts could not be sent: %w", a.Device.Name, err)
	}
	return a, nil
}

// Link is a machine asking to become a device of an account: logged in
// with the password, with its device keys made and its request on the
// node, until a device that holds the account key approves it.
type Link struct {
	// Code is the link code to show the user, to type on the approving
	// device.
	Code identity.LinkCode
	// Name and Device are the new device's name and id.
	Name   string
	Device identity.DeviceID

	cfg  Config
	au   *authed
	keys *identity.UserKeys
}

// Address returns the account's address, user@domain, with the domain the
// node told at the login.
func (l *Link) Address() string { return l.au.cur.Address() }

// StartLink logs the account of cur in (the password proves the person,
// but makes no device), makes this machine's device keys and a link code,
// and posts the link request to the node. A machine that is already a
// device of the account gets ErrAlreadyDevice. Close the Link when done
// with it, or call Wait.
func StartLink(ctx context.Context, cfg Config, cur client.Current) (*Link, error) {
	au, err := authenticate(ctx, cfg, cur, nil)
	if err != nil {
		return nil, err
	}
	l, err := startLink(ctx, cfg, au)
	if err != nil {
		au.c.Close()
		return nil, err
	}
	return l, nil
}

func startLink(ctx context.Context, cfg Config, au *authed) (*Link, error) {
	if err := notADevice(ctx, cfg, au); err != nil {
		return nil, err
	}
	name := cfg.DeviceName
	if name == "" {
		name = freeName(ctx, au, DefaultDeviceName())
	}
	if err := identity.CheckDeviceName(name); err != nil {
		return nil, err
	}
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		return nil, err
	}
	code, err := identity.NewLinkCode()
	if err != nil {
		return nil, err
	}
	req := identity.LinkRequest{Address: au.cur.Address(), Name: name, IdentityKey: keys.IdentityPublic(), HPKEKey: keys.HPKEPublic()}
	raw, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if _, err := au.c.RequestLink(ctx, raw, code.Tag(raw)); err != nil {
		return nil, err
	}
	return &Link{Code: code, Name: name, Device: req.ID(), cfg: cfg, au: au, keys: keys}, nil
}

// notADevice refuses with ErrAlreadyDevice when this machine holds a state
// of the account whose device is still current in the published list. A
// state of a device that was removed, or of an account since reset, may
// be replaced: its keys read nothing any more.
func notADevice(ctx context.Context, cfg Config, au *authed) error {
	if !client.HasState(cfg.StateDir, au.cur.User, au.cur.Domain) {
		return nil
	}
	already := fmt.Errorf("%s: %w", au.cur.Address(), ErrAlreadyDevice)
	st, err := client.LoadState(cfg.StateDir, au.cur.User, au.cur.Domain, au.exportKey)
	if err != nil || !st.Migrated() {
		return already
	}
	id, err := st.Device()
	if err != nil {
		return already
	}
	k, err := au.c.ResolveUser(ctx, au.cur.User)
	if err != nil {
		return err
	}
	p, err := client.PeerOf(au.cur.Address(), k)
	if err != nil {
		return err
	}
	if _, current := p.Device(id); current {
		return already
	}
	return nil
}

// freeName returns name, or name with a number after it, so that no
// current device of the account has it: the host name of a second machine
// is often the first one's.
func freeName(ctx context.Context, au *authed, name string) string {
	k, err := au.c.ResolveUser(ctx, au.cur.User)
	if err != nil {
		return name
	}
	p, err := client.PeerOf(au.cur.Address(), k)
	if err != nil || p.List == nil {
		return name
	}
	try := name
	for i := 2; i < 100; i++ {
		if _, taken := p.List.FindName(try); !taken {
			return try
		}
		suffix := fmt.Sprintf(" %d", i)
		base := name
		for len(base)+len(suffix) > identity.MaxDeviceNameLen {
			base = base[:len(base)-1]
		}
		try = strings.TrimSpace(base) + suffix
	}
	return try
}

// Close hangs up a Link that Wait did not turn into a Session. The request
// expires on the node by itself.
func (l *Link) Close() error { return l.au.c.Close() }

// Wait asks the node every poll whether the account's published device list
// holds this device, until ctx ends (ErrLinkTimeout when its deadline
// passed). progress, when not nil, is told before each question. Once
// approved, the device's state is saved and Wait returns the Session of
// the new device, bound to its queue, where the approving device's sync
// bundle waits (Receive applies it).
func (l *Link) Wait(ctx context.Context, poll time.Duration, progress func()) (*Session, error) {
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if progress != nil {
			progress()
		}
		p, err := l.approved(ctx)
		if err != nil {
			l.au.c.Close()
			return nil, err
		}
		if p != nil {
			raw, err := l.keys.MarshalBinary()
			if err != nil {
				l.au.c.Close()
				return nil, err
			}
			st := &client.State{User: l.au.cur.User, Domain: l.au.cur.Domain, Keys: raw, DeviceName: l.Name, DeviceList: p.SignedList}
			return open(ctx, l.cfg, l.au, st)
		}
		select {
		case <-ctx.Done():
			l.au.c.Close()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, ErrLinkTimeout
			}
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// approved returns the account as published when its list holds this
// device, nil while it does not. A connection that broke is made again with
// the password the Link logged in with.
func (l *Link) approved(ctx context.Context) (*client.Peer, error) {
	k, err := l.au.c.ResolveUser(ctx, l.au.cur.User)
	if err != nil && ctx.Err() == nil && !errors.Is(err, protocol.ErrUnknownUser) {
		select {
		case <-l.au.c.Done():
			au, aerr := authenticate(ctx, l.cfg, l.au.cur, l.au.pw)
			if aerr != nil {
				return nil, nil // try again at the next poll
			}
			l.au.c.Close()
			l.au = au
			return nil, nil
		default:
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil // Wait says why
		}
		return nil, err
	}
	if len(k.DeviceList) == 0 {
		return nil, nil
	}
	p, err := client.PeerOf(l.au.cur.Address(), k)
	if err != nil {
		return nil, fmt.Errorf("the account's published device list: %w", err)
	}
	if _, ok := p.Device(l.Device); !ok {
		return nil, nil
	}
	return &p, nil
}

// Recover makes this machine a new device of the account of cur with the
// account key that code (the recovery code) holds: it logs in with the
// password, checks that the code's key is the account key the node
// publishes (ErrNotAccountKey if not), adds this machine to the list and
// publishes it. Contacts see a new device, not a key change: the account
// key stays. The new device holds the account key.
func Recover(ctx context.Context, cfg Config, cur client.Current, code string) (*Session, error) {
	acct, err := identity.ParseRecoveryCode(code)
	if err != nil {
		return nil, err
	}
	au, err := authenticate(ctx, cfg, cur, nil)
	if err != nil {
		return nil, err
	}
	st, err := recoverState(ctx, cfg, au, &acct)
	if err != nil {
		au.c.Close()
		return nil, err
	}
	return open(ctx, cfg, au, st)
}

func recoverState(ctx context.Context, cfg Config, au *authed, acct *identity.AccountKey) (*client.State, error) {
	if err := notADevice(ctx, cfg, au); err != nil {
		return nil, err
	}
	addr := au.cur.Address()
	k, err := au.c.ResolveUser(ctx, au.cur.User)
	if err != nil {
		return nil, err
	}
	p, err := client.PeerOf(addr, k)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p.AccountKey, acct.Public()) {
		return nil, ErrNotAccountKey
	}
	l := p.List
	if l == nil {
		// An account of before devices: its one key is the account key
		// and its device, which stays the first.
		l = &identity.DeviceList{Address: addr}
		if _, err := l.AddKeys(*acct, "first", p.Bundle.IdentityKey, p.Bundle.HPKEKey, time.Now()); err != nil {
			return nil, err
		}
	}
	name := cfg.DeviceName
	if name == "" {
		name = freeName(ctx, au, DefaultDeviceName())
	}
	return newDeviceState(ctx, au, name, acct, l)
}

// Reset gives the account of cur a new account key, for when neither the
// recovery code nor a device that holds the account key is left: it logs
// in with the password and publishes a list of this machine alone. The
// old devices cannot be certified by the new key, so they stop reading;
// contacts see a key change, loudly (RecoveryCode gives the new code).
func Reset(ctx context.Context, cfg Config, cur client.Current) (*Session, error) {
	au, err := authenticate(ctx, cfg, cur, nil)
	if err != nil {
		return nil, err
	}
	st, err := resetState(ctx, cfg, au)
	if err != nil {
		au.c.Close()
		return nil, err
	}
	return open(ctx, cfg, au, st)
}

func resetState(ctx context.Context, cfg Config, au *authed) (*client.State, error) {
	if err := notADevice(ctx, cfg, au); err != nil {
		return nil, err
	}
	return newAccount(ctx, au, cfg.deviceName())
}

// SyncResult is what a sync bundle from another device of the account
// brought this one.
type SyncResult struct {
	// From is the device that sent it.
	From identity.Device
	// Contacts, Channels are how many were new here; AccountKey is set
	// when the bundle handed over the account key.
	Contacts, Channels int
	AccountKey         bool
}

// applySync applies r, a sync bundle opened from the mailbox: only one of
// the account's own current devices may send one. The contacts go to the
// chat database (importContacts), the channels and the account key to the
// state, which is saved.
func (s *Session) applySync(r client.Received, importContacts func([]client.SyncContact) (int, error)) (*SyncResult, error) {
	if !r.Verified || !strings.EqualFold(r.From, s.acct.Address()) {
		return nil, fmt.Errorf("a device sync bundle that is not from a device of this account (%s): ignored", r.From)
	}
	b, err := client.ParseSyncBundle(r.Body)
	if err != nil {
		return nil, err
	}
	res := &SyncResult{From: r.Device}
	if len(b.AccountKeySeed) > 0 && s.acct.AccountKey == nil {
		acct, err := identity.AccountKeyFromSeed(b.AccountKeySeed)
		if err != nil {
			return nil, err
		}
		if s.acct.List == nil || !bytes.Equal(acct.Public(), s.acct.List.AccountKey) {
			return nil, fmt.Errorf("a device sync bundle: %w", ErrNotAccountKey)
		}
		s.acct.AccountKey, s.state.AccountKeySeed, res.AccountKey = &acct, acct.Seed(), true
	}
	for _, ch := range b.Channels {
		if _, added, err := s.state.JoinChannel(ch.Share(), ch.Joined); err == nil && added {
			res.Channels++
		}
	}
	if importContacts != nil && len(b.Contacts) > 0 {
		if res.Contacts, err = importContacts(b.Contacts); err != nil {
			return nil, err
		}
	}
	return res, s.Save()
}
