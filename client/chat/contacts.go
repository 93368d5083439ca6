package chat

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/quicprochat/qpc/client"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/mls"
)

// noteKey records key as addr's account key. A key other than the one
// recorded before is a key change: it is returned, shown on the status
// line and in the DM with addr, with the old and new safety numbers, and
// kept to be shown again at the next send (clearToSend). A verified
// contact whose key is no longer the one verified is flagged KeyChanged,
// which refuses sending until the user verifies again.
func (e *Engine) noteKey(tx *chatdb.Tx, addr string, key []byte) (*KeyChange, error) {
	if addr == e.self {
		return nil, nil
	}
	ct, ok, err := tx.Contact(addr)
	if err != nil || ok && contactCurrent(&ct, key) {
		return nil, err
	}
	if !ok {
		ct = chatdb.Contact{Address: addr}
	}
	changed := len(ct.IdentityKey) > 0 && !bytes.Equal(ct.IdentityKey, key)
	if changed {
		ct.PreviousKey, ct.NoticeOnSend = ct.IdentityKey, true
	}
	ct.IdentityKey = bytes.Clone(key)
	ct.KeyChanged = ct.Verified && !bytes.Equal(ct.VerifiedKey, key)
	ct.Updated = e.now()
	if err := tx.PutContact(&ct); err != nil {
		return nil, err
	}
	if !changed {
		return nil, nil
	}
	change := e.keyChange(addr, ct.PreviousKey, key, ct.KeyChanged)
	e.status("%s", change)
	if c, ok, err := e.dmConversation(tx, addr); err != nil {
		return nil, err
	} else if ok {
		if err := e.systemLine(tx, &c, "%s", change); err != nil {
			return nil, err
		}
	}
	return change, nil
}

// contactCurrent reports whether ct already records key as it would.
func contactCurrent(ct *chatdb.Contact, key []byte) bool {
	return bytes.Equal(ct.IdentityKey, key) && ct.KeyChanged == (ct.Verified && !bytes.Equal(ct.VerifiedKey, key))
}

// checkMembers compares each member device of g with the device list
// its account publishes, and says so in c about any that is not a current
// device of that account with that key: what it signs may not be from the
// person, and its account removed it or never listed it. Such a group, and
// one that lacks a current device of a member, is queued for
// reconcileLowest. Members whose keys cannot be fetched now are left for
// later.
func (e *Engine) checkMembers(ctx context.Context, tx *chatdb.Tx, c *chatdb.Conversation, g *mls.Group) error {
	ms := members(g)
	checked := map[string]bool{}
	for _, m := range ms {
		if m.leaf == g.OwnLeaf() {
			continue
		}
		p, err := e.resolveDevice(ctx, m.account, m.key)
		if err != nil {
			continue
		}
		if !checked[m.account] {
			checked[m.account] = true
			if _, err := e.noteKey(tx, p.Address, p.AccountKey); err != nil {
				return err
			}
			if missingDevice(p, ms) {
				e.markStale(c)
			}
		}
		if line := memberProblem(p, m); line != "" {
			if !p.Legacy() {
				e.markStale(c)
			}
			if err := e.systemLine(tx, c, "%s", line); err != nil {
				return err
			}
		}
	}
	return nil
}

// memberProblem says what is wrong with member m of account p, "" if it
// is a current device of p with the key it lists.
func memberProblem(p client.Peer, m member) string {
	d, ok := p.DeviceByKey(m.key)
	switch {
	case ok && (m.device == "" || m.device == d.ID.String()):
		return ""
	case p.Legacy() || m.device == "":
		return fmt.Sprintf("!! %s's key in this group is not the identity key %s publishes: "+
			"what is signed as %s here may not be from them", m.account, m.account, m.account)
	}
	if p.List != nil {
		if d, ok := p.List.Find(identity.DeviceIDOf(m.key)); ok && !d.Current() {
			return fmt.Sprintf("!! %s removed their device %q on %s: what it signs here is no longer from them; it is taken out of the group",
				m.account, d.Name, d.Revoked.UTC().Format(time.DateOnly))
		}
	}
	return fmt.Sprintf("!! a member of this group claims to be a device of %s (%s) that %s does not list: "+
		"what it signs here may not be from them; it is taken out of the group", m.account, m.device, m.account)
}

// missingDevice reports whether a current device of p has no leaf in ms
// while another of its devices does: the account added a device the group
// lacks. An account none of whose leaves is a current device (it reset its
// account key) gets no device added without a person's invitation.
func missingDevice(p client.Peer, ms []member) bool {
	anchored, missing := false, false
	for _, d := range p.Devices {
		in := slices.ContainsFunc(ms, func(m member) bool { return m.account == p.Address && bytes.Equal(m.key, d.IdentityKey) })
		anchored = anchored || in
		missing = missing || !in
	}
	return anchored && missing
}

// checkSenderDevice says in c when the device that sent an application
// message (leaf of ms) is not a current device of its account, and
// queues the group for reconcileLowest.
func (e *Engine) checkSenderDevice(ctx context.Context, tx *chatdb.Tx, c *chatdb.Conversation, ms []member, leaf mls.LeafIndex) error {
	i := slices.IndexFunc(ms, func(m member) bool { return m.leaf == leaf })
	if i < 0 {
		return nil
	}
	p, err := e.resolveDevice(ctx, ms[i].account, ms[i].key)
	if err != nil {
		return nil // checked again at the next commit
	}
	line := memberProblem(p, ms[i])
	if line == "" {
		return nil
	}
	if !p.Legacy() {
		e.markStale(c)
	}
	return e.systemLine(tx, c, "%s (the next line is from that device)", line)
}

// SafetyNumber returns the 60-digit safety number of the account and user
// (twelve groups of five digits), made of the account keys, and the
// contact as known (Verified, KeyChanged).
func (e *Engine) SafetyNumber(ctx context.Context, user string) (string, chatdb.Contact, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	addr, err := e.normalize(user)
	if err != nil {
		return "", chatdb.Contact{}, err
	}
	b, err := e.resolve(ctx, addr)
	if err != nil {
		return "", chatdb.Contact{}, err
	}
	var ct chatdb.Contact
	err = e.db.View(func(tx *chatdb.Tx) (err error) {
		ct, _, err = tx.Contact(addr)
		return err
	})
	return identity.SafetyNumber(e.self, e.acct.PublicAccountKey(), addr, b.AccountKey), ct, err
}

// Verify marks user verified with the account key it publishes now: the
// user compared safety numbers with them. It also confirms a key change:
// sending to them is allowed again.
func (e *Engine) Verify(ctx context.Context, user string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	addr, err := e.normalize(user)
	if err != nil {
		return err
	}
	if addr == e.self {
		return nil
	}
	b, err := e.resolve(ctx, addr)
	if err != nil {
		return err
	}
	return e.db.Update(func(tx *chatdb.Tx) error {
		ct, ok, err := tx.Contact(addr)
		if err != nil {
			return err
		}
		if !ok {
			ct = chatdb.Contact{Address: addr}
		}
		key := b.AccountKey
		ct.IdentityKey, ct.VerifiedKey = bytes.Clone(key), bytes.Clone(key)
		ct.Verified, ct.KeyChanged, ct.NoticeOnSend, ct.Updated = true, false, false, e.now()
		if err := tx.PutContact(&ct); err != nil {
			return err
		}
		if c, ok, err := e.dmConversation(tx, addr); err == nil && ok {
			return e.systemLine(tx, &c, "you verified %s's safety number", addr)
		}
		return nil
	})
}
