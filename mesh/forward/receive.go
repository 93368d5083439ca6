package forward

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/protocol"
)

// Send implements node.Mesh: it signs an envelope for each message and
// holds it here until a next hop takes it.
func (e *Engine) Send(ctx context.Context, msgs []protocol.MeshOutgoing) []protocol.Receipt {
	now := e.cfg.Now()
	receipts := make([]protocol.Receipt, len(msgs))
	var held []protocol.HeldEnvelope
	var index []int
	for i, m := range msgs {
		ttl := m.TTL
		if ttl <= 0 || ttl > e.cfg.TTL {
			ttl = e.cfg.TTL
		}
		ttl = ttl.Round(time.Second)
		if ttl < time.Second {
			ttl = time.Second
		}
		hops := m.MaxHops
		if hops == 0 || hops > e.cfg.MaxHops {
			hops = e.cfg.MaxHops
		}
		env, err := envelope.Sign(e.cfg.Key, e.cfg.Domain, m.Recipient, m.Payload, now, ttl, hops)
		if err != nil {
			receipts[i].Err = fmt.Errorf("%w: %v", protocol.ErrBadRequest, err)
			continue
		}
		data, err := envelope.Marshal(env)
		if err != nil {
			receipts[i].Err = fmt.Errorf("%w: %v", protocol.ErrBadEnvelope, err)
			continue
		}
		h := e.holdable(env, data, now)
		h.Sender, h.Recipient = m.Sender, m.Recipient
		held = append(held, h)
		index = append(index, i)
	}
	if len(held) == 0 {
		return receipts
	}
	errs, err := e.cfg.Store.Hold(ctx, held)
	if err != nil {
		for _, i := range index {
			receipts[i].Err = err
		}
		return receipts
	}
	n := 0
	for j, i := range index {
		var seen *protocol.SeenError
		switch {
		case errors.As(errs[j], &seen):
			// Same recipient, payload and millisecond: one envelope.
			receipts[i].Err = fmt.Errorf("%w: the same message to the same recipient was sent in the same millisecond", protocol.ErrBadRequest)
			continue
		case errs[j] != nil:
			receipts[i].Err = errs[j]
			e.count("refused:"+reasonName(errs[j]), 1)
			continue
		}
		receipts[i].MeshID = held[j].ID
		receipts[i].QueuedAt = e.cfg.Domain
		e.held(held[j].Domain, 1)
		n++
	}
	e.count("held", n)
	e.poke()
	return receipts
}

// holdable returns env, stored as data (what envelope.Marshal writes),
// as the store keeps it.
func (e *Engine) holdable(env *envelope.Envelope, data []byte, now time.Time) protocol.HeldEnvelope {
	return protocol.HeldEnvelope{
		ID:       env.ID(),
		Domain:   env.To().Domain,
		Origin:   env.OriginDomain,
		OriginID: env.OriginID(),
		Expires:  env.Expires(),
		Held:     now,
		Data:     data,
		At:       e.cfg.Domain,
	}
}

// Receive serves a forward call from the neighbour with domain from and
// node id fromID: envs are checked in full, those for this node's users
// are delivered, the others held to be forwarded on. One result per
// envelope, in order; nil entries of envs (undecodable on the wire) are
// rejected. Envelopes are held in the form they came in
// (envelope.Incoming.Stored), once verified.
func (e *Engine) Receive(ctx context.Context, from, fromID string, envs []*envelope.Incoming) []Result {
	now := e.cfg.Now()
	results := make([]Result, len(envs))
	var (
		local      []protocol.NewMessage
		localIndex []int
		held       []protocol.HeldEnvelope
		heldIndex  []int
	)
	for i, in := range envs {
		var env *envelope.Envelope
		if in != nil {
			env = in.Envelope
		}
		err := e.check(env, from, fromID, now)
		if errors.Is(err, errNotReady) {
			results[i] = Result{Outcome: Refused, Err: err}
			e.count("refused:"+reasonName(err), 1)
			continue
		}
		if err != nil {
			results[i] = Result{Outcome: Rejected, Err: err}
			reason := reasonName(err)
			e.count("dropped:"+reason, 1)
			e.log.Info("rejected an envelope", "from", from, "reason", reason, "err", err)
			continue
		}
		if to := env.To(); to.Domain == e.cfg.Domain {
			local = append(local, protocol.NewMessage{
				Recipient: protocol.QueueName(to.User, to.Device), Payload: env.Payload, Enqueued: now, Expires: env.Expires(),
				MeshID: env.ID(), MeshExpires: env.Expires(), MeshFrom: from,
			})
			localIndex = append(localIndex, i)
			continue
		}
		if env.Hops >= env.MaxHops {
			err := fmt.Errorf("%w: %d of %d hops used and %s is not the recipient's node", protocol.ErrHopLimit, env.Hops, env.MaxHops, e.cfg.Domain)
			results[i] = Result{Outcome: Rejected, Err: err}
			e.count("dropped:"+reasonName(err), 1)
			continue
		}
		h := e.holdable(env, in.Stored(), now)
		// The neighbour is what the link's certificate proves; the
		// origin domain only the first hop could check. So the store
		// caps what this neighbour hands over, whatever origins its
		// envelopes claim.
		h.From = from
		held = append(held, h)
		heldIndex = append(heldIndex, i)
	}
	if len(local) > 0 {
		e.deliver(ctx, local, localIndex, results)
	}
	if len(held) > 0 {
		e.hold(ctx, held, heldIndex, results)
		over := 0
		for _, i := range heldIndex {
			if errors.Is(results[i].Err, protocol.ErrNeighbourQuota) {
				over++
			}
		}
		if over > 0 {
			// Once per call, with the neighbour: who floods.
			e.log.Debug("envelopes refused", "from", from, "reason", reasonName(protocol.ErrNeighbourQuota), "envelopes", over)
		}
	}
	return results
}

// errNotReady refuses a first hop that arrives before the link's peer
// has told its node id; it wraps protocol.ErrPeerUnreachable, which the
// sender takes as a link failure and retries soon.
var errNotReady = fmt.Errorf("%w: link not ready", protocol.ErrPeerUnreachable)

// check verifies env as received from the neighbour from, fromID.
func (e *Engine) check(env *envelope.Envelope, from, fromID string, now time.Time) error {
	if env == nil {
		return fmt.Errorf("%w: undecodable envelope", protocol.ErrBadEnvelope)
	}
	if err := env.Verify(now); err != nil {
		return nodeError(err)
	}
	// Each sender raises the hop count before it sends, so an envelope
	// arrives with at least 1, and with exactly 1 only from its origin:
	// the node whose domain the link's certificate names and whose node
	// id it told over the link. A neighbour cannot pass off envelopes it
	// signed itself as another node's first hop.
	switch {
	case env.Hops == 0:
		return fmt.Errorf("%w: arrived with hop count 0; the sender must count its hop", protocol.ErrBadEnvelope)
	case env.Hops == 1 && fromID == "":
		// This end has not heard the peer's node id yet: ask again soon.
		return fmt.Errorf("%w: the link from %s is not ready yet", errNotReady, from)
	case env.Hops == 1 && (env.OriginDomain != from || env.OriginID() != fromID):
		return fmt.Errorf("%w: first hop from %s (node %s), but the envelope's origin is %s (node %s)",
			protocol.ErrBadEnvelope, from, fromID, env.OriginDomain, env.OriginID())
	}
	return nil
}

// deliver puts envelopes for this node's users into their mailboxes.
func (e *Engine) deliver(ctx context.Context, msgs []protocol.NewMessage, index []int, results []Result) {
	receipts, err := e.cfg.Local.DeliverMesh(ctx, msgs)
	if err == nil && len(receipts) != len(msgs) {
		err = fmt.Errorf("local delivery answered %d receipts for %d messages", len(receipts), len(msgs))
	}
	for j, i := range index {
		var rerr error
		if err != nil {
			rerr = err
		} else {
			rerr = receipts[j].Err
		}
		var seen *protocol.SeenError
		switch {
		case rerr == nil:
			results[i] = Result{Outcome: Delivered}
			e.count("delivered", 1)
		case errors.As(rerr, &seen):
			results[i] = Result{Outcome: Duplicate}
			e.count("duplicate", 1)
		case errors.Is(rerr, protocol.ErrUnknownUser):
			results[i] = Result{Outcome: Rejected, Err: rerr}
			e.count("dropped:"+reasonName(rerr), 1)
		default: // full mailbox or seen-set, store failure: try again later
			results[i] = Result{Outcome: Refused, Err: rerr}
			e.count("refused:"+reasonName(rerr), 1)
		}
	}
}

// hold keeps envelopes to forward on and tells their origins when no route
// leads on from here.
func (e *Engine) hold(ctx context.Context, held []protocol.HeldEnvelope, index []int, results []Result) {
	errs, err := e.cfg.Store.Hold(ctx, held)
	now := e.cfg.Now()
	for j, i := range index {
		var rerr error
		if err != nil {
			rerr = err
		} else {
			rerr = errs[j]
		}
		var seen *protocol.SeenError
		switch {
		case rerr == nil:
			results[i] = Result{Outcome: Accepted}
			e.count("held", 1)
			h := held[j]
			e.held(h.Domain, 1)
			if _, ok := e.table.Next(h.Domain, now); !ok {
				e.report(e.news(h, protocol.MeshQueued, e.cfg.Domain, nil))
			}
		case errors.As(rerr, &seen) && seen.State == protocol.SeenForwarded:
			results[i] = Result{Outcome: Looped}
			e.count("looped", 1)
		case errors.As(rerr, &seen):
			results[i] = Result{Outcome: Duplicate}
			e.count("duplicate", 1)
		default:
			results[i] = Result{Outcome: Refused, Err: rerr}
			e.count("refused:"+reasonName(rerr), 1)
		}
	}
	e.poke()
}

// report passes news on towards the envelope's origin: into the store
// when this node is the origin, else to the next hop, dropping it (and
// counting) when no route leads there or the queue is full.
func (e *Engine) report(r Report) {
	if r.Origin == e.cfg.Domain {
		if err := e.cfg.Store.SetStatus(r.ID, r.State, r.At, r.When, r.Reason); err != nil {
			e.log.Error("recording a message status", "err", err)
		}
		return
	}
	select {
	case e.reports <- r:
	default:
		e.count("dropped-report:queue-full", 1)
	}
}

// Reports serves a report call from a neighbour.
func (e *Engine) Reports(from string, reports []Report) {
	for _, r := range reports {
		if r.Hops >= maxReportHops {
			e.count("dropped-report:hop-limit", 1)
			continue
		}
		r.Hops++
		e.report(r)
	}
}

// sendReports sends queued reports on, in batches per next hop, until ctx
// ends.
func (e *Engine) sendReports(ctx context.Context) {
	for {
		var first Report
		select {
		case <-ctx.Done():
			return
		case first = <-e.reports:
		}
		byHop := map[string][]Report{}
		now := e.cfg.Now()
		add := func(r Report) {
			rt, ok := e.table.Next(r.Origin, now)
			if !ok {
				e.count("dropped-report:no-route", 1)
				return
			}
			byHop[rt.NextHop] = append(byHop[rt.NextHop], r)
		}
		add(first)
	more:
		for range 255 {
			select {
			case r := <-e.reports:
				add(r)
			default:
				break more
			}
		}
		e.mu.Lock()
		links := e.links
		e.mu.Unlock()
		for hop, rs := range byHop {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			if err := links.Report(cctx, hop, rs); err != nil {
				e.count("dropped-report:link", len(rs))
				e.log.Debug("sending reports failed", "peer", hop, "err", err)
			}
			cancel()
		}
	}
}
