package chat

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

// In an MLS group every device is its own member: its credential names the
// device ("alice#<16 hex>@domain", the same text as the device's mailbox)
// and its leaf is signed with the device's identity key, so that one
// device can be removed without the others, and no device shares private
// keys with another. People see accounts: the roster, the members line and
// the events dedupe devices. An account published before devices (legacy)
// keeps its plain address as identity, and so does a leaf a legacy account
// made before it migrated (its key became its first device's).

// member is one leaf of a group as the engine reads it.
type member struct {
	leaf mls.LeafIndex
	// account is the account the credential names, user@domain; device
	// is the device id's text, "" for a legacy credential.
	account, device string
	key             ed25519.PublicKey
}

// parseMember splits a credential identity into account and device. What
// is not an address stays as it is (credentialPolicy refuses it in new
// groups).
func parseMember(id string) (account, device string) {
	a, err := memberAddress(id)
	if err != nil {
		return strings.ToLower(id), ""
	}
	return a.Account().String(), a.Device
}

// memberAddress parses a credential identity: "user@domain" or
// "user#device@domain", never a bare user.
func memberAddress(id string) (protocol.Address, error) {
	if !strings.Contains(id, "@") {
		return protocol.Address{}, fmt.Errorf("%w %q: want user@domain", protocol.ErrBadAddress, id)
	}
	return protocol.ParseRecipient(id, "")
}

// members returns g's leaves.
func members(g *mls.Group) []member {
	var ms []member
	for _, m := range g.Roster() {
		acct, dev := parseMember(string(m.Credential.Identity))
		ms = append(ms, member{leaf: m.Leaf, account: acct, device: dev, key: m.SignatureKey})
	}
	return ms
}

// resolveDevice returns account as resolve does, looked up again once when
// key is not one of its current devices: a lookup kept from earlier (a
// long-running qpc repl keeps them) may predate a device the account
// added since.
// It does not touch the database (callers hold a transaction of it):
// recording the account key is the caller's (noteKey).
func (e *Engine) resolveDevice(ctx context.Context, account string, key ed25519.PublicKey) (client.Peer, error) {
	p, err := e.acct.ResolvePeer(ctx, account)
	if err != nil {
		return p, err
	}
	if _, ok := p.DeviceByKey(key); ok || key == nil {
		return p, nil
	}
	e.acct.Forget(account)
	return e.acct.ResolvePeer(ctx, account)
}

// deviceID is this device's id.
func (e *Engine) deviceID() identity.DeviceID {
	return e.acct.DeviceID()
}

// memberID is this device's identity in groups: "user#device@domain", or
// the plain address while the account has no device list (legacy), which
// is what clients from before devices expect.
func (e *Engine) memberID() string {
	if e.acct.List == nil {
		return e.self
	}
	a, err := protocol.ParseAddress(e.self)
	if err != nil {
		return e.self
	}
	a.Device = e.deviceID().String()
	return a.String()
}

// target is a device a group message is sealed to: the device of account
// whose identity key is key, or every current device of account when key
// is nil.
type target struct {
	account string
	key     ed25519.PublicKey
}

// leafTargets returns a target per leaf of ms but this device's own.
func (e *Engine) leafTargets(ms []member, own mls.LeafIndex) []target {
	var ts []target
	for _, m := range ms {
		if m.leaf != own {
			ts = append(ts, target{account: m.account, key: m.key})
		}
	}
	return ts
}

// sealTargets seals body as one message id to each target device and
// returns the outbox entries, one per device (recipient "user#dev@domain",
// or the plain address of a legacy account). A device that is not current
// in its account's list is skipped: its account removed it, and its node
// would refuse it. Every extra device of a member costs one envelope.
func (e *Engine) sealTargets(ctx context.Context, c *chatdb.Conversation, ts []target, ctype uint16, id sealed.ID, body []byte) ([]chatdb.Outgoing, error) {
	var outs []chatdb.Outgoing
	done := map[string]bool{}
	msg := sealed.Message{ID: id, Time: e.now(), ContentType: ctype, Body: body}
	for _, t := range ts {
		p, err := e.resolveDevice(ctx, t.account, t.key)
		if err != nil {
			return nil, fmt.Errorf("keys of %s: %w", t.account, err)
		}
		devs := p.Devices
		if t.key != nil {
			d, ok := p.DeviceByKey(t.key)
			if !ok {
				e.log.Debug("not sealing to a device that is not current", "account", t.account)
				continue
			}
			devs = []identity.Device{d}
		}
		for _, d := range devs {
			if bytes.Equal(d.IdentityKey, e.acct.Keys.IdentityPublic()) {
				continue
			}
			r := p.Recipient(d)
			if done[r] {
				continue
			}
			done[r] = true
			env, err := sealed.Seal(p.Address, d.HPKEKey, e.acct.Keys, e.self, msg)
			if err != nil {
				return nil, err
			}
			outs = append(outs, chatdb.Outgoing{Conv: c.ID, Recipient: r, Payload: env, Created: e.now()})
		}
	}
	return outs, nil
}

// kpTargets returns the targets of the devices whose KeyPackages are kps:
// who gets the Welcome.
func kpTargets(kps []*mls.KeyPackage) []target {
	var ts []target
	for _, kp := range kps {
		acct, _ := parseMember(string(kp.LeafNode.Credential.Identity))
		ts = append(ts, target{account: acct, key: kp.LeafNode.SignatureKey})
	}
	return ts
}

// deviceKeyPackages fetches one KeyPackage of suite cs for each current
// device of addr, but those in skip (by identity key) and this device. A
// device without one (not online since it was linked) is left out and
// logged: the member with the lowest leaf adds it later (reconcile). It
// fails only when no device had one; the error of the first is returned
// then, errNoSuite among them when the suite was missing.
func (e *Engine) deviceKeyPackages(ctx context.Context, addr string, cs mls.CipherSuite, skip func(ed25519.PublicKey) bool) ([]*mls.KeyPackage, error) {
	p, err := e.resolve(ctx, addr)
	if err != nil {
		return nil, err
	}
	var kps []*mls.KeyPackage
	var first error
	wanted := 0
	for _, d := range p.Devices {
		if bytes.Equal(d.IdentityKey, e.acct.Keys.IdentityPublic()) || skip != nil && skip(d.IdentityKey) {
			continue
		}
		wanted++
		kp, err := e.fetchDeviceKeyPackage(ctx, p, d, cs)
		if err != nil {
			e.log.Info("a device has no key package", "device", p.Recipient(d), "suite", cs.ID(), "err", err)
			if first == nil {
				first = err
			}
			continue
		}
		kps = append(kps, kp)
	}
	if len(kps) == 0 && wanted > 0 {
		return nil, first
	}
	return kps, nil
}

// reconcileWith is the commit that adds extra (an invitee's devices) and
// brings g's devices in line with the members' device lists: it adds a
// KeyPackage of each current device of a member account (this account
// included) that has no leaf, and removes each leaf whose device its
// account no longer lists. It returns nil when nothing is to be done.
func (e *Engine) reconcileWith(ctx context.Context, g *mls.Group, extra []*mls.KeyPackage) (*change, error) {
	ms := members(g)
	accounts := []string{e.self}
	// A member who is not an admin brings in line only its own
	// account's devices: the group's roles refuse the rest (roles.go).
	for _, m := range ms {
		if !slices.Contains(accounts, m.account) && e.mayChangeMembers(g) {
			accounts = append(accounts, m.account)
		}
	}
	add := slices.Clone(extra)
	var remove []mls.LeafIndex
	for _, a := range accounts {
		p, err := e.resolve(ctx, a)
		if err == nil && slices.ContainsFunc(ms, func(m member) bool { _, ok := p.DeviceByKey(m.key); return m.account == a && !ok }) {
			// A lookup kept from earlier may lack a device added since:
			// never take a device out on an old list.
			e.acct.Forget(a)
			p, err = e.resolve(ctx, a)
		}
		if err != nil {
			e.log.Info("cannot check a member's devices", "account", a, "err", err)
			continue
		}
		present := func(key ed25519.PublicKey) bool {
			return slices.ContainsFunc(ms, func(m member) bool { return m.account == a && bytes.Equal(m.key, key) })
		}
		for _, m := range ms {
			if m.account == a && m.leaf != g.OwnLeaf() && !p.Legacy() {
				if _, ok := p.DeviceByKey(m.key); !ok {
					remove = append(remove, m.leaf)
				}
			}
		}
		if a != e.self && !missingDevice(p, ms) {
			continue // nothing missing, or no device of a vouched for any more: only a person's invitation adds one
		}
		kps, err := e.deviceKeyPackages(ctx, a, g.CipherSuite(), present)
		if err != nil {
			e.log.Info("cannot add a member's new devices", "account", a, "err", err)
			continue
		}
		add = append(add, kps...)
	}
	if len(add) == 0 && len(remove) == 0 {
		return nil, nil
	}
	opts := &mls.CommitOptions{Add: add, Remove: remove}
	if err := e.pruneRoles(g, opts); err != nil {
		return nil, err
	}
	out, err := g.Commit(opts)
	if err != nil {
		return nil, err
	}
	return &change{out: out, welcomeTo: kpTargets(add)}, nil
}

// errNoChange ends commitChange when its operation finds nothing to do
// (after catching up, say: another member made the change first).
var errNoChange = errors.New("nothing to change")

// reconcile commits reconcileChange in c's group, if it has anything to
// do. e.mu is held.
func (e *Engine) reconcile(ctx context.Context, c *chatdb.Conversation) error {
	err := e.commitChange(ctx, c, func(g *mls.Group) (*change, error) {
		return e.addChange(ctx, g, nil)
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

// DeviceAdded is called on the device that approved a new device of the
// account, after it published the list that has it: every group and DM of
// the account gets one commit that adds d (and any other device of a
// member that is missing), so that d is sent the Welcomes and reads what
// follows.
//
// The new device uploads its KeyPackages only once it sees itself
// approved, a moment after the list is published: DeviceAdded tries again
// every DeviceAddedPoll, the engine free in between, until d is in every
// group or DeviceAddedWait has passed (ErrDeviceNotReady then; a member
// adds it later, when it notices the group lacks it). Groups whose commit
// fails are reported on the status line and in the returned error; the
// others are done.
func (e *Engine) DeviceAdded(ctx context.Context, d identity.Device) error {
	e.resendBlockList(ctx) // block.go: the new device starts with the list
	deadline := time.Now().Add(DeviceAddedWait)
	for {
		lacking, err := e.addDevice(ctx, d)
		if err != nil || lacking == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d group%s: %w", lacking, plural(uint64(lacking)), ErrDeviceNotReady)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(DeviceAddedPoll):
		}
	}
}

// How DeviceAdded waits for a new device's KeyPackages.
var (
	DeviceAddedWait = 2 * time.Minute
	DeviceAddedPoll = time.Second
)

// ErrDeviceNotReady means a new device had no KeyPackages on its node
// while DeviceAdded waited: it has not been online since it was approved.
// The groups it is missing from get it at their next change.
var ErrDeviceNotReady = errors.New("the new device has not been online with its key packages yet; the groups add it later")

// addDevice reconciles every group that lacks d and returns how many
// still lack it.
func (e *Engine) addDevice(ctx context.Context, d identity.Device) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	lacking := 0
	err := e.eachGroup(ctx, "adding device "+d.Name, func(c *chatdb.Conversation) error {
		if e.hasDevice(c, d.IdentityKey) {
			return nil
		}
		if err := e.reconcile(ctx, c); err != nil {
			return err
		}
		if !e.hasDevice(c, d.IdentityKey) {
			lacking++
		}
		return nil
	})
	return lacking, err
}

// hasDevice reports whether c's group has a leaf signed with key.
func (e *Engine) hasDevice(c *chatdb.Conversation, key ed25519.PublicKey) bool {
	found := false
	_ = e.db.View(func(tx *chatdb.Tx) error {
		g, err := e.loadGroup(tx, c)
		if err == nil {
			found = slices.ContainsFunc(members(g), func(m member) bool { return bytes.Equal(m.key, key) })
		}
		return nil
	})
	return found
}

// DeviceRemoved is called on the device that removed device id of the
// account, after it published the list that revokes it: every group and
// DM of the account gets one commit that removes id's leaves, so the
// group's keys move on and id reads nothing more.
func (e *Engine) DeviceRemoved(ctx context.Context, id identity.DeviceID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.acct.Forget(e.self)
	return e.eachGroup(ctx, "removing device "+id.String(), func(c *chatdb.Conversation) error {
		return e.reconcile(ctx, c)
	})
}

// eachGroup runs fn on every group and DM the account is in, and joins
// the errors. e.mu is held.
func (e *Engine) eachGroup(ctx context.Context, what string, fn func(c *chatdb.Conversation) error) error {
	if !e.online {
		return fmt.Errorf("%s: %w", what, ErrOffline)
	}
	cs, err := e.Conversations()
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		if c.GroupID == nil || c.Left {
			continue
		}
		if err := fn(&c); err != nil {
			e.status("%s: %s: %v", Label(c), what, err)
			errs = append(errs, fmt.Errorf("%s: %w", Label(c), err))
		}
	}
	return errors.Join(errs...)
}

// reconcileLowest commits reconcile in the groups checkMembers found out
// of line with their members' device lists, where this device has the
// lowest leaf among the members whose devices are current, so that not
// every member races for it. e.mu is held.
func (e *Engine) reconcileLowest(ctx context.Context) {
	ids := e.stale
	e.stale = nil
	for _, id := range ids {
		c, err := e.activeGroup(id)
		if err != nil || !e.online {
			continue
		}
		first := false
		err = e.db.View(func(tx *chatdb.Tx) error {
			g, err := e.loadGroup(tx, &c)
			if err != nil {
				return err
			}
			low, ok := e.lowestCurrentLeaf(ctx, g)
			first = ok && low == g.OwnLeaf()
			return nil
		})
		if err != nil || !first {
			continue
		}
		if err := e.reconcile(ctx, &c); err != nil {
			e.status("%s: bringing in members' devices: %v", Label(c), err)
		}
	}
}

// lowestCurrentLeaf is the lowest leaf of g whose device is current in its
// account's list as this client sees it, among the leaves of admins in a
// group with roles (only they may change other accounts' devices).
func (e *Engine) lowestCurrentLeaf(ctx context.Context, g *mls.Group) (mls.LeafIndex, bool) {
	r, err := groupRoles(g)
	if err != nil {
		return 0, false
	}
	for _, m := range members(g) { // Roster is in leaf order
		if r != nil && !r.IsAdmin(m.account) {
			continue
		}
		if m.leaf == g.OwnLeaf() {
			return m.leaf, true
		}
		p, err := e.resolveDevice(ctx, m.account, m.key)
		if err != nil {
			continue
		}
		if _, ok := p.DeviceByKey(m.key); ok {
			return m.leaf, true
		}
	}
	return 0, false
}

// markStale queues c's group for reconcileLowest.
func (e *Engine) markStale(c *chatdb.Conversation) {
	if !slices.Contains(e.stale, c.ID) {
		e.stale = append(e.stale, c.ID)
	}
}

// deviceName names device id of p for a line: its name in p's list, else
// its id.
func deviceName(p client.Peer, key ed25519.PublicKey) string {
	if p.List != nil {
		for _, d := range p.List.Devices {
			if bytes.Equal(d.IdentityKey, key) {
				return fmt.Sprintf("%q", d.Name)
			}
		}
	}
	return identity.DeviceIDOf(key).String()
}
