package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

// Bounds of the buffer of group messages that arrived before the commit
// or Welcome they follow.
const (
	maxEarly = 256
	earlyAge = 7 * 24 * time.Hour
)

// Handle processes messages from the mailbox and returns the sequence
// number up to which they are handled, to acknowledge. A message that
// cannot be read is reported and counts as handled; a message whose
// handling failed here (the database) is not, so it comes again.
func (e *Engine) Handle(ctx context.Context, msgs []protocol.Message) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var handled uint64
	for _, m := range msgs {
		if err := e.handleOne(ctx, m); err != nil {
			e.log.Warn("handling a message", "seq", m.Seq, "err", err)
			e.status("could not store message %d: %v", m.Seq, err)
			break
		}
		handled = m.Seq
	}
	e.commitLeavers(ctx)
	e.reconcileLowest(ctx)
	e.sendReceipts(ctx)
	if e.usedKeyPackage && e.online {
		// A Welcome used one of the KeyPackages: top them up now rather
		// than at the next connect.
		e.usedKeyPackage = false
		if err := e.replenish(ctx); err != nil {
			e.log.Warn("uploading key packages", "err", err)
		}
	}
	return handled
}

// handleOne processes one mailbox message. Only errors of this machine are
// returned; bad input is reported and dropped.
func (e *Engine) handleOne(ctx context.Context, m protocol.Message) error {
	o, err := sealed.Open(e.acct.Keys, e.self, m.Payload)
	if err != nil {
		e.status("a message (mailbox %d) could not be opened: %v", m.Seq, err)
		return nil
	}
	from := strings.ToLower(o.SenderAddress)
	if o.ContentType != ContentGroup {
		// A blocked account's texts, invitations and receipts are dropped
		// unread, before any lookup; its group messages go on to the
		// group, whose commits the account needs (chatMessage drops
		// what they say).
		if blocked, err := e.blockedSender(from); err != nil || blocked {
			return err
		}
	}
	if err := e.verifySender(ctx, from, o); err != nil {
		if o.ContentType == ContentGroup {
			// Perhaps a device its account removed, still in a group:
			// the group is checked again and the device taken out.
			if f, perr := parseGroupFrame(o.Body); perr == nil {
				_ = e.db.View(func(tx *chatdb.Tx) error {
					if c, ok, err := e.groupConversation(tx, f.GroupID); err == nil && ok {
						e.markStale(&c)
					}
					return nil
				})
			}
		}
		return e.unverified(from, o, err)
	}
	switch o.ContentType {
	case sealed.ContentText:
		return e.handleText(from, o)
	case client.ContentSentCopy:
		return e.handleSentCopy(from, o)
	case client.ContentBlockList:
		return e.handleBlockList(from, o)
	case ContentReceipt:
		return e.handleReceipt(from, o)
	case ContentEdit, ContentDelete:
		return e.handleSealedChange(from, o)
	case ContentWelcome:
		return e.handleWelcome(ctx, from, o.Body)
	case ContentGroup:
		f, err := parseGroupFrame(o.Body)
		if err != nil {
			e.status("a message from %s was dropped: %v", from, err)
			return nil
		}
		return e.db.Update(func(tx *chatdb.Tx) error {
			c, ok, err := e.groupConversation(tx, f.GroupID)
			if err != nil {
				return err
			}
			if !ok {
				return e.keepEarly(tx, f.GroupID, from, f.Message)
			}
			return e.processGroupMessage(ctx, tx, &c, from, f.Message)
		})
	}
	e.status("a message from %s of an unknown type (%d) was dropped", from, o.ContentType)
	return nil
}

// verifySender checks o's signature against the keys from publishes now.
// A lookup kept from earlier (a long-running qpc repl keeps them) may be
// older than the message: on a mismatch, the keys are looked up again
// before the message is judged, so that a contact's new key is a key
// change (noteKey), not a forgery.
func (e *Engine) verifySender(ctx context.Context, from string, o *sealed.Opened) error {
	p, err := e.resolve(ctx, from)
	if err != nil {
		return fmt.Errorf("cannot check the sender: %w", err)
	}
	if _, ok := p.DeviceByKey(o.SenderIdentityKey); ok {
		return nil
	}
	e.acct.Forget(from)
	if p, err = e.resolve(ctx, from); err != nil {
		return fmt.Errorf("cannot check the sender: %w", err)
	}
	if _, ok := p.DeviceByKey(o.SenderIdentityKey); !ok {
		return fmt.Errorf("%w: signed by a key that is not a current device of %s", sealed.ErrSenderKeyMismatch, from)
	}
	return nil
}

// unverified shows a message whose sender could not be verified, never
// silently dropped: a text is filed in the DM with its claimed sender as
// a marked line with the reason; what would change a group is not
// applied, and said so there.
func (e *Engine) unverified(from string, o *sealed.Opened, why error) error {
	var line string
	if o.ContentType == sealed.ContentText {
		line = fmt.Sprintf("!! NOT VERIFIED: a message claiming to be from %s, signed by another key than %s publishes (%v); it may not be from them: %s",
			from, from, why, o.Body)
	} else {
		line = fmt.Sprintf("!! NOT VERIFIED: a group message claiming to be from %s was not applied: %v", from, why)
	}
	e.status("%s", line)
	return e.db.Update(func(tx *chatdb.Tx) error {
		c, ok, err := e.dmConversation(tx, from)
		if err != nil {
			return err
		}
		if !ok {
			c = e.newConversation(chatdb.KindDM, from, from)
			if err := tx.PutConversation(&c); err != nil {
				return err
			}
		}
		return e.systemLine(tx, &c, "%s", line)
	})
}

// handleText files a one-to-one message sent with qpc send under the DM
// with its sender, once per message id. A text signed outside the replay
// window is refused: its seen mark may already be pruned (pruneSeen), so
// only the window stops a relay from showing it again.
func (e *Engine) handleText(from string, o *sealed.Opened) error {
	if !e.inWindow(o.Time) {
		e.status("a message from %s was refused: signed %s, outside the accepted window (%s back, %s ahead)",
			from, o.Time.UTC().Format(time.DateTime), client.ReplayWindow, client.MaxClockSkew)
		return nil
	}
	return e.fileInDM(from, &chatdb.Message{ID: chatdb.MsgID(o.ID), From: from, Time: o.Time, Text: string(o.Body)}, false)
}

// inWindow reports whether a message signed at t is inside the replay
// window: one signed outside it is refused, since its seen mark may
// already be pruned (pruneSeen) and only the window stops a relay from
// showing it again.
func (e *Engine) inWindow(t time.Time) bool {
	now := e.now()
	return !t.Before(now.Add(-client.ReplayWindow)) && !t.After(now.Add(client.MaxClockSkew))
}

// fileInDM adds m to the DM with peer, made if there is none, once per
// sender and message id. A line shown already (shown: qpc recv printed
// it) leaves the DM's unread count as it was.
func (e *Engine) fileInDM(peer string, m *chatdb.Message, shown bool) error {
	return e.db.Update(func(tx *chatdb.Tx) error {
		c, ok, err := e.dmConversation(tx, peer)
		if err != nil {
			return err
		}
		if !ok {
			c = e.newConversation(chatdb.KindDM, peer, peer)
			if err := tx.PutConversation(&c); err != nil {
				return err
			}
		}
		if seen, err := tx.Seen(c.ID, m.From, m.ID); err != nil || seen {
			return err
		}
		if err := tx.MarkSeen(c.ID, m.From, m.ID, e.now()); err != nil {
			return err
		}
		if gone, err := e.tombstoned(tx, m.From, m.ID); err != nil || gone {
			return err // deleted before it came (tombstones.go)
		}
		if err := e.applyEarlyEdit(tx, m); err != nil { // an edit that overtook it
			return err
		}
		unread := c.Unread
		if err := e.addLine(tx, &c, m); err != nil {
			return err
		}
		if shown && c.Unread != unread {
			c.Unread = unread
			return tx.PutConversation(&c)
		}
		return nil
	})
}

// handleSentCopy files what another device of the account sent with qpc
// send (a sent copy, client.SentCopy) as the account's own line in the DM
// with its recipient, once per message id. Only the account itself sends
// copies; verifySender checked that a current device of it signed this.
func (e *Engine) handleSentCopy(from string, o *sealed.Opened) error {
	if from != e.self {
		e.status("a message from %s claiming to be a copy of your own was dropped", from)
		return nil
	}
	sc, err := client.ParseSentCopy(o.Body)
	if err != nil {
		e.status("a copy of a message from your other device was dropped: %v", err)
		return nil
	}
	if IsChange(sc.ContentType) {
		return e.sentCopyChange(sc)
	}
	if sc.ContentType != sealed.ContentText {
		return nil // what else a device sends (MLS) reaches this one as a member
	}
	to, err := e.normalize(sc.To)
	if err != nil || to == e.self {
		e.status("a copy of a message from your other device was dropped: recipient %q", sc.To)
		return nil
	}
	if !e.inWindow(o.Time) {
		e.status("a copy of a message to %s from your other device was refused: signed %s, outside the accepted window", to, o.Time.UTC().Format(time.DateTime))
		return nil
	}
	return e.fileInDM(to, &chatdb.Message{ID: chatdb.MsgID(o.ID), From: e.self, Time: o.Time, Text: string(sc.Body), Status: chatdb.StatusSent}, false)
}

func (e *Engine) dmConversation(tx *chatdb.Tx, peer string) (chatdb.Conversation, bool, error) {
	cs, err := tx.Conversations()
	if err != nil {
		return chatdb.Conversation{}, false, err
	}
	for _, c := range cs {
		if c.Kind == chatdb.KindDM && c.Peer == peer {
			return c, true, nil
		}
	}
	return chatdb.Conversation{}, false, nil
}

func (e *Engine) groupConversation(tx *chatdb.Tx, groupID []byte) (chatdb.Conversation, bool, error) {
	cs, err := tx.Conversations()
	if err != nil {
		return chatdb.Conversation{}, false, err
	}
	for _, c := range cs {
		if bytes.Equal(c.GroupID, groupID) && !c.Left {
			return c, true, nil
		}
	}
	return chatdb.Conversation{}, false, nil
}

// handleWelcome joins the group of an invitation. A group waits for /join
// before it is shown; a DM opens at once. Two people who start a DM with
// each other at the same moment make two groups: both keep the one with
// the lower group id.
func (e *Engine) handleWelcome(ctx context.Context, from string, body []byte) error {
	f, err := parseWelcomeFrame(body)
	if err != nil {
		e.status("an invitation from %s was dropped: %v", from, err)
		return nil
	}
	var w mls.MLSMessage
	if err := mls.Unmarshal(f.Welcome, &w); err != nil || w.Welcome == nil {
		e.status("an invitation from %s was dropped: not an MLS Welcome", from)
		return nil
	}
	if e.pqOnly && !mls.IsPostQuantum(w.Welcome.CipherSuite) {
		// Dropped before it touches a KeyPackage: the account stays out of
		// the group, and the inviter's group is unchanged but for a member
		// who never joins.
		e.status("an invitation from %s was refused: %v (its cipher suite is %v)", from, ErrClassicRefused, w.Welcome.CipherSuite)
		return nil
	}
	return e.db.Update(func(tx *chatdb.Tx) error {
		kpb, ref, lastResort, err := e.bundleFor(tx, w.Welcome)
		if err != nil {
			return err
		}
		if kpb == nil {
			e.status("an invitation from %s was dropped: it is for none of this machine's key packages", from)
			return nil
		}
		g, err := mls.JoinGroup(f.Welcome, kpb, nil, e.cfg)
		if err != nil {
			e.status("an invitation from %s could not be accepted: %v", from, err)
			return nil
		}
		if !lastResort {
			if err := tx.DeleteKeyPackage(ref); err != nil {
				return err
			}
		}
		e.usedKeyPackage = true
		if _, ok, err := e.groupConversation(tx, g.GroupID()); err != nil || ok {
			return err // the same Welcome again
		}
		if !slices.Contains(roster(g), from) {
			e.status("an invitation from %s was dropped: %s is not in the group", from, from)
			return nil
		}
		if err := checkInviter(g, from, e.self); err != nil { // roles.go
			e.status("an invitation from %s was dropped: %v", from, err)
			return nil
		}
		var c chatdb.Conversation
		if f.Kind == chatdb.KindDM {
			// The DM's peer is the account in it that is not this one: the
			// inviter, or, when another device of this account added this
			// one, the person that device talks with.
			peer := from
			if from == e.self {
				others := without(roster(g), e.self)
				if len(others) != 1 {
					e.status("an invitation to a DM from your other device was dropped: its members are %s", strings.Join(roster(g), ", "))
					return nil
				}
				peer = others[0]
			}
			old, ok, err := e.dmConversation(tx, peer)
			if err != nil {
				return err
			}
			if ok && old.GroupID != nil && !old.Left && bytes.Compare(old.GroupID, g.GroupID()) < 0 {
				return nil // ours wins; the peer switches to it on our Welcome
			}
			// A DM of sealed messages only (from qpc send of an older
			// client) becomes the encrypted one in place: the same
			// conversation, its history kept.
			inPlace := ok && old.GroupID == nil && !old.Left
			c = e.newConversation(chatdb.KindDM, peer, peer)
			if inPlace {
				c = old
			}
			c.Home, c.GroupID, c.Members = f.Home, g.GroupID(), roster(g)
			if err := tx.PutConversation(&c); err != nil {
				return err
			}
			if ok && !inPlace {
				if err := e.adoptHistory(tx, &old, &c); err != nil {
					return err
				}
			}
			if err := e.saveGroup(tx, &c, g); err != nil {
				return err
			}
			line := fmt.Sprintf("%s started an end-to-end encrypted DM with you", from)
			if from == e.self {
				line = fmt.Sprintf("your other device added this one to the DM with %s", peer)
			}
			if err := e.systemLine(tx, &c, "%s", line); err != nil {
				return err
			}
		} else if from == e.self || f.Member && slices.ContainsFunc(members(g), func(m member) bool { return m.account == e.self && m.leaf != g.OwnLeaf() }) {
			// This device joins a group its account is in already (added
			// by the account's other device, or by a member who saw the
			// group lacked it): nothing to accept.
			c = e.newConversation(chatdb.KindGroup, f.Name, "")
			c.Home, c.GroupID, c.Members = f.Home, g.GroupID(), roster(g)
			if err := tx.PutConversation(&c); err != nil {
				return err
			}
			if err := e.saveGroup(tx, &c, g); err != nil {
				return err
			}
			by := "your other device"
			if from != e.self {
				by = from
			}
			if err := e.systemLine(tx, &c, "%s added this device to #%s, which you are in (members: %s)", by, f.Name, strings.Join(c.Members, ", ")); err != nil {
				return err
			}
		} else {
			c = e.newConversation(chatdb.KindGroup, f.Name, "")
			c.Home, c.GroupID, c.Members = f.Home, g.GroupID(), roster(g)
			c.Invited, c.InvitedBy = true, from
			if err := tx.PutConversation(&c); err != nil {
				return err
			}
			if err := e.saveGroup(tx, &c, g); err != nil {
				return err
			}
			line := fmt.Sprintf("%s invited you to #%s (members: %s)", from, f.Name, strings.Join(c.Members, ", "))
			if err := tx.AppendMessage(c.ID, &chatdb.Message{System: true, From: e.self, Text: line, Time: e.now(), Received: e.now()}); err != nil {
				return err
			}
			e.emit(Event{Conv: c.ID, Label: Label(c), Invitation: true, Message: &chatdb.Message{System: true, From: from, Text: line, Time: e.now()}})
		}
		if err := e.rolesChanged(tx, &c, g, from); err != nil { // the admins as joined
			return err
		}
		if err := e.checkMembers(ctx, tx, &c, g); err != nil {
			return err
		}
		return e.replayEarly(ctx, tx, &c)
	})
}

// processGroupMessage applies one MLS message of c's group; from is the
// sealed envelope's sender ("" for commits handed back by the ordering
// node). Messages of a later epoch wait in the early buffer.
func (e *Engine) processGroupMessage(ctx context.Context, tx *chatdb.Tx, c *chatdb.Conversation, from string, msg []byte) error {
	g, err := e.loadGroup(tx, c)
	if err != nil {
		return err
	}
	var m mls.MLSMessage
	if err := mls.Unmarshal(msg, &m); err != nil {
		e.status("a message in %s was dropped: %v", Label(*c), err)
		return nil
	}
	var epoch uint64
	commit := false
	switch {
	case m.PrivateMessage != nil:
		epoch, commit = m.PrivateMessage.Epoch, m.PrivateMessage.ContentType == mls.ContentCommit
	case m.PublicMessage != nil:
		epoch, commit = m.PublicMessage.Content.Epoch, m.PublicMessage.Content.ContentType == mls.ContentCommit
	default:
		e.status("a message in %s was dropped: wire format %d", Label(*c), m.WireFormat)
		return nil
	}
	if epoch > g.Epoch() {
		return e.keepEarly(tx, c.GroupID, from, msg)
	}
	if commit && epoch < g.Epoch() {
		return nil // a commit applied already (from the ordering node, say)
	}
	before, beforeLeaves := roster(g), members(g)
	left := leftAccounts(g, beforeLeaves)
	rec, err := g.ProcessMessage(msg)
	if err != nil {
		if errors.Is(err, mls.ErrGenerationConsumed) {
			return nil // a copy of a message read already
		}
		if errors.Is(err, mls.ErrPolicy) {
			return e.refusedChange(tx, c, msg, commit, err) // roles.go
		}
		e.status("a message in %s could not be read: %v", Label(*c), err)
		return nil
	}
	// The group names devices, people are accounts: the sealed sender is
	// the account of the device that signed in the group.
	sender, _ := parseMember(string(rec.Credential.Identity))
	if from != "" && sender != from {
		e.status("a message in %s was dropped: sealed by %s but signed in the group by %s", Label(*c), from, rec.Credential.Identity)
		return nil
	}
	if err := e.saveGroup(tx, c, g); err != nil {
		return err
	}
	switch rec.Kind {
	case mls.KindApplication:
		if err := e.checkSenderDevice(ctx, tx, c, beforeLeaves, rec.Sender); err != nil {
			return err
		}
		return e.chatMessage(tx, c, sender, string(rec.Credential.Identity), rec.ApplicationData)
	case mls.KindProposal:
		// A member leaves with every device of its account: a device
		// proposes the removal of its own leaf and of its account's
		// others (Leave).
		if rec.Proposal != nil && rec.Proposal.Type == mls.ProposalRemove {
			if i := slices.IndexFunc(beforeLeaves, func(m member) bool { return m.leaf == rec.Proposal.Remove }); i >= 0 && beforeLeaves[i].account == sender {
				e.leavers = append(e.leavers, leaver{conv: c.ID, leaf: rec.Proposal.Remove})
				if sender == e.self && rec.Proposal.Remove == g.OwnLeaf() {
					if e.leftElsewhere == nil {
						e.leftElsewhere = map[chatdb.ConvID]bool{}
					}
					e.leftElsewhere[c.ID] = true
				}
			}
		}
		return nil
	case mls.KindCommit:
		if rec.Removed {
			c.Left, c.Members = true, nil
			if err := tx.PutGroupState(c.ID, nil); err != nil {
				return err
			}
			if sender == e.self || e.leftElsewhere[c.ID] {
				delete(e.leftElsewhere, c.ID)
				return e.systemLine(tx, c, "you left %s on your other device", Label(*c))
			}
			return e.systemLine(tx, c, "you were removed from %s by %s", Label(*c), sender)
		}
		if err := e.rosterChanged(ctx, tx, c, g, before, beforeLeaves, sender, left); err != nil {
			return err
		}
		if err := e.checkMembers(ctx, tx, c, g); err != nil {
			return err
		}
		return e.replayEarly(ctx, tx, c)
	}
	return nil
}

// chatMessage files a decrypted chat frame from sender (an account),
// once per message id, and reports gaps in the sequence numbers of the
// device that sent it (device, its credential: each device numbers its
// messages on its own).
func (e *Engine) chatMessage(tx *chatdb.Tx, c *chatdb.Conversation, sender, device string, data []byte) error {
	if ctype, body, typed, err := parseTyped(data); typed {
		if err != nil || !IsChange(ctype) {
			e.status("a message from %s in %s was dropped: %v", sender, Label(*c), typedDropReason(err, ctype))
			return nil
		}
		if blocked, err := isBlocked(tx, sender); err != nil || blocked && sender != e.self {
			return err // a blocked account's edits and deletes are dropped too
		}
		return e.groupChange(tx, c, sender, ctype, body) // edits.go
	}
	f, err := parseChatFrame(data)
	if err != nil {
		e.status("a message from %s in %s was dropped: %v", sender, Label(*c), err)
		return nil
	}
	if seen, err := tx.Seen(c.ID, sender, f.ID); err != nil || seen {
		return err
	}
	if err := tx.MarkSeen(c.ID, sender, f.ID, e.now()); err != nil {
		return err
	}
	gone, err := e.tombstoned(tx, sender, f.ID)
	if err != nil {
		return err
	}
	if c.Senders == nil {
		c.Senders = map[string]uint64{}
	}
	device = strings.ToLower(device)
	last := c.Senders[device]
	if blocked, err := isBlocked(tx, sender); err != nil {
		return err
	} else if blocked && sender != e.self {
		// Dropped unshown; its number is kept, so that no gap is
		// reported for it when the sender is unblocked.
		c.Senders[device] = max(last, f.Seq)
		return tx.PutConversation(c)
	}
	if f.Seq > last+1 {
		n := f.Seq - last - 1
		if err := e.systemLine(tx, c, "%d message%s from %s missing (numbers %d-%d): lost or still on the way",
			n, plural(n), sender, last+1, f.Seq-1); err != nil {
			return err
		}
	}
	if f.Seq > last {
		c.Senders[device] = f.Seq
	}
	if err := e.heardFrom(tx, c, sender); err != nil { // "bob joined" (groupevents.go)
		return err
	}
	if gone {
		return tx.PutConversation(c) // deleted before it came (tombstones.go); its number counted
	}
	if c.Kind == chatdb.KindDM && sender == c.Peer {
		e.queueReceipt(sender, f.ID)
	}
	m := &chatdb.Message{ID: f.ID, From: sender, Time: f.Time, Text: f.Text}
	if err := e.applyEarlyEdit(tx, m); err != nil { // an edit that overtook it
		return err
	}
	return e.addLine(tx, c, m)
}

func plural(n uint64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// earlyMessage is a group message kept until the commit or Welcome it
// follows arrives.
type earlyMessage struct {
	Group []byte    `json:"g"`
	From  string    `json:"f"`
	Msg   []byte    `json:"m"`
	At    time.Time `json:"t"`
}

const earlyKey = "early"

func (e *Engine) loadEarly(tx *chatdb.Tx) ([]earlyMessage, error) {
	raw, err := tx.Meta(earlyKey)
	if err != nil || raw == nil {
		return nil, err
	}
	var ms []earlyMessage
	if err := json.Unmarshal(raw, &ms); err != nil {
		return nil, fmt.Errorf("chat: early messages: %w", err)
	}
	return ms, nil
}

func (e *Engine) storeEarly(tx *chatdb.Tx, ms []earlyMessage) error {
	raw, err := json.Marshal(ms)
	if err != nil {
		return err
	}
	return tx.PutMeta(earlyKey, raw)
}

func (e *Engine) keepEarly(tx *chatdb.Tx, group []byte, from string, msg []byte) error {
	ms, err := e.loadEarly(tx)
	if err != nil {
		return err
	}
	now := e.now()
	ms = slices.DeleteFunc(ms, func(m earlyMessage) bool { return now.Sub(m.At) > earlyAge })
	if len(ms) >= maxEarly {
		ms = ms[len(ms)-maxEarly+1:]
	}
	ms = append(ms, earlyMessage{Group: group, From: from, Msg: msg, At: now})
	return e.storeEarly(tx, ms)
}

// replayEarly processes the kept messages of c's group again, now that
// its epoch moved on.
func (e *Engine) replayEarly(ctx context.Context, tx *chatdb.Tx, c *chatdb.Conversation) error {
	ms, err := e.loadEarly(tx)
	if err != nil || len(ms) == 0 {
		return err
	}
	var mine, rest []earlyMessage
	for _, m := range ms {
		if bytes.Equal(m.Group, c.GroupID) {
			mine = append(mine, m)
		} else {
			rest = append(rest, m)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	if err := e.storeEarly(tx, rest); err != nil {
		return err
	}
	for _, m := range mine {
		if c.Left {
			break
		}
		if err := e.processGroupMessage(ctx, tx, c, m.From, m.Msg); err != nil {
			return err
		}
	}
	return nil
}

// leaver is a member who proposed its own removal.
type leaver struct {
	conv chatdb.ConvID
	leaf mls.LeafIndex
}

// commitLeavers commits the removal proposals of members who left, once
// per group, by the remaining member with the lowest leaf, so that not all
// of them race for it. e.mu is held.
func (e *Engine) commitLeavers(ctx context.Context) {
	byConv := map[chatdb.ConvID][]mls.LeafIndex{}
	for _, l := range e.leavers {
		byConv[l.conv] = append(byConv[l.conv], l.leaf)
	}
	e.leavers = nil
	for id, leaving := range byConv {
		c, err := e.activeGroup(id)
		if err != nil || !e.online {
			continue
		}
		var first bool
		err = e.db.View(func(tx *chatdb.Tx) error {
			g, err := e.loadGroup(tx, &c)
			if err != nil {
				return err
			}
			low, ok := lowestLeaf(g, leaving)
			first = g.PendingProposals() > 0 && ok && low == g.OwnLeaf()
			return nil
		})
		if err != nil || !first {
			continue
		}
		err = e.commitChange(ctx, &c, func(g *mls.Group) (*change, error) {
			out, err := g.Commit(nil)
			return &change{out: out}, err
		})
		if err != nil {
			e.status("%s: committing a member's leaving: %v", Label(c), err)
		}
	}
}

// lowestLeaf is the lowest leaf of a member not among leaving.
func lowestLeaf(g *mls.Group, leaving []mls.LeafIndex) (mls.LeafIndex, bool) {
	var low mls.LeafIndex
	found := false
	for _, m := range g.Roster() {
		if !slices.Contains(leaving, m.Leaf) && (!found || m.Leaf < low) {
			low, found = m.Leaf, true
		}
	}
	return low, found
}
