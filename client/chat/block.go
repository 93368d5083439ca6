package chat

// This file is the account's block list (issue 30, docs/blocking.md): the
// accounts whose messages, invitations and channel posts every device of
// the account drops before it stores or shows them. The list lives in the
// chat database (chatdb.BlockList); a device that changes it sends the
// whole list to the account's other devices (client.ContentBlockList),
// and asks its node to refuse the blocked account's messages when the
// node knows who sends them (a user of the same node).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// ErrBlockSelf means the account tried to block itself.
var ErrBlockSelf = errors.New("you cannot block yourself")

// ErrBlockListFull means the block list holds client.MaxBlocked accounts.
var ErrBlockListFull = fmt.Errorf("the block list is full (%d accounts)", client.MaxBlocked)

// blockListUnsent names the meta record set while the account's other
// devices have not been sent the block list as it is now (it changed
// offline, or the send failed): Connected sends it.
const blockListUnsent = "blocklist-unsent"

// NodeBlock says what the home node's deny list did with a block.
type NodeBlock int

// What Block did on the node.
const (
	// NodeNotAsked: the blocked account is of another domain, whose
	// messages reach the node without their sender (docs/blocking.md).
	NodeNotAsked NodeBlock = iota
	// NodeDone: the node's deny list holds the account (or no longer
	// does, for an unblock).
	NodeDone
	// NodeSharedGroup: not asked, since the account shares a group with
	// the blocked one: the node would refuse that account's group commits
	// too, and the group would break on this side.
	NodeSharedGroup
	// NodeFailed: asked, and it failed (BlockResult.NodeErr), or the
	// engine is offline.
	NodeFailed
)

// BlockResult is what Block did.
type BlockResult struct {
	// Address is the account blocked or unblocked, user@domain.
	Address string
	// Changed is false when the list was that way already.
	Changed bool
	// Devices is how many other devices of the account were sent the
	// list; Pending is set when they will be sent it on the next
	// connect instead.
	Devices int
	Pending bool
	// Node is what the home node's deny list did; NodeErr why it failed.
	Node    NodeBlock
	NodeErr error
}

// BlockList returns the account's block list.
func (e *Engine) BlockList() (chatdb.BlockList, error) {
	var l chatdb.BlockList
	err := e.db.View(func(tx *chatdb.Tx) (err error) {
		l, err = tx.BlockList()
		return err
	})
	return l, err
}

// Blocked reports whether addr ("bob", "bob@b.example") is blocked.
func (e *Engine) Blocked(addr string) (bool, error) {
	a, err := e.normalize(addr)
	if err != nil {
		return false, err
	}
	l, err := e.BlockList()
	return l.Has(a), err
}

// Block adds addr to the block list (blocked) or removes it, sends the
// list to the account's other devices and, for an account of the home
// node's domain, sets the node's deny list. The list changes even when
// the engine is offline; the devices get it on the next connect.
func (e *Engine) Block(ctx context.Context, addr string, blocked bool) (BlockResult, error) {
	a, err := e.normalize(addr)
	if err != nil {
		return BlockResult{}, err
	}
	if a == e.self {
		return BlockResult{}, ErrBlockSelf
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	res := BlockResult{Address: a}
	shared := false
	err = e.db.Update(func(tx *chatdb.Tx) error {
		l, err := tx.BlockList()
		if err != nil {
			return err
		}
		if l.Has(a) == blocked {
			return nil
		}
		if blocked && len(l.Blocked) >= client.MaxBlocked {
			return ErrBlockListFull
		}
		l = l.With(a, blocked)
		l.Updated = e.now()
		res.Changed = true
		if shared, err = sharesGroup(tx, a); err != nil {
			return err
		}
		if err := tx.PutBlockList(l); err != nil {
			return err
		}
		return tx.PutMeta(blockListUnsent, []byte{1})
	})
	if err != nil || !res.Changed {
		return res, err
	}
	res.Devices, err = e.sendBlockList(ctx)
	if err != nil {
		res.Pending = true
		e.log.Debug("block list not sent to the other devices", "err", err)
	}
	domain := a[strings.LastIndexByte(a, '@')+1:]
	switch {
	case !strings.EqualFold(domain, e.acct.Domain):
		res.Node = NodeNotAsked
	case blocked && shared:
		res.Node = NodeSharedGroup
	case !e.online:
		res.Node, res.NodeErr = NodeFailed, ErrOffline
	default:
		if res.NodeErr = e.acct.Client.BlockSender(ctx, a, blocked); res.NodeErr != nil {
			res.Node = NodeFailed
		} else {
			res.Node = NodeDone
		}
	}
	if res.Node == NodeDone || res.Node == NodeFailed {
		// A failed change is tried again at the next connect; a done one
		// drops a change still waiting for the address.
		if err := e.noteNodeChange(a, blocked, res.Node == NodeFailed); err != nil {
			return res, err
		}
	}
	return res, nil
}

// blockListNode names the meta record of the changes to the node's deny
// list that failed (offline, the node unreachable): JSON, address to
// blocked, sent again by Connected (sendNodeChanges).
const blockListNode = "blocklist-node"

// noteNodeChange records (pending) or forgets the node change for addr.
// e.mu is held.
func (e *Engine) noteNodeChange(addr string, blocked, pending bool) error {
	return e.db.Update(func(tx *chatdb.Tx) error {
		changes, err := nodeChanges(tx)
		if err != nil {
			return err
		}
		_, had := changes[addr]
		if !pending && !had {
			return nil
		}
		if pending {
			changes[addr] = blocked
		} else {
			delete(changes, addr)
		}
		raw, err := json.Marshal(changes)
		if err != nil {
			return err
		}
		return tx.PutMeta(blockListNode, raw)
	})
}

// nodeChanges reads the pending node changes; a record this build cannot
// read is started over (the next block of each address sets it again).
func nodeChanges(tx *chatdb.Tx) (map[string]bool, error) {
	changes := map[string]bool{}
	raw, err := tx.Meta(blockListNode)
	if err != nil || raw == nil {
		return changes, err
	}
	if json.Unmarshal(raw, &changes) != nil {
		return map[string]bool{}, nil
	}
	return changes, nil
}

// sendNodeChanges sends the node the deny-list changes that failed
// before. e.mu is held.
func (e *Engine) sendNodeChanges(ctx context.Context) error {
	var changes map[string]bool
	if err := e.db.View(func(tx *chatdb.Tx) (err error) {
		changes, err = nodeChanges(tx)
		return err
	}); err != nil || len(changes) == 0 {
		return err
	}
	for addr, blocked := range changes {
		if err := e.acct.Client.BlockSender(ctx, addr, blocked); err != nil {
			return err
		}
		if err := e.noteNodeChange(addr, blocked, false); err != nil {
			return err
		}
	}
	return nil
}

// resendBlockList sends a non-empty block list to every other device of
// the account, a device just approved among them (DeviceAdded), which
// starts with none. A failure leaves it marked unsent for the next
// connect.
func (e *Engine) resendBlockList(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.db.Update(func(tx *chatdb.Tx) error {
		l, err := tx.BlockList()
		if err != nil || len(l.Blocked) == 0 {
			return err
		}
		return tx.PutMeta(blockListUnsent, []byte{1})
	})
	if err != nil {
		e.log.Warn("the block list for the new device", "err", err)
		return
	}
	// The account's own devices as published now, the new one among them.
	e.acct.Forget(e.self)
	if _, err := e.sendBlockList(ctx); err != nil {
		e.log.Debug("block list not sent to the new device yet", "err", err)
	}
}

// sharesGroup reports whether addr is a member of a group (not a DM) the
// account is in.
func sharesGroup(tx *chatdb.Tx, addr string) (bool, error) {
	cs, err := tx.Conversations()
	if err != nil {
		return false, err
	}
	for _, c := range cs {
		if c.Kind != chatdb.KindGroup || c.Left {
			continue
		}
		for _, m := range c.Members {
			if strings.EqualFold(m, addr) {
				return true, nil
			}
		}
	}
	return false, nil
}

// sendBlockList sends the block list to the account's other devices when
// it changed since they were last sent it, and returns to how many. e.mu
// is held.
func (e *Engine) sendBlockList(ctx context.Context) (int, error) {
	if !e.online {
		return 0, ErrOffline
	}
	var l chatdb.BlockList
	unsent := false
	err := e.db.View(func(tx *chatdb.Tx) error {
		raw, err := tx.Meta(blockListUnsent)
		if err != nil {
			return err
		}
		unsent = len(raw) > 0
		l, err = tx.BlockList()
		return err
	})
	if err != nil || !unsent {
		return 0, err
	}
	body, err := client.BlockList{Blocked: l.Blocked}.MarshalBinary()
	if err != nil {
		return 0, err
	}
	outs, err := e.acct.SealToOwnDevices(ctx, client.ContentBlockList, body)
	if err != nil {
		return 0, err
	}
	if len(outs) > 0 {
		rs, err := e.acct.Client.EnqueueBatch(ctx, outs)
		if err != nil {
			return 0, err
		}
		for _, r := range rs {
			if r.Err != nil {
				return 0, r.Err
			}
		}
	}
	return len(outs), e.db.Update(func(tx *chatdb.Tx) error { return tx.PutMeta(blockListUnsent, nil) })
}

// TakeBlockList is handleBlockList for a reader of the mailbox that opens
// messages itself (qpc recv): from, time and body are the opened
// message's sender, signed time and body.
func (e *Engine) TakeBlockList(from string, t time.Time, body []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.handleBlockList(strings.ToLower(from), &sealed.Opened{Time: t, ContentType: client.ContentBlockList, Body: body})
}

// handleBlockList takes the block list another device of the account sent
// (client.ContentBlockList), unless the list here changed after that
// device sent it. e.mu is held.
func (e *Engine) handleBlockList(from string, o *sealed.Opened) error {
	if from != e.self {
		e.status("a block list from %s was dropped: only your own devices send one", from)
		return nil
	}
	in, err := client.ParseBlockList(o.Body)
	if err != nil {
		e.status("a block list from your other device was dropped: %v", err)
		return nil
	}
	var added, removed []string
	err = e.db.Update(func(tx *chatdb.Tx) error {
		l, err := tx.BlockList()
		if err != nil {
			return err
		}
		if !o.Time.After(l.Updated) {
			return nil // this device's list is newer
		}
		next := chatdb.BlockList{Blocked: in.Blocked, Updated: o.Time}
		for _, a := range next.Blocked {
			if !l.Has(a) {
				added = append(added, a)
			}
		}
		for _, a := range l.Blocked {
			if !next.Has(a) {
				removed = append(removed, a)
			}
		}
		return tx.PutBlockList(next)
	})
	if err != nil {
		return err
	}
	if len(added) > 0 {
		e.status("your other device blocked %s", strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		e.status("your other device unblocked %s", strings.Join(removed, ", "))
	}
	return nil
}

// isBlocked reports whether sender is on the block list, inside tx.
func isBlocked(tx *chatdb.Tx, sender string) (bool, error) {
	l, err := tx.BlockList()
	return l.Has(sender), err
}

// blockedSender reports whether a sealed message from from is to be
// dropped unread: from is blocked and not the account itself.
func (e *Engine) blockedSender(from string) (bool, error) {
	if from == e.self {
		return false, nil
	}
	var blocked bool
	err := e.db.View(func(tx *chatdb.Tx) (err error) {
		blocked, err = isBlocked(tx, from)
		return err
	})
	return blocked, err
}
