package chat

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

// Delivery state. An own message of a DM or group moves forward only:
//
//	queued     in the outbox (chatdb.StatusQueued)
//	sent       the home node took it (its receipt)
//	delivered  the recipient's node stored it: every envelope to the
//	           recipients' devices came back with a mailbox seq (a local
//	           or directly federated recipient), or the mesh says
//	           delivered for the ones that went into the mesh (polled
//	           with MessageStatus); or a device of the DM's peer sent a
//	           delivery receipt
//	read       a device of the DM's peer sent a read receipt: only
//	           accounts that turned read receipts on send them, and only
//	           such an account shows them (SetReadReceipts)
//
// Receipts travel end to end encrypted like everything else, as a sealed
// envelope of content type ContentReceipt to every device of the peer:
//
//	1      version (1)
//	1      kind: 1 delivered, 2 read
//	1      count n, 1 to MaxReceiptIDs
//	16×n   the chat message ids
//
// They are sent for the chat messages of DMs (a group's state comes from
// the nodes' receipts alone), at most one frame per MaxReceiptIDs messages
// of a peer in each batch handled, never for a receipt, never queued in
// the outbox: one lost to a dropped connection is not sent again.
const (
	// ContentReceipt is the sealed content type of a receipt frame.
	ContentReceipt uint16 = 0x0103
	// MaxReceiptIDs is the most message ids one receipt frame carries.
	MaxReceiptIDs = 64
)

// ReceiptKind is what a receipt says of its messages.
type ReceiptKind uint8

// The kinds of receipts.
const (
	// ReceiptDelivered says a device of the recipient has the messages.
	ReceiptDelivered ReceiptKind = 1
	// ReceiptRead says the messages were shown on a device of the
	// recipient.
	ReceiptRead ReceiptKind = 2
)

// ErrReceipt means a receipt frame from another client is malformed.
var ErrReceipt = errors.New("malformed receipt")

type receiptFrame struct {
	Kind ReceiptKind
	IDs  []chatdb.MsgID
}

func (f *receiptFrame) marshal() ([]byte, error) {
	if f.Kind != ReceiptDelivered && f.Kind != ReceiptRead || len(f.IDs) == 0 || len(f.IDs) > MaxReceiptIDs {
		return nil, fmt.Errorf("%w: kind %d, %d ids", ErrReceipt, f.Kind, len(f.IDs))
	}
	b := make([]byte, 0, 3+16*len(f.IDs))
	b = append(b, frameVersion, byte(f.Kind), byte(len(f.IDs)))
	for _, id := range f.IDs {
		b = append(b, id[:]...)
	}
	return b, nil
}

func parseReceiptFrame(b []byte) (*receiptFrame, error) {
	if len(b) < 3 {
		return nil, fmt.Errorf("%w: %d bytes", ErrReceipt, len(b))
	}
	if b[0] != frameVersion {
		return nil, fmt.Errorf("%w: version %d", ErrReceipt, b[0])
	}
	f := &receiptFrame{Kind: ReceiptKind(b[1])}
	if f.Kind != ReceiptDelivered && f.Kind != ReceiptRead {
		return nil, fmt.Errorf("%w: kind %d", ErrReceipt, b[1])
	}
	n := int(b[2])
	if n == 0 || n > MaxReceiptIDs || len(b) != 3+16*n {
		return nil, fmt.Errorf("%w: %d ids in %d bytes", ErrReceipt, n, len(b))
	}
	f.IDs = make([]chatdb.MsgID, n)
	for i := range f.IDs {
		copy(f.IDs[i][:], b[3+16*i:])
	}
	return f, nil
}

// readReceiptsKey is the meta record of the read receipts setting: "on"
// or absent.
const readReceiptsKey = "read-receipts"

// ReadReceipts reports whether the account sends read receipts (and
// shows those of others); off unless SetReadReceipts turned it on.
func (e *Engine) ReadReceipts() bool {
	var on bool
	_ = e.db.View(func(tx *chatdb.Tx) error {
		v, err := tx.Meta(readReceiptsKey)
		on = string(v) == "on"
		return err
	})
	return on
}

// SetReadReceipts turns read receipts on or off for the account on this
// machine: on, what the REPL or qpc recv shows of a DM is told to its
// sender, and the read receipts of others are shown; off, neither.
func (e *Engine) SetReadReceipts(on bool) error {
	v := []byte("off")
	if on {
		v = []byte("on")
	}
	return e.db.Update(func(tx *chatdb.Tx) error { return tx.PutMeta(readReceiptsKey, v) })
}

// queueReceipt notes that a chat message from peer arrived in the DM, for
// the delivery receipt sendReceipts sends at the end of the batch.
// e.mu is held.
func (e *Engine) queueReceipt(peer string, id chatdb.MsgID) {
	if e.receipts == nil {
		e.receipts = map[string][]chatdb.MsgID{}
	}
	e.receipts[peer] = append(e.receipts[peer], id)
}

// sendReceipts sends the delivery receipts of the batch handled: one
// frame per MaxReceiptIDs messages of each peer. Offline they are
// dropped. e.mu is held.
func (e *Engine) sendReceipts(ctx context.Context) {
	pending := e.receipts
	e.receipts = nil
	if !e.online {
		return
	}
	for peer, ids := range pending {
		e.sendReceipt(ctx, ReceiptDelivered, peer, ids)
	}
}

// sendReceipt seals receipts of kind for ids to every device of peer.
// e.mu is held.
func (e *Engine) sendReceipt(ctx context.Context, kind ReceiptKind, peer string, ids []chatdb.MsgID) {
	for chunk := range slices.Chunk(ids, MaxReceiptIDs) {
		body, err := (&receiptFrame{Kind: kind, IDs: chunk}).marshal()
		if err != nil {
			e.log.Warn("receipt", "err", err)
			return
		}
		entries, err := e.sealTargets(ctx, &chatdb.Conversation{}, []target{{account: peer}}, ContentReceipt, sealed.NewID(), body)
		if err != nil {
			e.log.Debug("receipt not sent", "peer", peer, "err", err)
			return
		}
		outs := make([]client.Outgoing, len(entries))
		for i, en := range entries {
			outs[i] = client.Outgoing{Recipient: en.Recipient, Payload: en.Payload}
		}
		if len(outs) == 0 {
			return
		}
		if _, err := e.acct.Client.EnqueueBatch(ctx, outs); err != nil {
			e.log.Debug("receipt not sent", "peer", peer, "err", err)
			return
		}
	}
}

// markReadReceipts sends a read receipt for the last n lines of peer in
// the DM c when the setting is on. e.mu is held.
func (e *Engine) markReadReceipts(c chatdb.Conversation, n int) {
	if c.Kind != chatdb.KindDM || n <= 0 || !e.online || !e.ReadReceipts() {
		return
	}
	ms, err := e.History(c.ID, n+MaxReceiptIDs)
	if err != nil {
		return
	}
	var ids []chatdb.MsgID
	for i := len(ms) - 1; i >= 0 && len(ids) < n; i-- {
		if !ms[i].System && ms[i].From == c.Peer {
			ids = append(ids, ms[i].ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.sendReceipt(ctx, ReceiptRead, c.Peer, ids)
}

// handleReceipt moves the account's own messages in the DM with from to
// the state a receipt says. It is never shown as a line, and never
// answered with a receipt.
func (e *Engine) handleReceipt(from string, o *sealed.Opened) error {
	f, err := parseReceiptFrame(o.Body)
	if err != nil {
		e.log.Debug("receipt dropped", "from", from, "err", err)
		return nil
	}
	if from == e.self {
		return nil
	}
	state := chatdb.StatusDelivered
	if f.Kind == ReceiptRead {
		if !e.ReadReceipts() {
			return nil // shown only by who shares their own
		}
		state = chatdb.StatusRead
	}
	return e.db.Update(func(tx *chatdb.Tx) error {
		c, ok, err := e.dmConversation(tx, from)
		if err != nil || !ok {
			return err
		}
		return e.advance(tx, c, f.IDs, state)
	})
}

// scanBack is how far back in a conversation's history a state change
// looks for the message it is about.
const scanBack = 500

// advance moves the own messages ids of c forward to state (never back)
// and emits each change. e.mu is held, or the caller is inside an
// operation.
func (e *Engine) advance(tx *chatdb.Tx, c chatdb.Conversation, ids []chatdb.MsgID, state chatdb.Status) error {
	ms, err := tx.Messages(c.ID, scanBack)
	if err != nil {
		return err
	}
	for i := len(ms) - 1; i >= 0; i-- {
		m := &ms[i]
		if m.System || m.From != e.self || m.Status >= state || !slices.Contains(ids, m.ID) {
			continue
		}
		m.Status = state
		if err := tx.UpdateMessage(c.ID, m); err != nil {
			return err
		}
		mm := *m
		e.emit(Event{Conv: c.ID, Label: Label(c), Message: &mm, Unread: c.Unread, StateChange: true})
	}
	return nil
}

// meshWatchKey is the meta record of the own messages whose envelopes
// went into the mesh: JSON, a list of meshWatch.
const meshWatchKey = "mesh-watch"

// maxMeshWatch bounds the messages watched; the oldest are forgotten
// (they stay "sent").
const maxMeshWatch = 256

// meshWatch is an own message sent, whose envelopes IDs went into the
// mesh: it is delivered when all of them are.
type meshWatch struct {
	Conv  chatdb.ConvID `json:"c"`
	Msg   chatdb.MsgID  `json:"m"`
	IDs   []string      `json:"ids"` // hex MeshIDs
	Since time.Time     `json:"t"`
}

func (e *Engine) loadWatch(tx *chatdb.Tx) ([]meshWatch, error) {
	raw, err := tx.Meta(meshWatchKey)
	if err != nil || raw == nil {
		return nil, err
	}
	var ws []meshWatch
	if err := json.Unmarshal(raw, &ws); err != nil {
		return nil, fmt.Errorf("chat: mesh watch: %w", err)
	}
	return ws, nil
}

func (e *Engine) storeWatch(tx *chatdb.Tx, ws []meshWatch) error {
	if len(ws) > maxMeshWatch {
		ws = ws[len(ws)-maxMeshWatch:]
	}
	raw, err := json.Marshal(ws)
	if err != nil {
		return err
	}
	return tx.PutMeta(meshWatchKey, raw)
}

// Watching reports how many own messages wait for the mesh to deliver
// them (PollDelivery asks).
func (e *Engine) Watching() int {
	var n int
	_ = e.db.View(func(tx *chatdb.Tx) error {
		ws, err := e.loadWatch(tx)
		n = len(ws)
		return err
	})
	return n
}

// PollDelivery asks the home node what became of the envelopes of own
// messages that went into the mesh, and moves each message whose
// envelopes all arrived to delivered. One that expired or was dropped
// stays sent, said in a status line, and is no longer watched.
func (e *Engine) PollDelivery(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pollDelivery(ctx)
}

// pollDelivery is PollDelivery with e.mu held.
func (e *Engine) pollDelivery(ctx context.Context) error {
	if !e.online {
		return ErrOffline
	}
	var ws []meshWatch
	if err := e.db.View(func(tx *chatdb.Tx) (err error) {
		ws, err = e.loadWatch(tx)
		return err
	}); err != nil || len(ws) == 0 {
		return err
	}
	var ids []protocol.MeshID
	for _, w := range ws {
		for _, h := range w.IDs {
			var id protocol.MeshID
			if b, err := hex.DecodeString(h); err == nil && len(b) == len(id) {
				copy(id[:], b)
				ids = append(ids, id)
			}
		}
	}
	sts, err := e.acct.Client.MessageStatus(ctx, ids)
	if err != nil {
		return err
	}
	state := map[string]protocol.MessageStatus{}
	for _, st := range sts {
		state[hex.EncodeToString(st.ID[:])] = st
	}
	return e.db.Update(func(tx *chatdb.Tx) error {
		var keep []meshWatch
		for _, w := range ws {
			delivered, failed := true, ""
			for _, h := range w.IDs {
				st := state[h]
				switch st.State {
				case protocol.MeshDelivered:
				case protocol.MeshExpired, protocol.MeshDropped:
					failed = fmt.Sprintf("%s (%v)", st.State, st.Reason)
				default:
					delivered = false
				}
			}
			c, ok, err := tx.Conversation(w.Conv)
			if err != nil {
				return err
			}
			switch {
			case !ok:
			case failed != "":
				e.status("a message in %s was not delivered: %s", Label(c), failed)
			case delivered:
				if err := e.advance(tx, c, []chatdb.MsgID{w.Msg}, chatdb.StatusDelivered); err != nil {
					return err
				}
			default:
				keep = append(keep, w)
			}
		}
		return e.storeWatch(tx, keep)
	})
}

// Delivery is what the nodes said of a message as it left: the receipt of
// its first envelope to a recipient, for the one-shot commands to print.
type Delivery struct {
	Receipt client.Receipt
	// Envelopes is how many envelopes went to recipients' devices.
	Envelopes int
}

// settle records what the node's receipts rs of an outbox entry's
// envelopes outs say: delivered when every envelope to another account is
// in its mailbox, sent while some are in the mesh (watched). e.mu is held.
func (e *Engine) settle(tx *chatdb.Tx, o *chatdb.Outgoing, outs []client.Outgoing, rs []client.Receipt) error {
	if o.MsgID == (chatdb.MsgID{}) {
		return nil
	}
	state := chatdb.StatusDelivered
	var mesh []string
	var d Delivery
	for i, r := range rs {
		if pa, err := protocol.ParseAddress(outs[i].Recipient); err == nil && pa.Account().String() == e.self {
			continue // a copy for the account's own other device
		}
		if d.Envelopes == 0 {
			d.Receipt = r
		}
		d.Envelopes++
		switch {
		case r.Err != nil:
			state = min(state, chatdb.StatusSent)
		case r.MeshID != (protocol.MeshID{}):
			state = min(state, chatdb.StatusSent)
			mesh = append(mesh, hex.EncodeToString(r.MeshID[:]))
		}
	}
	if d.Envelopes == 0 {
		return nil // nobody else to deliver to (dropped, or a group of one): sent is all there is
	}
	if e.deliveries == nil {
		e.deliveries = map[chatdb.MsgID]Delivery{}
	}
	e.deliveries[o.MsgID] = d
	if len(mesh) > 0 {
		ws, err := e.loadWatch(tx)
		if err != nil {
			return err
		}
		if err := e.storeWatch(tx, append(ws, meshWatch{Conv: o.Conv, Msg: o.MsgID, IDs: mesh, Since: e.now()})); err != nil {
			return err
		}
	}
	c, ok, err := tx.Conversation(o.Conv)
	if err != nil || !ok {
		return err
	}
	return e.advance(tx, c, []chatdb.MsgID{o.MsgID}, state)
}

// DeliveryOf returns what the nodes said of own message id as it left
// in this engine's lifetime; false when it has not left yet.
func (e *Engine) DeliveryOf(id chatdb.MsgID) (Delivery, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.deliveries[id]
	return d, ok
}

// State returns the delivery state of own message id in conv now.
func (e *Engine) State(conv chatdb.ConvID, id chatdb.MsgID) (chatdb.Status, error) {
	m, err := e.lookupMessage(conv, id)
	if err != nil {
		return chatdb.StatusNone, err
	}
	return m.Status, nil
}
