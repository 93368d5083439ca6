package chat

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
)

// ErrKeyChanged means the account key of a contact the user verified is
// not the key they verified: nothing is sent to them until the user
// compares the new safety number and confirms it. *KeyChangedError says
// who and how.
var ErrKeyChanged = errors.New("the account key of a verified contact changed")

// KeyChangedError is ErrKeyChanged for one contact, with the change.
type KeyChangedError struct {
	Change *KeyChange
}

func (e *KeyChangedError) Error() string {
	a := e.Change.Address
	return fmt.Sprintf("not sent: the account key of %s changed since you verified it (safety number was %s, is now %s). "+
		"Compare the new number with them, in person or on a call, then confirm it: qpc verify %s --confirm (in qpc repl: /verify %s confirm)",
		a, e.Change.OldSafetyNumber, e.Change.NewSafetyNumber, a, a)
}

// Unwrap makes a KeyChangedError ErrKeyChanged.
func (e *KeyChangedError) Unwrap() error { return ErrKeyChanged }

// KeyChange is a contact's account key seen to be another than the one
// recorded for them.
type KeyChange struct {
	// Address is the contact, user@domain.
	Address string
	// OldKey is the key recorded before (for a verified contact whose
	// sending is refused, the key they verified); NewKey the key the
	// contact publishes now.
	OldKey, NewKey ed25519.PublicKey
	// OldSafetyNumber and NewSafetyNumber are the safety numbers of the
	// account with the contact under OldKey and NewKey, twelve groups of
	// five digits.
	OldSafetyNumber, NewSafetyNumber string
	// Verified is set when the user had verified the contact under
	// OldKey: sending to them is refused until they confirm NewKey.
	Verified bool
}

// String is the notice a person reads in the conversation.
func (k *KeyChange) String() string {
	s := fmt.Sprintf("!! the account key of %s CHANGED: safety number was %s, is now %s. ", k.Address, k.OldSafetyNumber, k.NewSafetyNumber)
	if k.Verified {
		return s + "You had verified them: someone may be impersonating them. Nothing is sent to them until you compare the new number " +
			"and confirm it (/verify " + k.Address + " confirm, qpc verify " + k.Address + " --confirm)."
	}
	return s + "They may have reset their account, or someone may be impersonating them: compare the new number with them (/verify " +
		k.Address + ", qpc verify " + k.Address + ")."
}

// keyChange describes addr's key going from old to new.
func (e *Engine) keyChange(addr string, old, new []byte, verified bool) *KeyChange {
	own := e.acct.PublicAccountKey()
	return &KeyChange{
		Address: addr, OldKey: bytes.Clone(old), NewKey: bytes.Clone(new), Verified: verified,
		OldSafetyNumber: identity.SafetyNumber(e.self, own, addr, old),
		NewSafetyNumber: identity.SafetyNumber(e.self, own, addr, new),
	}
}

// NoteContact looks up the account key addr publishes now and records it
// among the contacts. It returns the change when the key differs from the
// one recorded before and this is the first time that is seen; the change
// is also shown in the DM with addr and on the status line. qpc recv calls
// it for the sender of every message it shows.
func (e *Engine) NoteContact(ctx context.Context, addr string) (*KeyChange, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	addr, err := e.normalize(addr)
	if err != nil {
		return nil, err
	}
	_, change, err := e.resolveNoting(ctx, addr)
	return change, err
}

// ClearToSend is asked before anything is sent to addr. It records the
// account key addr publishes now (as NoteContact), and returns the key
// change to show the user with this send: the first one seen now, or one
// seen before that was not yet shown at a send (once). A contact verified
// under another key is refused with a *KeyChangedError until the user
// verifies again (Verify).
func (e *Engine) ClearToSend(ctx context.Context, addr string) (*KeyChange, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	addr, err := e.normalize(addr)
	if err != nil {
		return nil, err
	}
	if _, _, err := e.resolveNoting(ctx, addr); err != nil {
		return nil, err
	}
	var change *KeyChange
	err = e.db.Update(func(tx *chatdb.Tx) (err error) {
		change, err = e.clearToSend(tx, addr)
		return err
	})
	return change, err
}

// clearToSend is ClearToSend on what the contacts record, without a
// lookup: an offline send is checked against the last key seen. A
// change the lookup just saw is returned too, and counts as shown.
func (e *Engine) clearToSend(tx *chatdb.Tx, addr string) (*KeyChange, error) {
	if addr == e.self {
		return nil, nil
	}
	ct, ok, err := tx.Contact(addr)
	if err != nil || !ok {
		return nil, err
	}
	if ct.KeyChanged {
		return nil, &KeyChangedError{Change: e.keyChange(addr, ct.VerifiedKey, ct.IdentityKey, true)}
	}
	if !ct.NoticeOnSend {
		return nil, nil
	}
	ct.NoticeOnSend = false
	if err := tx.PutContact(&ct); err != nil {
		return nil, err
	}
	if len(ct.PreviousKey) == 0 {
		return nil, nil
	}
	return e.keyChange(addr, ct.PreviousKey, ct.IdentityKey, false), nil
}
