package client

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

// ErrListRollback means a node handed out a device list of an account that
// is older (a lower seq under the same account key) than one this client
// has seen: a node that replays an old list could bring back a device the
// account removed.
var ErrListRollback = errors.New("device list is older than one seen before")

// ErrPrimaryMismatch means published keys carry a device list whose primary
// device is not the one in the keys' legacy fields (identityKey, hpkeKey),
// which clients from before devices seal to.
var ErrPrimaryMismatch = errors.New("published keys: the primary device is not the list's")

// Peer is an account as its home node publishes it, verified up to its
// account key: every device certificate and the list are signed by
// AccountKey for Address.
//
// An account published before devices existed (a "legacy" account) has no
// list: its one key is both its account key and its only device, which is
// how such an account migrates (crypto/identity NewLegacyDeviceList), so
// its safety number does not change when it does.
type Peer struct {
	// Address is the account's address, user@domain (never a device's).
	Address string
	// AccountKey is the account's Ed25519 public key: the key people
	// verify, and the one safety numbers are made of.
	AccountKey ed25519.PublicKey
	// List is the verified device list; nil for a legacy account.
	// SignedList is its bytes as the account key signed them.
	List       *identity.DeviceList
	SignedList []byte
	// Devices are the account's current devices, the primary first. A
	// legacy account has one, made of its published keys.
	Devices []identity.Device
	// Bundle is the primary device's keys as published for clients from
	// before devices, with their signature (it verifies for Address).
	Bundle identity.PublicBundle
}

// Legacy reports whether the account was published without a device list.
func (p Peer) Legacy() bool { return p.List == nil }

// Seq returns the device list's seq, 0 for a legacy account.
func (p Peer) Seq() uint64 {
	if p.List == nil {
		return 0
	}
	return p.List.Seq
}

// Device returns the current device id of p.
func (p Peer) Device(id identity.DeviceID) (identity.Device, bool) {
	for _, d := range p.Devices {
		if d.ID == id {
			return d, true
		}
	}
	return identity.Device{}, false
}

// DeviceByKey returns the current device of p whose identity key is key:
// the device that signed a message with it.
func (p Peer) DeviceByKey(key ed25519.PublicKey) (identity.Device, bool) {
	for _, d := range p.Devices {
		if bytes.Equal(d.IdentityKey, key) {
			return d, true
		}
	}
	return identity.Device{}, false
}

// Recipient returns the mailbox address of device d of p: "user#dev@domain",
// or the plain address for a legacy account, whose one queue has no device.
func (p Peer) Recipient(d identity.Device) string {
	if p.Legacy() {
		return p.Address
	}
	a, err := protocol.ParseAddress(p.Address)
	if err != nil {
		return p.Address
	}
	a.Device = d.ID.String()
	return a.String()
}

// PeerOf verifies k, the published keys of addr (user@domain, as the node
// has it), up to the account key and returns the peer they describe. Keys
// with a device list must have the list's account key and its primary
// device in their legacy fields; keys without one are checked as a bundle
// signed by their identity key (a legacy account).
func PeerOf(addr string, k protocol.PublishedKeys) (Peer, error) {
	if len(k.DeviceList) == 0 {
		b := identity.PublicBundle{IdentityKey: k.IdentityKey, HPKEKey: k.HPKEKey, Signature: k.Signature}
		if err := b.Verify(addr); err != nil {
			return Peer{}, fmt.Errorf("published keys of %s: %w", addr, err)
		}
		return legacyPeer(addr, b), nil
	}
	l, err := identity.VerifyDeviceList(k.DeviceList, addr)
	if err != nil {
		return Peer{}, fmt.Errorf("device list of %s: %w", addr, err)
	}
	if !bytes.Equal(l.AccountKey, k.AccountKey) {
		return Peer{}, fmt.Errorf("device list of %s: %w: signed by another account key than published", addr, identity.ErrBadSignature)
	}
	cur := l.Current()
	if len(cur) == 0 {
		return Peer{}, fmt.Errorf("device list of %s: %w: no current device", addr, identity.ErrNoDevice)
	}
	if !bytes.Equal(cur[0].IdentityKey, k.IdentityKey) || !bytes.Equal(cur[0].HPKEKey, k.HPKEKey) {
		return Peer{}, fmt.Errorf("%s: %w", addr, ErrPrimaryMismatch)
	}
	b := identity.PublicBundle{IdentityKey: k.IdentityKey, HPKEKey: k.HPKEKey, Signature: k.Signature}
	return Peer{Address: addr, AccountKey: l.AccountKey, List: l, SignedList: k.DeviceList, Devices: cur, Bundle: b}, nil
}

// legacyPeer is the peer of an account published before devices, whose
// verified bundle is b: its one key is its account key and its device.
func legacyPeer(addr string, b identity.PublicBundle) Peer {
	d := identity.Device{ID: identity.DeviceIDOf(b.IdentityKey), IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey}
	return Peer{Address: addr, AccountKey: b.IdentityKey, Devices: []identity.Device{d}, Bundle: b}
}

// newerThan checks p against known, the signed device list of the same
// address seen before: under the same account key its seq may not go
// back. A list under another account key is a key change, which the caller
// shows; it is not refused here.
func (p Peer) newerThan(known []byte) error {
	if p.List == nil || len(known) == 0 {
		return nil
	}
	old, err := identity.VerifyDeviceList(known, p.Address)
	if err != nil || !bytes.Equal(old.AccountKey, p.AccountKey) {
		return nil
	}
	if p.List.Seq < old.Seq {
		return fmt.Errorf("%s: %w (seq %d, seen %d)", p.Address, ErrListRollback, p.List.Seq, old.Seq)
	}
	return nil
}
