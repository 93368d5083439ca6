package chat

import (
	"bytes"
	"context"

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

// checkMembers compares each member's signature key in g with the identity
// key the member's address publishes, and warns in c about any that
// differ. Members whose keys cannot be fetched now are left for later.
func (e *Engine) checkMembers(ctx context.Context, tx *chatdb.Tx, c *chatdb.Conversation, g *mls.Group) error {
	for _, m := range g.Roster() {
		addr := string(m.Credential.Identity)
		if addr == e.self {
			continue
		}
		p, err := e.acct.ResolvePeer(ctx, addr)
		if err != nil {
			continue
		}
		if _, err := e.noteKey(tx, p.Address, AccountKey(p)); err != nil {
			return err
		}
		if _, ok := p.DeviceByKey(m.SignatureKey); !ok {
			if err := e.systemLine(tx, c, "!! %s's key in this group is not the identity key %s publishes: "+
				"what is signed as %s here may not be from them", addr, addr, addr); err != nil {
				return err
			}
		}
	}
	return nil
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
	return identity.SafetyNumber(e.self, e.ownAccountKey(), addr, AccountKey(b)), ct, err
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
		key := AccountKey(b)
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
