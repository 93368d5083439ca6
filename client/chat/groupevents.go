package chat

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/mls"
)

// What the members of a group see when someone comes or goes (issue 24:
// after bob's /leave the others read "bob was removed by you", and "bob
// joined" before bob had run /join):
//
//   - "bob was added by alice" when the commit that adds bob is applied.
//     MLS makes bob a member then, but whether he accepts is his: /join
//     is local to his machine and sends nothing, so that declining tells
//     nobody.
//   - "bob joined" before the first message or commit of bob that a member
//     reads after that: the first sign that bob is in. A bob who never
//     writes is never shown as joined.
//   - "bob left" when bob proposed his own removal (Leave, a declined
//     invitation, or another of his devices leaving for him), whoever
//     committed it; "bob was removed by carol" when another member did.
//
// The members added and not heard from yet are kept per conversation in
// the chat database's meta records (awaitingKey), which survive restarts.
// A DM says none of this: its creation line says who started it.

// leftAccounts returns the accounts among leaves that proposed their own
// removal in g's pending proposals: the commit that takes them makes them
// leave rather than be removed.
func leftAccounts(g *mls.Group, leaves []member) map[string]bool {
	account := func(l mls.LeafIndex) string {
		if i := slices.IndexFunc(leaves, func(m member) bool { return m.leaf == l }); i >= 0 {
			return leaves[i].account
		}
		return ""
	}
	left := map[string]bool{}
	for _, r := range g.PendingRemovals() {
		if a := account(r.Removed); a != "" && a == account(r.Sender) {
			left[a] = true
		}
	}
	return left
}

// awaitingKey names the meta record of the members of conv added and not
// heard from yet.
func awaitingKey(conv chatdb.ConvID) string { return "awaiting:" + hex.EncodeToString(conv[:]) }

func (e *Engine) awaiting(tx *chatdb.Tx, conv chatdb.ConvID) ([]string, error) {
	raw, err := tx.Meta(awaitingKey(conv))
	if err != nil || raw == nil {
		return nil, err
	}
	var as []string
	if err := json.Unmarshal(raw, &as); err != nil {
		return nil, fmt.Errorf("chat: members awaited in a group: %w", err)
	}
	return as, nil
}

func (e *Engine) putAwaiting(tx *chatdb.Tx, conv chatdb.ConvID, as []string) error {
	raw, err := json.Marshal(as)
	if err != nil {
		return err
	}
	return tx.PutMeta(awaitingKey(conv), raw)
}

// added records the line of account, added to c by by, and waits to hear
// from it.
func (e *Engine) added(tx *chatdb.Tx, c *chatdb.Conversation, account, by string) error {
	if c.Kind == chatdb.KindDM {
		return nil
	}
	if err := e.systemLine(tx, c, "%s was added by %s", account, who(by, e.self)); err != nil {
		return err
	}
	as, err := e.awaiting(tx, c.ID)
	if err != nil || slices.Contains(as, account) {
		return err
	}
	return e.putAwaiting(tx, c.ID, append(as, account))
}

// heardFrom records that account wrote in c (a message or a commit): the
// first time after it was added, the line "account joined".
func (e *Engine) heardFrom(tx *chatdb.Tx, c *chatdb.Conversation, account string) error {
	as, err := e.awaiting(tx, c.ID)
	if err != nil || !slices.Contains(as, account) {
		return err
	}
	if err := e.putAwaiting(tx, c.ID, slices.DeleteFunc(as, func(a string) bool { return a == account })); err != nil {
		return err
	}
	return e.systemLine(tx, c, "%s joined", account)
}

// went records the line of account gone from c: left, when it proposed
// its own removal (or committed it), else removed by by; it is no longer
// awaited.
func (e *Engine) went(tx *chatdb.Tx, c *chatdb.Conversation, account, by string, left bool) error {
	if as, err := e.awaiting(tx, c.ID); err != nil {
		return err
	} else if slices.Contains(as, account) {
		if err := e.putAwaiting(tx, c.ID, slices.DeleteFunc(as, func(a string) bool { return a == account })); err != nil {
			return err
		}
	}
	if left || account == by || by == "" {
		return e.systemLine(tx, c, "%s left", account)
	}
	return e.systemLine(tx, c, "%s was removed by %s", account, who(by, e.self))
}
