package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

// Lines typed into a DM that has no MLS group yet (one that holds only
// sealed messages, or one opened offline with DM) are queued like any
// other: starting the group needs the node, and the person typing should
// not have to wait for it. The flush that meets the first such line
// starts the group, in place, and then sends the group's Welcome before
// the DM's lines, so that the peer can read them at once. A peer who
// cannot join a group (no device, no KeyPackage: a client that has never
// been online since it registered, or an older one) gets the lines as
// qpc send reaches them, sealed to each of their devices. A line that
// cannot leave either way (no such user) is taken out of the outbox and
// said so in its conversation: never left to block the lines behind it,
// never dropped silently. A refusal that may pass keeps the lines
// queued: the node busy or rate limited holds up the outbox as for any
// line; the peer's node out of reach (its domain not known to the node
// now, its link down) holds up only that DM's lines, told each flush.

// grouplessDM returns the conversation of outbox entry o when o is a
// chat line of a DM that has no group yet.
func (e *Engine) grouplessDM(o *chatdb.Outgoing) (chatdb.Conversation, bool) {
	if o.Payload != nil || o.MsgID == (chatdb.MsgID{}) {
		return chatdb.Conversation{}, false
	}
	c, err := e.conversation(o.Conv)
	if err != nil || c.Kind != chatdb.KindDM || c.GroupID != nil || c.Left {
		return chatdb.Conversation{}, false
	}
	return c, true
}

// cannotJoin reports whether err, from starting a DM's group, means the
// peer cannot be in one now, whatever is tried again.
func cannotJoin(err error) bool {
	return errors.Is(err, protocol.ErrNoKeyPackage) || errors.Is(err, errNoSuite) ||
		errors.Is(err, identity.ErrNoDevice) || errors.Is(err, ErrNoPQKeyPackage) ||
		errors.Is(err, ErrClassicRefused) || errors.Is(err, protocol.ErrNoKeys) || unreachable(err)
}

// unreachable reports whether err means no message can reach the peer:
// no such user.
func unreachable(err error) bool {
	return errors.Is(err, protocol.ErrUnknownUser) || errors.Is(err, protocol.ErrBadAddress)
}

// peerAway reports whether err means the peer's node cannot be reached
// now: not the node's fault, and maybe not for long (a node that has just
// come back has its federation links still to make). Only that peer's
// lines wait.
func peerAway(err error) bool {
	return errors.Is(err, protocol.ErrUnknownDomain) || errors.Is(err, protocol.ErrPeerUnreachable) ||
		errors.Is(err, protocol.ErrNoLink)
}

// errPeerAway marks a DM whose lines wait because its peer's node cannot
// be reached now (peerAway): flush sends the other conversations' lines.
var errPeerAway = errors.New("the peer's node cannot be reached now")

// openQueuedDM starts the group of DM c, whose first queued line leads
// rest (the outbox from there on), and puts the DM's Welcome ahead of the
// lines that were queued; when the peer cannot join a group, it seals the
// DM's queued lines instead. It returns the lines sent. e.mu is held.
func (e *Engine) openQueuedDM(ctx context.Context, c chatdb.Conversation, rest []chatdb.Outgoing) (int, error) {
	started, err := e.startDM(ctx, c.Peer)
	if err != nil && peerAway(err) {
		return 0, fmt.Errorf("%w: %w", errPeerAway, err)
	}
	if err == nil && (started.ID != c.ID || started.GroupID == nil) {
		// Never so (startDM gives the DM its group in place), but flush
		// would meet the line again and again.
		return 0, fmt.Errorf("starting the DM with %s: its group went to another conversation", c.Peer)
	}
	if err == nil {
		// startDM queued the Welcome behind rest: rest goes behind it
		// again, in its order.
		return 0, e.db.Update(func(tx *chatdb.Tx) error {
			for i := range rest {
				o := rest[i]
				if err := tx.DeleteOutgoing(o.Seq); err != nil {
					return err
				}
				o.Seq = 0
				if err := tx.PutOutgoing(&o); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if !cannotJoin(err) {
		return 0, fmt.Errorf("starting the DM with %s: %w", c.Peer, err)
	}
	e.log.Info("peer cannot join a DM group; queued lines go sealed", "peer", c.Peer, "err", err)
	sent := 0
	// Their device list is looked up again: a device added since, or
	// removed, gets or stops getting these lines.
	e.acct.Forget(c.Peer)
	for i := range rest {
		o := rest[i]
		if o.Conv != c.ID || o.Payload != nil {
			continue
		}
		ok, err := e.sendSealedLine(ctx, c, &o)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// sendSealedLine seals the queued line o of DM c to each device of c's
// peer (and a sent copy to the account's other devices) and hands it to
// the node, reporting whether it left; a line that cannot reach the peer
// at all is failed. e.mu is held.
func (e *Engine) sendSealedLine(ctx context.Context, c chatdb.Conversation, o *chatdb.Outgoing) (bool, error) {
	// The line keeps its id: the peer's history, the sent copies on the
	// account's other devices and any receipt name the same message.
	outs, _, err := e.acct.SealAllAs(ctx, c.Peer, sealed.ID(o.MsgID), sealed.ContentText, []byte(o.Text))
	switch {
	case err != nil && peerAway(err):
		return false, fmt.Errorf("%w: %w", errPeerAway, err)
	case err != nil && (unreachable(err) || errors.Is(err, identity.ErrNoDevice) || errors.Is(err, protocol.ErrNoKeys)):
		return false, e.failQueued(c, o, err)
	case err != nil:
		return false, fmt.Errorf("sealing a queued line to %s: %w", c.Peer, err)
	case len(outs) == 0:
		return false, e.failQueued(c, o, fmt.Errorf("%s: %w", c.Peer, identity.ErrNoDevice))
	}
	return true, e.enqueue(ctx, o, outs)
}

// failQueued takes o out of the outbox and says in c why its line was not
// sent and what to do; the line loses its "queued" mark. e.mu is held.
func (e *Engine) failQueued(c chatdb.Conversation, o *chatdb.Outgoing, why error) error {
	hint := "check the name and send it again"
	if !unreachable(why) {
		hint = "they have no device that can receive it; send it again once they have used qpc"
	}
	err := e.db.Update(func(tx *chatdb.Tx) error {
		if err := tx.DeleteOutgoing(o.Seq); err != nil {
			return err
		}
		cur, ok, err := tx.Conversation(c.ID)
		if err != nil || !ok {
			return err
		}
		ms, err := tx.Messages(cur.ID, scanBack)
		if err != nil {
			return err
		}
		for i := range ms {
			if ms[i].ID == o.MsgID && ms[i].From == e.self && !ms[i].System {
				ms[i].Status = chatdb.StatusNone
				if err := tx.UpdateMessage(cur.ID, &ms[i]); err != nil {
					return err
				}
				mm := ms[i]
				e.emit(Event{Conv: cur.ID, Label: Label(cur), Message: &mm, Unread: cur.Unread, StateChange: true})
			}
		}
		return e.systemLine(tx, &cur, "not sent to %s: %q: %v; %s", c.Peer, excerpt(o.Text), why, hint)
	})
	if err == nil {
		e.status("a line to %s was not sent: %v", c.Peer, why)
	}
	return err
}

// excerpt is the start of a line, enough to tell which one a notice means.
func excerpt(text string) string {
	const n = 32
	r := []rune(text)
	if len(r) <= n {
		return text
	}
	return string(r[:n]) + "…"
}
