package chat

import (
	"bytes"
	"context"
	"crypto/ed25519"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/mls"
)

// noteKey records key as addr's identity key. A verified contact whose key
// is no longer the one verified is flagged, loudly: in the status line and
// in the DM with them.
func (e *Engine) noteKey(tx *chatdb.Tx, addr string, key []byte) error {
	if addr == e.self {
		return nil
	}
	ct, ok, err := tx.Contact(addr)
	if err != nil || ok && contactCurrent(&ct, key) {
		return err
	}
	if !ok {
		ct = chatdb.Contact{Address: addr}
	}
	wasChanged := ct.KeyChanged
	ct.IdentityKey = bytes.Clone(key)
	ct.KeyChanged = ct.Verified && !bytes.Equal(ct.VerifiedKey, key)
	ct.Updated = e.now()
	if err := tx.PutContact(&ct); err != nil {
		return err
	}
	if ct.KeyChanged && !wasChanged {
		warning := "!! the identity key of " + addr + " CHANGED since you verified it: someone may be impersonating them. " +
			"Compare safety numbers again (/verify " + addr + ")."
		e.status("%s", warning)
		if c, ok, err := e.dmConversation(tx, addr); err == nil && ok {
			return e.systemLine(tx, &c, "%s", warning)
		}
	}
	return nil
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
		b, err := e.acct.Resolve(ctx, addr)
		if err != nil {
			continue
		}
		if err := e.noteKey(tx, addr, b.IdentityKey); err != nil {
			return err
		}
		if !bytes.Equal(b.IdentityKey, m.SignatureKey) {
			if err := e.systemLine(tx, c, "!! %s's key in this group is not the identity key %s publishes: "+
				"what is signed as %s here may not be from them", addr, addr, addr); err != nil {
				return err
			}
		}
	}
	return nil
}

// SafetyNumber returns the 60-digit safety number of the account and user,
// and the contact as known (Verified, KeyChanged).
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
	own := e.acct.Keys.Identity.Public().(ed25519.PublicKey)
	return identity.SafetyNumber(e.self, own, addr, b.IdentityKey), ct, err
}

// Verify marks user verified with the identity key it publishes now: the
// user compared safety numbers with them.
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
		ct.IdentityKey, ct.VerifiedKey = bytes.Clone(b.IdentityKey), bytes.Clone(b.IdentityKey)
		ct.Verified, ct.KeyChanged, ct.Updated = true, false, e.now()
		if err := tx.PutContact(&ct); err != nil {
			return err
		}
		if c, ok, err := e.dmConversation(tx, addr); err == nil && ok {
			return e.systemLine(tx, &c, "you verified %s's safety number", addr)
		}
		return nil
	})
}
