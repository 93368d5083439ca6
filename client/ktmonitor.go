package client

// This file is what key transparency shows a person: the account's own
// log entry checked against what its devices published (self-monitoring),
// and the evidence of lying logs that the home node passes on (gossip).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
)

// AlarmKind says what an Alarm is about.
type AlarmKind int

const (
	// AlarmForeignKey: the account's own log entry holds an account key
	// (or, for an account without devices, an identity key) that is not
	// the one this device knows: someone published keys for the account,
	// and contacts who resolve it now seal to them.
	AlarmForeignKey AlarmKind = iota + 1
	// AlarmForeignDevice: the account's device list names a device this
	// device has not seen before. It may be one the person linked on
	// another device; if not, someone holds the account key.
	AlarmForeignDevice
	// AlarmEvidence: the home node holds evidence that a key transparency
	// log (its own or another node's) showed heads that cannot both be
	// true.
	AlarmEvidence
)

// Alarm is something key transparency found that a person must see, on
// every device of the account. Its Error-like text is Text.
type Alarm struct {
	Kind AlarmKind
	// Address is the account (own alarms) or the domain (evidence).
	Address string
	// Device names the foreign device (AlarmForeignDevice): "name (id)".
	Device string
	// Evidence is the node's evidence (AlarmEvidence), and Verified
	// whether this client checked both heads' signatures and found them
	// a fork; "inconsistent" evidence is the reporting node's word.
	Evidence *protocol.KTEvidence
	Verified bool
}

// Text is the alarm in a person's words.
func (a Alarm) Text() string {
	switch a.Kind {
	case AlarmForeignKey:
		devices := ""
		if a.Device != "" {
			devices = " (devices: " + a.Device + ")"
		}
		return fmt.Sprintf("ALARM: the key directory publishes keys for your account %s that none of your devices made%s: "+
			"contacts who look you up now encrypt to someone else. Tell your node's admin; reset the account if you hold its recovery code", a.Address, devices)
	case AlarmForeignDevice:
		return fmt.Sprintf("ALARM: a device this machine has not seen is on your account %s: %s. "+
			"If you did not link it, remove it (qpc device remove) and reset the account", a.Address, a.Device)
	case AlarmEvidence:
		e := a.Evidence
		word := "reports"
		if a.Verified {
			word = "proves (both heads checked here)"
		}
		return fmt.Sprintf("ALARM: node %s %s that the key transparency log of %s lied (%s, found %s): keys from %s cannot be trusted",
			e.ReportedBy, word, e.Domain, e.Reason, e.Found.UTC().Format(time.RFC3339), e.Domain)
	}
	return "ALARM: key transparency"
}

// alarm tells a.Alarms, if set.
func (a *Account) alarm(al Alarm) {
	if a.Alarms != nil {
		a.Alarms(al)
	}
}

// MonitorSelf checks the account's own entry in its home node's log, as
// the node resolves it now over c (nil: a.Client), with its proof checked
// like any resolve's, against what this device knows: known, the device
// list it holds (nil for an account without devices). A foreign account
// key or device raises an Alarm. It returns the account as published and
// the alarms; the caller adopts the new list when it accepts it.
func (a *Account) MonitorSelf(ctx context.Context, c *Client, known *identity.DeviceList) (Peer, []Alarm, error) {
	if c == nil {
		c = a.Client
	}
	a.Forget(a.Address())
	p, err := a.resolveOn(ctx, c, protocol.Address{User: strings.ToLower(a.User), Domain: strings.ToLower(a.Domain)})
	if err != nil {
		return Peer{}, nil, err
	}
	alarms := SelfAlarms(a.Address(), a.Keys.IdentityPublic(), known, p)
	for _, al := range alarms {
		a.alarm(al)
	}
	return p, alarms, nil
}

// SelfAlarms compares p, the account addr as its node publishes it (and
// its log holds), with what a device of it knows: its own identity key
// and known, the account's device list it holds (nil: none). It returns
// the alarms, none when everything published is the account's.
func SelfAlarms(addr string, ownIdentity []byte, known *identity.DeviceList, p Peer) []Alarm {
	if known == nil {
		if p.List != nil || !bytes.Equal(p.Bundle.IdentityKey, ownIdentity) {
			return []Alarm{{Kind: AlarmForeignKey, Address: addr}}
		}
		return nil
	}
	if p.List == nil || !bytes.Equal(p.AccountKey, known.AccountKey) {
		return []Alarm{{Kind: AlarmForeignKey, Address: addr, Device: deviceNames(p.Devices)}}
	}
	seen := map[identity.DeviceID]bool{}
	for _, d := range known.Devices {
		seen[d.ID] = true
	}
	var out []Alarm
	for _, d := range p.Devices {
		if !seen[d.ID] {
			out = append(out, Alarm{Kind: AlarmForeignDevice, Address: addr, Device: deviceNames([]identity.Device{d})})
		}
	}
	return out
}

// deviceNames lists devices as an alarm names them.
func deviceNames(devices []identity.Device) string {
	names := make([]string, len(devices))
	for i, d := range devices {
		names[i] = fmt.Sprintf("%q (%s)", d.Name, d.ID)
	}
	return strings.Join(names, ", ")
}

// Gossip hands the home node the heads this account holds (KT) and
// raises an Alarm for each piece of evidence the node returns that this
// account has not seen in this run. A node that cannot gossip (it
// predates key transparency, or is busy) is not an error for the caller:
// gossip is best effort, and the answer's evidence is what matters.
func (a *Account) Gossip(ctx context.Context) []protocol.KTEvidence { return a.GossipOn(ctx, a.Client) }

// GossipOn is Gossip over the connection c.
func (a *Account) GossipOn(ctx context.Context, c *Client) []protocol.KTEvidence {
	heads := a.ktBook().Heads()
	ev, err := c.KTGossip(ctx, heads)
	if err != nil {
		return nil
	}
	var fresh []protocol.KTEvidence
	for _, e := range ev {
		id := sha256.Sum256(append(append([]byte(e.Reason+"\x00"), e.First...), e.Second...))
		a.mu.Lock()
		if a.shown == nil {
			a.shown = map[[32]byte]bool{}
		}
		old := a.shown[id]
		a.shown[id] = true
		a.mu.Unlock()
		if old {
			continue
		}
		fresh = append(fresh, e)
		a.alarm(Alarm{Kind: AlarmEvidence, Address: e.Domain, Evidence: &e, Verified: CheckEvidence(e) == nil})
	}
	return fresh
}

// CheckEvidence checks a fork for itself: both heads parse, are of
// e.Domain's log, carry valid signatures by one signer, and have one size
// with two roots. Who the signer is (the CA) is not checked here: the
// heads' own signatures make the node that signed them unable to deny
// them. Evidence of another reason returns an error: only the node
// reporting it holds the failed proof.
func CheckEvidence(e protocol.KTEvidence) error {
	a, err := kt.ParseSignedHead(e.First)
	if err != nil {
		return err
	}
	b, err := kt.ParseSignedHead(e.Second)
	if err != nil {
		return err
	}
	if !strings.EqualFold(a.Domain, e.Domain) || !kt.SameLog(a, b) {
		return fmt.Errorf("%w: heads of different logs", ErrLogInconsistent)
	}
	if err := a.Verify(); err != nil {
		return err
	}
	if err := b.Verify(); err != nil {
		return err
	}
	ka, err := a.PublicKey()
	if err != nil {
		return err
	}
	kb, err := b.PublicKey()
	if err != nil {
		return err
	}
	if !ka.Equal(kb) {
		return fmt.Errorf("%w: heads signed by different keys", ErrHeadSigner)
	}
	if _, fork := kt.Contradicts(a, b); !fork {
		return fmt.Errorf("%w: the heads do not contradict", ErrLogInconsistent)
	}
	return nil
}
