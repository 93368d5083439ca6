package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Enqueue stores msgs in their recipients' mailboxes, or relays them to
// the recipients' nodes through federation, and returns a receipt for
// each, in order, once the stored ones are durable. A message that fails
// its own checks (unknown recipient, too large, mailbox full, peer
// unreachable) gets the error in its receipt; the others are stored. The
// error return is for the request as a whole (not logged in, rate limited,
// batch too large, store failure), and then nothing was stored here.
func (c *Conn) Enqueue(ctx context.Context, msgs []protocol.Outgoing) ([]protocol.Receipt, time.Time, error) {
	user, err := c.user()
	if err != nil {
		return nil, time.Time{}, err
	}
	lim := c.svc.limits
	if len(msgs) == 0 || len(msgs) > lim.MaxBatch {
		return nil, time.Time{}, errorf(protocol.ErrBadRequest, "batch of %d messages (1-%d)", len(msgs), lim.MaxBatch)
	}
	now := c.svc.now()
	if !c.enqueue.take(len(msgs), now) {
		return nil, time.Time{}, protocol.ErrRateLimited
	}
	return c.svc.enqueue(ctx, msgs, now, user)
}

// enqueue checks msgs, stores those for local users and, for a local
// sender (not a peer, whose sender is ""), relays those for other domains,
// each domain's in one call running beside the local store's commit, or
// sends them into the mesh.
func (s *Service) enqueue(ctx context.Context, msgs []protocol.Outgoing, now time.Time, sender string) ([]protocol.Receipt, time.Time, error) {
	fromPeer := sender == ""
	senderAddr := sender + "@" + strings.ToLower(s.id.Domain)
	lim := s.limits
	receipts := make([]protocol.Receipt, len(msgs))
	// Sized once: the messages of a batch are nearly always all local.
	batch := make([]protocol.NewMessage, 0, len(msgs))
	index := make([]int, 0, len(msgs)) // receipts index of each batch entry
	var remote map[string][]int        // made for the first remote message
	for i, m := range msgs {
		a, err := s.parseAddress(m.Recipient)
		switch {
		case err != nil:
		case fromPeer && (!a.local || a.domain == ""):
			err = errorf(protocol.ErrUnknownDomain, "a peer may deliver only to users@%s", s.id.Domain)
		case len(m.Payload) == 0:
			err = errorf(protocol.ErrBadRequest, "empty message")
		case len(m.Payload) > lim.MaxPayload:
			err = errorf(protocol.ErrPayloadTooLarge, "%d bytes, limit %d", len(m.Payload), lim.MaxPayload)
		case m.TTL < 0 || m.TTL > lim.MaxTTL:
			err = errorf(protocol.ErrTTLTooLong, "%s, maximum %s", m.TTL, lim.MaxTTL)
		}
		if err != nil {
			receipts[i].Err = err
			continue
		}
		if !a.local {
			if remote == nil {
				remote = map[string][]int{}
			}
			remote[a.domain] = append(remote[a.domain], i)
			continue
		}
		if !fromPeer && s.denied(a.user, senderAddr) {
			// The recipient's deny list refuses the sender. The sender
			// is not told (its receipt has no error, and no seq), as
			// other messengers do not tell (docs/blocking.md).
			continue
		}
		ttl := m.TTL
		if ttl == 0 {
			ttl = lim.DefaultTTL
		}
		batch = append(batch, protocol.NewMessage{Recipient: a.queue(), Payload: m.Payload, Enqueued: now, Expires: now.Add(ttl)})
		index = append(index, i)
	}
	var relayed sync.WaitGroup
	for domain, idx := range remote {
		relayed.Add(1)
		go func() {
			defer relayed.Done()
			s.relay(ctx, sender, domain, msgs, idx, receipts)
		}()
	}
	defer relayed.Wait()
	if len(batch) == 0 {
		return receipts, now, nil
	}
	if err := s.deliver(ctx, batch, index, receipts); err != nil {
		return nil, time.Time{}, err
	}
	return receipts, now, nil
}

// deliver puts batch into the mailboxes, fills receipts[index[j]] with
// batch[j]'s receipt, and wakes the recipients' subscriptions.
func (s *Service) deliver(ctx context.Context, batch []protocol.NewMessage, index []int, receipts []protocol.Receipt) error {
	stored, err := s.store.Enqueue(ctx, batch)
	if err != nil {
		return err
	}
	n := 0
	// The stored messages of each queue, in seq order, for the hub to
	// hand to the queue's subscriptions, unless the store hands over
	// whole commits itself (CommitHandOff).
	var queues []string
	var byQueue map[string][]protocol.Message
	if !s.commitHandOff {
		byQueue = map[string][]protocol.Message{}
	}
	for j, r := range stored {
		receipts[index[j]] = r
		if r.Err != nil {
			continue
		}
		n++
		if byQueue == nil {
			continue
		}
		q := batch[j].Recipient
		if _, ok := byQueue[q]; !ok {
			queues = append(queues, q)
		}
		m := batch[j]
		byQueue[q] = append(byQueue[q], protocol.Message{Seq: r.Seq, Payload: m.Payload, Enqueued: m.Enqueued, Expires: m.Expires})
	}
	for _, q := range queues {
		// The payloads are the caller's: the hub copies them.
		s.hub.handOff(accountOf(q), q, byQueue[q], false)
	}
	s.obs.Stored(n)
	return nil
}

// relay hands the messages msgs[idx] to domain's node and fills their
// receipts; a failure of the whole call goes into each of them. Without a
// link to domain's node, or while earlier messages for domain wait in the
// mesh, the messages go into the mesh instead.
func (s *Service) relay(ctx context.Context, sender, domain string, msgs []protocol.Outgoing, idx []int, receipts []protocol.Receipt) {
	if s.mesh != nil && s.mesh.Pending(domain) {
		s.sendMesh(ctx, sender, msgs, idx, receipts)
		return
	}
	out := make([]protocol.Outgoing, len(idx))
	for j, i := range idx {
		out[j] = msgs[i]
	}
	got, err := s.fed.Relay(ctx, domain, out)
	if errors.Is(err, protocol.ErrNoLink) && s.mesh != nil {
		s.sendMesh(ctx, sender, msgs, idx, receipts)
		return
	}
	if err == nil && len(got) != len(idx) {
		err = fmt.Errorf("%w: %s answered %d receipts for %d messages", protocol.ErrPeerUnreachable, domain, len(got), len(idx))
	}
	for j, i := range idx {
		if err != nil {
			receipts[i].Err = err
		} else {
			receipts[i] = got[j]
		}
	}
}

// sendMesh puts msgs[idx] into the mesh and fills their receipts.
func (s *Service) sendMesh(ctx context.Context, sender string, msgs []protocol.Outgoing, idx []int, receipts []protocol.Receipt) {
	out := make([]protocol.MeshOutgoing, len(idx))
	for j, i := range idx {
		m := msgs[i]
		out[j] = protocol.MeshOutgoing{Sender: sender, Recipient: strings.ToLower(m.Recipient), Payload: m.Payload, TTL: m.TTL, MaxHops: m.MaxHops}
	}
	for j, r := range s.mesh.Send(ctx, out) {
		receipts[idx[j]] = r
	}
}

// DeliverMesh stores messages that came through the mesh in this node's
// mailboxes, each once only by its MeshID, and returns a receipt for each
// (see Mailboxes.Enqueue); Expires is cut to the node's MaxTTL.
func (s *Service) DeliverMesh(ctx context.Context, msgs []protocol.NewMessage) ([]protocol.Receipt, error) {
	now := s.now()
	receipts := make([]protocol.Receipt, len(msgs))
	var batch []protocol.NewMessage
	var index []int
	for i, m := range msgs {
		if len(m.Payload) > s.limits.MaxPayload {
			receipts[i].Err = errorf(protocol.ErrPayloadTooLarge, "%d bytes, limit %d", len(m.Payload), s.limits.MaxPayload)
			continue
		}
		if latest := now.Add(s.limits.MaxTTL); m.Expires.After(latest) {
			m.Expires = latest
		}
		batch = append(batch, m)
		index = append(index, i)
	}
	if len(batch) == 0 {
		return receipts, nil
	}
	if err := s.deliver(ctx, batch, index, receipts); err != nil {
		return nil, err
	}
	return receipts, nil
}

// Fetch returns up to limit of the messages after afterSeq of the queue
// of the connection's device (UseDevice; the primary device's if none);
// limit 0 means 100, and it is capped at MaxFetch.
func (c *Conn) Fetch(afterSeq uint64, limit int) ([]protocol.Message, error) {
	_, queue, err := c.queue()
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	return c.svc.store.Fetch(queue, afterSeq, min(limit, c.svc.limits.MaxFetch))
}

// Ack removes the messages up to uptoSeq of the queue of the connection's
// device; the other devices' queues keep theirs.
func (c *Conn) Ack(uptoSeq uint64) (int, error) {
	_, queue, err := c.queue()
	if err != nil {
		return 0, err
	}
	n, err := c.svc.store.Ack(queue, uptoSeq)
	if d, ok := c.svc.obs.(DeliveryObserver); ok && n > 0 {
		d.Delivered(n)
	}
	return n, err
}

// DeliveryObserver is an Observer that is also told how many messages
// their recipients acknowledged (delivered, in the admin's summary).
type DeliveryObserver interface {
	Delivered(n int)
}

// Listener receives pushed messages. Deliver is called from one goroutine
// per subscription, with messages in sequence order; the next call comes
// after it returns. An error ends the subscription.
type Listener interface {
	Deliver(ctx context.Context, msgs []protocol.Message) error
}

// Subscription pushes a user's messages to a Listener, or channel posts
// to a ChannelListener (see ChannelSubscribe).
type Subscription struct {
	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	err    error

	// A mailbox subscription's: user is the account (what the hub files
	// it under), queue the device's queue it pushes.
	user     string
	queue    string
	listener Listener
	after    uint64

	// handed holds what the hub handed over (handOff): messages of the
	// queue just committed, in seq order, which push sends without
	// reading the store. missed is set when a hand-off did not fit, or a
	// wake-up came without one (a queue of the same account filed under
	// another name), so that push reads the store. Both under hmu.
	hmu         sync.Mutex
	handed      []protocol.Message
	handedBytes int
	missed      bool
	// taken is the last seq push has taken (sub.after, as far as offer
	// may know it): older messages are not kept.
	taken uint64

	// A channel subscription's: the last seq pushed of each channel.
	cursors map[protocol.ChannelID]uint64
	posts   ChannelListener
}

// Cancel ends the subscription and waits for its last delivery to return.
func (s *Subscription) Cancel() {
	s.cancel()
	<-s.done
}

// Done is closed when the subscription has ended.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err returns why the subscription ended: nil after Cancel, else the
// listener's or the store's error.
func (s *Subscription) Err() error {
	<-s.done
	return s.err
}

// Subscribe pushes the messages after afterSeq of the queue of the
// connection's device to l: those waiting now, then each new one as it is
// stored. A device revoked meanwhile ends it with ErrDeviceRevoked.
func (c *Conn) Subscribe(l Listener, afterSeq uint64) (*Subscription, error) {
	user, queue, err := c.queue()
	if err != nil {
		return nil, err
	}
	sub := newSubscription()
	sub.user, sub.queue, sub.listener, sub.after = user, queue, l, afterSeq
	return sub, c.start(sub, c.svc.hub, c.svc.push)
}

func newSubscription() *Subscription {
	ctx, cancel := context.WithCancel(context.Background())
	return &Subscription{kick: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// start runs push for sub until it ends, registered with the connection
// (which cancels it on Close) and with h (which wakes it).
func (c *Conn) start(sub *Subscription, h interface {
	add(*Subscription)
	remove(*Subscription)
}, push func(*Subscription) error) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		sub.cancel()
		return protocol.ErrShuttingDown
	}
	if c.gone { // revoked since the caller's session check
		c.mu.Unlock()
		sub.cancel()
		return protocol.ErrInvalidToken
	}
	c.subs[sub] = struct{}{}
	c.mu.Unlock()
	h.add(sub)
	go func() {
		sub.err = push(sub)
		h.remove(sub)
		c.mu.Lock()
		delete(c.subs, sub)
		c.mu.Unlock()
		close(sub.done)
	}()
	return nil
}

// wait blocks until sub is woken (true) or cancelled (false).
func (sub *Subscription) wait() bool {
	select {
	case <-sub.kick:
		return true
	case <-sub.ctx.Done():
		return false
	}
}

// wake wakes sub; a wake-up already pending covers this one too.
func (sub *Subscription) wake() {
	select {
	case sub.kick <- struct{}{}:
	default:
	}
}

// PipelinedListener is a Listener that can have deliveries in flight: Send
// starts delivering msgs and returns at once; done is closed once the
// delivery's outcome is known, and wait returns it (blocking until then).
// Deliveries arrive in the order of the Send calls. Over a network this
// saves a round trip per push: the next batch leaves while the client
// still handles the last.
type PipelinedListener interface {
	Listener
	Send(ctx context.Context, msgs []protocol.Message) (done <-chan struct{}, wait func() error)
}

// pushWindow is how many deliveries to a PipelinedListener may be in
// flight, and pushBytes how many payload bytes they may hold together
// (one delivery may hold more, alone): a slow client holds no more of the
// node's memory than one full fetch or pushBytes, whichever is larger,
// about what one delivery at a time held.
const (
	pushWindow = 4
	pushBytes  = 256 << 10
)

// push delivers sub's messages until it is cancelled or delivery fails.
// Messages stay in the mailbox until the client acks them, so a delivery
// in flight when the subscription ends loses nothing.
func (s *Service) push(sub *Subscription) error {
	pl, _ := sub.listener.(PipelinedListener)
	type delivery struct {
		done  <-chan struct{}
		wait  func() error
		bytes int
	}
	var inFlight []delivery
	inBytes := 0
	// settle waits for the oldest n deliveries in flight.
	settle := func(n int) error {
		for ; n > 0; n-- {
			err := inFlight[0].wait()
			inBytes -= inFlight[0].bytes
			inFlight[0] = delivery{}
			inFlight = inFlight[1:]
			if err != nil {
				if sub.ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		return nil
	}
	defer func() { settle(len(inFlight)) }()
	// fetch is set while the store may hold messages after sub.after that
	// the hub did not hand over: at the start (the backlog), after a fetch
	// that got all it asked for, and when take finds a gap or a missed
	// hand-off. Otherwise a wake-up brings its messages along, and the
	// store is not read again for what was just committed.
	fetch := true
	for {
		if pl != nil && len(inFlight) >= pushWindow {
			// Wait for a slot before taking messages: what is handed over
			// meanwhile goes out in this one delivery, so a busy queue
			// gets fewer, larger pushes.
			if err := settle(1); err != nil || sub.ctx.Err() != nil {
				return err
			}
		}
		msgs, gap := sub.take(s.limits.MaxFetch, s.now())
		if len(msgs) == 0 && (fetch || gap) {
			var err error
			msgs, err = s.store.Fetch(sub.queue, sub.after, s.limits.MaxFetch)
			if err != nil {
				if errors.Is(err, protocol.ErrStoreClosed) {
					return protocol.ErrShuttingDown
				}
				return err
			}
			fetch = len(msgs) == s.limits.MaxFetch
		}
		if len(msgs) == 0 {
			// Sleep until a wake-up, learning meanwhile how the
			// deliveries in flight went: a failed one ends the
			// subscription now, not at the next message. Waiting for
			// them to be answered before sleeping would hold the next
			// commit's messages back by a round trip to the client.
			woken, err := idle(sub, func() (<-chan struct{}, bool) {
				if len(inFlight) == 0 {
					return nil, false
				}
				return inFlight[0].done, true
			}, settle)
			if err != nil || !woken {
				return err
			}
			continue
		}
		if pl != nil {
			size := 0
			for _, m := range msgs {
				size += len(m.Payload)
			}
			for len(inFlight) > 0 && (len(inFlight) >= pushWindow || inBytes+size > pushBytes) {
				if err := settle(1); err != nil || sub.ctx.Err() != nil {
					return err
				}
			}
			done, wait := pl.Send(sub.ctx, msgs)
			inFlight = append(inFlight, delivery{done, wait, size})
			inBytes += size
			sub.after = msgs[len(msgs)-1].Seq
			continue
		}
		if err := sub.listener.Deliver(sub.ctx, msgs); err != nil {
			if sub.ctx.Err() != nil {
				return nil
			}
			return err
		}
		sub.after = msgs[len(msgs)-1].Seq
	}
}

// idle waits, with nothing to push, until sub is woken (true) or cancelled
// (false), settling each delivery in flight as it is answered: oldest
// returns the oldest's done channel (false: none in flight), and settle(1)
// takes its outcome; a failed delivery ends the wait with its error.
func idle(sub *Subscription, oldest func() (<-chan struct{}, bool), settle func(int) error) (bool, error) {
	for {
		done, ok := oldest()
		if !ok {
			return sub.wait(), nil
		}
		select {
		case <-sub.kick:
			return true, nil
		case <-sub.ctx.Done():
			return false, nil
		case <-done:
			if err := settle(1); err != nil {
				return false, err
			}
		}
	}
}

// hub finds the subscriptions of a user when a message for them arrives.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[*Subscription]struct{}
}

func newHub() *hub { return &hub{subs: map[string]map[*Subscription]struct{}{}} }

func (h *hub) add(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[s.user]
	if m == nil {
		m = map[*Subscription]struct{}{}
		h.subs[s.user] = m
	}
	m[s] = struct{}{}
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[s.user], s)
	if len(h.subs[s.user]) == 0 {
		delete(h.subs, s.user)
	}
}

// CommitHandOff is implemented by a store that tells the node what each
// group commit stored (store.Store.HandOffCommits): f is called once per
// queue and commit, with the queue's messages in seq order, and may keep
// them. Handed over per commit, a busy queue's messages of one commit go
// out in one push; handed over per Enqueue call, as the node does for a
// store without it, they would go out in as many pushes as calls.
type CommitHandOff interface {
	HandOffCommits(f func(queue string, msgs []protocol.Message))
}

// handOffCommitted is the Service's CommitHandOff callback.
func (s *Service) handOffCommitted(queue string, msgs []protocol.Message) {
	s.hub.handOff(accountOf(queue), queue, msgs, true)
}

// maxHanded is the most messages a subscription holds handed over and
// not yet pushed; the bytes are bounded by pushBytes. Past either, push
// reads the store instead, which holds them anyway.
const maxHanded = 1024

// handOff gives msgs, just committed to queue (an account's or one of
// its devices'), in seq order, to the subscriptions of that queue, and
// wakes every subscription of user. Unless owned (the payloads are the
// hub's to keep), msgs' payloads are copied, once, only if a
// subscription takes them. A subscription to a queue of user under
// another name (the bare name and the legacy device's are one queue) is
// woken to read the store.
func (h *hub) handOff(user, queue string, msgs []protocol.Message, owned bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	copied := owned
	for s := range h.subs[user] {
		if s.queue != queue {
			s.offer(nil)
			continue
		}
		if !copied {
			copied = true
			msgs = copyMessages(msgs)
		}
		s.offer(msgs)
	}
}

// copyMessages copies msgs and their payloads, into one buffer.
func copyMessages(msgs []protocol.Message) []protocol.Message {
	size := 0
	for _, m := range msgs {
		size += len(m.Payload)
	}
	buf := make([]byte, 0, size)
	out := make([]protocol.Message, len(msgs))
	for i, m := range msgs {
		out[i] = m
		start := len(buf)
		buf = append(buf, m.Payload...)
		out[i].Payload = buf[start:len(buf):len(buf)]
	}
	return out
}

// offer adds msgs to what sub was handed and wakes it; msgs nil (or what
// does not fit) makes push read the store. Messages of one queue are
// committed in seq order, but two commits' hand-offs may arrive in either
// order, so each goes in at its place.
func (sub *Subscription) offer(msgs []protocol.Message) {
	sub.hmu.Lock()
	if msgs == nil {
		sub.missed = true
	}
	for _, m := range msgs {
		if m.Seq <= sub.taken {
			continue
		}
		if len(sub.handed) >= maxHanded || sub.handedBytes+len(m.Payload) > pushBytes {
			sub.missed = true
			break
		}
		i := len(sub.handed)
		for i > 0 && sub.handed[i-1].Seq > m.Seq {
			i--
		}
		sub.handed = slices.Insert(sub.handed, i, m)
		sub.handedBytes += len(m.Payload)
	}
	sub.hmu.Unlock()
	sub.wake()
}

// take returns the handed-over messages that follow sub.after without a
// gap (up to limit, stopping at one expired by now, which the store's
// Fetch would leave out), in order. gap reports that the store must be
// read instead: what was handed over does not start right after
// sub.after, or a hand-off was missed; what was handed over is then
// dropped, since the store holds it too.
func (sub *Subscription) take(limit int, now time.Time) (msgs []protocol.Message, gap bool) {
	sub.hmu.Lock()
	defer sub.hmu.Unlock()
	sub.taken = sub.after
	h := sub.handed
	for len(h) > 0 && h[0].Seq <= sub.after {
		sub.handedBytes -= len(h[0].Payload)
		h = h[1:]
	}
	n := 0
	for n < len(h) && n < limit && h[n].Seq == sub.after+uint64(n)+1 && h[n].Expires.After(now) {
		n++
	}
	if n == 0 {
		gap = sub.missed || len(h) > 0
		sub.missed = false
		clear(sub.handed)
		sub.handed, sub.handedBytes = sub.handed[:0], 0
		return nil, gap
	}
	msgs = slices.Clone(h[:n])
	for _, m := range msgs {
		sub.handedBytes -= len(m.Payload)
	}
	sub.taken = msgs[n-1].Seq
	// Shift the rest down, so that the buffer's memory is reused.
	rest := copy(sub.handed, h[n:])
	clear(sub.handed[rest:])
	sub.handed = sub.handed[:rest]
	return msgs, false
}
